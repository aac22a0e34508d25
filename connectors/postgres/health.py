"""Database health from the statistics views, in one read-only round trip; top queries.

Imported lazily (it imports the executor, hence psycopg).
"""

from __future__ import annotations

from typing import Any, Literal

from connectors.postgres.executor import Pool, run_script
from connectors.postgres.models import HealthReport, IndexNote, SequenceNote, Session, TableMaintenance
from connectors.postgres.wire import Command

Check = Literal["all", "connections", "queries", "cache", "vacuum", "indexes", "sequences"]
_TIMEOUT_MS = 10_000
_LIMIT = 20


_USER = "schemaname !~ '^pg_' AND schemaname <> 'information_schema'"

QUERIES: dict[str, list[str]] = {
    "connections": [
        "SELECT coalesce(state, 'background'), count(*)::int FROM pg_stat_activity GROUP BY 1 ORDER BY 1",
        "SELECT current_setting('max_connections')::int",
    ],
    "queries": [
        f"""SELECT pid, usename::text, state, extract(epoch FROM now() - query_start)::float8,
                 wait_event_type, '{{}}'::int[], left(query, 300)
            FROM pg_stat_activity
            WHERE state <> 'idle' AND pid <> pg_backend_pid() AND backend_type = 'client backend'
              AND query_start < now() - make_interval(secs => $1)
            ORDER BY query_start LIMIT {_LIMIT}""",  # noqa: S608 (constant SQL: no caller text)
        f"""SELECT pid, usename::text, state, extract(epoch FROM now() - query_start)::float8,
                 wait_event_type, pg_blocking_pids(pid), left(query, 300)
            FROM pg_stat_activity WHERE cardinality(pg_blocking_pids(pid)) > 0
            ORDER BY query_start LIMIT {_LIMIT}""",  # noqa: S608 (constant SQL: no caller text)
    ],
    "cache": [
        """SELECT (SELECT sum(heap_blks_hit)::float8 / nullif(sum(heap_blks_hit + heap_blks_read), 0)
                   FROM pg_statio_user_tables),
                  (SELECT sum(idx_blks_hit)::float8 / nullif(sum(idx_blks_hit + idx_blks_read), 0)
                   FROM pg_statio_user_indexes)""",
    ],
    "vacuum": [
        f"""SELECT s.schemaname || '.' || s.relname, s.n_live_tup, s.n_dead_tup,
                 round(s.n_dead_tup::numeric / nullif(s.n_live_tup + s.n_dead_tup, 0), 3)::float8,
                 greatest(s.last_vacuum, s.last_autovacuum)::text, greatest(s.last_analyze, s.last_autoanalyze)::text,
                 age(c.relfrozenxid)::int8
            FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
            WHERE s.n_dead_tup > 0 AND s.n_dead_tup >= 0.1 * (s.n_live_tup + s.n_dead_tup)
               OR (s.n_live_tup > 0 AND s.last_analyze IS NULL AND s.last_autoanalyze IS NULL)
               OR age(c.relfrozenxid) > current_setting('autovacuum_freeze_max_age')::int8 / 2
            ORDER BY s.n_dead_tup DESC LIMIT {_LIMIT}""",  # noqa: S608 (constant SQL: no caller text)
    ],
    "indexes": [
        f"""SELECT s.schemaname || '.' || s.indexrelname, s.schemaname || '.' || s.relname,
                 pg_relation_size(s.indexrelid)
            FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
            WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
              AND {_USER.replace("schemaname", "s.schemaname")}
            ORDER BY 3 DESC LIMIT {_LIMIT}""",  # noqa: S608 (constant SQL: no caller text)
        f"""SELECT array_agg(x.indexrelid::regclass::text ORDER BY x.indexrelid::regclass::text)
            FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
            GROUP BY x.indrelid, x.indkey::text, x.indclass::text, coalesce(x.indexprs::text, ''),
                     coalesce(x.indpred::text, '')
            HAVING count(*) > 1 LIMIT {_LIMIT}""",  # noqa: S608 (constant SQL: no caller text)
    ],
    "sequences": [
        f"""SELECT s.schemaname || '.' || s.sequencename, s.last_value,
                 least(s.max_value, CASE t.typname WHEN 'int2' THEN 32767 WHEN 'int4' THEN 2147483647
                                    ELSE 9223372036854775807 END)
            FROM pg_sequences s
            JOIN pg_class sc ON sc.relname = s.sequencename AND sc.relnamespace = s.schemaname::regnamespace
            LEFT JOIN pg_depend d ON d.objid = sc.oid AND d.classid = 'pg_class'::regclass
                 AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
            LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            LEFT JOIN pg_type t ON t.oid = a.atttypid
            WHERE s.last_value IS NOT NULL AND s.{_USER}
            ORDER BY s.last_value::numeric / s.max_value DESC LIMIT {_LIMIT}""",  # noqa: S608 (constant SQL: no caller text)
    ],
}

