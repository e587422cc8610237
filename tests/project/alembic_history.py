"""An Alembic history built at test time with Alembic itself (``alembic init``, ``revision``).

a1 creates products with an index; b2 adds a price column and rows; c3 is a data step that reads
the rows (price → price_cents) and drops price in batch mode (a table rebuild on SQLite); then two
branches, d4 (orders, with a foreign key) and e4 (tags, with a unique constraint), merged by m5
(an index on orders.quantity). Every revision has a downgrade, except e4's, which only passes.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

BODIES: dict[str, tuple[str, str, str | tuple[str, ...] | None, str, str]] = {
    "a1": (
        "create products",
        "a1",
        None,
        """
    op.create_table(
        "products",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    op.create_index("ix_products_name", "products", ["name"])
""",
        """
    op.drop_index("ix_products_name", table_name="products")
    op.drop_table("products")
""",
    ),
    "b2": (
        "add price",
        "b2",
        "a1",
        """
    op.add_column("products", sa.Column("price", sa.String(20), nullable=True))
    products = sa.table("products", sa.column("id", sa.Integer), sa.column("name", sa.String),
                        sa.column("price", sa.String))
    op.bulk_insert(products, [
        {"id": 1, "name": "lamp", "price": "9.99"},
        {"id": 2, "name": "desk", "price": "120.50"},
    ])
""",
        """
    op.execute("DELETE FROM products")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("price")
""",
    ),
    "c3": (
        "price in cents",
        "c3",
        "b2",
        """
    op.add_column("products", sa.Column("price_cents", sa.Integer, nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, price FROM products ORDER BY id")).fetchall()
    for product_id, price in rows:
        bind.execute(
            sa.text("UPDATE products SET price_cents = :cents WHERE id = :id"),
            {"cents": round(float(price) * 100), "id": product_id},
        )
    with op.batch_alter_table("products") as batch:
        batch.drop_column("price")
""",
        """
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("price", sa.String(20), nullable=True))
    op.execute("UPDATE products SET price = CAST(price_cents / 100.0 AS CHAR(20))")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("price_cents")
""",
    ),
    "d4": (
        "orders",
        "d4",
        "c3",
        """
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id"), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False, server_default="1"),
    )
""",
        """
    op.drop_table("orders")
""",
    ),
    "e4": (
        "tags",
        "e4",
        "c3",
        """
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.String(40), nullable=False),
        sa.UniqueConstraint("label", name="uq_tags_label"),
    )
""",
        """
    pass
""",
    ),
    "m5": (
        "merge orders and tags",
        "m5",
        ("d4", "e4"),
        """
    op.create_index("ix_orders_quantity", "orders", ["quantity"])
""",
        """
    op.drop_index("ix_orders_quantity", table_name="orders")
""",
    ),
}


def build_history(folder: Path) -> Path:
    """Run ``alembic init`` in ``folder`` and write the revisions; return ``alembic.ini``."""
    folder.mkdir(parents=True, exist_ok=True)
    ini = folder / "alembic.ini"
    with contextlib.redirect_stdout(io.StringIO()):
        command.init(Config(str(ini)), str(folder / "alembic"))
        config = Config(str(ini))
        for message, rev_id, parent, up, down in BODIES.values():
            head = "base" if parent is None else parent if isinstance(parent, str) else None
            if isinstance(parent, tuple):
                script = command.merge(config, list(parent), message=message, rev_id=rev_id)
            else:
                script = command.revision(
                    config, message, rev_id=rev_id, head=head, splice=head not in (None, "base")
                )
            assert script is not None
            path = Path(script.path)  # type: ignore[union-attr]
            text = path.read_text()
            text = text.replace('    """Upgrade schema."""\n    pass\n', up.lstrip("\n"), 1)
            text = text.replace('    """Downgrade schema."""\n    pass\n', down.lstrip("\n"), 1)
            path.write_text(text)
    return ini


def upgrade(ini: Path, url: str, target: str = "heads") -> None:
    """``alembic upgrade TARGET`` against ``url``: the original tool's own result.

    Run as the ``alembic`` command in a subprocess, as a team runs it (its env.py configures
    logging from the ini file, which must not reach this test process).
    """
    copy = ini.with_name("upgrade.ini")
    text = ini.read_text()
    text = re.sub(r"(?m)^sqlalchemy\.url = .*$", "sqlalchemy.url = " + url.replace("%", "%%"), text)
    copy.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(copy), "upgrade", target],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
