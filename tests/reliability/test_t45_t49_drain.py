"""T45/T46/T48/T49 and crash recovery: retirement drains real serving processes before it rolls back.

Every instance here is its own process (``tests.reliability.instance``) and every deactivation a
real ``timescape`` CLI process, on each database. The schema of the version being retired must
stay applied for as long as any live instance holds the version, and go as soon as none does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.dbutil import TestDB
from tests.reliability.driver import build_timescape, tsv_of, write_project, write_spec
from tests.reliability.invariants import check_invariants, object_exists
from tests.reliability.scenarios import (
    count,
    create_witness,
    make_spec,
    version,
    witness_schema,
)

pytestmark = [pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT = 0.3
STALE_AFTER = 1.5


@dataclass
class Instance:
    """A running instance process."""

    proc: subprocess.Popen[str]
    folder: Path
    id: str

    def touch(self, name: str) -> None:
        (self.folder / name).write_text("")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@dataclass
class Setup:
    """Two versions (V2 builds on V1's schema), both live; the project for the CLI."""

    db: TestDB
    spec: dict[str, Any]
    spec_path: Path
    project: Path
    tmp: Path
    instances: list[Instance]

    @property
    def v2(self) -> str:
        return tsv_of(self.spec, "V2")

    def start(self, *flags: str) -> Instance:
        folder = self.tmp / f"instance{len(self.instances)}"
        folder.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIMESCAPE_")}
        log = folder / "stderr"
        with log.open("w") as stderr:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.reliability.instance", str(self.spec_path),
                 str(folder), *flags],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr, text=True,
            )
        deadline = time.monotonic() + 30
        while not (folder / "ready").exists():
            if proc.poll() is not None:
                pytest.fail(f"instance died: {log.read_text()}")
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("instance not ready within 30 s")
            time.sleep(0.02)
        instance = Instance(proc, folder, (folder / "ready").read_text())
        self.instances.append(instance)
        return instance

    def cli(self, *args: str, faults: str | None = None) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIMESCAPE_")}
        env["PYTHONUNBUFFERED"] = "1"
        if faults:
            env["TIMESCAPE_TEST_FAULTS"] = faults
        return subprocess.Popen(
            [sys.executable, "-m", "timescape", "--project", str(self.project), *args],
            cwd=self.tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def run(self, *args: str, timeout: float = 60) -> tuple[int, str, str]:
        proc = self.cli(*args)
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err

    def version_row(self, tsv: str) -> tuple[int, Any]:
        rows = self.db.query(
            "SELECT active, retiring_generation FROM timescape_versions WHERE tsv = ?", (tsv,))
        return int(rows[0][0]), rows[0][1]

    def s2_applied(self) -> bool:
        rows = self.db.query("SELECT status FROM timescape_schemas WHERE name = 's2'")
        return rows[0][0] == "applied" and object_exists(self.db, "a2")


@pytest.fixture
def setup(db: TestDB, tmp_path: Path) -> Iterator[Setup]:
    create_witness(db)
    spec = make_spec(
        db,
        [witness_schema("s1", "a1", db.dialect, iteration=1),
         witness_schema("s2", "a2", db.dialect, iteration=2, parent="s1",
                        compatible_with=["s1"])],
        [version("V1", "s1", 1), version("V2", "s2", 2)],
        heartbeat_interval=HEARTBEAT, stale_after=STALE_AFTER, poll_interval=0.1,
        drain_timeout=60,
    )
    spec_path = write_spec(spec, tmp_path / "spec.json")
    project = write_project(spec, tmp_path / "project")
    ts = build_timescape(spec)
    ts.activate(tsv_of(spec, "V1"))
    ts.activate(tsv_of(spec, "V2"))
    ts.close()
    state = Setup(db, spec, spec_path, project, tmp_path, [])
    yield state
    for instance in state.instances:
        instance.stop()


def _wait(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached within {timeout} s")
        time.sleep(0.02)


def _events(db: TestDB, kind: str) -> list[str]:
    return [r[0] for r in db.query("SELECT subject FROM timescape_events WHERE kind = ?",
                                   (kind,))]


def test_no_instance__deactivate__one_phase_no_drain(setup: Setup) -> None:
    code, out, err = setup.run("version", "deactivate", setup.v2, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["drain"] is None
    assert [o["schema"] for o in result["outcomes"]] == ["s2"]
    assert _events(setup.db, "version_retiring") == []
    assert not setup.s2_applied()
    check_invariants(setup.db, setup.spec, api=True)


def test_t45_idle_instances__deactivate__drained_then_rolled_back(setup: Setup) -> None:
    instances = [setup.start(), setup.start()]
    code, out, err = setup.run("version", "deactivate", setup.v2, "--json")
    assert code == 0, err
    drain = json.loads(out)["drain"]
    names = sorted(drain["instances"])
    assert len(names) == 2
    assert all(f"pid {i.proc.pid} " in " ".join(names) for i in instances)
    assert drain["forced"] is False
    assert not setup.s2_applied()
    kinds = [r[0] for r in setup.db.query(
        "SELECT kind FROM timescape_events WHERE subject IN (?, 's2') ORDER BY id", (setup.v2,))]
    # Marked retiring, drained, and only then rolled back and marked inactive (MariaDB marks
    # it inactive before the step-by-step rollback).
    assert kinds[-4:-2] == ["version_retiring", "version_drained"]
    assert sorted(kinds[-2:]) == ["schema_rolled_back", "version_deactivated"]
    assert setup.version_row(setup.v2) == (0, None)
    check_invariants(setup.db, setup.spec, api=True)


def test_t46_instance_killed_during_drain__rollback_waits_for_its_heartbeat_to_expire(
    setup: Setup,
) -> None:
    holder = setup.start("--hold", setup.v2)
    setup.start()  # an idle one, which acknowledges at once
    proc = setup.cli("version", "deactivate", setup.v2, "--json")
    _wait(lambda: setup.version_row(setup.v2)[1] is not None, "version marked retiring")
    time.sleep(3 * HEARTBEAT)
    # The holder keeps heartbeating with a request in flight: nothing is rolled back.
    assert proc.poll() is None
    assert setup.s2_applied()
    holder.kill()
    killed_at = time.time()
    out, err = proc.communicate(timeout=30)
    finished = time.time()
    assert proc.returncode == 0, err
    assert json.loads(out)["drain"]["instances"]
    # Not before its heartbeat expired (its last one came at most one interval before the
    # kill), and not much after.
    assert finished - killed_at >= STALE_AFTER - HEARTBEAT - 0.05
    assert finished - killed_at <= STALE_AFTER + 5
    assert not setup.s2_applied()
    assert f"pid {holder.proc.pid} " in err  # the progress named it while waiting
    check_invariants(setup.db, setup.spec, api=True)


def test_t49_drain_times_out__nothing_rolled_back__rerun_continues(setup: Setup) -> None:
    frozen = setup.start("--freeze")
    code, out, err = setup.run("version", "deactivate", setup.v2, "--drain-timeout", "1",
                               "--json")
    assert code == 1, err
    error = json.loads(out)["error"]
    assert error["type"] == "DrainTimeoutError"
    assert error["tsvs"] == [setup.v2]
    assert any(f"pid {frozen.proc.pid} " in h and "not yet loaded" in h
               for h in error["holders"])
    assert err.count("Error:") == 1
    assert "Traceback" not in err
    # Nothing rolled back; the version stays retiring, so no instance routes to it.
    assert setup.s2_applied()
    active, retiring = setup.version_row(setup.v2)
    assert active == 1
    assert retiring is not None
    assert _events(setup.db, "schema_rolled_back") == []
    code, out, _ = setup.run("version", "status", setup.v2, "--json")
    status = json.loads(out)
    assert status["status"] == "retiring"
    assert [h["pid"] for h in status["held_by"]] == [frozen.proc.pid]
    check_invariants(setup.db, setup.spec, api=True)
    # The instance catches up; running the command again finishes the job.
    frozen.touch("thaw")
    code, out, err = setup.run("version", "deactivate", setup.v2, "--json")
    assert code == 0, err
    assert [o["schema"] for o in json.loads(out)["outcomes"]] == ["s2"]
    assert not setup.s2_applied()
    assert _events(setup.db, "version_retiring") == [setup.v2]  # marked once, continued
    check_invariants(setup.db, setup.spec, api=True)


@pytest.mark.stress
def test_t48_two_deactivations_racing__one_outcome(setup: Setup) -> None:
    report = None
    for round_ in range(count(2, 20)):
        if round_:
            code, _, err = setup.run("version", "activate", setup.v2)
            assert code == 0, err
        holder = setup.start("--hold", setup.v2)
        first = setup.cli("version", "deactivate", setup.v2, "--json")
        second = setup.cli("version", "deactivate", setup.v2, "--json")
        _wait(lambda: setup.version_row(setup.v2)[1] is not None, "version marked retiring")
        time.sleep(0.3)
        assert first.poll() is None
        assert second.poll() is None
        holder.touch("release")
        results = []
        for proc in (first, second):
            out, err = proc.communicate(timeout=30)
            assert proc.returncode == 0, err
            results.append(json.loads(out))
        assert sorted(r["changed"] for r in results) == [False, True]
        assert _events(setup.db, "schema_rolled_back") == ["s2"] * (round_ + 1)
        assert _events(setup.db, "version_retiring") == [setup.v2] * (round_ + 1)
        assert not setup.s2_applied()
        report = check_invariants(setup.db, setup.spec, api=True, previous=report)
        holder.stop()


def test_t48_activation_during_drain__cancels_the_retirement(setup: Setup) -> None:
    holder = setup.start("--hold", setup.v2)
    deactivation = setup.cli("version", "deactivate", setup.v2, "--json")
    _wait(lambda: setup.version_row(setup.v2)[1] is not None, "version marked retiring")
    code, out, err = setup.run("version", "activate", setup.v2, "--json")
    assert code == 0, err
    assert "routed again" in json.loads(out)["message"] or json.loads(out)["changed"]
    assert setup.version_row(setup.v2) == (1, None)
    holder.touch("release")
    out, err = deactivation.communicate(timeout=30)
    assert deactivation.returncode == 1, err
    assert json.loads(out)["error"]["type"] == "RetirementCancelledError"
    assert setup.s2_applied()
    assert setup.version_row(setup.v2) == (1, None)
    check_invariants(setup.db, setup.spec, api=True)


def test_crash_between_phases__next_run_recovers(setup: Setup) -> None:
    setup.start()
    crashed = setup.cli("version", "deactivate", setup.v2, faults="kill:after_retiring")
    crashed.communicate(timeout=60)
    assert crashed.returncode == -signal.SIGKILL
    assert setup.version_row(setup.v2)[1] is not None
    assert setup.s2_applied()
    check_invariants(setup.db, setup.spec, api=True)
    code, out, _ = setup.run("version", "list", "--json")
    statuses = {v["tsv"]: v["status"] for v in json.loads(out)["versions"]}
    assert statuses[setup.v2] == "retiring"
    code, out, err = setup.run("version", "deactivate", setup.v2, "--json")
    assert code == 0, err
    assert not setup.s2_applied()
    assert setup.version_row(setup.v2) == (0, None)
    check_invariants(setup.db, setup.spec, api=True)


def test_no_drain__rolls_back_at_once__logged_as_forced(setup: Setup) -> None:
    setup.start("--hold", setup.v2)
    code, out, err = setup.run("version", "deactivate", setup.v2, "--no-drain", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["drain"]["forced"] is True
    assert not setup.s2_applied()
    detail = setup.db.query(
        "SELECT detail FROM timescape_events WHERE kind = 'version_deactivated'")[0][0]
    assert "drain skipped (--no-drain)" in json.loads(detail)["forced"]
    check_invariants(setup.db, setup.spec, api=True)
