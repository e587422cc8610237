"""Many activations in one warm instance leave the same state, plans and routing as a fresh one.

A warm instance rolls its cached snapshot forward from its own commits, reuses its version index
and rebuilds its view from the rolled-forward snapshot (issue 14: the ten-thousandth activation
as cheap as the hundredth). None of that may drift from what a fresh instance reads: after each
activation these tests compare the warm snapshot, the next plan and the routing with a fresh
instance's, on every database.
"""

from __future__ import annotations

from tests.dbutil import TestDB
from timescape import Timescape

HANDLERS = 4
PER = 6  # versions per handler, each on the next schema of the handler's chain


def _define(ts: Timescape) -> list[str]:
    """``HANDLERS`` chains of ``PER`` schemas on ``base``; one version per schema; TSVs in order."""
    ts.add_schema("base", ["CREATE TABLE base_t (id INTEGER PRIMARY KEY)"], ["DROP TABLE base_t"])
    order = []
    for h, k in ((h, k) for h in range(HANDLERS) for k in range(PER)):
        name, parent = f"h{h}_{k}", f"h{h}_{k - 1}" if k else "base"
        create, drop = f"CREATE TABLE {name} (id INTEGER PRIMARY KEY)", f"DROP TABLE {name}"
        ts.add_schema(name, [create], [drop], parent=parent, breaking=False)
        tags = ["stable"] if k == PER - 2 else []
        at = f"2025-01-{k + 1:02d}T00:00:00Z"
        order.append((k, h, ts.add_version(f"/api/h{h}", at, name, tags=tags)))
    return [tsv for _, _, tsv in sorted(order)]


def _routing(ts: Timescape) -> tuple[object, ...]:
    view = ts.view()
    handlers = [f"/api/h{h}" for h in range(HANDLERS)]
    return (
        view.active,
        view.latest_live,
        view.generation,
        [ts.latest_live(h) for h in handlers],
        [(h, ts.resolve("stable", handler=h)) for h in handlers],
        sorted(ts.active_schemas()),
    )


def _plan(ts: Timescape, tsv: str) -> tuple[object, ...]:
    plan = ts.activate(tsv, dry_run=True).plan
    return tuple((a.kind, a.name, a.reason) for a in plan.actions), plan.notes, plan.forced


def test_warm_instance__many_activations__state_plans_routing_as_a_fresh_instance(
    db: TestDB,
) -> None:
    warm = Timescape(db.url)
    order = _define(warm)
    warm.refresh()
    for i, tsv in enumerate(order):
        fresh = Timescape(db.url)
        _define(fresh)
        fresh.refresh()
        assert _plan(warm, tsv) == _plan(fresh, tsv)
        fresh.close()
        warm.activate(tsv)
        store = warm.store
        reloads = store.reloads
        cached = store.read()
        assert store.reloads == reloads, "the warm instance reloaded instead of rolling forward"
        full = store.read(use_cache=False)
        assert cached == full
        assert cached.live() == full.live()
        assert cached.applied() == full.applied()
        assert cached.routed() == full.routed()
        fresh = Timescape(db.url)
        _define(fresh)
        fresh.refresh()
        assert _routing(warm) == _routing(fresh), f"after activation {i + 1} ({tsv})"
        fresh.close()
        if i % 5 == 4:  # now and then, take an older one out again: the gate's other side
            old = order[i - 4]
            warm.deactivate(old, force=True)
            assert warm.store.read() == warm.store.read(use_cache=False)
    assert len(warm.view().active) == HANDLERS * PER - len(order) // 5
    warm.close()
