"""Candidate indexes for a SELECT, from its parse tree and the catalog.

Columns compared with `=` or IN come first (equality), then one compared by
range, LIKE, BETWEEN, sorted or grouped by; join columns count as equality on
each side. A column that already leads an index gives no single-column
candidate; several columns of one table also give one composite candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.postgres.executor import Pool, run_script
from connectors.postgres.wire import Command

_MAX_CANDIDATES = 8
_EQUALITY_OPS = {"="}
_RANGE_OPS = {"<", ">", "<=", ">=", "~~", "~~*"}
_RESOLVE = """
SELECT r.name, n.nspname::text, c.relname::text, c.relkind::text,
       ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
             AND NOT a.attisdropped),
       ARRAY(SELECT a.attname::text FROM pg_index x JOIN pg_attribute a
             ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] WHERE x.indrelid = c.oid)
FROM unnest($1::text[]) AS r(name)
JOIN pg_class c ON c.oid = to_regclass(r.name) JOIN pg_namespace n ON n.oid = c.relnamespace"""


@dataclass(frozen=True)
class Candidate:
    schema: str
    table: str
    columns: tuple[str, ...]

    @property
    def ddl(self) -> str:
        columns = ", ".join(quote(c) for c in self.columns)
        return f"CREATE INDEX ON {quote(self.schema)}.{quote(self.table)} ({columns})"


@dataclass
class _Uses:
    equality: list[str] = field(default_factory=list)
    ordered: list[str] = field(default_factory=list)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def find_candidates(pool: Pool, tree: dict[str, Any]) -> list[Candidate]:
    relations, refs = _scan(tree)
    if not relations:
        return []
    names = sorted({qualified for qualified in relations.values()})
    (resolved,) = await run_script(pool, [Command(_RESOLVE, [names])], timeout_ms=10_000)
    tables: dict[str, tuple[str, str, set[str], set[str]]] = {}
    for name, schema, table, kind, columns, leading in resolved.rows:
        if kind in ("r", "p", "m"):
            tables[name] = (schema, table, set(columns), set(leading))
    uses: dict[str, _Uses] = {}
    for fields, role in refs:
        target = _resolve(fields, relations, tables)
        if target is None:
            continue
        name, column = target
        bucket = uses.setdefault(name, _Uses())
        chosen = bucket.equality if role == "eq" else bucket.ordered
        if column not in bucket.equality and column not in chosen:
            chosen.append(column)
    candidates: list[Candidate] = []
    for name, use in uses.items():
        schema, table, _, leading = tables[name]
        ordered = [c for c in use.ordered if c not in use.equality]
        for column in use.equality + ordered:
            if column not in leading:
                candidates.append(Candidate(schema, table, (column,)))
        combined = tuple(use.equality + ordered[:1])
        if len(combined) > 1:
            candidates.append(Candidate(schema, table, combined))
    return list(dict.fromkeys(candidates))[:_MAX_CANDIDATES]


def _resolve(
    fields: list[str], relations: dict[str, str], tables: dict[str, tuple[str, str, set[str], set[str]]]
) -> tuple[str, str] | None:
    """(qualified relation name, column) that `fields` (alias.col or col) refers to, if unambiguous."""
    column = fields[-1]
    if len(fields) >= 2:
        name = relations.get(fields[-2])
        return (name, column) if name in tables and column in tables[name][2] else None
    owners = {name for name in relations.values() if name in tables and column in tables[name][2]}
    return (owners.pop(), column) if len(owners) == 1 else None


def _scan(tree: dict[str, Any]) -> tuple[dict[str, str], list[tuple[list[str], str]]]:
    """Relations by alias and name (-> quoted qualified name), and column references with their role."""
    relations: dict[str, str] = {}
    refs: list[tuple[list[str], str]] = []
    stack: list[Any] = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if key == "RangeVar":
                qualified = quote(value["relname"])
                if value.get("schemaname"):
                    qualified = f"{quote(value['schemaname'])}.{qualified}"
                relations[value["relname"]] = qualified
                alias = (value.get("alias") or {}).get("aliasname")
                if alias:
                    relations[alias] = qualified
            elif key == "A_Expr":
                role = _role(value)
                if role:
                    for side in ("lexpr", "rexpr"):
                        fields = _fields(value.get(side))
                        if fields:
                            refs.append((fields, role))
            elif key in ("SortBy",):
                fields = _fields(value.get("node"))
                if fields:
                    refs.append((fields, "order"))
            elif key == "groupClause":
                refs += [(f, "order") for f in (_fields(node) for node in value) if f]
            if isinstance(value, (dict, list)):
                stack.append(value)
    return relations, refs


def _role(expr: dict[str, Any]) -> str | None:
    kind = expr.get("kind", "AEXPR_OP")
    names = [n.get("String", {}).get("sval") for n in expr.get("name") or []]
    op = names[-1] if names else None
    if kind == "AEXPR_IN" or (kind == "AEXPR_OP" and op in _EQUALITY_OPS):
        return "eq"
    if kind in ("AEXPR_LIKE", "AEXPR_ILIKE", "AEXPR_BETWEEN") or (kind == "AEXPR_OP" and op in _RANGE_OPS):
        return "order"
    return None


def _fields(node: Any) -> list[str] | None:
    if not isinstance(node, dict) or "ColumnRef" not in node:
        return None
    fields = node["ColumnRef"].get("fields") or []
    names = [f["String"]["sval"] for f in fields if "String" in f]
    return names if names and len(names) == len(fields) else None
