"""Core scenarios through the Python API, asserting the catalog and the state tables."""

from __future__ import annotations

import random

import pytest

from tests.dbutil import TestDB
from tests.integration.apps import (
    ORDERS,
    PRODUCT_ROWS,
    PRODUCTS,
    PRODUCTS_TABLE,
    products_app,
)
from timescape import (
    MigrationError,
    ProtectedVersionError,
    RollbackRefusedError,
    Timescape,
    UnknownRefError,
)


def state_dump(db: TestDB, prefix: str = "timescape_") -> dict[str, object]:
    """Everything a dry run must leave untouched: the tables and every state row."""
    tables = db.tables()
    dump: dict[str, object] = {"tables": sorted(tables)}
    for table in sorted(t for t in tables if t.startswith(prefix)):
        dump[table] = sorted(repr(r) for r in db.query(f"SELECT * FROM {table}"))
    return dump


def foreign_keys(db: TestDB, table: str) -> set[tuple[str, str]]:
    """``(column, referenced table)`` pairs of ``table``'s foreign keys, from the catalog."""
    if db.dialect == "sqlite":
        return {(r[3], r[2]) for r in db.query(f"PRAGMA foreign_key_list({table})")}
    if db.dialect == "postgresql":
        rows = db.query(
            "SELECT kcu.column_name, ccu.table_name FROM information_schema.table_constraints tc "
            "JOIN information_schema.key_column_usage kcu ON tc.constraint_name = "
            "kcu.constraint_name AND tc.table_schema = kcu.table_schema "
            "JOIN information_schema.constraint_column_usage ccu ON tc.constraint_name = "
            "ccu.constraint_name AND tc.table_schema = ccu.table_schema "
            "WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema() "
            "AND tc.table_name = ?", (table,))
    else:
        rows = db.query(
            "SELECT column_name, referenced_table_name FROM information_schema.key_column_usage "
            "WHERE table_schema = DATABASE() AND table_name = ? AND referenced_table_name IS NOT "
            "NULL", (table,))
    return {(r[0], r[1]) for r in rows}


# -- (a) basic ---------------------------------------------------------------------------------


def test_activate__fresh_database_then_again__applied_once_second_call_noop(db: TestDB) -> None:
    ts, v1, _ = products_app(db.url)
    result = ts.activate(v1)
    assert result.changed
    assert [(o.schema, o.status) for o in result.outcomes] == [("s1", "applied")]
    assert "products" in db.tables()
    assert db.count("products") == 3
    assert db.schema_row("s1") == {"name": "s1", "status": "applied", "steps_done": 1,
                                   "step_in_flight": None, "error": None}
    assert db.active_versions() == {v1}
    assert db.event_kinds() == ["schema_applied", "version_activated"]
    assert ts.is_schema_active("s1")
    assert ts.is_version_active(v1)
    assert ts.schema_usage("s1") == [v1]

    again = ts.activate(v1)
    assert not again.changed
    assert "already active" in again.message
    assert db.event_kinds() == ["schema_applied", "version_activated"]
    ts.close()


def test_activate__by_tag_timestamp_and_latest__resolves_the_right_version(db: TestDB) -> None:
    ts = Timescape(db.url)
    ts.add_schema("s1", [PRODUCTS_TABLE], ["DROP TABLE products"])
    v1 = ts.add_version(PRODUCTS, "2025-01-01T00:00:00Z", "s1", tags=["v1.0.0"])
    v2 = ts.add_version(PRODUCTS, "2025-02-01T00:00:00Z", "s1")
    assert ts.activate("v1.0.0").target == v1
    assert ts.activate("2025-01-31T23:59:59Z").target == v1
    assert ts.activate().target == v2
    assert db.active_versions() == {v1, v2}
    with pytest.raises(UnknownRefError, match="before the first version"):
        ts.activate("2024-12-31T00:00:00Z")
    ts.close()


# -- (b) shared schema, smart rollback ---------------------------------------------------------


