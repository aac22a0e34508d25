"""Outsider-written tables: which ones a statement really read, and what that makes of its cells.

The operator marks tables whose text anyone may have written (support tickets,
comments, form submissions) with `outsider = ["support.*", "public.comments.body"]`
(`schema.table` or `schema.table.column`, globs allowed). Their values reach the
model like an outsider's issue text: cleaned (`clean_outsider_text`), inside the
hub's per-response random fence (provenance `outsider_text: true`), or withheld
under lockdown.

**What was read** comes from the server, not from the statement's text: in the
same transaction, just before and just after the statement, the per-backend
table statistics PostgreSQL keeps (`pg_stat_get_xact_numscans`, blocks and
tuples fetched) are read for every user relation; a relation whose counters
moved was read by the statement, however it was named (a view, a CTE, a
function, dynamic SQL, a whole-row reference, an index-only scan). Those
counters are not per transaction (they accumulate until the backend reports
them, about once a second), hence the difference of two readings. Parallel
workers would count their scans in their own processes: the statement runs
without them. A counted index stands for its table, a TOAST table for its
owner, a partition or child for its ancestors, and a materialized view for the
relations its definition reads (through views, recursively). Foreign tables
have no counters: a marked one counts as read by every statement. When
`track_counts` is off nothing can be known: every text cell counts as outsider
text (fail closed). All of this is sent in the statement's own round trip, and
only for an instance that marks something.

**The cell rule**, once a marked relation was read: a column is outsider text
unless the server traced it (RowDescription's table oid and column number) to a
column of a table (or partitioned table) that no pattern marks; a computed
column (`upper(body)`, `string_agg`, `row_to_json(t)`, a UNION), one read
through a view, or one whose table is unknown, counts as outsider text. Only
text-like columns are affected: values of the types in `_PLAIN_TYPES`
(numbers, booleans, dates and times, uuids, …) cannot carry instructions and
stay as they are. When no marked relation was read, nothing is touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from connectors.postgres.wire import Command, Outcome
from mcp_hub.provenance import clean_outsider_text

if TYPE_CHECKING:
    from connectors.postgres.executor import QueryRows

WITHHELD = "[withheld: outsider-written table (postgres outsider setting); lockdown is on]"

#: Type oids whose values are never text an outsider could phrase instructions in (an allow-list:
#: any other type, enums, domains, composites and extension types included, counts as text-like).
_PLAIN_TYPES = frozenset(
    (
        *(16, 20, 21, 23, 26, 28, 700, 701, 790, 1700),  # bool, int8/2/4, oid, xid, float4/8, money, numeric
        *(1082, 1083, 1114, 1184, 1186, 1266),  # date, time, timestamp(tz), interval, timetz
        *(2950, 869, 650, 829, 774, 1560, 1562, 3220),  # uuid, inet, cidr, macaddr(8), bit, varbit, pg_lsn
        *(1000, 1005, 1007, 1016, 1021, 1022, 1231, 1182, 1115, 1185, 2951),  # arrays of some of the above
        *(3904, 3906, 3908, 3910, 3912, 3926),  # int4/num/ts/tstz/date/int8 ranges
    )
)
_BASE_TABLES = ("r", "p")

#: Counters of every user relation (oid >= 16384, FirstNormalObjectId) that has any in this backend.
_COUNTERS = """
SELECT c.oid::int8, pg_catalog.pg_stat_get_xact_numscans(c.oid), pg_catalog.pg_stat_get_xact_blocks_fetched(c.oid),
    pg_catalog.pg_stat_get_xact_tuples_returned(c.oid), pg_catalog.pg_stat_get_xact_tuples_fetched(c.oid)
