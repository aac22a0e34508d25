"""Schema introspection from the system catalogs, each in one read-only round trip.

Imported lazily (it imports the executor, hence psycopg).
"""

from __future__ import annotations

from typing import Any

from connectors.postgres.executor import Pool, run_script
from connectors.postgres.models import (
    ColumnInfo,
    ColumnMatch,
    ColumnMatches,
    Constraint,
    IndexInfo,
    Reference,
    SchemaInfo,
    SchemaList,
    TableDescription,
    TableInfo,
    TableList,
)
from connectors.postgres.wire import Command
from mcp_hub.errors import NotFound

KINDS = {"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view", "f": "foreign table"}
_RELKINDS = "('r', 'p', 'v', 'm', 'f')"
_USER_SCHEMAS = "n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
#: Statement time limit for catalog queries (they are small).
CATALOG_TIMEOUT_MS = 10_000

_SCHEMAS = f"""
SELECT n.nspname::text, pg_get_userbyid(n.nspowner)::text,
       (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN {_RELKINDS})::int,
       obj_description(n.oid, 'pg_namespace')
FROM pg_namespace n
WHERE {_USER_SCHEMAS} AND has_schema_privilege(n.oid, 'USAGE')
ORDER BY 1"""  # noqa: S608 (constant SQL: no caller text)

_TABLES = f"""
SELECT n.nspname::text, c.relname::text, c.relkind::text, c.reltuples::bigint,
       pg_total_relation_size(c.oid), obj_description(c.oid, 'pg_class')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN {_RELKINDS} AND {_USER_SCHEMAS} AND ($1::text IS NULL OR n.nspname = $1)
  AND has_schema_privilege(n.oid, 'USAGE')
ORDER BY 1, 2 LIMIT $2 OFFSET $3"""  # noqa: S608 (constant SQL: no caller text)

_RELATION = """
SELECT c.oid::int8, c.relkind::text, c.reltuples::bigint, obj_description(c.oid, 'pg_class')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2"""

_COLUMNS = """
SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), col_description(a.attrelid, a.attnum), a.attidentity::text
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum"""

_CONSTRAINTS = """
SELECT con.conname::text, con.contype::text, pg_get_constraintdef(con.oid, true),
       con.conrelid::regclass::text, con.confrelid = c.oid AND con.conrelid <> c.oid,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_constraint con ON con.conrelid = c.oid OR (con.confrelid = c.oid AND con.contype = 'f')
WHERE n.nspname = $1 AND c.relname = $2
ORDER BY 2, 1"""

_INDEXES = """
SELECT i.relname::text, pg_get_indexdef(x.indexrelid), pg_relation_size(x.indexrelid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_index x ON x.indrelid = c.oid JOIN pg_class i ON i.oid = x.indexrelid
WHERE n.nspname = $1 AND c.relname = $2
ORDER BY NOT x.indisprimary, 1"""

_SEARCH = f"""
SELECT n.nspname::text, c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN {_RELKINDS} AND {_USER_SCHEMAS}
  AND a.attname ILIKE $1 ESCAPE '\\' AND ($2::text IS NULL OR n.nspname = $2)
  AND has_schema_privilege(n.oid, 'USAGE')
ORDER BY 1, 2, a.attnum LIMIT $3"""  # noqa: S608 (constant SQL: no caller text)


async def list_schemas(pool: Pool) -> SchemaList:
    (result,) = await run_script(pool, [Command(_SCHEMAS)], timeout_ms=CATALOG_TIMEOUT_MS)
    return SchemaList(
        schemas=[SchemaInfo(name=n, owner=o, relations=r, comment=c) for n, o, r, c in result.rows],
    )


async def list_tables(pool: Pool, schema: str | None, offset: int, limit: int) -> TableList:
    (result,) = await run_script(pool, [Command(_TABLES, [schema, limit + 1, offset])], timeout_ms=CATALOG_TIMEOUT_MS)
    tables = [
        TableInfo(
            name=f"{nsp}.{name}",
            kind=KINDS.get(kind, kind),
            rows_estimate=rows if rows is not None and rows >= 0 and kind in "rpm" else None,
            size_bytes=size or 0,
            comment=comment,
        )
        for nsp, name, kind, rows, size, comment in result.rows[:limit]
    ]
    return TableList(tables=tables, truncated=len(result.rows) > limit)


