"""Timescape's benchmarks against the raw driver, Alembic and yoyo-migrations.

Run everything with ``python -m bench`` (or ``python3 tasks.py bench``); ``--help`` lists the
flags. See ``bench/README.md`` for what each workload measures.
"""
