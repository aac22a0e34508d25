"""Column masking: configured columns show as "***" in every result, query and sample alike.

Rules are `[schema.]table.column` globs (`users.email`, `*.password_hash`,
`billing.*.card_number`); two parts match any schema. A result column is
traced to the table column it comes from with what libpq reports for it
(PQftable/PQftablecol: the table's oid and the column's number, through
subqueries and CTEs); oids are resolved to names once and cached.

What libpq cannot trace is masked by name, conservatively: a column computed
by an expression (`upper(email)`, `email || ''`) or read through a view is
masked when its own name, or the name of any column the statement references,
matches a rule's column glob; and when the statement reads whole rows
(`row_to_json(u)`, `u.*` inside an expression), renames columns (`FROM users
AS t(i, e)`) or hides them behind a star (a UNION branch's `SELECT *`), every
computed column is masked. This is display protection for people and models that ask plainly; a
determined query can still infer values (WHERE email LIKE 'a%'). The hard
guarantee is a column privilege: REVOKE SELECT (email) ON users FROM the hub's role.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

MASK = "***"
#: Resolved oids are forgotten after this long (tables renamed, dropped, recreated).
_CACHE_TTL_S = 300.0
_BASE_TABLES = ("r", "p")


@dataclass(frozen=True)
class _Rule:
    schema: str
    table: str
    column: str

    def matches(self, schema: str, table: str, column: str) -> bool:
        return fnmatchcase(column, self.column) and fnmatchcase(table, self.table) and fnmatchcase(schema, self.schema)


@dataclass(frozen=True)
class _Relation:
    schema: str
    table: str
    kind: str
    columns: dict[int, str]


class Masker:
    """The masking rules of one instance, with its cache of table oids."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.rules: list[_Rule] = []
        for pattern in patterns:
            parts = pattern.split(".")
            schema, table, column = parts if len(parts) == 3 else ["*", *parts]
            self.rules.append(_Rule(schema, table, column))
        self._relations: dict[int, _Relation] = {}
        self._loaded_at = time.monotonic()

    def __bool__(self) -> bool:
        return bool(self.rules)

    def masks(self, schema: str, table: str, column: str) -> bool:
        return any(rule.matches(schema, table, column) for rule in self.rules)

    def masks_name(self, column: str) -> bool:
        return any(fnmatchcase(column, rule.column) for rule in self.rules)

    def unknown_oids(self, sources: Iterable[tuple[int, int]]) -> list[int]:
        if time.monotonic() - self._loaded_at > _CACHE_TTL_S:
            self._relations.clear()
            self._loaded_at = time.monotonic()
        return sorted({oid for oid, _ in sources if oid and oid not in self._relations})

    def learn(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Rows of `RESOLVE_SQL`: (oid, schema, table, relkind, attnum, attname)."""
        for oid, schema, table, kind, attnum, attname in rows:
            relation = self._relations.setdefault(int(oid), _Relation(schema, table, kind, {}))
            relation.columns[int(attnum)] = attname

    def masked_columns(
        self, columns: list[str], sources: list[tuple[int, int]], referenced: frozenset[str], whole_rows: bool
    ) -> list[int]:
        """Indexes of the result columns to mask (see the module doc)."""
        risky_expressions = whole_rows or any(self.masks_name(name) for name in referenced)
        masked = []
        for index, (name, (oid, attnum)) in enumerate(zip(columns, sources, strict=True)):
            relation = self._relations.get(oid) if oid else None
            if relation is not None and attnum in relation.columns:
                column = relation.columns[attnum]
                by_name = relation.kind not in _BASE_TABLES and (self.masks_name(column) or self.masks_name(name))
                if by_name or self.masks(relation.schema, relation.table, column):
                    masked.append(index)
            elif risky_expressions or self.masks_name(name):
                masked.append(index)
        return masked


RESOLVE_SQL = """
SELECT c.oid::int8, n.nspname::text, c.relname::text, c.relkind::text, a.attnum::int, a.attname::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.oid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped"""


def apply(rows: list[list[Any]], indexes: list[int]) -> None:
    """Replace the cells of `indexes` (non-null ones) with the mask, in place."""
    for row in rows:
        for index in indexes:
            if row[index] is not None:
                row[index] = MASK


def reads_whole_rows(tree: dict[str, Any]) -> bool:
    """True when a statement may carry a column's values out under another name.

    Then every computed (untraced) column is masked, as the name-based check cannot follow:
    - a `ColumnRef` of one name that is also a relation name or alias in the statement, a join's
      alias included (`row_to_json(u)`, `u::text`, `(a JOIN b ON …) AS j` then `row_to_json(j)`);
    - a star anywhere but directly in the target list of a plain SELECT whose columns keep their
      names: the statement itself, a subquery in FROM or a CTE (`to_jsonb(u.*)`; a branch of
      UNION/INTERSECT/EXCEPT takes the other branch's column names; a scalar subquery has none);
    - an alias column list on a table, subquery, join or CTE (`FROM users AS t(i, e)`): it renames
      columns, so an expression on `e` reads `email` without naming it.
    """
    relations: set[str] = set()
    refs: list[dict[str, Any]] = []
    direct_stars: set[int] = set()
    named = _named_selects(tree)
    stack: list[Any] = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if key in _RENAMING and isinstance(value, dict):
                alias = value.get("alias") or {}
                if alias.get("colnames"):
                    return True
                if alias.get("aliasname"):
                    relations.add(str(alias["aliasname"]))
                if key == "RangeVar":
                    relations.add(str(value.get("relname", "")))
            elif key == "relation" and isinstance(value, dict) and "relname" in value:
                relations.add(str(value.get("relname", "")))
            elif key == "CommonTableExpr" and isinstance(value, dict):
                if value.get("aliascolnames"):
                    return True
                named.update(_select_ids(value.get("ctequery")))
            elif key == "RangeSubselect" and isinstance(value, dict):
                named.update(_select_ids(value.get("subquery")))
            elif key == "SelectStmt" and isinstance(value, dict) and id(value) in named:
                for target in value.get("targetList") or ():
                    column = ((target or {}).get("ResTarget") or {}).get("val") or {}
                    if "ColumnRef" in column:
                        direct_stars.add(id(column["ColumnRef"]))
            elif key == "ColumnRef":
                refs.append(value)
            elif key == "ctename":
                relations.add(str(value))
            if isinstance(value, (dict, list)):
                stack.append(value)
    for ref in refs:
        fields = ref.get("fields") or []
        if fields and "A_Star" in fields[-1] and id(ref) not in direct_stars:
            return True
        if len(fields) == 1 and "String" in fields[0] and fields[0]["String"].get("sval") in relations:
            return True
    return False


#: Nodes whose alias names a relation (and may rename its columns).
_RENAMING = ("RangeVar", "RangeSubselect", "RangeFunction", "JoinExpr")


def _named_selects(tree: dict[str, Any]) -> set[int]:
    """The SELECT whose output columns are the statement's (through EXPLAIN)."""
    explain = tree.get("ExplainStmt")
    return _select_ids(explain.get("query") if isinstance(explain, dict) else tree)


def _select_ids(node: Any) -> set[int]:
    """`{id(SelectStmt body)}` when `node` is a plain SELECT (no set operation), else nothing."""
    select = node.get("SelectStmt") if isinstance(node, dict) else None
    if isinstance(select, dict) and select.get("op", "SETOP_NONE") == "SETOP_NONE":
        return {id(select)}
    return set()
