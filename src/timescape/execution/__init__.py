"""Running a plan against the database, and finding out afterwards what runs left behind.

Data flows one way: a :class:`~timescape.model.plan.Plan` goes to the ``executor``, which drives
the backend and records every outcome in the state tables; ``recovery`` (under the lock) and
``verification`` (read-only) read those tables back.

Nothing is imported here: read-only commands load ``verification`` without the executor.
"""