def test_deactivate__schema_shared_then_last_user__kept_with_rows_then_dropped(db: TestDB) -> None:
    ts, v1, v2 = products_app(db.url)
    ts.activate(v1)
    ts.activate(v2)
    assert ts.schema_usage("s1") == sorted([v1, v2])
    db.execute("INSERT INTO products (id, name) VALUES (4, 'shelf')")

    kept = ts.deactivate(v1)
    assert kept.plan.actions == ()
    assert any("kept s1" in note for note in kept.plan.notes)
    assert "products" in db.tables()
    assert db.count("products") == 4
    assert db.schema_row("s1")["status"] == "applied"
    assert db.active_versions() == {v2}

    gone = ts.deactivate(v2)
    assert [(o.schema, o.status) for o in gone.outcomes] == [("s1", "rolled_back")]
    assert "products" not in db.tables()
    assert db.schema_row("s1")["status"] == "rolled_back"
    assert db.active_versions() == set()
    assert not ts.is_schema_active("s1")
    ts.close()


def test_deactivate__keep_schema_or_rollback_disabled__version_off_rows_stay(db: TestDB) -> None:
    ts, v1, v2 = products_app(db.url)
    ts.activate(v1)
    ts.deactivate(v1, keep_schema=True)
    assert db.active_versions() == set()
    assert db.count("products") == 3
    assert db.schema_row("s1")["status"] == "applied"

    configured, _, _ = products_app(db.url, rollback_on_deactivate=False)
    configured.activate(v2)
    result = configured.deactivate(v2)
    assert "schemas kept: rollback disabled" in result.plan.notes
    assert db.active_versions() == set()
    assert db.count("products") == 3
    configured.close()
    ts.close()


# -- (c) multi-table migration with foreign keys and indexes -----------------------------------


def _catalog_app(db: TestDB) -> tuple[Timescape, str]:
    drop_index = {
        "mysql": "DROP INDEX {0} ON {1}",
        "postgresql": "DROP INDEX {0}",
        "sqlite": "DROP INDEX {0}",
    }[db.dialect]
    ts = Timescape(db.url)
    ts.add_schema(
        "catalog",
        [
            f"{PRODUCTS_TABLE}; {PRODUCT_ROWS}",
            ("CREATE TABLE categories (id INTEGER PRIMARY KEY, title VARCHAR(100) NOT NULL); "
            "INSERT INTO categories (id, title) VALUES (10, 'office'), (20, 'home')"),
            ("CREATE TABLE product_categories ("
            " product_id INTEGER NOT NULL REFERENCES products (id),"
            " category_id INTEGER NOT NULL,"
            " PRIMARY KEY (product_id, category_id),"
            " FOREIGN KEY (category_id) REFERENCES categories (id)); "
            "INSERT INTO product_categories (product_id, category_id) VALUES (1, 10), (2, 10), "
            "(3, 20)"),
            ("CREATE INDEX ix_products_name ON products (name); "
            "CREATE INDEX ix_categories_title ON categories (title)"),
        ],
        [
            "DROP TABLE products",
            "DROP TABLE categories",
            "DROP TABLE product_categories",
            (f"{drop_index.format('ix_categories_title', 'categories')}; "
            f"{drop_index.format('ix_products_name', 'products')}"),
        ],
    )
    return ts, ts.add_version(PRODUCTS, "2025-01-01T00:00:00Z", "catalog")


def test_multi_table__activate_deactivate__objects_created_then_dropped_in_reverse(
    db: TestDB,
) -> None:
    ts, tsv = _catalog_app(db)
    ts.activate(tsv)
    assert {"products", "categories", "product_categories"} <= db.user_tables()
    assert foreign_keys(db, "product_categories") == {("product_id", "products"),
                                                      ("category_id", "categories")}
    assert "ix_products_name" in db.indexes("products")
    assert "ix_categories_title" in db.indexes("categories")
    assert (db.count("products"), db.count("categories"), db.count("product_categories")) == (
        3, 2, 3)
    assert db.schema_row("catalog")["steps_done"] == 4

    result = ts.deactivate(tsv)
    assert [s.index for s in result.plan.actions[0].steps] == [4, 3, 2, 1]
    assert db.user_tables() == set()
    assert db.schema_row("catalog")["status"] == "rolled_back"
    # ...and it can come back, rows and all.
    ts.activate(tsv)
    assert db.count("product_categories") == 3
    ts.close()


# -- DAG ---------------------------------------------------------------------------------------


