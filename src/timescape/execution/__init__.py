"""Running a plan against the database, and finding out afterwards what runs left behind.

Data flows one way: a :class:`~timescape.model.plan.Plan` goes to the ``executor``, which drives
the backend and records every outcome in the state tables; ``recovery`` (under the lock) and
``verification`` (read-only) read those tables back. The executor's parts, each one job, owned by
the :class:`~timescape.execution.executor.Executor`: ``steps`` runs one step under its budget,
``failures`` says what a failed step left, ``recording`` writes the run's state rows and events,
``stepwise`` is the step-by-step path of databases without transactional DDL.

Nothing is imported here: read-only commands load ``verification`` without the executor.
"""
