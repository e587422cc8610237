"""T08: Timescape through PgBouncer in transaction pooling mode (PostgreSQL).

Needs Debian's ``pgbouncer`` (``apt-get install -y pgbouncer``); the test starts a private
instance on a free loopback port (``pool_mode = transaction``, ``default_pool_size = 2``) and
skips, naming that command, when the binary is missing.

Session-level advisory locks cannot work behind a transaction pooler (lock and unlock may land on
different server sessions, and a second client routed to the holder's session would re-enter the
lock). The documented behaviour: the migrating connection refuses to lock through a pooler, with
a message naming it, before changing anything; read-only commands still work through it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dbutil import TestDB
from tests.reliability.driver import write_spec
from tests.reliability.faults import RaceEntry, race, run, start, wait_until
from tests.reliability.invariants import check_invariants, lock_key_parts
from tests.reliability.scenarios import create_witness, make_spec, version, witness_schema
from tests.reliability.seeded import assert_unchanged, seed

pytestmark = [pytest.mark.dialects("postgresql"), pytest.mark.timeout(180)]

APT_COMMAND = "apt-get install -y pgbouncer"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pgbouncer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A private PgBouncer (transaction pooling) in front of the test PostgreSQL; its port."""
    binary = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
    if binary is None:
        pytest.skip(f"pgbouncer is not installed (CI: {APT_COMMAND})")
    # Not under pytest's private tmp folder: the daemon runs as the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="tspgb-"))
    port = _free_port()
    (folder / "userlist.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n* = host=127.0.0.1 port=5432\n\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder}/userlist.txt\n"
        "pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 100\n"
        "ignore_startup_parameters = extra_float_digits\n"
    )
    args = [binary, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        for f in folder.iterdir():
            shutil.chown(f, "postgres")
        args[1:1] = ["-u", "postgres"]
    log = (folder / "pgbouncer.out").open("w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, text=True)

    def listening() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"pgbouncer exited: {(folder / 'pgbouncer.out').read_text()}")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_until(listening, 15, interval=0.05, what="pgbouncer listening")
        yield port
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _advisory_locks(db: TestDB) -> list[tuple[Any, ...]]:
    """Every advisory lock on the test database, on any server session (checked directly)."""
    return db.query("SELECT pid, classid, objid, granted FROM pg_locks WHERE locktype = "
                    "'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = "
                    "current_database())")


def _through(db: TestDB, port: int) -> str:
    return db.url.replace(":5432/", f":{port}/")


def _refused(result: Any) -> bool:
    return result.exit_code == 1 and result.error is not None and "pooler" in result.error


def test_t08_t01_race_through_pgbouncer(db: TestDB, tmp_path: Path, pgbouncer: int) -> None:
    seeded = seed(db)
    create_witness(db)
    schemas = [witness_schema("s1", "t1", db.dialect, iteration=1, breaking=False)]
    direct = make_spec(db, schemas, [version("V1", "s1", 1)], lock_timeout=30)
    pooled = {**direct, "url": _through(db, pgbouncer)}
    path = write_spec(pooled, tmp_path / "pooled.json")

    # Reading through the pooler works (no lock is needed for it).
    run(path, "list").expect(0)
    run(path, "stats").expect(0)

    results = race([RaceEntry(path, "activate", ("V1",))] * 8, workdir=tmp_path / "race")
    if all(r.exit_code == 0 for r in results):
        # Exactly once, as in T01.
        assert sum(1 for r in results if r.data["changed"]) == 1
        assert db.count("witness WHERE iter = 1") == 1
    else:
        # Refused, clearly and before anything ran.
        for r in results:
            assert _refused(r), r.describe()
            assert "Traceback" not in r.stderr
        assert db.count("witness WHERE iter = 1") == 0
    # No advisory lock stranded on any pooled server session.
    time.sleep(0.2)
    assert _advisory_locks(db) == []
    check_invariants(db, direct)
    assert_unchanged(seeded, db)


def test_t08_t06b_dead_holder_through_pgbouncer(db: TestDB, tmp_path: Path,
                                                pgbouncer: int) -> None:
    seed(db)
    schema = {"name": "S", "breaking": False,
              "migrations": ["CREATE TABLE p_t (id INTEGER PRIMARY KEY)",
                             "ALTER TABLE p_t ADD COLUMN c2 INTEGER"],
              "rollback": ["DROP TABLE p_t", "ALTER TABLE p_t DROP COLUMN c2"],
              "objects": [["p_t"], ["p_t.c2"]]}
    direct = make_spec(db, [schema], [version("V", "S", 1)], lock_timeout=10)
    pooled = {**direct, "url": _through(db, pgbouncer)}
    path = write_spec(pooled, tmp_path / "pooled.json")
    classid, objid = lock_key_parts(db, "timescape_")

    holder = start(path, "activate", "V", faults="pause:after_step:1")
    wait_until(lambda: holder.is_ready("after_step:1") or holder.poll() is not None, 30,
               what="the holder pausing or exiting")
    if holder.poll() is not None:
        result = holder.wait()
        assert _refused(result), result.describe()
    else:
        holder.sigkill()
        # The next activation must proceed without manual action, and no lock may be stranded.
        again = run(path, "activate", "V")
        assert again.exit_code == 0 or _refused(again), again.describe()
    time.sleep(0.2)
    assert [r for r in _advisory_locks(db) if (r[1], r[2]) == (classid, objid)] == []
    assert _advisory_locks(db) == []
    check_invariants(db, direct)
