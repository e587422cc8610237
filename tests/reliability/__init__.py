"""Reliability suite (RELIABILITY.md Part 3) and its shared harness.

Harness modules (imported by both parts of the suite):

- :mod:`tests.reliability.driver` — ``python -m tests.reliability.driver SPEC.json OP [ARGS]``:
  one Timescape operation from a JSON spec in a subprocess (``Error:`` line + exit code on
  failure, JSON on stdout); ``--race`` forks many at once behind one barrier. Also
  ``build_timescape(spec)``, ``version_aliases(spec)``/``tsv_of(spec, alias)``, ``write_spec``.
- :mod:`tests.reliability.faults` — ``start``/``run``/``race`` driver processes with fault points
  (``pause:``, ``kill:``, ``fail:``, ``note:``), ``wait_ready``, ``release``, ``sigkill``,
  ``sigstop``/``sigcont``, ``wait_until``.
- :mod:`tests.reliability.invariants` — ``check_invariants(db, spec)``: catalog ⇔ state rows,
  usage, append-only events, no leftover locks or running statements; ``leftover_problems``,
  ``timescape_sessions``, ``lock_key_parts``, ``mysql_lock_name``.
- :mod:`tests.reliability.seeded` — ``seed``/``fingerprint``/``assert_unchanged``: populated user
  tables (with an ``ON DELETE CASCADE`` child) that every test checks are untouched.
- :mod:`tests.reliability.scenarios` — spec builders (``make_spec``, ``version``,
  ``witness_schema``, ``four_step_schema``), ``sleep_sql`` and ``count(ci, soak)``.
"""