FROM pg_catalog.pg_class c
WHERE c.oid >= 16384 AND c.relkind IN ('r', 'i', 't', 'm')"""

#: The same counters, each with the relations whose data it stands for (see the module doc).
_SOURCES = """
WITH RECURSIVE
counted AS (
    SELECT c.oid, c.relkind,
        pg_catalog.pg_stat_get_xact_numscans(c.oid) AS scans,
        pg_catalog.pg_stat_get_xact_blocks_fetched(c.oid) AS blocks,
        pg_catalog.pg_stat_get_xact_tuples_returned(c.oid) AS returned,
        pg_catalog.pg_stat_get_xact_tuples_fetched(c.oid) AS fetched
    FROM pg_catalog.pg_class c
    WHERE c.oid >= 16384 AND c.relkind IN ('r', 'i', 't', 'm')
),
heaps AS (  -- an index stands for its table (or TOAST table)
    SELECT k.oid, k.scans, k.blocks, k.returned, k.fetched, COALESCE(i.indrelid, k.oid) AS heap
    FROM counted k
    LEFT JOIN pg_catalog.pg_index i ON k.relkind = 'i' AND i.indexrelid = k.oid
    WHERE k.scans + k.blocks + k.returned + k.fetched > 0
),
held AS (  -- a TOAST table stands for its owner
    SELECT h.oid, h.scans, h.blocks, h.returned, h.fetched, COALESCE(
        CASE WHEN t.relkind = 't' THEN (SELECT o.oid FROM pg_catalog.pg_class o WHERE o.reltoastrelid = h.heap) END,
        h.heap
    ) AS rel
    FROM heaps h
    JOIN pg_catalog.pg_class t ON t.oid = h.heap
    UNION ALL  -- foreign tables have no counters: each counts as read by every statement
    SELECT f.ftrelid, -1, -1, -1, -1, f.ftrelid FROM pg_catalog.pg_foreign_table f
),
source (oid, rel) AS (  -- and each relation for its parents and, for a view, what it reads
    SELECT oid, rel FROM held
    UNION
    SELECT s.oid, up.rel
    FROM source s
    CROSS JOIN LATERAL (
        SELECT p.inhparent FROM pg_catalog.pg_inherits p WHERE p.inhrelid = s.rel
        UNION ALL
        SELECT d.refobjid
        FROM pg_catalog.pg_rewrite w
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = w.oid
            AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid <> s.rel
        WHERE w.ev_class = s.rel
    ) AS up (rel)
)
SELECT h.oid::int8, h.scans, h.blocks, h.returned, h.fetched, s.rel::int8, m.nspname, m.relname, m.relkind,
    m.columns, m.parents
