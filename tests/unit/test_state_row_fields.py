"""The executor builds a schema's applied and rolled-back rows field by field (issue 14)."""

from __future__ import annotations

from dataclasses import fields

from timescape.model.state import SchemaState


def test_schema_state__fields__the_ones_the_executor_carries_over() -> None:
    """``Recorder.success`` (``timescape.execution.recording``) names every field instead of
    ``dataclasses.replace``: a new field must be carried over there too (then add it here)."""
    assert [f.name for f in fields(SchemaState)] == [
        "name",
        "status",
        "steps_done",
        "checksums",
        "rollback_checksums",
        "parents",
        "applied_at",
        "rolled_back_at",
        "duration_ms",
        "error",
        "step_in_flight",
        "attempt_started_at",
        "contract_done",
    ]
