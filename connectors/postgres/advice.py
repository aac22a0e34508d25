"""Top queries (pg_stat_statements) and index advice (hypopg when available).

Candidate indexes come from the statement's parse tree: columns compared with
`=`/IN (equality), with ranges or LIKE, joined on, sorted or grouped by. Each
is costed with hypopg's hypothetical indexes, in the read-only transaction, on
a connection closed afterwards (hypothetical indexes live in the backend and
DISCARD ALL does not remove them). Without hypopg the candidates are listed
with the current cost only, and the notes say how to get the rest.

Imported lazily (it imports the executor, hence psycopg).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from connectors.postgres import explain
from connectors.postgres.candidates import Candidate, find_candidates
from connectors.postgres.executor import Pool, run_script
from connectors.postgres.models import IndexAdvice, IndexCandidate, StatementAdvice, TopQueries, TopQuery
from connectors.postgres.wire import Command
from mcp_hub.errors import HubError, InvalidInput, PolicyDenied

if TYPE_CHECKING:
    from connectors.postgres.names import Names

Order = Literal["total_time", "mean_time", "calls"]
_TIMEOUT_MS = 15_000
_ORDER_COLUMNS = {"total_time": "total_exec_time", "mean_time": "mean_exec_time", "calls": "calls"}
ENABLE_PGSS = (
    "pg_stat_statements is not enabled: add it to shared_preload_libraries in postgresql.conf, restart "
    "PostgreSQL, then run CREATE EXTENSION pg_stat_statements in this database (as a superuser)."
)
_EXTENSIONS = """
SELECT (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'),
       (SELECT extversion FROM pg_extension WHERE extname = 'hypopg'),
       EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg'),
       current_setting('server_version_num')::int"""


#: A query the hub ran for a client, as pg_stat_statements shows it; the group is the client's text.
_CAPPED_BY_THE_HUB = r"^SELECT \* FROM \(\n(.*)\n\) AS mcp_hub_rows LIMIT \$\d+$"


async def _extensions(pool: Pool) -> tuple[bool, bool, bool, int]:
    (result,) = await run_script(pool, [Command(_EXTENSIONS)], timeout_ms=_TIMEOUT_MS)
    pgss, hypopg, hypopg_available, version = result.rows[0]
    return pgss is not None, hypopg is not None, bool(hypopg_available), int(version)


async def top_queries(pool: Pool, order: Order, limit: int) -> TopQueries:
    pgss, _, _, _ = await _extensions(pool)
    if not pgss:
        return TopQueries(available=False, queries=[], note=ENABLE_PGSS)
    column = _ORDER_COLUMNS[order]
    sql = f"""
        SELECT left(regexp_replace(query, $2, '\\1', 's'), 500), calls, total_exec_time, mean_exec_time, rows,
               shared_blks_hit::float8 / nullif(shared_blks_hit + shared_blks_read, 0)
        FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND query !~* '^\\s*(BEGIN|ROLLBACK|COMMIT|DISCARD|DEALLOCATE|SET|SHOW)\\M'
          AND query !~ '^SELECT (pg_advisory_unlock_all|set_config)\\('
        ORDER BY {column} DESC LIMIT $1"""  # noqa: S608 (column from a fixed map)
    try:
        (result,) = await run_script(pool, [Command(sql, [limit, _CAPPED_BY_THE_HUB])], timeout_ms=_TIMEOUT_MS)
    except HubError as exc:  # created, but not preloaded (SQLSTATE 55000)
        if "shared_preload_libraries" in exc.message:
            return TopQueries(available=False, queries=[], note=ENABLE_PGSS)
        raise
    queries = [
        TopQuery(
            query=q,
            calls=calls,
            total_ms=round(total, 3),
            mean_ms=round(mean, 3),
            rows=rows,
            cache_hit=None if hit is None else round(hit, 4),
        )
        for q, calls, total, mean, rows, hit in result.rows
    ]
    return TopQueries(available=True, queries=queries)


async def advise(
    pool: Pool,
    sql: str | None,
    params: Sequence[Any] | None,
    names: Names | None = None,
    *,
    plans: Pool | None = None,
) -> IndexAdvice:
    """Advice for `sql`, or for the top queries by total time when `sql` is None.

    The statements (the caller's, or texts from pg_stat_statements: neither written by the hub) are
    planned on `plans`, the reader's pool; `pool` reads the statistics. `names`: what the guard lets
    a plan name (the planner runs immutable functions on constants).
    """
    from connectors.postgres import guard

    pgss, hypopg, hypopg_available, version = await _extensions(pool)
    notes: list[str] = []
    if not hypopg:
        notes.append(
            "hypopg is not enabled in this database, so costs with each index are not estimated: "
            + (
                "run CREATE EXTENSION hypopg (as its owner or a superuser)."
                if hypopg_available
                else "install it on the server (Debian/Ubuntu: apt install postgresql-<version>-hypopg), "
                "then run CREATE EXTENSION hypopg."
            )
        )
    statements: list[tuple[str, Sequence[Any] | None, bool]] = []
    if sql is not None:
        checked = guard.inspect(sql, guard.Mode.READ, names)
        if checked.kind != "SelectStmt":
            raise InvalidInput("index advice needs a SELECT statement")
        statements.append((checked.statement, params, False))
    else:
        top_list = await top_queries(pool, "total_time", 5) if pgss else TopQueries(available=False, queries=[])
        if not top_list.available:
            raise InvalidInput(f"give a SELECT statement in sql; {ENABLE_PGSS}")
        for top in top_list.queries:
            parameterized = "$1" in top.query
            if parameterized and version < 160000:
                notes.append(
                    f"skipped a parameterized top query (EXPLAIN GENERIC_PLAN needs PostgreSQL 16+): {top.query[:80]}"
                )
                continue
            try:
                checked = guard.inspect(top.query, guard.Mode.READ, names)
            except (InvalidInput, PolicyDenied):
                continue
            if checked.kind == "SelectStmt":
                statements.append((checked.statement, None, parameterized))
    advised = [
        await _advise_one(plans or pool, stmt, args, generic, hypopg, names) for stmt, args, generic in statements
    ]
    return IndexAdvice(hypopg=hypopg, statements=advised, notes=notes)


async def _advise_one(
    pool: Pool, statement: str, params: Sequence[Any] | None, generic: bool, hypopg: bool, names: Names | None
) -> StatementAdvice:
    from connectors.postgres import guard

    tree = guard.inspect(statement, guard.Mode.READ, names).tree
    candidates = await find_candidates(pool, tree)
    plan = f"EXPLAIN (FORMAT JSON{', GENERIC_PLAN' if generic else ''}) {statement}"
    commands = [Command(plan, params)]
    if hypopg:
        for candidate in candidates:
            commands += [
                Command("SELECT indexname::text FROM hypopg_create_index($1)", [candidate.ddl]),
                Command(plan, params),
                Command("SELECT hypopg_reset()"),
            ]
    outcomes = await run_script(pool, commands, timeout_ms=_TIMEOUT_MS, close_after=hypopg)
    before = explain.summarize(explain.parse_plan(outcomes[0].rows)).total_cost
    advice = []
    for index, candidate in enumerate(candidates):
        advice.append(_costed(candidate, outcomes[1 + 3 * index : 4 + 3 * index] if hypopg else None))
    advice.sort(key=lambda c: (c.cost_after is None, c.cost_after or 0.0))
    return StatementAdvice(statement=statement[:500], cost_before=before, candidates=advice)


def _costed(candidate: Candidate, outcomes: Sequence[Any] | None) -> IndexCandidate:
    if not outcomes:
        return IndexCandidate(index=candidate.ddl, cost_after=None, used=None)
    created, planned, _ = outcomes
    name = str(created.rows[0][0])
    top = explain.parse_plan(planned.rows)
    summary = explain.summarize(top)
    return IndexCandidate(index=candidate.ddl, cost_after=summary.total_cost, used=name in str(top))
