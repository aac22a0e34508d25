"""`mcp-hub postgres demo`: load a small sample shop into the embedded database (or --dsn).

So that a newcomer has something to ask about: schema `shop` with customers,
products, orders and order items, keys, an index, comments and a view. Loading
again replaces the schema.
"""

from __future__ import annotations

from pathlib import Path

SCHEMA_SQL = """
DROP SCHEMA IF EXISTS shop CASCADE;
CREATE SCHEMA shop;
COMMENT ON SCHEMA shop IS 'Sample shop loaded by mcp-hub postgres demo';
CREATE TABLE shop.customers (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    country text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE shop.customers IS 'People who buy';
CREATE TABLE shop.products (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    category text NOT NULL,
    price numeric(10, 2) NOT NULL CHECK (price > 0)
);
CREATE TABLE shop.orders (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id int NOT NULL REFERENCES shop.customers (id),
    status text NOT NULL CHECK (status IN ('new', 'paid', 'shipped', 'cancelled')),
    ordered_at timestamptz NOT NULL
);
CREATE INDEX orders_customer_idx ON shop.orders (customer_id);
CREATE TABLE shop.order_items (
    order_id int NOT NULL REFERENCES shop.orders (id) ON DELETE CASCADE,
    product_id int NOT NULL REFERENCES shop.products (id),
    quantity int NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, product_id)
);
INSERT INTO shop.customers (name, email, country, created_at)
SELECT 'Customer ' || g, 'customer' || g || '@example.com', (ARRAY['FR', 'DE', 'JP', 'US', 'BR'])[1 + g % 5],
       timestamptz '2024-01-01' + g * interval '7 hours'
FROM generate_series(1, 200) g;
INSERT INTO shop.products (name, category, price)
SELECT 'Product ' || g, (ARRAY['books', 'games', 'tools', 'garden'])[1 + g % 4], round((5 + (g * 37) % 200)::numeric, 2)
FROM generate_series(1, 50) g;
INSERT INTO shop.orders (customer_id, status, ordered_at)
SELECT 1 + (g * 7) % 200, (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + g % 4],
       timestamptz '2024-02-01' + g * interval '90 minutes'
FROM generate_series(1, 2000) g;
INSERT INTO shop.order_items (order_id, product_id, quantity)
SELECT o, 1 + (o * k * 13) % 50, 1 + (o + k) % 3 FROM generate_series(1, 2000) o, generate_series(1, 3) k
ON CONFLICT DO NOTHING;
CREATE VIEW shop.revenue_by_month AS
SELECT date_trunc('month', o.ordered_at) AS month, sum(i.quantity * p.price) AS revenue
FROM shop.orders o JOIN shop.order_items i ON i.order_id = o.id JOIN shop.products p ON p.id = i.product_id
WHERE o.status IN ('paid', 'shipped') GROUP BY 1;
ANALYZE;
"""


def load(dsn: str) -> dict[str, int]:
    """Load the sample schema at `dsn` (a role that may create a schema); row counts per table."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute(SCHEMA_SQL)  # several statements (simple protocol), one transaction
        conn.commit()
        counts = {}
        for table in ("customers", "products", "orders", "order_items"):
            row = conn.execute(f"SELECT count(*) FROM shop.{table}").fetchone()  # noqa: S608 (fixed names)
            counts[table] = int(row[0]) if row else 0
    return counts


def run(dsn: str | None, data_dir: Path, next_command: str = "mcp-hub serve") -> str:
    """Load into `dsn`, or into the embedded database in `data_dir`; a line saying what was done and
    `next_command`, the command that serves it."""
    from connectors.postgres.embedded import start_embedded_sync

    where = "the database of the DSN"
    if dsn is None:
        dsn = start_embedded_sync(data_dir)
        where = f"the embedded database in {data_dir}"
    import psycopg

    from connectors.postgres.errors import translate
    from mcp_hub.errors import ConfigError

    try:
        counts = load(dsn)
    except psycopg.Error as exc:
        raise ConfigError(f"could not load the demo schema: {translate(exc).message}") from None
    listed = ", ".join(f"{n} {t}" for t, n in counts.items())
    return f"loaded schema shop into {where}: {listed}.\nNext, serve it: {next_command}"
