"""What a truncated reply says about the rows it left out: how many there are, and how to get them.

The total is counted only where that is cheap: the planner's estimate first
(EXPLAIN, no execution); when it is at most `COUNT_UP_TO` rows, an exact
`count(*)` under a short timeout (`COUNT_TIMEOUT_MS`), else, or when that times
out, the estimate, marked as one. The paging hint is keyset on the statement's
ORDER BY when every sort key is a plain column shown in the result and its last
returned value is a number, a boolean, or a date, time, UUID or decimal in their
text forms, else OFFSET. Free text is never quoted into the hint: it may be a
masked cell, or text an outsider wrote, and the hint sits outside any fence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from connectors.postgres.executor import Pool, run_script
from connectors.postgres.rows import Reason
from connectors.postgres.wire import Command
from mcp_hub.errors import HubError

#: An exact count is tried only below this estimate, and for at most this long.
COUNT_UP_TO = 1_000_000
COUNT_TIMEOUT_MS = 300
#: Text forms of keys safe to repeat in a hint: ISO dates and times, UUIDs, decimals.
_SAFE_KEY_TEXT = re.compile(
    r"-?\d+(\.\d+)?|\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}(:\d{2})?|Z)?)?"
    r"|\d{2}:\d{2}(:\d{2}(\.\d+)?)?|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
#: Around the statement the guard checked, as the executor's LIMIT wrapper (newlines end a `--` comment).
_COUNTED = "SELECT count(*) FROM (\n{statement}\n) AS mcp_hub_count"
_ESTIMATED = "EXPLAIN (FORMAT JSON)\n{statement}"


async def total_rows(pool: Pool, statement: str, params: Sequence[Any] | None) -> tuple[int | None, bool]:
    """(rows `statement` returns in all, whether that is an estimate); (None, False) when unknown."""
    try:
        (plan,) = await run_script(
            pool, [Command(_ESTIMATED.format(statement=statement), params)], timeout_ms=COUNT_TIMEOUT_MS
        )
        document = plan.rows[0][0]
        tree = json.loads(document) if isinstance(document, str) else document
        estimate = int(tree[0]["Plan"]["Plan Rows"])
    except (HubError, LookupError, TypeError, ValueError):
        return None, False
    if estimate > COUNT_UP_TO:
        return estimate, True
    try:
        (counted,) = await run_script(
            pool,
            [Command(_COUNTED.format(statement=statement), params)],
            timeout_ms=COUNT_TIMEOUT_MS,
        )
        return int(counted.rows[0][0]), False
    except (HubError, LookupError, TypeError, ValueError):
        return estimate, True


def next_hint(tree: dict[str, Any], columns: list[str], rows: list[list[Any]], reason: Reason) -> str:
    """How to get the rows after `rows`, as one short instruction."""
    prefix = "select fewer or narrower columns, or page: " if reason == "max_result_bytes" else ""
    select = tree.get("SelectStmt")
    if select is None:  # EXPLAIN, SHOW: nothing to page
        return "narrow the statement"
    sort = select.get("sortClause") or []
    paged = select.get("limitOffset") is not None  # keyset plus the same OFFSET would skip rows
    keyset = _keyset(select, sort, columns, rows[-1]) if rows and sort and not paged else None
    if keyset is not None:
        return f"{prefix}add {keyset} to the WHERE clause, same ORDER BY"
    offset = len(rows)
    existing = _const_int(select.get("limitOffset"))
    if existing is not None:
        offset += existing
    elif select.get("limitOffset") is not None:
        return f"{prefix}raise this query's OFFSET by {len(rows)}"
    stable = "" if sort else "; add an ORDER BY for stable pages"
    return f"{prefix}OFFSET {offset}{stable}"


def _keyset(select: dict[str, Any], sort: list[Any], columns: list[str], last: list[Any]) -> str | None:
    if select.get("op", "SETOP_NONE") != "SETOP_NONE" or select.get("distinctClause") or select.get("groupClause"):
        return None
    aliases = {
        target["ResTarget"]["name"]
        for target in select.get("targetList") or []
        if "ResTarget" in target and target["ResTarget"].get("name")
    }
    keys: list[str] = []
    values: list[str] = []
    directions = set()
    for item in sort:
        by = item.get("SortBy") or {}
        ref = (by.get("node") or {}).get("ColumnRef")
        fields = (ref or {}).get("fields") or []
        names = [f["String"]["sval"] for f in fields if "String" in f]
        if (
            not names
            or len(names) != len(fields)
            or by.get("sortby_nulls", "SORTBY_NULLS_DEFAULT") != "SORTBY_NULLS_DEFAULT"
        ):
            return None
        direction = by.get("sortby_dir", "SORTBY_DEFAULT")
        if direction not in ("SORTBY_DEFAULT", "SORTBY_ASC", "SORTBY_DESC"):
            return None
        directions.add(direction == "SORTBY_DESC")
        name = names[-1]
        if name in aliases or columns.count(name) != 1:  # an output alias: WHERE cannot name it
            return None
        literal = _literal(last[columns.index(name)])
        if literal is None:
            return None
        keys.append(".".join(_ident(n) for n in names))
        values.append(literal)
    if len(directions) != 1:
        return None
    op = "<" if directions.pop() else ">"
    if len(keys) == 1:
        return f"{keys[0]} {op} {values[0]}"
    return f"({', '.join(keys)}) {op} ({', '.join(values)})"


def _literal(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and _SAFE_KEY_TEXT.fullmatch(value):
        return f"'{value}'"
    return None  # NULL, free text, a float, JSON: no exact or safe key


def _ident(name: str) -> str:
    if name.isidentifier() and name.islower() and name.isascii():
        return name
    return '"' + name.replace('"', '""') + '"'


def _const_int(node: Any) -> int | None:
    const = (node or {}).get("A_Const") or {}
    value = (const.get("ival") or {}).get("ival") if "ival" in const else None
    if "ival" in const and value is None:
        return 0  # libpg_query omits a zero
    return value if isinstance(value, int) else None
