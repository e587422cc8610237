"""A tiny Timescape program for the reliability tests, run in subprocesses.

Usage::

    python -m tests.reliability.driver SPEC.json OPERATION [ARGS] [--force] [--keep-schema]
                                       [--lock-timeout S] [--migration-timeout S] [--prefix P]
    python -m tests.reliability.driver --race RACE.json

OPERATION is one of:

===================  =====================================================================
``activate REF``     ``Timescape.activate``; REF is a version alias from the spec or a TSV
``deactivate REF``   ``Timescape.deactivate``
``migrate NAME``     ``Timescape.apply_schema``
``rollback NAME``    ``Timescape.rollback_schema``
``resolve NAME K``   ``Timescape.resolve_schema(NAME, steps_done=K)``
``tag REF LABEL``    ``Timescape.tag`` (point LABEL at the version)
``verify``           ``Timescape.verify``; exit 1 when the report is not ok
``stats``            ``Timescape.stats``
``list``             ``Timescape.versions`` and ``Timescape.schemas``
``cycle SEED N``     N random activate/deactivate calls over the spec's versions (soak)
``read N``           N rounds of stats + list + history (soak readers)
===================  =====================================================================

On success it prints one JSON object on stdout and exits 0. On a :class:`TimescapeError` it prints
``Error: <message>`` as the only stderr line, a JSON object ``{"ok": false, ...}`` on stdout, and
exits with ``exc.exit_code``. Anything else is a bug: traceback on stderr, exit 70.

``--race RACE.json`` forks one child per entry of ``{"entries": [{"argv": [SPEC, OP, ...],
"faults": "...", "fault_dir": "...", "delay": 0.0}], "timeout": 60}`` after importing everything
(cheap processes), releases them together through a pipe barrier, and prints a JSON list of
``{"index", "pid", "exit_code", "stdout", "stderr", "started", "ended"}``.

Spec format (JSON)::

    {"url": "postgresql://…", "table_prefix": "timescape_", "lock_timeout": 10,
     "migration_timeout": 30, "ddl_lock_timeout": 5, "rollback_on_deactivate": true,
     "schemas": [{"name": "s1", "migrations": ["CREATE TABLE t1 (…)", …],
                  "rollback": ["DROP TABLE t1", …], "parent": null | "p" | ["p", "q"],
                  "compatible_with": [], "breaking": null, "transactional": true,
                  "objects": [["t1"], ["t1.c2", "t1#t1_c2_idx"], ["witness?iter = 1"]]}],
     "versions": [{"alias": "V1", "handler": "/api/items", "timestamp": "2024-01-01T00:00:00Z",
                   "schema": "s1", "tags": []}]}

``objects`` lists, per step, what the step creates (``table``, ``table.column``, ``table#index``,
``table?SQL condition`` for a row); the driver ignores it, :mod:`tests.reliability.invariants`
checks it against the catalog.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import select
import signal
import sys
import time
import traceback
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from tests import clirun
from timescape import Timescape, TimescapeError
from timescape.model.tsv import parse_timestamp

EXIT_BUG = 70
SERVING_KEYS = ("heartbeat_interval", "stale_after", "poll_interval", "drain_timeout")

__all__ = [
    "build_timescape",
    "load_spec",
    "main",
    "tsv_of",
    "version_aliases",
    "write_project",
    "write_spec",
]


# -- spec ---------------------------------------------------------------------------------------


def load_spec(path: str | Path) -> dict[str, Any]:
    """Read a spec file."""
    return json.loads(Path(path).read_text())


def write_spec(spec: dict[str, Any], path: str | Path) -> Path:
    """Write a spec file and return its path."""
    target = Path(path)
    target.write_text(json.dumps(spec, indent=1))
    return target


def build_timescape(spec: dict[str, Any], **overrides: Any) -> Timescape:
    """Build a :class:`Timescape` from a spec (``overrides`` replace constructor options)."""
    options: dict[str, Any] = {
        key: spec[key]
        for key in ("table_prefix", "lock_timeout", "migration_timeout", "ddl_lock_timeout",
                    "rollback_on_deactivate", *SERVING_KEYS)
        if key in spec
    }
    options.update(overrides)
    ts = Timescape(spec["url"], infer_compatibility=False, **options)
    for s in spec.get("schemas", []):
        ts.add_schema(
            s["name"],
            s["migrations"],
            s.get("rollback") or None,
            parent=s.get("parent"),
            compatible_with=s.get("compatible_with", ()),
            breaking=s.get("breaking"),
            transactional=s.get("transactional", True),
        )
    for v in spec.get("versions", []):
        ts.add_version(v["handler"], v["timestamp"], v["schema"], tags=v.get("tags", ()))
    return ts


def write_project(spec: dict[str, Any], folder: str | Path) -> Path:
    """Write the spec as a ``timescape.toml`` for the real CLI; return the file.

    Strings are written as TOML basic strings (JSON escaping is valid TOML there).
    """
    def s(value: Any) -> str:
        return json.dumps(value)

    options = ("lock_timeout", "migration_timeout", "ddl_lock_timeout", "table_prefix",
               "rollback_on_deactivate", *SERVING_KEYS)
    lines = ["[database]", f"url = {s(spec['url'])}"]
    lines += [f"{key} = {s(spec[key])}" for key in options if key in spec]
    for schema in spec.get("schemas", []):
        lines += ["", "[[schemas]]", f"name = {s(schema['name'])}",
                  f"migrations = {s(schema['migrations'])}"]
        if schema.get("rollback"):
            lines.append(f"rollback = {s(schema['rollback'])}")
        if schema.get("parent"):
            lines.append(f"parent = {s(schema['parent'])}")
        if schema.get("compatible_with"):
            lines.append(f"compatible_with = {s(schema['compatible_with'])}")
        if schema.get("breaking") is not None:
            lines.append(f"breaking = {s(schema['breaking'])}")
    for v in spec.get("versions", []):
        lines += ["", "[[versions]]", f"handler = {s(v['handler'])}",
                  f"timestamp = {s(v['timestamp'])}", f"schema = {s(v['schema'])}"]
        if v.get("tags"):
            lines.append(f"tags = {s(v['tags'])}")
    return clirun.write_project(Path(folder), "\n".join(lines) + "\n")


def version_aliases(spec: dict[str, Any]) -> dict[str, str]:
    """Map each version alias of the spec to its TSV (computed exactly as Timescape does)."""
    ts = build_timescape({**spec, "url": "sqlite://"})
    by_key = {(v.handler, v.timestamp): v.tsv for v in ts.catalog.versions}
    out: dict[str, str] = {}
    for v in spec.get("versions", []):
        tsv = by_key[(v["handler"], parse_timestamp(v["timestamp"]))]
        out[v.get("alias") or tsv] = tsv
    return out


def tsv_of(spec: dict[str, Any], alias: str) -> str:
    """The TSV of one alias."""
    return version_aliases(spec)[alias]


# -- rendering ----------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _operation(result: Any) -> dict[str, Any]:
    return {
        "ok": True,
        "operation": result.operation,
        "target": result.target,
        "changed": result.changed,
        "message": result.message,
        "notes": list(result.plan.notes),
        "outcomes": [
            {"schema": o.schema, "kind": str(o.kind), "status": o.status, "steps_run": o.steps_run}
            for o in result.outcomes
        ],
        "duration_ms": result.duration_ms,
    }


def _fd_count() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # pragma: no cover - no procfs
        return -1


# -- operations ---------------------------------------------------------------------------------


def _run(ts: Timescape, spec: dict[str, Any], op: str, args: list[str], flags: dict[str, Any]
         ) -> tuple[int, dict[str, Any]]:
    aliases = version_aliases(spec)

    def ref(text: str) -> str:
        return aliases.get(text, text)

    def verify() -> tuple[int, dict[str, Any]]:
        report = ts.verify()
        data = {"ok": report.ok, "problems": _plain(list(report.problems)),
                "checked": report.checked_schemas}
        return (0 if report.ok else 1), data

    force = flags["force"]
    operations: dict[str, Any] = {
        "activate": lambda: _operation(ts.activate(ref(args[0]), force=force)),
        "deactivate": lambda: _operation(ts.deactivate(
            ref(args[0]), force=force, keep_schema=flags["keep_schema"])),
        "migrate": lambda: _operation(ts.apply_schema(args[0], force=force)),
        "rollback": lambda: _operation(ts.rollback_schema(args[0], force=force)),
        "resolve": lambda: _operation(ts.resolve_schema(args[0], steps_done=int(args[1]))),
        "tag": lambda: _operation(ts.tag(ref(args[0]), args[1])),
        "stats": lambda: {"ok": True, "stats": _plain(ts.stats())},
        "list": lambda: {"ok": True, "versions": _plain(ts.versions()),
                         "schemas": _plain(ts.schemas())},
        "cycle": lambda: _cycle(ts, aliases, seed=int(args[0]), count=int(args[1])),
        "read": lambda: _read(ts, count=int(args[0])),
    }
    if op == "verify":
        return verify()
    if op not in operations:
        msg = f"unknown operation {op!r}"
        raise SystemExit(msg)
    return 0, operations[op]()


def _cycle(ts: Timescape, aliases: dict[str, str], *, seed: int, count: int) -> dict[str, Any]:
    """Random activate/deactivate calls; expected refusals are counted, bugs escape."""
    rng = random.Random(seed)
    names = sorted(aliases)
    outcomes: Counter[str] = Counter()
    errors: list[str] = []
    fds: list[int] = []
    for _ in range(count):
        alias = rng.choice(names)
        op = rng.choice(("activate", "deactivate"))
        changed = False
        try:
            call = ts.activate if op == "activate" else ts.deactivate
            result = call(aliases[alias])
            changed = result.changed
            outcomes[f"{op}:{'changed' if changed else 'noop'}"] += 1
        except TimescapeError as exc:
            outcomes[f"{op}:{type(exc).__name__}"] += 1
            errors.append(f"{op} {alias}: {type(exc).__name__}: {exc}")
        # The baseline is taken after the first run that executed a plan: a run opens the
        # per-process resources it keeps on purpose (the Ctrl-C wake-up pipe), which are
        # not a leak; anything opened per run after that would be.
        if not fds and changed:
            fds.append(_fd_count())
    fds.append(_fd_count())
    return {"ok": True, "outcomes": dict(outcomes), "errors": errors, "fds": fds}


def _read(ts: Timescape, *, count: int) -> dict[str, Any]:
    fds = []
    for i in range(count):
        ts.stats()
        ts.versions()
        ts.schemas()
        ts.history(limit=20)
        if i == 0:
            fds.append(_fd_count())
    fds.append(_fd_count())
    return {"ok": True, "reads": count, "fds": fds}


def _parse(argv: list[str]) -> tuple[str, str, list[str], dict[str, Any]]:
    flags: dict[str, Any] = {"force": False, "keep_schema": False, "overrides": {}}
    rest: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg == "--force":
            flags["force"] = True
        elif arg == "--keep-schema":
            flags["keep_schema"] = True
        elif arg == "--lock-timeout":
            flags["overrides"]["lock_timeout"] = float(next(it))
        elif arg == "--migration-timeout":
            flags["overrides"]["migration_timeout"] = float(next(it))
        elif arg == "--prefix":
            flags["overrides"]["table_prefix"] = next(it)
        else:
            rest.append(arg)
    if len(rest) < 2:
        raise SystemExit(__doc__)
    return rest[0], rest[1], rest[2:], flags


def run_once(argv: list[str]) -> int:
    """Run one operation; print its outcome; return the exit code."""
    spec_path, op, args, flags = _parse(argv)
    spec = load_spec(spec_path)
    ts = build_timescape(spec, **flags["overrides"])
    try:
        code, data = _run(ts, spec, op, args, flags)
    except TimescapeError as exc:
        message = " ".join(exc.message.split())
        print(json.dumps({"ok": False, "error": message, "type": type(exc).__name__,
                          "exit_code": exc.exit_code, "facts": _plain(exc.facts())}))
        print(f"Error: {message}", file=sys.stderr)
        return exc.exit_code
    except Exception:
        traceback.print_exc()
        return EXIT_BUG
    finally:
        try:
            ts.close()
        except Exception:
            traceback.print_exc()
    print(json.dumps(data))
    return code


# -- race mode ----------------------------------------------------------------------------------


def _child(entry: dict[str, Any], out: Path, barrier: int) -> None:
    """In a forked child: redirect output, wait for the barrier, run, exit."""
    fd_out = os.open(out / "stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    fd_err = os.open(out / "stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd_out, 1)
    os.dup2(fd_err, 2)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    if entry.get("faults"):
        os.environ["TIMESCAPE_TEST_FAULTS"] = entry["faults"]
        os.environ["TIMESCAPE_TEST_FAULT_DIR"] = entry.get("fault_dir", str(out))
    os.read(barrier, 1)
    delay = float(entry.get("delay", 0.0))
    if delay > 0:
        time.sleep(delay)
    (out / "started").write_text(repr(time.time()))
    try:
        code = run_once(list(entry["argv"]))
    except BaseException:
        traceback.print_exc()
        code = EXIT_BUG
    (out / "ended").write_text(repr(time.time()))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def race(race_path: str) -> int:
    """Fork one child per entry, release them together, collect and print their results."""
    # Warm the drivers once, before forking, so every child starts at once.
    import psycopg  # noqa: F401, PLC0415
    import pymysql  # noqa: F401, PLC0415

    plan = json.loads(Path(race_path).read_text())
    entries = plan["entries"]
    root = Path(plan.get("out") or Path(race_path).with_suffix(""))
    read_end, write_end = os.pipe()
    children: dict[int, int] = {}
    for index, entry in enumerate(entries):
        out = root / f"child{index}"
        out.mkdir(parents=True, exist_ok=True)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            os.close(write_end)
            _child(entry, out, read_end)
        children[pid] = index
    os.close(read_end)
    os.write(write_end, b"x" * len(entries))
    deadline = time.monotonic() + float(plan.get("timeout", 120))
    codes: dict[int, int] = {}
    pids = {index: pid for pid, index in children.items()}
    while len(codes) < len(entries):
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            if time.monotonic() > deadline:
                for p, i in children.items():
                    if i not in codes:
                        os.kill(p, signal.SIGKILL)
            select.select([], [], [], 0.01)
            continue
        codes[children[pid]] = os.waitstatus_to_exitcode(status)
    results = []
    for index in range(len(entries)):
        out = root / f"child{index}"

        def read(name: str, folder: Path = out) -> str:
            path = folder / name
            return path.read_text() if path.exists() else ""

        results.append({
            "index": index,
            "pid": pids[index],
            "exit_code": codes[index],
            "stdout": read("stdout"),
            "stderr": read("stderr"),
            "started": float(read("started") or 0),
            "ended": float(read("ended") or 0),
        })
    print(json.dumps(results))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--race":
        return race(args[1])
    return run_once(args)


if __name__ == "__main__":
    sys.exit(main())
