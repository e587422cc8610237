"""The routing table, pure: every decision follows from the versions' states (Hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from hypothesis import given
from hypothesis import strategies as st

from tests.modelutil import T0, catalog, schema
from timescape.hotpath import View
from timescape.model.state import StateSnapshot, VersionState
from timescape.model.tsv import VersionIndex
from timescape.web.routing import RoutingTable, availability, build_table

STATES = ("absent", "never", "retired", "live", "retiring")
HANDLERS = ("/api/a", "/api/b/c")


def tag(handler: str, i: int) -> str:
    return f"{handler.strip('/').replace('/', '.')}.{i}"


def table_for(states: dict[str, list[str]]) -> tuple[RoutingTable, dict[str, list[tuple[str, str]]]]:
    """A table for handlers whose versions (oldest first) are in the given states."""
    entries = [
        (handler, "s1", [tag(handler, i)]) for handler, kinds in states.items() for i in range(len(kinds))
    ]
    cat = catalog([schema("s1")], entries)
    by_handler: dict[str, list[tuple[str, str]]] = {}
    rows: dict[str, VersionState] = {}
    for handler, kinds in states.items():
        timeline = [v for v in cat.versions if v.handler == handler]
        for i, (version, kind) in enumerate(zip(timeline, kinds, strict=True)):
            by_handler.setdefault(handler, []).append((version.tsv, kind))
            if kind == "absent":
                continue
            row = VersionState(version.tsv, handler, version.timestamp, "s1")
            moment = T0 + timedelta(hours=i)
            if kind == "retired":
                row = replace(row, deactivated_at=moment, retiring_at=moment - timedelta(minutes=1))
            elif kind == "live":
                row = replace(row, active=True, activated_at=moment)
            elif kind == "retiring":
                row = replace(row, active=True, retiring_generation=7, retiring_at=moment)
            rows[version.tsv] = row
    snap = StateSnapshot(versions=rows, generation=7)
    routed = snap.routed()
    view = View(
        index=VersionIndex(cat.versions, cat.declared_tags()),
        active=routed,
        latest_live={},
        generation=7,
        catalog=cat,
        snapshot=snap,
    )
    return build_table(view), by_handler


@given(st.lists(st.sampled_from(STATES), min_size=1, max_size=5), st.lists(st.sampled_from(STATES), max_size=4))
def test_decide__any_states__serve_only_live_gone_only_once_live(a: list[str], b: list[str]) -> None:
    states = {HANDLERS[0]: a, **({HANDLERS[1]: b} if b else {})}
    table, by_handler = table_for(states)
    for handler, versions in by_handler.items():
        live = [tsv for tsv, kind in reversed(versions) if kind == "live"]
        newest = table.decide(handler, None)
        assert newest.tsv == (live[0] if live else None)
        assert newest.status == (200 if live else 404)
        for i, (tsv, kind) in enumerate(versions):
            decision = table.decide(handler, tag(handler, i))
            by_tsv = table.decide(handler, tsv)
            assert (by_tsv.outcome, by_tsv.tsv, by_tsv.headers) == (decision.outcome, decision.tsv, decision.headers)
            if kind == "live":
                assert (decision.outcome, decision.tsv) == ("serve", tsv)
                assert decision.headers == (("X-Timescape-Version", tsv),)
                assert table.is_live(tsv)
                continue
            assert not table.is_live(tsv)
            body = decision.body
            assert body is not None
            error = body["error"]
            assert [alt["tsv"] for alt in error["alternatives"]] == live  # type: ignore[index]
            headers = dict(decision.headers)
            assert headers["Cache-Control"] == "no-store"
            assert headers.get("X-Timescape-Alternatives") == (", ".join(live) or None)
            if kind in ("absent", "never"):
                assert (decision.outcome, decision.status) == ("unknown", 404)
                assert error["known_tags"] == sorted(tag(handler, j) for j in range(len(versions)))  # type: ignore[index]
                continue
            assert (decision.outcome, decision.status, decision.tsv) == ("gone", 410, tsv)
            assert error["state"] == ("retiring" if kind == "retiring" else "inactive")  # type: ignore[index]
            assert "Deprecation" in headers
            assert ("Sunset" in headers) == (kind == "retired")
            if kind == "retired":
                assert parsedate_to_datetime(headers["Sunset"]) == T0 + timedelta(hours=i)


def test_decide__unknown_ref_and_paths__404_and_longest_prefix() -> None:
    table, _ = table_for({HANDLERS[0]: ["live"], HANDLERS[1]: ["live"]})
    decision = table.decide(HANDLERS[0], "nope")
    assert decision.status == 404
    assert decision.body is not None
    assert decision.body["error"]["ref"] == "nope"  # type: ignore[index]
    assert decision.json_body().startswith(b'{"error":')
    assert table.handler_for("/api/a/1") == "/api/a"
    assert table.handler_for("/api/b/c/") == "/api/b/c"
    assert table.handler_for("/api/b") is None
    assert table.handler_for("/api/ab") is None
    assert table.handler_for("/") is None


def test_availability__rows__live_retiring_inactive() -> None:
    row = VersionState("tsv:1-a-001", "/a", datetime(2025, 1, 1, tzinfo=UTC), "s1")
    assert availability(None) == "inactive"
    assert availability(row) == "inactive"
    assert availability(replace(row, active=True)) == "live"
    assert availability(replace(row, active=True, retiring_generation=3)) == "retiring"
