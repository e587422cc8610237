"""Issue 6 end to end: the gate infers compatibility from SQL, and deferred contract steps run
exactly when no live version needs the pre-expand shape."""

from __future__ import annotations

import pytest

from tests.dbutil import TestDB
from timescape import CompatibilityError, RollbackRefusedError, Timescape

PRICE = "ALTER TABLE products ADD COLUMN price VARCHAR(20)"


def price_app(url: str, **options: object) -> tuple[Timescape, str, str]:
    ts = Timescape(url, **options)  # type: ignore[arg-type]
    ts.add_schema(
        "s1",
        [
            (
                "CREATE TABLE products (id INTEGER PRIMARY KEY, price VARCHAR(20));"
                "INSERT INTO products (id, price) VALUES (1, '9.99'), (2, '5.00')"
            )
        ],
        ["DROP TABLE products"],
    )
    ts.add_schema(
        "s2",
        ["ALTER TABLE products ADD COLUMN price_cents INTEGER; UPDATE products SET price_cents = 1"],
        ["ALTER TABLE products DROP COLUMN price_cents"],
        parent="s1",
        contract=["ALTER TABLE products DROP COLUMN price"],
        contract_rollback=[f"{PRICE}; UPDATE products SET price = '0.01'"],
    )
    v1 = ts.add_version("/api/products", "2025-01-01T00:00:00Z", "s1")
    v2 = ts.add_version("/api/products", "2025-02-01T00:00:00Z", "s2")
    return ts, v1, v2


def test_contract__old_version_deactivated__runs_once_and_keeps_rows(db: TestDB) -> None:
    ts, v1, v2 = price_app(db.url)
    ts.activate(v1)
    ts.activate(v2)  # undeclared but additive: allowed while v1 is live
    assert db.columns("products") == ["id", "price", "price_cents"]
    ts.deactivate(v1)
    assert db.columns("products") == ["id", "price_cents"]
    assert db.count("products") == 2
    assert db.event_kinds().count("schema_contracted") == 1
    ts.activate(v2)  # already live: no second contract
    assert db.event_kinds().count("schema_contracted") == 1
    ts.close()


def test_contract__old_version_reactivated__contract_rolled_back_first(db: TestDB) -> None:
    ts, v1, v2 = price_app(db.url)
    ts.activate(v1)
    ts.activate(v2)
    ts.deactivate(v1)
    plan = ts.activate(v1, dry_run=True).plan
    assert [(str(a.kind), a.name) for a in plan.actions] == [("uncontract", "s2")]
    ts.activate(v1)
    assert "price" in db.columns("products")
    assert db.query("SELECT price FROM products ORDER BY id") == [("0.01",), ("0.01",)]
    kinds = db.event_kinds()
    assert kinds.index("schema_uncontracted") < len(kinds) - 1
    ts.deactivate(v2)
    assert db.columns("products") == ["id", "price"]
    ts.close()


def test_gate__undeclared_breaking_schema__refused_naming_statement_and_object(db: TestDB) -> None:
    ts, v1, v2 = price_app(db.url)
    ts.add_schema(
        "s3",
        ["ALTER TABLE products DROP COLUMN price_cents"],
        ["ALTER TABLE products ADD COLUMN price_cents INTEGER"],
        parent="s2",
    )
    v3 = ts.add_version("/api/products", "2025-03-01T00:00:00Z", "s3")
    ts.activate(v1)
    ts.activate(v2)
    with pytest.raises(CompatibilityError) as caught:
        ts.activate(v3)
    assert "drops column products.price_cents" in str(caught.value)
    assert caught.value.broken_versions == [v1, v2]
    assert "price_cents" in db.columns("products")
    assert v3 not in db.active_versions()
    ts.close()


def test_gate__inference_disabled__undeclared_additive_counts_as_breaking(db: TestDB) -> None:
    ts, v1, v2 = price_app(db.url, infer_compatibility=False)
    ts.activate(v1)
    with pytest.raises(CompatibilityError):
        ts.activate(v2)
    assert "price_cents" not in db.columns("products")
    ts.close()


def test_contract__no_contract_rollback__older_version_refused_after_contract(db: TestDB) -> None:
    ts = Timescape(db.url)
    ts.add_schema(
        "s1", ["CREATE TABLE products (id INTEGER PRIMARY KEY, price VARCHAR(20))"],
        ["DROP TABLE products"],
    )
    ts.add_schema(
        "s2",
        ["ALTER TABLE products ADD COLUMN price_cents INTEGER"],
        ["ALTER TABLE products DROP COLUMN price_cents"],
        parent="s1",
        contract=["ALTER TABLE products DROP COLUMN price"],
    )
    v1 = ts.add_version("/api/products", "2025-01-01T00:00:00Z", "s1")
    v2 = ts.add_version("/api/products", "2025-02-01T00:00:00Z", "s2")
    ts.activate(v1)
    ts.activate(v2)
    ts.deactivate(v1)
    assert "price" not in db.columns("products")
    with pytest.raises(RollbackRefusedError, match="contract_rollback"):
        ts.activate(v1)
    assert db.active_versions() == {v2}
    ts.close()


@pytest.mark.dialects("sqlite")
def test_inference__same_schema_different_ancestors__judged_separately(db: TestDB) -> None:
    def gate_allows(index_sql: str) -> bool:
        ts = Timescape(f"sqlite:///{db.path}.{abs(hash(index_sql))}")
        ts.add_schema("s1", [f"CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER); {index_sql}"],
                      ["DROP TABLE t"])
        ts.add_schema("s2", ["DROP INDEX ix"], ["CREATE INDEX ix ON t (a)"], parent="s1")
        ok = ts.are_compatible("s2", "s1")
        ts.close()
        return ok

    assert gate_allows("CREATE INDEX ix ON t (a)")
    assert not gate_allows("CREATE UNIQUE INDEX ix ON t (a)")
