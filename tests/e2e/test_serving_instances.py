"""Issue 10 end to end: several uvicorn instances, concurrent clients, versions retired under load.

Real processes only: the products example runs under two (or three) ``uvicorn`` processes on
127.0.0.1; httpx clients hammer both versions on every instance while this process activates and
deactivates the newer version and runs the deferred contract (deactivating v1 drops ``price``;
re-activating it adds it back), 20 cycles per database. Every response must be a correct payload
for the version asked, or a 404/410: never a 5xx. After each operation the state invariant is
checked on the raw catalog and state rows.

The cycle count is ``TIMESCAPE_E2E_CYCLES`` (default 20, the issue's floor; 100 under
``TIMESCAPE_SOAK=1``); the whole file stays under two minutes per database.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.dbutil import TestDB
from tests.e2e.harness import (
    HANDLER,
    V1,
    V2,
    LoadClients,
    ServerFleet,
    check_payload,
    copy_example,
    poll_until,
)
from tests.reliability.scenarios import count
from timescape import Timescape
from timescape.config import load_project

CYCLES = int(os.environ.get("TIMESCAPE_E2E_CYCLES", str(count(ci=20, soak=100))))
HEARTBEAT = 0.5
"""Fast heartbeats keep the kill -9 test short (stale after three: 1.5 s)."""
SETTINGS = f"heartbeat_interval = {HEARTBEAT}\ndrain_timeout = 60"


def _facade(folder: Path, url: str) -> Timescape:
    return load_project(folder / "timescape.toml").timescape(url)


def _seed(db: TestDB, ts: Timescape) -> dict[str, str]:
    tsvs = {ref: ts.resolve(ref, HANDLER) for ref in (V1, V2)}
    ts.activate(V1, handler=HANDLER)
    for i in (1, 2, 3):
        db.execute("INSERT INTO products (id, name, price) VALUES (?, ?, ?)", (i, f"p{i}", f"{i * 1.5:.2f}"))
    ts.activate(V2, handler=HANDLER)
    return tsvs


def _check_state(db: TestDB, tsvs: dict[str, str], live: set[str]) -> None:
    """The invariant, read through the raw driver: live rows, applied schemas and columns agree."""
    rows = dict(db.query("SELECT tsv, active FROM timescape_versions"))
    assert db.query("SELECT tsv FROM timescape_versions WHERE retiring_generation IS NOT NULL") == []
    assert {ref for ref, tsv in tsvs.items() if rows.get(tsv)} == live
    schemas = dict(db.query("SELECT name, status FROM timescape_schemas"))
    columns = set(db.columns("products"))
    assert schemas["schema_v1"] == "applied"
    v2_applied = schemas.get("schema_v2") == "applied"
    assert v2_applied == (V2 in live)
    assert ("price_cents" in columns) == v2_applied
    # The contract drops price only while v2 is live and v1 is not.
    assert ("price" in columns) == (V1 in live or not v2_applied)


@pytest.mark.stress
def test_instances__versions_retired_under_load__no_5xx_and_state_holds(
    db: TestDB, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = copy_example(tmp_path, settings=SETTINGS)
    ts = _facade(folder, db.url)
    tsvs = _seed(db, ts)
    live = {V1, V2}
    operations = 0
    lost = 0
    with ServerFleet(folder, db.url, 2) as fleet:
        poll_until(lambda: len(ts.instances()) == 2, 10, "both instances registered")
        with LoadClients([s.base_url for s in fleet.servers], tsvs, workers=8) as clients:
            time.sleep(0.3)
            for cycle in range(CYCLES):
                if cycle % 5 == 4 and ts.notification_channel is not None:
                    lost += _terminate_listeners(db)
                for op, ref in (("deactivate", V1), ("activate", V1), ("deactivate", V2), ("activate", V2)):
                    getattr(ts, op)(ref, handler=HANDLER)
                    operations += 1
                    (live.discard if op == "deactivate" else live.add)(ref)
                    _check_state(db, tsvs, live)
            time.sleep(0.3)
        tally = clients.tally
        assert fleet.servers[0].proc.poll() is None, fleet.logs()
    ts.close()
    with capsys.disabled():
        print(
            f"\n[e2e {db.dialect}] {operations} operations ({CYCLES} cycles), "
            f"{lost} notification sessions killed, "
            f"{tally.sent} requests sent, {tally.server_errors} 5xx, statuses {dict(tally.statuses)}, "
            f"served {dict(tally.served)}"
        )
    assert tally.server_errors == 0, tally.wrong[:10]
    assert tally.wrong == [], tally.wrong[:10]
    assert tally.transport_errors == 0
    # Both versions were really served between the cycles, and really refused during them.
    assert tally.served[V1] > 0
    assert tally.served[V2] > 0
    assert tally.statuses[410] > 0


def test_instances__killed_mid_drain__deactivation_waits_for_its_heartbeat_to_expire(
    db: TestDB, tmp_path: Path
) -> None:
    folder = copy_example(tmp_path, settings=SETTINGS)
    ts = _facade(folder, db.url)
    tsvs = _seed(db, ts)
    with ServerFleet(folder, db.url, 2, app="slowapp:app") as fleet:
        poll_until(lambda: len(ts.instances()) == 2, 10, "both instances registered")
        victim, survivor = fleet.servers

        def hold() -> None:
            # A slow request on v2 keeps the victim's in-flight count at 1: no drain can finish.
            with contextlib.suppress(httpx.HTTPError):  # the process is killed under it
                httpx.get(victim.base_url + HANDLER + "?slow=1", headers={"X-API-Version": V2}, timeout=60)

        holder = threading.Thread(target=hold, daemon=True)
        holder.start()
        poll_until(lambda: _in_flight(ts, victim.proc.pid, tsvs[V2]) == 1, 10, "slow request in flight")

        done: list[float] = []
        errors: list[BaseException] = []

        def deactivate() -> None:
            try:
                with _facade(folder, db.url) as control:
                    control.deactivate(V2, handler=HANDLER, drain_timeout=60)
            except BaseException as exc:
                errors.append(exc)
            done.append(time.monotonic())

        worker = threading.Thread(target=deactivate, daemon=True)
        worker.start()
        # Retiring: the survivor already answers 410 for v2, and the schema is still there.
        poll_until(
            lambda: httpx.get(survivor.base_url + HANDLER, headers={"X-API-Version": V2}).status_code == 410,
            10, "survivor refuses v2",
        )
        time.sleep(1.0)
        assert not done, "the drain finished while a request on v2 was in flight"
        assert "price_cents" in db.columns("products")
        read_at = time.monotonic()  # before the read: age_s is at least this old by then
        (last,) = [i for i in ts.instances() if i.pid == victim.proc.pid]
        victim.kill()
        worker.join(timeout=30)
        assert not errors, errors
        assert done, "the deactivation did not finish after the instance died"
        waited = done[0] - read_at
        # Its heartbeat expires stale_after seconds after the last one it sent (age_s before
        # the read): the deactivation completes then, not before, and not much after.
        expires_in = last.stale_after_s - last.age_s
        assert waited >= expires_in - 0.05, (waited, last)
        assert waited < expires_in + 5, (waited, last)
        assert "price_cents" not in db.columns("products")
        response = httpx.get(survivor.base_url + HANDLER, headers={"X-API-Version": V2})
        assert response.status_code == 410
        assert check_payload(V2, response, tsvs) is None
    ts.close()


def _terminate_listeners(db: TestDB) -> int:
    """Kill every LISTEN session of the instances (PostgreSQL): they must fall back and recover."""
    rows = db.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
    )
    return sum(1 for (ok,) in rows if ok)


def _in_flight(ts: Timescape, pid: int, tsv: str) -> int:
    for info in ts.instances():
        if info.pid == pid:
            return int(info.in_flight.get(tsv, 0))
    return -1