def _dag_app(db: TestDB) -> tuple[Timescape, str, str]:
    ts = Timescape(db.url)
    ts.add_schema("base", [f"{PRODUCTS_TABLE}; {PRODUCT_ROWS}"], ["DROP TABLE products"])
    ts.add_schema("reviews", [
        ("CREATE TABLE reviews (id INTEGER PRIMARY KEY, product_id INTEGER REFERENCES products (id));"
        " INSERT INTO reviews (id, product_id) VALUES (1, 1)")],
        ["DROP TABLE reviews"], parent="base", breaking=False)
    ts.add_schema("orders", ["CREATE TABLE orders (id INTEGER PRIMARY KEY, product_id INTEGER)"],
                  ["DROP TABLE orders"], parent="base", breaking=False)
    v_reviews = ts.add_version(PRODUCTS, "2025-01-01T00:00:00Z", "reviews")
    v_orders = ts.add_version(ORDERS, "2025-01-01T00:00:00Z", "orders")
    return ts, v_reviews, v_orders


def test_dag__sibling_deactivated__base_stays_while_other_descendant_lives(db: TestDB) -> None:
    ts, v_reviews, v_orders = _dag_app(db)
    result = ts.activate(v_reviews)
    assert [o.schema for o in result.outcomes] == ["base", "reviews"]
    assert ts.schema_usage("base") == [v_reviews]
    ts.activate(v_orders)
    assert ts.schema_usage("base") == sorted([v_reviews, v_orders])
    db.execute("INSERT INTO orders (id, product_id) VALUES (1, 2)")

    result = ts.deactivate(v_reviews)
    assert [o.schema for o in result.outcomes] == ["reviews"]
    assert db.user_tables() == {"products", "orders"}
    assert (db.count("products"), db.count("orders")) == (3, 1)
    assert db.schema_row("base")["status"] == "applied"

    result = ts.deactivate(v_orders)
    assert [o.schema for o in result.outcomes] == ["orders", "base"]
    assert db.user_tables() == set()
    ts.close()


def test_dag__base_version_deactivated__base_stays_while_descendant_version_lives(
    db: TestDB,
) -> None:
    ts, v_reviews, _ = _dag_app(db)
    v_base = ts.add_version(ORDERS, "2024-06-01T00:00:00Z", "base")
    ts.activate(v_base)
    ts.activate(v_reviews)
    result = ts.deactivate(v_base)
    assert result.outcomes == ()
    assert any("kept base: still used" in note for note in result.plan.notes)
    assert (db.count("products"), db.count("reviews")) == (3, 1)
    assert db.schema_row("base")["status"] == "applied"
    assert ts.schema_usage("base") == [v_reviews]
    result = ts.deactivate(v_reviews)
    assert [o.schema for o in result.outcomes] == ["reviews", "base"]
    ts.close()


def test_dag__descendant_migrated_without_version__base_kept_on_deactivate(db: TestDB) -> None:
    ts = Timescape(db.url)
    ts.add_schema("base", [f"{PRODUCTS_TABLE}; {PRODUCT_ROWS}"], ["DROP TABLE products"])
    ts.add_schema("reviews", [
        ("CREATE TABLE reviews (id INTEGER PRIMARY KEY, product_id INTEGER REFERENCES products (id));"
        " INSERT INTO reviews (id, product_id) VALUES (1, 1)")],
        ["DROP TABLE reviews"], parent="base", breaking=False)
    v_base = ts.add_version(PRODUCTS, "2025-01-01T00:00:00Z", "base")
    ts.activate(v_base)
    ts.apply_schema("reviews")  # ahead of a version that will need it

    result = ts.deactivate(v_base)
    assert result.outcomes == ()
    assert any("kept base" in note for note in result.plan.notes)
    assert (db.count("products"), db.count("reviews")) == (3, 1)
    assert db.active_versions() == set()
    ts.close()


# -- (e) statistics ----------------------------------------------------------------------------


