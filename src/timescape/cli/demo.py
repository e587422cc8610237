"""``timescape demo``: five scenarios on throwaway SQLite databases, narrated.

The demo uses the Python API (it doubles as a tour of it) in a temporary folder that is removed at
the end; it never touches the current project or any server.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from timescape.cli._context import App, global_options, pass_app
from timescape.cli.render import Cell, Style, table
from timescape.errors import CompatibilityError

if TYPE_CHECKING:  # the facade loads when the demo runs, not for --help
    from timescape.manager import Timescape
    from timescape.reports import OperationResult

__all__ = ["demo_command"]

_HANDLER = "/api/products"


def _timescape(url: str) -> Timescape:
    from timescape.manager import Timescape  # noqa: PLC0415 - not needed for --help

    return Timescape(url)


class _Narrator:
    """Prints the story (or collects it for --json)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.style: Style = app.style if not app.json else Style(enabled=False)
        self.scenarios: list[dict[str, Any]] = []

    def title(self, number: int, text: str) -> None:
        self.scenarios.append({"number": number, "title": text, "lines": []})
        self._out("")
        self._out(self.style(f"━━ {number}. {text} ━━", "bold", "cyan"))

    def say(self, text: str) -> None:
        self._out(text)

    def why(self, text: str) -> None:
        self._out(self.style(f"  why: {text}", "dim"))

    def run(self, label: str, call: Callable[[], OperationResult]) -> OperationResult:
        self._out(self.style(f"  $ {label}", "yellow"))
        result = call()
        self._out(
            f"  → {result.message}" + (f" ({result.duration_ms} ms)" if result.changed else "")
        )
        for note in result.plan.notes:
            if note.startswith(("kept", "schemas kept")):
                self._out(f"    {note}")
        return result

    def refused(self, label: str, call: Callable[[], object]) -> None:
        self._out(self.style(f"  $ {label}", "yellow"))
        try:
            call()
        except CompatibilityError as exc:
            self._out(self.style("  ✗ refused: ", "red") + exc.message)
        else:  # pragma: no cover - the scenario is built so the gate refuses
            self._out("  (unexpectedly allowed)")

    def tables(self, ts: Timescape) -> None:
        names = sorted(
            t for t in ts.backend.table_names() if not t.startswith((ts.table_prefix, "sqlite_"))
        )
        self._out(f"  tables now: {', '.join(names) or '(none)'}")

    def schemas(self, ts: Timescape) -> None:
        rows: list[list[str | Cell]] = [
            [i.name, Cell(i.status, self.style.status), ", ".join(i.used_by) or "-"]
            for i in ts.schemas()
        ]
        for line in table(["SCHEMA", "STATUS", "USED BY"], rows, self.style).splitlines():
            self._out(f"    {line}")

    def _out(self, text: str) -> None:
        if self.scenarios:
            self.scenarios[-1]["lines"].append(text)
        if not self.app.json:
            self.app.echo(text)


def _basic(n: _Narrator, folder: Path) -> None:
    n.title(1, "Basic: a schema is applied by activating a version")
    ts = _timescape(f"sqlite:///{folder / 'basic.db'}")
    ts.add_schema(
        "schema_v1",
        ["CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"],
        ["DROP TABLE products"],
    )
    tsv = ts.add_version(_HANDLER, "2025-01-01T00:00:00Z", "schema_v1", tags=["v1.0.0"])
    n.say(f"schema_v1 creates a products table; version {tsv} of {_HANDLER} needs it.")
    n.say(
        "Its id (TSV) is derived from the timestamp and the handler, so every app instance "
        "agrees on it."
    )
    plan = n.run("activate v1.0.0 --dry-run", lambda: ts.activate("v1.0.0", dry_run=True)).plan
    for statement in plan.statements():
        n.say(f"    {statement};")
    n.why("a dry run plans under the same rules and prints the exact SQL; nothing changes.")
    n.tables(ts)
    n.run("activate v1.0.0", lambda: ts.activate("v1.0.0"))
    n.tables(ts)
    n.schemas(ts)
    n.why(
        "activating a version applies every schema it needs that is not applied yet, "
        "parents first, each in one transaction on SQLite and PostgreSQL."
    )
    ts.close()