_PRIVILEGES = """SELECT pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER')"""
#: Sequences past this share of their limit are reported.
SEQUENCE_WARN = 0.75


async def check(pool: Pool, which: Check, slow_s: float) -> HealthReport:
    names = list(QUERIES) if which == "all" else [which]
    commands = [Command(_PRIVILEGES)]
    for name in names:
        commands += [Command(sql, [slow_s] if "$1" in sql else None) for sql in QUERIES[name]]
    outcomes = iter(await run_script(pool, commands, timeout_ms=_TIMEOUT_MS))
    report = HealthReport()
    if not next(outcomes).rows[0][0]:
        report.notes.append(
            "the hub's role cannot see other sessions' queries: grant it pg_monitor (or pg_read_all_stats)."
        )
    for name in names:
        _FILL[name](report, [next(outcomes).rows for _ in QUERIES[name]])
    return report


def _connections(report: HealthReport, results: list[list[tuple[Any, ...]]]) -> None:
    states, (maximum,) = results[0], results[1][0]
    report.connections = {str(state): int(count) for state, count in states}
    report.max_connections = int(maximum)
    if sum(report.connections.values()) > 0.8 * report.max_connections:
        report.notes.append("more than 80% of max_connections are in use: use a pooler (PgBouncer) or raise it.")


def _session(row: tuple[Any, ...]) -> Session:
    pid, user, state, seconds, wait, blockers, query = row
    return Session(
        pid=pid, user=user, state=state, seconds=round(seconds or 0, 1), wait=wait, blocked_by=blockers, query=query
    )


def _queries(report: HealthReport, results: list[list[tuple[Any, ...]]]) -> None:
    report.long_running = [_session(row) for row in results[0]]
    report.blocked = [_session(row) for row in results[1]]


def _cache(report: HealthReport, results: list[list[tuple[Any, ...]]]) -> None:
    tables, indexes = results[0][0]
    report.cache_hit_ratio = {"tables": _ratio(tables), "indexes": _ratio(indexes)}
    if tables is not None and tables < 0.95:
        report.notes.append("table cache hit ratio below 95%: the working set may not fit shared_buffers.")


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _vacuum(report: HealthReport, results: list[list[tuple[Any, ...]]]) -> None:
    report.maintenance = [
        TableMaintenance(
            table=t, live_rows=live, dead_rows=dead, dead_ratio=ratio, last_vacuum=vac, last_analyze=an, xid_age=age
        )
        for t, live, dead, ratio, vac, an, age in results[0]
    ]


def _indexes(report: HealthReport, results: list[list[tuple[Any, ...]]]) -> None:
    report.unused_indexes = [IndexNote(index=i, table=t, size_bytes=s) for i, t, s in results[0]]
    report.duplicate_indexes = [list(group) for (group,) in results[1]]
    if report.unused_indexes:
        report.notes.append("unused indexes have had no scans since statistics were last reset; check replicas too.")


def _sequences(report: HealthReport, results: list[list[tuple[Any, ...]]]) -> None:
    notes = [
        SequenceNote(sequence=name, last_value=last, limit=limit, used=round(last / limit, 4))
        for name, last, limit in results[0]
        if limit and last / limit >= SEQUENCE_WARN
    ]
    report.sequences = notes


_FILL = {
    "connections": _connections,
    "queries": _queries,
    "cache": _cache,
    "vacuum": _vacuum,
    "indexes": _indexes,
    "sequences": _sequences,
}