def test_stats__mixed_states__counts_match_the_state_tables(db: TestDB) -> None:
    ts = Timescape(db.url)
    ts.add_schema("live", ["CREATE TABLE live_t (id INTEGER PRIMARY KEY)"], ["DROP TABLE live_t"],
                  breaking=False)
    ts.add_schema("gone", ["CREATE TABLE gone_t (id INTEGER PRIMARY KEY)"], ["DROP TABLE gone_t"],
                  breaking=False)
    ts.add_schema("broken", ["CREATE TABLE broken_t (id INTEGER PRIMARY KEY)",
                             "INSERT INTO no_such_table VALUES (1)"],
                  ["DROP TABLE broken_t", "SELECT 1"], breaking=False)
    ts.add_schema("never", ["CREATE TABLE never_t (id INTEGER PRIMARY KEY)"],
                  ["DROP TABLE never_t"], breaking=False)
    v_live = ts.add_version(PRODUCTS, "2025-01-01T00:00:00Z", "live")
    v_gone = ts.add_version(PRODUCTS, "2025-02-01T00:00:00Z", "gone")
    v_broken = ts.add_version(PRODUCTS, "2025-03-01T00:00:00Z", "broken")
    ts.add_version(PRODUCTS, "2025-04-01T00:00:00Z", "never")
    ts.activate(v_live)
    ts.activate(v_gone)
    ts.deactivate(v_gone)
    with pytest.raises(MigrationError):
        ts.activate(v_broken)

    stats = ts.stats()
    assert (stats.total_schemas, stats.active_schemas, stats.pending_schemas,
            stats.failed_schemas, stats.rolled_back_schemas) == (4, 1, 1, 1, 1)
    assert (stats.total_versions, stats.active_versions, stats.inactive_versions) == (4, 1, 3)
    assert stats.schemas_in_use == 1
    assert stats.handlers == 1
    assert stats.last_migration_ms is not None
    statuses = {r[0]: r[1] for r in db.query("SELECT name, status FROM timescape_schemas")}
    assert statuses == {"live": "applied", "gone": "rolled_back", "broken": "failed"}
    ts.close()


# -- dry run -----------------------------------------------------------------------------------


def test_dry_run__fresh_database__plan_shown_nothing_created(db: TestDB) -> None:
    ts, v1, _ = products_app(db.url)
    before = state_dump(db)
    result = ts.activate(v1, dry_run=True)
    assert result.dry_run
    assert not result.changed
    assert result.plan.statements() == [PRODUCTS_TABLE, PRODUCT_ROWS]
    assert "would apply s1" in result.message
    assert state_dump(db) == before
    ts.close()


def test_dry_run__every_operation__changes_nothing(db: TestDB) -> None:
    ts, v1, v2 = products_app(db.url)
    ts.activate(v1)
    before = state_dump(db)
    assert ts.activate(v2, dry_run=True).plan.activate == (v2,)
    assert [a.name for a in ts.deactivate(v1, dry_run=True).plan.actions] == ["s1"]
    assert ts.rollback_schema("s1", force=True, dry_run=True).plan.deactivate == (v1,)
    assert ts.apply_schema("s1", dry_run=True).plan.is_noop
    assert state_dump(db) == before
    assert db.count("products") == 3
    ts.close()


# -- schema migrate / rollback / resolve -------------------------------------------------------


def test_apply_schema__no_version__applied_with_ancestors_nothing_active(db: TestDB) -> None:
    ts, _, _ = _dag_app(db)
    result = ts.apply_schema("reviews")
    assert [o.schema for o in result.outcomes] == ["base", "reviews"]
    assert db.active_versions() == set()
    assert db.count("reviews") == 1
    assert ts.apply_schema("reviews").plan.is_noop
    ts.close()


def test_rollback_schema__in_use__refused_unless_forced_which_deactivates_users(
    db: TestDB,
) -> None:
    ts, v_reviews, _ = _dag_app(db)
    ts.activate(v_reviews)
    events = db.event_kinds()
    with pytest.raises(RollbackRefusedError) as info:
        ts.rollback_schema("base")
    assert info.value.used_by == [v_reviews]
    assert db.user_tables() == {"products", "reviews"}
    assert db.event_kinds() == events

    result = ts.rollback_schema("base", force=True)
    assert [o.schema for o in result.outcomes] == ["reviews", "base"]
    assert result.plan.deactivate == (v_reviews,)
    assert db.user_tables() == set()
    assert db.active_versions() == set()
    events = ts.history(limit=10)
    deactivated = next(e for e in events if e.kind == "version_deactivated")
    assert deactivated.detail["forced"]
    ts.close()


