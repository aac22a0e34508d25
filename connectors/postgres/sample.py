"""A few rows of one table, read-only, for the sample resource."""

from __future__ import annotations

from connectors.postgres.candidates import quote
from connectors.postgres.executor import Pool, QueryRows, run_internal
from connectors.postgres.settings import PostgresSettings
from mcp_hub.errors import InvalidInput, NotFound

MAX_SAMPLE_ROWS = 100


def row_cap(rows: str) -> int:
    """The `rows` query variable as a row count (1-100)."""
    if not rows.isdigit() or not 1 <= int(rows) <= MAX_SAMPLE_ROWS:
        raise InvalidInput(f"rows must be a whole number from 1 to {MAX_SAMPLE_ROWS}")
    return int(rows)


async def fetch(
    pool: Pool, settings: PostgresSettings, schema: str, table: str, limit: int, *, outsider: bool = False
) -> QueryRows:
    from connectors.postgres.guard import check_read_only

    if "\x00" in schema + table:
        raise InvalidInput("schema and table names cannot contain NUL characters")
    statement = f"SELECT * FROM {quote(schema)}.{quote(table)} LIMIT {int(limit) + 1}"  # noqa: S608 (quoted identifiers)
    # The caller names the table: through the guard like any read (no catalog of secrets, no pg_toast).
    statement = check_read_only(statement)
    try:
        return await run_internal(
            pool,
            statement,
            None,
            max_rows=limit,
            timeout_ms=settings.statement_timeout_ms,
            max_cell_chars=min(settings.max_cell_chars, 500),
            outsider=outsider,
            max_bytes=settings.max_result_bytes,
        )
    except InvalidInput as exc:
        if "does not exist" in exc.message:
            raise NotFound(f"no table {schema}.{table}; the postgres_list_tables tool shows what exists") from None
        raise
