-- Expand: add the new column beside the old one and backfill it.
-- Portable SQL: the example runs on SQLite, PostgreSQL and MariaDB alike.
ALTER TABLE products ADD COLUMN price_cents INTEGER;
UPDATE products SET price_cents = CAST(price AS DECIMAL(12, 2)) * 100;
