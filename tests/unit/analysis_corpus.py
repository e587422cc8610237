"""A corpus of migration statements with the effect the analyser must give each one.

Every case is classified on its own (``classify_statement``) unless it lists ``applied`` statements,
which describe the schema it runs against. ``effect`` is what the analyser must answer; ``truth`` is
the human verdict on whether older code breaks, when it differs from ``effect`` (the analyser may be
more careful than the truth, never less). ``rules``, when given, are exactly the lint rules (not the
optional style ones) that must fire on the statement in a ``transactional = true`` schema;
``hazard`` is the human verdict on whether it locks, rewrites or fails on a live database, when it
differs from "some rule fires" (a hazard no rule catches yet, or a rule that over-warns). Written for these tests; no statement comes from elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from timescape.analysis import Effect

A, D, U, B = Effect.ADDITIVE, Effect.DATA, Effect.UNKNOWN, Effect.BREAKING


@dataclass(frozen=True, slots=True)
class Case:
    """One corpus statement and what the analyser must say about it."""

    dialect: str
    sql: str
    effect: Effect
    objects: tuple[str, ...] | None = None
    reason: str | None = None
    truth: Effect | None = None
    applied: tuple[str, ...] = ()
    rules: tuple[str, ...] | None = None
    hazard: bool | None = None

    @property
    def is_hazard(self) -> bool:
        """The human verdict: does running this on a live database lock, rewrite or fail?"""
        return bool(self.rules) if self.hazard is None else self.hazard

    @property
    def true_effect(self) -> Effect:
        return self.truth or self.effect

    @property
    def id(self) -> str:
        text = " ".join(self.sql.split())
        return f"{self.dialect}:{text[:60]}"


pg = partial(Case, "postgresql")
my = partial(Case, "mysql")
sl = partial(Case, "sqlite")


_PG_PRODUCTS = (
    (
        "CREATE TABLE products (id bigint, name varchar(50) NOT NULL, code varchar(20), "
        "qty int, price numeric(10,2), note text)"
    ),
)

POSTGRESQL: tuple[Case, ...] = (
    # -- creating things ---------------------------------------------------------------------
    pg(
        "CREATE TABLE products (id bigserial PRIMARY KEY, name text NOT NULL, price numeric(10,2))",
        A,
        objects=("products",),
        reason="creates table products",
    ),
    pg("CREATE TABLE IF NOT EXISTS public.orders (id int)", A, objects=("public.orders",)),
    pg('CREATE TABLE "Audit Log" (id int, "At" timestamptz)', A, objects=("Audit Log",)),
    pg("CREATE TABLE archive AS SELECT * FROM orders WHERE created_at < '2020-01-01'", A),
    pg("CREATE UNLOGGED TABLE scratch (id int)", A),
    pg("CREATE VIEW active_products AS SELECT id, name FROM products WHERE NOT discontinued", A),
    pg(
        "CREATE MATERIALIZED VIEW sales_by_day AS SELECT day, sum(total) FROM orders GROUP BY day",
        A,
    ),
    pg(
        "CREATE OR REPLACE VIEW active_products AS SELECT id, name, price FROM products",
        U,
        reason="replaces view active_products",
    ),
    pg("CREATE INDEX idx_products_name ON products (name)", A, objects=("products",)),
    pg(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_orders_created "
        "ON public.orders USING btree (created_at DESC)",
        A,
        objects=("public.orders",),
    ),
    pg(
        "CREATE UNIQUE INDEX CONCURRENTLY uq_users_email ON users (lower(email))",
        B,
        reason="unique index uq_users_email on users",
    ),
    pg("CREATE UNIQUE INDEX uq_active_ref ON orders (ref) WHERE deleted_at IS NULL", B),
    pg("CREATE SEQUENCE invoice_no START 1000", A),
    pg("CREATE TYPE order_status AS ENUM ('new', 'paid')", A),
    pg("CREATE EXTENSION IF NOT EXISTS pgcrypto", A),
    pg("CREATE SCHEMA IF NOT EXISTS billing", A),
    pg("CREATE DOMAIN positive_int AS int CHECK (VALUE > 0)", A),
    pg(
        "CREATE FUNCTION add_one(i int) RETURNS int AS $$ SELECT i + 1 $$ LANGUAGE sql IMMUTABLE", A
    ),
    pg(
        "CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $body$\n"
        "BEGIN\n  NEW.updated_at := now(); -- DROP nothing\n  RETURN NEW;\nEND\n$body$",
        U,
        reason="replaces function touch",
    ),
    pg(
        "CREATE TRIGGER trg_touch BEFORE UPDATE ON products FOR EACH ROW EXECUTE FUNCTION touch()",
        U,
        reason="trigger",
    ),
    pg(
        "CREATE POLICY tenant_rows ON orders USING (tenant_id = current_setting('app.tenant')::int)",
        U,
    ),
    pg("COMMENT ON COLUMN products.price IS 'gross, in cents; DROP me later'", A),
    pg("GRANT SELECT, INSERT ON products TO app_rw", A),
    pg("REVOKE INSERT ON products FROM app_rw", B),
    # -- adding columns ----------------------------------------------------------------------
    pg("ALTER TABLE products ADD COLUMN sku text", A, objects=("products.sku",)),
    pg("ALTER TABLE products ADD COLUMN IF NOT EXISTS stock int NOT NULL DEFAULT 0", A),
    pg('ALTER TABLE "Products" ADD COLUMN "Weight" numeric', A, objects=("Products.Weight",)),
    pg("ALTER TABLE products ADD COLUMN created_at timestamptz NOT NULL DEFAULT now()", A),
    pg(
        "ALTER TABLE products ADD COLUMN code text NOT NULL",
        B,
        objects=("products.code",),
        reason="NOT NULL column products.code without a default",
    ),
    pg("ALTER TABLE products ADD COLUMN ref uuid DEFAULT gen_random_uuid()", A),
    pg("ALTER TABLE orders ADD COLUMN total numeric GENERATED ALWAYS AS (qty * price) STORED", A),
    pg("ALTER TABLE orders ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY", A),
    pg("ALTER TABLE products ADD COLUMN a int, ADD COLUMN b int", A),
    pg(
        "-- drop the old price later\nALTER TABLE products /* keep sku */ ADD COLUMN cents bigint",
        A,
        objects=("products.cents",),
    ),
    pg('alter table products add column "DROP" text', A, objects=("products.DROP",)),
    # -- removing, renaming, restricting -----------------------------------------------------
    pg(
        "ALTER TABLE products DROP COLUMN price",
        B,
        objects=("products.price",),
        reason="drops column products.price",
    ),
    pg(
        "ALTER TABLE public.products DROP COLUMN IF EXISTS legacy_code CASCADE",
        B,
        objects=("public.products.legacy_code",),
    ),
    pg(
        "  alter   table\n  products\n\tdrop column   price  ",
        B,
        objects=("products.price",),
    ),
    pg('ALTER TABLE "Products" DROP COLUMN "Price"', B, objects=("Products.Price",)),
    pg(
        "ALTER TABLE products RENAME COLUMN name TO title",
        B,
        objects=("products.name", "products.title"),
        reason="renames column products.name to title",
    ),
    pg("ALTER TABLE products RENAME TO catalogue_items", B, reason="renames table products"),
    pg("ALTER TABLE products SET SCHEMA archive", B),
    pg(
        "ALTER TABLE products ALTER COLUMN price TYPE numeric(12,2)",
        B,
        reason="previous type unknown",
        truth=U,
    ),
    pg("ALTER TABLE products ALTER COLUMN name SET DATA TYPE varchar(200)", B, truth=U),
    pg("ALTER TABLE products ALTER COLUMN qty TYPE int USING qty::int", B, truth=U),
    pg(
        "ALTER TABLE products ALTER COLUMN name TYPE varchar(100)",
        A,
        reason="widens products.name from varchar(50) to varchar(100)",
        applied=_PG_PRODUCTS,
    ),
    pg(
        "ALTER TABLE products ALTER COLUMN name TYPE varchar(20)",
        B,
        reason="from varchar(50) to varchar(20)",
        applied=_PG_PRODUCTS,
    ),
    pg("ALTER TABLE products ALTER COLUMN name TYPE text", A, applied=_PG_PRODUCTS),
    pg("ALTER TABLE products ALTER COLUMN qty TYPE bigint", A, applied=_PG_PRODUCTS),
    pg("ALTER TABLE products ALTER COLUMN id TYPE int", B, applied=_PG_PRODUCTS),
    pg("ALTER TABLE products ALTER COLUMN price TYPE numeric(14,2)", A, applied=_PG_PRODUCTS),
    pg("ALTER TABLE products ALTER COLUMN price TYPE numeric(10,4)", B, applied=_PG_PRODUCTS),
    pg("ALTER TABLE products ALTER COLUMN note TYPE varchar(500)", B, applied=_PG_PRODUCTS),
    pg("ALTER TABLE products ALTER COLUMN name SET NOT NULL", B, reason="NOT NULL"),
    pg("ALTER TABLE products ALTER COLUMN name DROP NOT NULL", U, reason="may not expect NULL"),
    pg("ALTER TABLE products ALTER COLUMN stock SET DEFAULT 0", A),
    pg("ALTER TABLE products ALTER COLUMN stock DROP DEFAULT", B, reason="drops the default"),
    pg("ALTER TABLE products ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY", A),
    pg("ALTER TABLE products ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY", B),
    pg("ALTER TABLE products ALTER COLUMN id DROP IDENTITY", B),
    pg(
        "ALTER TABLE orders ADD CONSTRAINT orders_product_fk FOREIGN KEY (product_id) "
        "REFERENCES products (id) NOT VALID",
        B,
        reason="foreign key",
    ),
    pg("ALTER TABLE orders ADD CONSTRAINT qty_positive CHECK (qty > 0)", B),
    pg("ALTER TABLE orders ADD CHECK (qty > 0) NOT VALID", B),
    pg(
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX uq_users_email",
        A,
        reason="already unique",
        rules=(),
    ),
    pg("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)", B),
    pg("ALTER TABLE users ADD PRIMARY KEY (id)", B),
    pg(
        "ALTER TABLE ONLY bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =)",
        B,
        rules=("PG016",),
    ),
    pg(
        "ALTER TABLE products ADD COLUMN note text, DROP COLUMN legacy",
        B,
        objects=("products.note", "products.legacy"),
        reason="drops column products.legacy",
    ),
    pg(
        "ALTER TABLE products ALTER COLUMN stock SET DEFAULT 0, ALTER COLUMN stock SET NOT NULL",
        B,
        reason="makes products.stock NOT NULL",
    ),
    pg("ALTER TABLE orders DROP CONSTRAINT qty_positive", U, truth=A),
    pg("ALTER TABLE orders VALIDATE CONSTRAINT orders_product_fk", D),
    pg("ALTER TABLE products SET (fillfactor = 70)", D),
    pg("ALTER TABLE products OWNER TO app_owner", U),
    pg("ALTER TABLE orders ENABLE ROW LEVEL SECURITY", U),
    pg("ALTER TABLE orders DETACH PARTITION orders_2019", U, rules=("PG014",)),
    pg("ALTER TYPE order_status ADD VALUE 'refunded'", U, reason="cannot map", rules=()),
    pg("ALTER TYPE order_status RENAME VALUE 'new' TO 'created'", B),
    pg("ALTER INDEX idx_products_name RENAME TO products_name_idx", U),
    # -- dropping ----------------------------------------------------------------------------
    pg("DROP TABLE products", B, objects=("products",), reason="drops table products"),
    pg(
        "DROP TABLE IF EXISTS old_orders, old_items CASCADE", B, objects=("old_orders", "old_items")
    ),
    pg("DROP VIEW active_products", B),
    pg("DROP MATERIALIZED VIEW sales_by_day", B),
    pg("DROP INDEX CONCURRENTLY idx_products_name", U, reason="cannot tell whether it is unique"),
    pg("DROP SCHEMA billing CASCADE", B),
    pg("DROP TYPE order_status", B),
    pg("DROP FUNCTION add_one(int)", B),
    pg("DROP SEQUENCE invoice_no", B),
    pg("DROP EXTENSION pgcrypto", B),
    pg("DROP TRIGGER trg_touch ON products", U),
    pg("TRUNCATE TABLE sessions", B, objects=("sessions",)),
    # -- data and everything else ------------------------------------------------------------
    pg("INSERT INTO products (name) VALUES ('drop table') ON CONFLICT DO NOTHING", D),
    pg("UPDATE products SET price = price * 1.1 WHERE category = 'books'", D),
    pg("DELETE FROM sessions WHERE expires_at < now()", D, objects=("sessions",)),
    pg(
        "MERGE INTO stock s USING deliveries d ON s.sku = d.sku "
        "WHEN MATCHED THEN UPDATE SET qty = s.qty + d.qty",
        D,
    ),
    pg("SELECT count(*) FROM products", D),
    pg("SELECT setval('invoice_no', 5000)", U),
    pg("DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$", U, reason="DO block"),
    pg("CALL refresh_stats()", U),
    pg("SET lock_timeout = '2s'", D),
    pg("SET LOCAL statement_timeout = 0", D),
    pg("SET ROLE admin", U),
    pg("REFRESH MATERIALIZED VIEW CONCURRENTLY sales_by_day", D, rules=()),
    pg("VACUUM ANALYZE products", D, rules=("TX001",)),
    pg("BEGIN", D, reason="TX003", rules=("TX003",)),
    pg("COMMIT", D, rules=("TX003",)),
    pg("UPDATE products SET qty = 0; DROP TABLE products", U, truth=B),
    pg("SET lock_timeout = '1s'; DROP TABLE products", U, truth=B),
    pg("ALTER TABLE products ALTER COLUMN stock SET DEFAULT NULL", B, reason="to NULL"),
    pg(
        "ALTER TABLE orders ADD CHECK (qty > 0) NOT VALID, ALTER COLUMN ref SET DEFAULT NULL",
        B,
        objects=("orders", "orders.ref"),
    ),
    pg(
        "ALTER TABLE orders ADD CHECK (qty > 0) NOT VALID, ADD COLUMN n int NOT NULL DEFAULT NULL",
        B,
    ),
    pg("DROP OWNED BY legacy_app", B, objects=("legacy_app",)),
    pg("CREATE CAST (text AS int) WITH INOUT AS IMPLICIT", U),
    pg("DROP INDEX idx_a, idx_b", U, objects=("idx_a", "idx_b")),
)

_MY_PRODUCTS = (
    (
        "CREATE TABLE products (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, "
        "price DECIMAL(10,2) NOT NULL DEFAULT 0, qty INT NULL, "
        "status ENUM('new','paid') NOT NULL DEFAULT 'new')"
    ),
)

MYSQL: tuple[Case, ...] = (
    my(
        "CREATE TABLE products (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, "
        "KEY idx_name (name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        A,
        objects=("products",),
    ),
    my(
        "CREATE TABLE IF NOT EXISTS `order_items` (`id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, "
        "PRIMARY KEY (`id`))",
        A,
        objects=("order_items",),
    ),
    my("CREATE TABLE products_copy LIKE products", A),
    my("CREATE TABLE `Shop`.`Orders` (id INT)", A, objects=("Shop.Orders",)),
    my("CREATE INDEX idx_sku ON products (sku)", A, objects=("products",), rules=()),
    my("CREATE INDEX idx_sku ON products (sku) ALGORITHM=INPLACE LOCK=NONE", A),
    my("CREATE UNIQUE INDEX uq_sku ON products (sku)", B),
    my("CREATE UNIQUE INDEX uq_sku ON products (sku) ALGORITHM=INPLACE LOCK=NONE", B),
    my("CREATE FULLTEXT INDEX ft_body ON posts (body)", A),
    my("CREATE VIEW v_products AS SELECT id, name FROM products", A),
    my("CREATE OR REPLACE VIEW v_products AS SELECT id, name, sku FROM products", U),
    my("ALTER VIEW v_products AS SELECT id FROM products", U),
    my("CREATE PROCEDURE bump() BEGIN UPDATE counters SET n = n + 1; END", A),
    my(
        "CREATE TRIGGER trg_bi BEFORE INSERT ON products FOR EACH ROW SET NEW.sku = UPPER(NEW.sku)",
        U,
        objects=("products",),
    ),
    my("CREATE DATABASE IF NOT EXISTS analytics", A),
    my(
        "ALTER TABLE products ADD COLUMN sku VARCHAR(32) NULL AFTER name",
        A,
        objects=("products.sku",),
    ),
    my("ALTER TABLE `products` ADD COLUMN `stock` INT NOT NULL DEFAULT 0, ALGORITHM=INSTANT", A),
    my("ALTER TABLE products ADD COLUMN weight DECIMAL(8,3) FIRST", A),
    my("ALTER TABLE products ADD COLUMN code CHAR(8) NOT NULL", B, reason="without a default"),
    my("ALTER TABLE products ADD COLUMN (a INT, b INT)", U, truth=A),
    my("ALTER TABLE products ADD COLUMN `drop` INT", A, objects=("products.drop",)),
    my("ALTER TABLE products ADD COLUMN tag VARCHAR(20) UNIQUE", A),
    my("ALTER TABLE products ADD COLUMN flag TINYINT(1) NOT NULL DEFAULT 0 UNIQUE", B),
    my("ALTER TABLE products ADD INDEX idx_stock (stock), ALGORITHM=INPLACE, LOCK=NONE", A),
    my("ALTER TABLE products ADD KEY idx_w (weight)", A, rules=()),
    my("ALTER TABLE products ADD UNIQUE KEY uq_code (code)", B, reason="unique", rules=()),
    my(
        "ALTER TABLE products ADD CONSTRAINT fk_cat FOREIGN KEY (category_id) "
        "REFERENCES categories (id)",
        B,
        rules=("MY008",),
    ),
    my("ALTER TABLE products ADD CONSTRAINT chk_stock CHECK (stock >= 0)", B),
    my("ALTER TABLE products ADD CHECK (stock >= 0)", B),
    my("ALTER TABLE products ADD PRIMARY KEY (id)", B),
    my("ALTER TABLE products DROP PRIMARY KEY, ADD PRIMARY KEY (id, sku)", B),
    my("ALTER TABLE products DROP COLUMN sku", B, objects=("products.sku",)),
    my("ALTER TABLE products DROP sku", B, objects=("products.sku",)),
    my("ALTER TABLE products DROP INDEX idx_stock", U),
    my("DROP INDEX idx_sku ON products", U, objects=("products",)),
    my("ALTER TABLE products DROP FOREIGN KEY fk_cat", U),
    my("ALTER TABLE products DROP CHECK chk_stock", A),
    my(
        "ALTER TABLE products MODIFY COLUMN price DECIMAL(12,2) NOT NULL",
        B,
        reason="previous unknown",
        truth=U,
    ),
    my(
        "ALTER TABLE products MODIFY price DECIMAL(12,2) NOT NULL DEFAULT 0",
        A,
        reason="compatibly",
        applied=_MY_PRODUCTS,
    ),
    my(
        "ALTER TABLE products MODIFY price DECIMAL(12,2) NOT NULL",
        B,
        reason="drops its default",
        applied=_MY_PRODUCTS,
    ),
    my(
        "ALTER TABLE products MODIFY name VARCHAR(50) NOT NULL",
        B,
        reason="changes its type",
        applied=_MY_PRODUCTS,
    ),
    my(
        "ALTER TABLE products MODIFY name VARCHAR(255) NOT NULL",
        A,
        applied=_MY_PRODUCTS,
        rules=(),
    ),
    my("ALTER TABLE products MODIFY name VARCHAR(255)", U, reason="NULL", applied=_MY_PRODUCTS),
    my("ALTER TABLE products MODIFY qty BIGINT", A, applied=_MY_PRODUCTS, rules=("MY001",)),
    my("ALTER TABLE products MODIFY qty INT NOT NULL", B, reason="NOT NULL", applied=_MY_PRODUCTS),
    my("ALTER TABLE products MODIFY qty INT UNSIGNED", B, applied=_MY_PRODUCTS),
    my(
        "ALTER TABLE products MODIFY status ENUM('new','paid','refunded') NOT NULL DEFAULT 'new'",
        U,
        reason="cannot map",
        applied=_MY_PRODUCTS,
    ),
    my(
        "ALTER TABLE products MODIFY status ENUM('paid','new') NOT NULL DEFAULT 'new'",
        B,
        applied=_MY_PRODUCTS,
    ),
    my(
        "ALTER TABLE products CHANGE COLUMN price cost DECIMAL(10,2)",
        B,
        objects=("products.price", "products.cost"),
        reason="renames column products.price to cost",
    ),
    my("ALTER TABLE products CHANGE name name VARCHAR(200) NOT NULL", B, truth=U),
    my("ALTER TABLE products RENAME COLUMN name TO title", B),
    my("ALTER TABLE products RENAME TO items", B),
    my(
        "RENAME TABLE products TO items, items_old TO products",
        B,
        objects=("products", "items", "items_old"),
    ),
    my("ALTER TABLE products ALTER COLUMN stock SET DEFAULT 0", A),
    my("ALTER TABLE products ALTER COLUMN stock DROP DEFAULT", B),
    my("ALTER TABLE products ALTER COLUMN legacy SET INVISIBLE", U),
    my("ALTER TABLE products CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci", U),
    my("ALTER TABLE products ENGINE=InnoDB", U),
    my("ALTER TABLE products COMMENT = 'catalogue'", D),
    my("ALTER TABLE products AUTO_INCREMENT = 1000", D),
    my("ALTER TABLE products ALGORITHM=COPY, ADD COLUMN x INT", A),
    my("ALTER TABLE products RENAME INDEX idx_w TO idx_weight", U),
    my("DROP TABLE IF EXISTS `tmp_import`", B, objects=("tmp_import",)),
    my("DROP VIEW v_products", B),
    my("DROP PROCEDURE IF EXISTS bump", B),
    my("DROP TRIGGER trg_bi", U),
    my("DROP DATABASE analytics", B),
    my("TRUNCATE TABLE audit_log", B),
    my("INSERT INTO products (name) VALUES ('a'), ('b')", D),
    my("INSERT IGNORE INTO tags (name) SELECT DISTINCT tag FROM imports", D),
    my("REPLACE INTO settings (k, v) VALUES ('x', '1')", D),
    my("UPDATE products SET stock = 0 WHERE stock IS NULL", D),
    my("DELETE FROM sessions WHERE id < 1000", D),
    my("SET FOREIGN_KEY_CHECKS = 0", D),
    my("SET SESSION sql_mode = 'STRICT_TRANS_TABLES'", D),
    my("SET GLOBAL innodb_lock_wait_timeout = 5", U),
    my(
        "# drop it: nobody reads it\nALTER TABLE products DROP COLUMN legacy",
        B,
        objects=("products.legacy",),
    ),
    my("/*!40101 ALTER TABLE products DROP COLUMN legacy */", B),
    my("SELECT GET_LOCK('migrate', 10)", U),
    my("OPTIMIZE TABLE products", D),
    my("ALTER TABLE Products DROP COLUMN Legacy", B, objects=("products.legacy",)),
    my("CREATE PROCEDURE p() BEGIN SELECT 1; END; DROP TABLE users", U, truth=B),
    my(
        "CREATE PROCEDURE p() lbl: BEGIN IF 1 THEN SELECT 1; END IF; "
        "SELECT CASE WHEN 1 THEN 2 END; END lbl",
        A,
    ),
    my("SET PASSWORD FOR app = 'secret'", U),
    my("SET sql_mode = 'ANSI', GLOBAL max_connections = 500", U),
    my(
        "CREATE ALGORITHM = MERGE SQL SECURITY DEFINER VIEW v_names AS SELECT name FROM products", A
    ),
    my(
        "CREATE DEFINER=`admin`@`%` TRIGGER trg_bu BEFORE UPDATE ON products "
        "FOR EACH ROW SET NEW.updated_at = NOW()",
        U,
        objects=("products",),
    ),
)

_SL_USERS = (
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, nickname TEXT)",
    "CREATE INDEX idx_users_nick ON users (nickname)",
    "CREATE UNIQUE INDEX uq_users_email ON users (email)",
)

SQLITE: tuple[Case, ...] = (
    sl(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, "
        "created_at TEXT DEFAULT CURRENT_TIMESTAMP)",
        A,
        objects=("users",),
    ),
    sl('CREATE TABLE IF NOT EXISTS "Users" (id INTEGER PRIMARY KEY)', A, objects=("Users",)),
    sl("CREATE TABLE [order items] (id INTEGER)", A, objects=("order items",)),
    sl("CREATE TEMP TABLE scratch (a, b)", A),
    sl("CREATE VIRTUAL TABLE docs USING fts5(title, body)", A),
    sl("CREATE TABLE users_copy AS SELECT * FROM users", A),
    sl(
        "CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "at TEXT NOT NULL DEFAULT (datetime('now')))",
        A,
    ),
    sl("CREATE INDEX idx_users_email ON users (email)", A),
    sl("CREATE INDEX IF NOT EXISTS idx_live ON users (created_at) WHERE deleted_at IS NULL", A),
    sl("CREATE UNIQUE INDEX uq_users_email ON users (email COLLATE NOCASE)", B),
    sl("CREATE VIEW IF NOT EXISTS active_users AS SELECT * FROM users WHERE deleted_at IS NULL", A),
    sl(
        "CREATE TRIGGER users_touch AFTER UPDATE ON users BEGIN "
        "UPDATE users SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id; END",
        U,
        objects=("users",),
    ),
    sl("ALTER TABLE users ADD COLUMN nickname TEXT", A, objects=("users.nickname",)),
    sl("ALTER TABLE users ADD nickname TEXT", A, objects=("users.nickname",)),
    sl("ALTER TABLE users ADD bio", A, objects=("users.bio",)),
    sl("ALTER TABLE users ADD COLUMN age INTEGER NOT NULL DEFAULT 0", A),
    sl("ALTER TABLE users ADD COLUMN status TEXT NOT NULL", B),
    sl("ALTER TABLE users ADD COLUMN status TEXT DEFAULT NULL NOT NULL", B),
    sl('ALTER TABLE "Users" ADD COLUMN "Display Name" TEXT', A, objects=("Users.Display Name",)),
    sl("ALTER TABLE users ADD COLUMN team_id INTEGER REFERENCES teams(id)", A),
    sl("ALTER TABLE users ADD COLUMN score INTEGER CHECK (score >= 0)", A, reason="NULL passes"),
    sl("ALTER TABLE users ADD COLUMN score INTEGER CHECK (score IS NOT NULL)", U, truth=B),
    sl(
        "ALTER TABLE users ADD COLUMN full_name TEXT "
        "GENERATED ALWAYS AS (first || ' ' || last) VIRTUAL",
        A,
    ),
    sl("ALTER TABLE users ADD COLUMN uid TEXT UNIQUE", A),
    sl(
        "  ALTER TABLE users\n    ADD COLUMN bio TEXT -- free text, no DROP here\n",
        A,
        objects=("users.bio",),
    ),
    sl("ALTER TABLE users DROP COLUMN nickname", B, objects=("users.nickname",)),
    sl("alter table USERS drop column BIO", B, objects=("users.bio",)),
    sl("ALTER TABLE users RENAME COLUMN email TO email_address", B),
    sl("ALTER TABLE users RENAME TO accounts", B, objects=("users", "accounts")),
    sl("ALTER TABLE main.users RENAME TO people", B, objects=("main.users", "people")),
    sl("DROP TABLE users", B, objects=("users",)),
    sl("DROP TABLE IF EXISTS main.sessions", B, objects=("main.sessions",)),
    sl("DROP VIEW active_users", B),
    sl("DROP INDEX idx_users_email", U),
    sl("DROP INDEX IF EXISTS main.idx_live", U),
    sl("DROP INDEX idx_users_nick", D, applied=_SL_USERS),
    sl("DROP INDEX uq_users_email", B, applied=_SL_USERS),
    sl("DROP TRIGGER IF EXISTS users_touch", U),
    sl("INSERT INTO users (email) VALUES ('a@example.com')", D, objects=("users",)),
    sl("INSERT OR IGNORE INTO tags (name) VALUES ('x')", D),
    sl("INSERT OR REPLACE INTO settings (k, v) VALUES ('theme', 'dark')", D),
    sl("REPLACE INTO settings (k, v) VALUES ('theme', 'dark')", D),
    sl("UPDATE users SET email = lower(email)", D),
    sl("DELETE FROM sessions WHERE expires_at < strftime('%s', 'now')", D),
    sl(
        "WITH stale AS (SELECT id FROM sessions WHERE expired) "
        "DELETE FROM sessions WHERE id IN (SELECT id FROM stale)",
        D,
    ),
    sl("INSERT INTO users_new (id, email) SELECT id, email FROM users", D),
    sl("DELETE FROM users", D),
    sl("PRAGMA foreign_keys = ON", D, rules=("TX001",)),
    sl("PRAGMA foreign_key_check", D),
    sl("PRAGMA writable_schema = ON", U),
    sl("PRAGMA user_version = 7", U),
    sl("VACUUM", D, rules=("TX001",)),
    sl("ANALYZE users", D),
    sl("REINDEX users", D),
    sl("SELECT 1", D),
    sl("SELECT load_extension('mod_spatialite')", U),
    sl("ATTACH DATABASE 'archive.db' AS archive", U, rules=("TX001",)),
    sl("BEGIN TRANSACTION", D, rules=("TX003",)),
    sl("SAVEPOINT before_rebuild", D),
    sl("ALTER TABLE users ADD COLUMN note TEXT; DROP TABLE users", U, truth=B),
    sl("this is not sql", U),
    sl("PRAGMA foreign_keys = OFF; DROP TABLE users", U, truth=B),
    sl("CREATE TRIGGER trg AFTER INSERT ON t BEGIN SELECT 1; END; DROP TABLE t", U, truth=B),
    sl("ALTER TABLE users ADD status TEXT NOT NULL DEFAULT NULL", B),
    sl("", U),
)

# -- issue 16: locks and rewrites, transactions, read-side breaks, safe patterns ---------------
_PG_USERS = (
    "CREATE TABLE users (id bigint NOT NULL, email text)",
    "CREATE UNIQUE INDEX users_id_key ON users (id)",
    "CREATE UNIQUE INDEX users_email_key ON users (email)",
)
POSTGRESQL_LOCKS: tuple[Case, ...] = (
    pg("REINDEX TABLE orders", D, rules=("PG008",)),
    pg("REINDEX INDEX idx_orders_ref", D, rules=("PG008",)),
    pg("REINDEX TABLE CONCURRENTLY orders", D, rules=("TX001",)),
    pg("VACUUM FULL orders", D, rules=("PG009", "TX001")),
    pg("VACUUM (FULL, ANALYZE) orders", D, rules=("PG009", "TX001")),
    pg("CLUSTER orders USING idx_orders_created", D, rules=("PG010",)),
    pg("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE", D, rules=("PG011",)),
    pg("LOCK orders", D, rules=("PG011",)),
    pg("LOCK TABLE orders IN ROW EXCLUSIVE MODE", D, rules=()),
    pg("ALTER TABLE orders SET LOGGED", D, rules=("PG012",)),
    pg("ALTER TABLE orders SET UNLOGGED", D, rules=("PG012",)),
    pg("ALTER TABLE orders SET TABLESPACE fast_ssd", D, rules=("PG013",)),
    pg("ALTER INDEX idx_orders_ref SET TABLESPACE fast_ssd", D, rules=("PG013",)),
    pg(
        "ALTER TABLE orders DETACH PARTITION orders_2019 CONCURRENTLY",
        U,
        rules=("TX001",),
    ),
    pg(
        "ALTER DOMAIN positive_int ADD CONSTRAINT positive CHECK (VALUE > 0)",
        U,
        truth=B,
        rules=("PG015",),
    ),
    pg(
        "ALTER DOMAIN positive_int ADD CONSTRAINT positive CHECK (VALUE > 0) NOT VALID",
        U,
        truth=B,
        rules=(),
    ),
    pg("TRUNCATE orders CASCADE", B, rules=("GEN001", "PG017")),
    pg("TRUNCATE orders", B, rules=("GEN001",)),
    pg(
        "ALTER TABLE orders ADD COLUMN product_id bigint REFERENCES products (id)",
        A,
        rules=("PG018",),
    ),
    pg(
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (pid) REFERENCES products (id) NOT VALID",
        B,
        rules=(),
    ),
    pg(
        "CREATE INDEX CONCURRENTLY idx_orders_ref ON orders (ref)",
        A,
        rules=("TX001",),
    ),
    pg("CREATE INDEX idx_orders_ref ON orders (ref)", A, rules=("PG001",)),
    pg("DROP INDEX CONCURRENTLY idx_orders_ref", U, rules=("TX001",)),
    pg("START TRANSACTION", D, rules=("TX003",)),
    pg("ROLLBACK", D, rules=("TX003",)),
    pg("SAVEPOINT before_backfill", D, rules=()),
    pg("ALTER TABLE orders ADD COLUMN n bigserial", A, reason="generated", rules=("PG002",)),
    pg("ALTER TABLE orders ADD COLUMN n serial8", A, reason="generated", rules=("PG002",)),
    pg("ALTER TABLE orders ADD COLUMN at timestamptz DEFAULT now()", A, rules=()),
    pg("ALTER TABLE orders ALTER COLUMN ref SET NOT NULL", B, rules=("PG003",)),
    pg("ALTER TABLE orders ADD CONSTRAINT uq_ref UNIQUE (ref)", B, rules=("PG006",)),
    pg("REFRESH MATERIALIZED VIEW sales_by_day", D, rules=("PG019",)),
    pg(
        "ALTER TABLE orders_p ATTACH PARTITION orders_2020 "
        "FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')",
        U,
        rules=(),
        hazard=True,
    ),
    pg("ALTER TABLE orders ADD COLUMN note text", A, rules=()),
    pg("ALTER TABLE orders VALIDATE CONSTRAINT fk_ref", D, rules=()),
    # read-side breaks: the gate asks for a declaration
    pg(
        "ALTER TABLE products ADD COLUMN attrs json",
        U,
        reason="json has no equality operator",
        rules=(),
    ),
    pg("ALTER TABLE products ADD COLUMN attrs jsonb", A, rules=()),
    pg("CREATE TABLE docs (id bigint, body json)", A, rules=()),
    pg("ALTER TABLE orders ALTER COLUMN ref DROP NOT NULL", U, reason="may not expect NULL"),
    # safe patterns the rules recommend
    pg(
        "ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_id_key",
        A,
        reason="already unique, NOT NULL",
        applied=_PG_USERS,
        rules=(),
    ),
    pg(
        "ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_email_key",
        U,
        reason="NOT NULL where they are not yet",
        applied=_PG_USERS,
        truth=B,
    ),
    pg(
        "ALTER TABLE users ADD CONSTRAINT users_email_uq UNIQUE USING INDEX users_email_key",
        A,
        applied=_PG_USERS,
        rules=(),
    ),
    pg(
        "ALTER TABLE products ADD COLUMN discount int CHECK (discount BETWEEN 0 AND 100)",
        A,
        reason="NULL passes",
    ),
    pg(
        "ALTER TABLE products ADD COLUMN discount int CHECK (coalesce(discount, 0) < 100)",
        U,
        truth=A,
    ),
    pg(
        "ALTER TABLE products ADD COLUMN discount int NOT NULL DEFAULT 0 CHECK (discount >= 0)",
        U,
        truth=A,
    ),
)

_MY_TAGS = (
    (
        "CREATE TABLE tags (id INT PRIMARY KEY, label VARCHAR(50) NOT NULL, "
        "code VARCHAR(20) CHARACTER SET latin1 NOT NULL)"
    ),
)
MYSQL_COPIES: tuple[Case, ...] = (
    my("ALTER TABLE tags MODIFY label VARCHAR(60) NOT NULL", A, applied=_MY_TAGS, rules=()),
    my(
        "ALTER TABLE tags MODIFY label VARCHAR(100) NOT NULL",
        A,
        applied=_MY_TAGS,
        rules=("MY001",),
    ),
    my(
        "ALTER TABLE tags MODIFY code VARCHAR(200) CHARACTER SET latin1 NOT NULL",
        A,
        applied=_MY_TAGS,
        rules=(),
    ),
    my(
        "ALTER TABLE tags MODIFY code VARCHAR(300) CHARACTER SET latin1 NOT NULL",
        A,
        applied=_MY_TAGS,
        rules=("MY001",),
    ),
    my("ALTER TABLE tags MODIFY id BIGINT", A, applied=_MY_TAGS, rules=("MY001",)),
    my("ALTER TABLE posts ADD FULLTEXT INDEX ft_body (body)", A, rules=("MY003",)),
    my("CREATE FULLTEXT INDEX ft_title ON posts (title)", A, rules=("MY003",)),
    my("ALTER TABLE products ADD UNIQUE KEY uq_sku (sku), ALGORITHM=INPLACE", B, rules=()),
    my("ALTER TABLE products ADD COLUMN x INT, LOCK=SHARED", A, rules=("MY004",)),
    my("ALTER TABLE products ADD INDEX idx_x (x), LOCK=EXCLUSIVE", A, rules=("MY004",)),
    my("ALTER TABLE products ADD INDEX idx_x (x), ALGORITHM=INPLACE, LOCK=NONE", A, rules=()),
    my("ALTER TABLE products ADD COLUMN ref CHAR(36) DEFAULT (UUID())", A, rules=("MY005",)),
    my("ALTER TABLE products ADD COLUMN made DATETIME DEFAULT CURRENT_TIMESTAMP", A, rules=()),
    my(
        "ALTER TABLE products ADD COLUMN seq BIGINT NOT NULL AUTO_INCREMENT UNIQUE",
        A,
        rules=("MY006",),
    ),
    my(
        "ALTER TABLE tags MODIFY id INT NOT NULL AUTO_INCREMENT",
        A,
        applied=_MY_TAGS,
        rules=("MY006",),
    ),
    my(
        "ALTER TABLE products ADD COLUMN total DECIMAL(12,2) AS (price * qty) STORED",
        A,
        rules=("MY007",),
    ),
    my(
        "ALTER TABLE products ADD COLUMN total DECIMAL(12,2) AS (price * qty) VIRTUAL",
        A,
        rules=(),
    ),
    my("ALTER TABLE products ADD FOREIGN KEY (cat_id) REFERENCES cats (id)", B, rules=("MY008",)),
    # mysqldump's LOCK TABLES is fine in a step: steps run outside a transaction on MySQL (#11).
    my("LOCK TABLES products WRITE", D, rules=()),
    my("START TRANSACTION", D, rules=("TX003",)),
    my("ALTER TABLE products ADD COLUMN sku2 VARCHAR(32) NULL", A, rules=()),
    my("ALTER TABLE products FORCE", D, rules=()),
    my(
        "ALTER TABLE products MODIFY status ENUM('new','paid','void') NOT NULL DEFAULT 'new'",
        U,
        applied=_MY_PRODUCTS,
        rules=(),
    ),
    my("ALTER TABLE tags MODIFY label VARCHAR(60)", U, applied=_MY_TAGS, reason="NULL"),
)

SQLITE_TX: tuple[Case, ...] = (
    sl("COMMIT", D, rules=("TX003",)),
    sl("DETACH DATABASE archive", U, rules=("TX001",)),
    sl("PRAGMA journal_mode = WAL", D, rules=("TX001",)),
    sl("PRAGMA foreign_keys", D, rules=()),
    sl("CREATE INDEX idx_users_nick2 ON users (nickname)", A, rules=()),
    sl("ALTER TABLE users ADD COLUMN flag INTEGER CHECK (flag IN (0, 1))", A, rules=()),
    sl("ALTER TABLE users ADD COLUMN at TEXT DEFAULT CURRENT_TIMESTAMP", A, rules=("SL004",)),
)

CORPUS: tuple[Case, ...] = POSTGRESQL + POSTGRESQL_LOCKS + MYSQL + MYSQL_COPIES + SQLITE + SQLITE_TX