def test_resolve_schema__operator_states_truth__row_written_and_logged(db: TestDB) -> None:
    ts, v1, _ = products_app(db.url)
    ts.add_schema("two", ["CREATE TABLE a_t (id INTEGER PRIMARY KEY)",
                          "CREATE TABLE b_t (id INTEGER PRIMARY KEY)"],
                  ["DROP TABLE a_t", "DROP TABLE b_t"])
    db_tables = db.tables()
    ts.resolve_schema("two", steps_done=0)
    assert db.schema_row("two")["status"] == "pending"
    db.execute("CREATE TABLE a_t (id INTEGER PRIMARY KEY)")  # the operator's manual step 1
    ts.resolve_schema("two", steps_done=1)
    assert db.schema_row("two")["status"] == "failed"
    assert db.schema_row("two")["steps_done"] == 1
    result = ts.apply_schema("two")
    assert [s.index for s in result.plan.actions[0].steps] == [2]
    assert {"a_t", "b_t"} <= db.tables() - db_tables
    assert db.event_kinds().count("schema_resolved") == 2
    with pytest.raises(Exception, match="steps-done must be between 0 and 2"):
        ts.resolve_schema("two", steps_done=3)
    del v1
    ts.close()


# -- tags --------------------------------------------------------------------------------------


def test_tags__tag_move_untag__resolution_follows_after_refresh(db: TestDB) -> None:
    ts, v1, v2 = products_app(db.url)
    ts.tag(v1, "beta")
    assert ts.resolve("beta", PRODUCTS) == v1
    assert db.query("SELECT tsv FROM timescape_tags WHERE tag = 'beta'") == [(v1,)]

    other, _, _ = products_app(db.url)
    other.tag(v2, "beta")  # moved by another instance
    assert ts.resolve("beta", PRODUCTS) == v1  # memory until refreshed
    assert ts.refresh()
    assert ts.resolve("beta", PRODUCTS) == v2
    assert ts.versions()[1].tags == ("beta",)

    other.untag("beta", handler=PRODUCTS)
    ts.refresh()
    with pytest.raises(UnknownRefError):
        ts.resolve("beta", PRODUCTS)
    with pytest.raises(UnknownRefError, match="no such tag"):
        ts.untag("beta", handler=PRODUCTS)
    kinds = db.event_kinds()
    assert kinds.count("tagged") == 2
    assert kinds.count("untagged") == 1
    other.close()
    ts.close()


def test_tags__runtime_protected_tag__activates_by_tag_deactivate_needs_force(db: TestDB) -> None:
    ts, v1, _ = products_app(db.url)
    ts.tag(v1, "stable")
    assert ts.activate("stable", handler=PRODUCTS).target == v1
    with pytest.raises(ProtectedVersionError, match="stable"):
        ts.deactivate(v1)
    assert db.active_versions() == {v1}
    result = ts.deactivate(v1, force=True)
    assert result.plan.forced == ("protected tag(s) overridden: stable",)
    assert db.active_versions() == set()
    assert "products" not in db.tables()
    ts.close()


# -- the hot path and isolation ----------------------------------------------------------------


def test_refresh__change_by_another_instance__seen_without_restart(db: TestDB) -> None:
    app, v1, _ = products_app(db.url)
    assert not app.is_version_active(v1)
    admin, _, _ = products_app(db.url)
    admin.activate(v1)
    assert not app.is_version_active(v1)  # the hot path never queries on its own
    assert app.refresh()
    assert app.is_version_active(v1)
    assert app.is_schema_active("s1")
    assert [v.tsv for v in app.active_versions()] == [v1]
    assert not app.refresh()  # nothing changed since: one cheap query, no reload
    admin.deactivate(v1)
    assert app.refresh()
    assert not app.is_version_active(v1)
    admin.close()
    app.close()


def test_table_prefix__two_instances_one_database__state_kept_apart(db: TestDB) -> None:
    first, v1, _ = products_app(db.url)
    second = Timescape(db.url, table_prefix="other_")
    second.add_schema("s1", ["CREATE TABLE orders (id INTEGER PRIMARY KEY)"],
                      ["DROP TABLE orders"])
    w1 = second.add_version(ORDERS, "2025-01-01T00:00:00Z", "s1")
    first.activate(v1)
    assert second.stats().active_versions == 0
    assert second.schema_info("s1").status == "pending"
    second.activate(w1)
    assert {"products", "orders", "timescape_schemas", "other_schemas"} <= db.tables()
    assert db.active_versions() == {v1}
    assert db.active_versions("other_") == {w1}
    assert db.event_kinds("other_") == ["schema_applied", "version_activated"]
    first.deactivate(v1)
    assert "orders" in db.tables()
    assert second.stats().active_versions == 1
    first.close()
    second.close()