def _shared(n: _Narrator, folder: Path) -> None:
    n.title(2, "Shared schema and smart rollback")
    ts = _timescape(f"sqlite:///{folder / 'shared.db'}")
    ts.add_schema(
        "schema_v1",
        ["CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"],
        ["DROP TABLE products"],
    )
    old = ts.add_version(_HANDLER, "2025-01-01T00:00:00Z", "schema_v1", tags=["v1.0"])
    new = ts.add_version(_HANDLER, "2025-02-01T00:00:00Z", "schema_v1", tags=["v1.1"])
    n.say(f"Two versions share schema_v1: {old} (v1.0) and {new} (v1.1).")
    n.run("activate v1.0", lambda: ts.activate("v1.0"))
    n.run("activate v1.1", lambda: ts.activate("v1.1"))
    n.why("the second activation had nothing to apply: schema_v1 was already there.")
    n.run("deactivate v1.0", lambda: ts.deactivate("v1.0"))
    n.tables(ts)
    n.why("v1.1 still needs schema_v1, so it stays applied.")
    n.run("deactivate v1.1", lambda: ts.deactivate("v1.1"))
    n.tables(ts)
    n.schemas(ts)
    n.why("no live version needs schema_v1 any more, so it was rolled back.")
    ts.close()


def _multi(n: _Narrator, folder: Path) -> None:
    n.title(3, "A multi-table migration with foreign keys and indexes, rolled back in reverse")
    ts = _timescape(f"sqlite:///{folder / 'shop.db'}")
    ts.add_schema(
        "shop_v1",
        [
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)",
            (
                "CREATE TABLE orders (id INTEGER PRIMARY KEY, "
                "customer_id INTEGER NOT NULL REFERENCES customers(id))"
            ),
            "CREATE INDEX idx_orders_customer ON orders (customer_id)",
            (
                "CREATE TABLE order_items (id INTEGER PRIMARY KEY, "
                "order_id INTEGER NOT NULL REFERENCES orders(id), sku TEXT NOT NULL)"
            ),
            "CREATE INDEX idx_items_order ON order_items (order_id)",
        ],
        [
            "DROP TABLE customers",
            "DROP TABLE orders",
            "DROP INDEX idx_orders_customer",
            "DROP TABLE order_items",
            "DROP INDEX idx_items_order",
        ],
    )
    ts.add_version("/api/orders", "2025-03-01T00:00:00Z", "shop_v1", tags=["v1"])
    n.say(
        "shop_v1 has five steps: customers, orders → customers, an index, order_items → "
        "orders, an index. rollback[i] undoes migrations[i]."
    )
    n.run("activate v1", lambda: ts.activate("v1"))
    n.tables(ts)
    plan = ts.deactivate("v1", dry_run=True).plan
    n.say("  $ deactivate v1 --dry-run   (the rollback statements, in execution order)")
    for number, statement in enumerate(plan.statements(), start=1):
        n.say(f"    {number}. {statement}")
    n.why(
        "rolling back runs from the last step down to the first, so children and indexes "
        "go before the tables they point at."
    )
    n.run("deactivate v1", lambda: ts.deactivate("v1"))
    n.tables(ts)
    ts.close()


def _compat_definitions(ts: Timescape, *, declare: bool) -> None:
    ts.add_schema(
        "schema_v1",
        [
            (
                "CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                "price INTEGER NOT NULL DEFAULT 0)"
            )
        ],
        ["DROP TABLE products"],
    )
    ts.add_schema(
        "schema_v2",
        ["ALTER TABLE products RENAME COLUMN name TO title"],
        ["ALTER TABLE products RENAME COLUMN title TO name"],
        parent="schema_v1",
        compatible_with=["schema_v1"] if declare else [],
    )
    ts.add_schema(
        "schema_v3",
        ["ALTER TABLE products DROP COLUMN price"],
        ["ALTER TABLE products ADD COLUMN price INTEGER NOT NULL DEFAULT 0"],
        parent="schema_v2",
        breaking=True,
    )
    ts.add_version(_HANDLER, "2025-01-01T00:00:00Z", "schema_v1", tags=["v1"])
    ts.add_version(_HANDLER, "2025-02-01T00:00:00Z", "schema_v2", tags=["v2"])
    ts.add_version(_HANDLER, "2025-03-01T00:00:00Z", "schema_v3", tags=["v3"])