FROM held h
JOIN source s ON s.oid = h.oid
CROSS JOIN LATERAL (  -- OFFSET 0: looked up per row by oid, never a scan of pg_class
    SELECT n.nspname::text, c.relname::text, c.relkind::text,
        ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 ORDER BY a.attnum) AS columns,
        ARRAY(SELECT p.inhparent::int8 FROM pg_catalog.pg_inherits p WHERE p.inhrelid = c.oid) AS parents
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = s.rel
    OFFSET 0
) AS m"""

#: Sent right before the statement (after BEGIN and the timeout). Parallel workers count their scans
#: in their own processes, never in this session's counters (a leader left out of a cached parallel
#: plan reads nothing itself): for the rest of this transaction, no parallel plans, and no workers
#: for a plan cached with some (the leader then runs it whole).
BEFORE = (
    Command(
        "SELECT pg_catalog.set_config('max_parallel_workers_per_gather', '0', true),"
        " pg_catalog.set_config('max_parallel_workers', '0', true)",
        quiet=True,
    ),
    Command(_COUNTERS),
)
#: Sent right after it (before ROLLBACK or COMMIT). The planner's estimate for `_SOURCES` is far above
#: `jit_above_cost` (it runs in well under a millisecond): without `jit = off` (for the rest of this
#: transaction) compiling it could take a second.
AFTER = (
    Command("SELECT pg_catalog.set_config('jit', 'off', true)", quiet=True),
    Command(_SOURCES),
    Command("SELECT pg_catalog.current_setting('track_counts')"),
)


@dataclass(frozen=True, slots=True)
class Relation:
    schema: str
    name: str
    kind: str
    #: Column names by attnum - 1 (dropped columns keep their slot).
    columns: tuple[str, ...]
    parents: tuple[int, ...]


@dataclass(frozen=True)
class Reads:
    """What a statement read, as the server counted it."""

    #: Relations whose data the statement read (holders and what they stand for).
    read: frozenset[int]
    #: Every relation named in the second reading, by oid.
    relations: dict[int, Relation] = field(default_factory=dict)
    #: False when `track_counts` was off: the readings say nothing.
    counted: bool = True


def reads(outcomes: list[Outcome]) -> Reads:
    """`Reads` from the outcomes of BEFORE + AFTER, in that order."""
    _, before, _, after, track = outcomes
    baseline = {int(row[0]): tuple(row[1:5]) for row in before.rows}
    relations: dict[int, Relation] = {}
    read: set[int] = set()
    for oid, scans, blocks, returned, fetched, rel, schema, name, kind, columns, parents in after.rows:
        relations[int(rel)] = Relation(schema, name, kind, tuple(columns or ()), tuple(int(p) for p in parents or ()))
        if (scans, blocks, returned, fetched) != baseline.get(int(oid), (0, 0, 0, 0)):
            read.add(int(rel))
    counted = bool(track.rows) and str(track.rows[0][0]).lower() in ("on", "true")
    return Reads(frozenset(read), relations, counted)


@dataclass(frozen=True, slots=True)
class _Rule:
    schema: str
    table: str
    column: str | None

    def marks_table(self, schema: str, table: str) -> bool:
        return fnmatchcase(table, self.table) and fnmatchcase(schema, self.schema)


@dataclass
class Labels:
    """What `OutsiderRules.apply` did to a result."""

    #: At least one cell of outsider text is in the result (cleaned, for the fence).
    outsider_text: bool = False
    #: Cells withheld under lockdown.
    withheld: int = 0


class OutsiderRules:
    """The outsider patterns of one instance."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.rules: list[_Rule] = []
        for pattern in patterns:
            parts = pattern.split(".")
            self.rules.append(_Rule(parts[0], parts[1], parts[2] if len(parts) == 3 else None))

    def __bool__(self) -> bool:
        return bool(self.rules)

    def marks_relation(self, relation: Relation, relations: dict[int, Relation]) -> bool:
        """True when a pattern names this relation (any of its columns) or one of its ancestors."""
        return any(self.marks_column(rel, None) for rel in _lineage(relation, relations))

    def marks_traced(self, relation: Relation, column: str, relations: dict[int, Relation]) -> bool:
        return any(self.marks_column(rel, column) for rel in _lineage(relation, relations))

    def marks_column(self, relation: Relation, column: str | None) -> bool:
        """`column` None: whether any pattern names the relation at all."""
        for rule in self.rules:
            if rule.marks_table(relation.schema, relation.name) and (
                column is None or rule.column is None or fnmatchcase(column, rule.column)
            ):
                return True
        return False

    def outsider_columns(self, rows: QueryRows) -> list[int]:
        """Indexes of the result's text-like columns that hold outsider text (see the module doc)."""
        found = rows.reads
        if found is None or not found.counted:
            relations: dict[int, Relation] = {}  # nothing known: every text-like column
        else:
            relations = found.relations
            if not any(self.marks_relation(relations[oid], relations) for oid in found.read if oid in relations):
                return []
        indexes = []
        for index, ((oid, attnum), type_oid) in enumerate(zip(rows.sources, _types(rows), strict=True)):
            if type_oid in _PLAIN_TYPES:
                continue
            relation = relations.get(oid) if oid else None
            if (
                relation is not None
                and relation.kind in _BASE_TABLES
                and 1 <= attnum <= len(relation.columns)
                and not self.marks_traced(relation, relation.columns[attnum - 1], relations)
            ):
                continue
            indexes.append(index)
        return indexes

    def apply(self, rows: QueryRows, lockdown: bool) -> Labels:
        """Clean (or, under lockdown, withhold) the outsider cells of `rows` in place."""
        labels = Labels()
        indexes = self.outsider_columns(rows)
        if not indexes:
            return labels
        for row in rows.rows:
            for index in indexes:
                value = row[index]
                if value is None or not _has_text(value):
                    continue
                if lockdown:
                    row[index] = WITHHELD
                    labels.withheld += 1
                else:
                    row[index] = _clean(value)
                    labels.outsider_text = True
        return labels


def _types(rows: QueryRows) -> list[int]:
    return rows.types if len(rows.types) == len(rows.columns) else [0] * len(rows.columns)


def _lineage(relation: Relation, relations: dict[int, Relation]) -> list[Relation]:
    """The relation and its ancestors (partitioned or inheritance parents) known in `relations`."""
    seen: list[Relation] = [relation]
    stack = list(relation.parents)
    visited: set[int] = set()
    while stack:
        oid = stack.pop()
        if oid in visited or oid not in relations:
            continue
        visited.add(oid)
        seen.append(relations[oid])
        stack.extend(relations[oid].parents)
    return seen


def _has_text(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, dict):
        return any(_has_text(k) or _has_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_text(item) for item in value)
    return False


def _clean(value: Any) -> Any:
    """`clean_outsider_text` on every string of a cell (JSON keys and values, array items)."""
    if isinstance(value, str):
        return clean_outsider_text(value)
    if isinstance(value, dict):
        return {clean_outsider_text(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value