# -- callbacks ---------------------------------------------------------------------------------


def test_callbacks__activate_deactivate_failure__fired_with_payloads(db: TestDB) -> None:
    ts, v1, _ = products_app(db.url)
    ts.add_schema("bad", ["INSERT INTO no_such_table VALUES (1)"], ["SELECT 1"], breaking=False)
    v_bad = ts.add_version(ORDERS, "2025-01-01T00:00:00Z", "bad")
    seen: list[tuple[str, dict[str, object]]] = []
    for name in ("on_schema_applied", "on_schema_rolled_back", "on_schema_failed",
                 "on_version_activated", "on_version_deactivated"):
        ts.on(name, lambda name=name, **kw: seen.append((name, kw)))

    @ts.on_schema_applied
    def boom(**kw: object) -> None:
        msg = "a failing callback must not undo or hide the change"
        raise RuntimeError(msg)

    ts.activate(v1)
    ts.deactivate(v1)
    with pytest.raises(MigrationError):
        ts.activate(v_bad)

    # Each callback follows the commit of its change: without transactional DDL the version is
    # taken out of service (committed) before its schema is rolled back.
    off = ["on_schema_rolled_back", "on_version_deactivated"]
    if not ts.backend.transactional_ddl:
        off.reverse()
    names = [n for n, _ in seen]
    assert names == ["on_schema_applied", "on_version_activated", *off, "on_schema_failed"]
    by_name = dict(seen)
    applied, activated, rolled, deactivated, failed = (
        by_name[n] for n in ("on_schema_applied", "on_version_activated",
                             "on_schema_rolled_back", "on_version_deactivated",
                             "on_schema_failed"))
    assert applied["schema"] == "s1"
    assert isinstance(applied["duration_ms"], int)
    # Built from the outcome when the callback fires (issue 14), with the same three keys.
    assert sorted(applied) == sorted(rolled) == ["duration_ms", "kind", "schema"]
    assert (applied["kind"], rolled["kind"]) == ("apply", "rollback")
    assert type(applied["kind"]) is str
    assert activated == {"tsv": v1}
    assert rolled["schema"] == "s1"
    assert deactivated == {"tsv": v1}
    assert failed["schema"] == "bad"
    assert isinstance(failed["error"], MigrationError)
    assert db.schema_row("s1")["status"] == "rolled_back"
    with pytest.raises(Exception, match="unknown callback"):
        ts.on("on_nothing", print)
    ts.close()


# -- a random walk on a real database ----------------------------------------------------------


def test_random_walk__diamond_dag__tables_always_match_closure_of_live_versions(
    db: TestDB,
) -> None:
    tables = {"base": "products", "reviews": "reviews", "orders": "orders", "audit": "audit"}
    parents = {"base": None, "reviews": "base", "orders": "base", "audit": ["reviews", "orders"]}
    ts = Timescape(db.url)
    for name, table in tables.items():
        ts.add_schema(name, [(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY); "
                              f"INSERT INTO {table} (id) VALUES (1), (2)")],
                      [f"DROP TABLE {table}"], parent=parents[name], breaking=False)
    handlers = {"base": "/api/a", "reviews": "/api/b", "orders": "/api/c", "audit": "/api/d"}
    versions = {ts.add_version(h, "2025-01-01T00:00:00Z", s): s for s, h in handlers.items()}
    versions[ts.add_version("/api/a", "2025-02-01T00:00:00Z", "base")] = "base"
    graph = ts.catalog.graph
    rng = random.Random(20250101)
    live: set[str] = set()
    for _ in range(16):
        tsv = rng.choice(sorted(versions))
        if tsv in live:
            ts.deactivate(tsv)
            live.discard(tsv)
        else:
            ts.activate(tsv)
            live.add(tsv)
        needed = graph.closure(versions[t] for t in live)
        assert db.user_tables() == {tables[n] for n in needed}
        assert db.active_versions() == live
        for name in needed:
            assert db.count(tables[name]) == 2
        assert ts.stats().active_schemas == len(needed)
    assert ts.verify().ok
    ts.close()