def _compatibility(n: _Narrator, folder: Path) -> None:
    n.title(4, "The compatibility gate")
    url = f"sqlite:///{folder / 'gate.db'}"
    ts = _timescape(url)
    _compat_definitions(ts, declare=False)
    n.say(
        "v1 needs schema_v1 (products: id, name, price); v2 needs schema_v2, which renames "
        "products.name to title; v3 needs schema_v3, which drops products.price and is "
        "declared breaking = true."
    )
    n.run("activate v1", lambda: ts.activate("v1"))
    n.refused("activate v2", lambda: ts.activate("v2"))
    n.why(
        "while v1 is live, a schema goes in only if v1's code keeps working with it. schema_v2 "
        "declares nothing, so its SQL is judged: a rename breaks code that reads the old name "
        "(without the analysis extra, anything undeclared counts as breaking)."
    )
    ts.close()
    n.say(
        "Say v1 reads products through a view that survives the rename: we declare it with "
        'compatible_with = ["schema_v1"] on schema_v2. A declaration wins over the analysis.'
    )
    ts = _timescape(url)
    _compat_definitions(ts, declare=True)
    n.run("activate v2", lambda: ts.activate("v2"))
    n.refused("activate v3", lambda: ts.activate("v3"))
    n.why(
        "schema_v3 drops a column that v1 and v2 still read; the gate names every live "
        "version it would break."
    )
    n.run("deactivate v1", lambda: ts.deactivate("v1"))
    n.run("deactivate v2 --keep-schema", lambda: ts.deactivate("v2", keep_schema=True))
    n.run("activate v3", lambda: ts.activate("v3"))
    n.schemas(ts)
    n.why(
        "with no live version left to break, schema_v3 goes in; --force would have "
        "overridden the gate (and been logged)."
    )
    ts.close()


def _statistics(n: _Narrator, folder: Path) -> None:
    n.title(5, "Statistics")
    ts = _timescape(f"sqlite:///{folder / 'stats.db'}")
    _compat_definitions(ts, declare=True)
    ts.activate("v1")
    ts.activate("v2")
    tsv1, tsv2 = ts.resolve("v1"), ts.resolve("v2")
    for _ in range(3):
        ts.record_request(tsv1)
    for _ in range(40):
        ts.record_request(tsv2)
    ts.flush_usage()
    n.say(
        "v1 and v2 are live; record_request() (what the ASGI middleware calls) counted 3 "
        "requests to v1 and 40 to v2, and flush_usage() wrote them."
    )
    rows: list[list[str | Cell]] = [
        [
            v.tsv,
            ", ".join(v.tags),
            "yes" if v.active else "no",
            Cell(v.status, n.style.status),
            str(v.request_count),
        ]
        for v in ts.versions()
    ]
    for line in table(["TSV", "TAGS", "LIVE", "STATUS", "REQUESTS"], rows, n.style).splitlines():
        n.say(f"    {line}")
    stats = ts.stats()
    n.say(
        f"  schemas: {stats.total_schemas} defined, {stats.active_schemas} applied, "
        f"{stats.pending_schemas} pending, {stats.failed_schemas} failed, "
        f"{stats.rolled_back_schemas} rolled back"
    )
    n.say(
        f"  versions: {stats.total_versions} defined, {stats.active_versions} live; last "
        f"migration took {stats.last_migration_ms} ms"
    )
    n.why(
        "hot/warm/cold come from the last request time and help decide what to retire; "
        "`timescape stats` and `timescape version list` show the same facts."
    )
    ts.close()


@click.command("demo")
@global_options
@pass_app
def demo_command(app: App) -> None:
    """Walk through five scenarios on throwaway SQLite databases."""
    import tempfile  # noqa: PLC0415 - only the demo needs it; keeps start-up light

    narrator = _Narrator(app)
    with tempfile.TemporaryDirectory(prefix="timescape-demo-") as tmp:
        folder = Path(tmp)
        if not app.json:
            app.echo(app.style("Timescape demo", "bold"))
            app.echo(f"Throwaway SQLite databases in {folder} (removed at the end).")
        for scenario in (_basic, _shared, _multi, _compatibility, _statistics):
            scenario(narrator, folder)
    if app.json:
        app.emit_json({"ok": True, "scenarios": narrator.scenarios})
        return
    app.echo("")
    app.echo("Done. Next: `timescape init` in your project, then see docs/cli.md.")