def split_name(table: str, schema: str | None) -> tuple[str, str]:
    """("public", "orders") from ("orders", None), ("public.orders", None) or ("orders", "public")."""
    if schema is None and "." in table:
        schema, _, table = table.partition(".")
    return schema or "public", table


async def describe_table(pool: Pool, schema: str, table: str) -> TableDescription:
    names = [schema, table]
    relation, columns, constraints, indexes = await run_script(
        pool,
        [Command(_RELATION, names), Command(_COLUMNS, names), Command(_CONSTRAINTS, names), Command(_INDEXES, names)],
        timeout_ms=CATALOG_TIMEOUT_MS,
    )
    if not relation.rows:
        raise NotFound(f"no table or view {schema}.{table}; list_tables shows what exists (names are case-sensitive)")
    _, kind, rows, comment = relation.rows[0]
    described = TableDescription(
        name=f"{schema}.{table}",
        kind=KINDS.get(kind, kind),
        comment=comment,
        rows_estimate=rows if rows is not None and rows >= 0 and kind in "rpm" else None,
        columns=[_column(*row) for row in columns.rows],
        primary_key=[],
        foreign_keys=[],
        referenced_by=[],
        unique=[],
        checks=[],
        indexes=[IndexInfo(name=n, definition=_short_index(d), size_bytes=s or 0) for n, d, s in indexes.rows],
    )
    for name, contype, definition, owner, incoming, keys in constraints.rows:
        if incoming:
            described.referenced_by.append(Reference(name=name, table=owner, definition=definition))
        elif contype == "p":
            described.primary_key = list(keys)
        elif contype == "f":
            described.foreign_keys.append(Constraint(name=name, definition=definition))
        elif contype == "u":
            described.unique.append(Constraint(name=name, definition=definition))
        elif contype == "c":
            described.checks.append(Constraint(name=name, definition=definition))
    return described


def _column(name: str, type_: str, nullable: bool, default: Any, comment: Any, identity: str) -> ColumnInfo:
    if identity:
        default = "generated always as identity" if identity == "a" else "generated by default as identity"
    return ColumnInfo(name=name, type=type_, nullable=nullable, default=default, comment=comment)


def _short_index(definition: str) -> str:
    """`CREATE UNIQUE INDEX x ON public.t USING btree (a)` -> `UNIQUE btree (a)`."""
    unique = definition.startswith("CREATE UNIQUE")
    using = definition.find(" USING ")
    body = definition[using + len(" USING ") :] if using >= 0 else definition
    return ("UNIQUE " if unique else "") + body


def render_table(described: TableDescription) -> str:
    """A compact text form (psql's \\d, shorter), for a model or a resource."""
    lines = [f"{described.kind} {described.name}" + (f" -- {described.comment}" if described.comment else "")]
    if described.rows_estimate is not None:
        lines[0] += f" (~{described.rows_estimate} rows)"
    for column in described.columns:
        line = f"  {column.name} {column.type}" + ("" if column.nullable else " NOT NULL")
        if column.default is not None:
            line += f" DEFAULT {column.default}"
        if column.comment:
            line += f" -- {column.comment}"
        lines.append(line)
    if described.primary_key:
        lines.append(f"primary key ({', '.join(described.primary_key)})")
    lines += [f"{c.name}: {c.definition}" for c in described.foreign_keys + described.unique + described.checks]
    lines += [f"referenced by {r.table}: {r.definition}" for r in described.referenced_by]
    lines += [f"index {i.name}: {i.definition}" for i in described.indexes]
    return "\n".join(lines)


async def search_columns(pool: Pool, text: str, schema: str | None, limit: int) -> ColumnMatches:
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    (result,) = await run_script(pool, [Command(_SEARCH, [pattern, schema, limit + 1])], timeout_ms=CATALOG_TIMEOUT_MS)
    matches = [ColumnMatch(table=f"{n}.{t}", column=c, type=ty) for n, t, c, ty in result.rows[:limit]]
    return ColumnMatches(matches=matches, truncated=len(result.rows) > limit)
