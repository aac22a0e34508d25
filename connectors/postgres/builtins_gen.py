"""Generate `data/builtins.txt` (read by `builtins.py`), the guard's list of built-in functions allowed in a read.

Run against a fresh PostgreSQL (no extensions needed; objects with an oid of
16384 or more are ignored anyway) and commit the result for review::

    python -m connectors.postgres.builtins_gen "postgresql://postgres@127.0.0.1/postgres" \
        > connectors/postgres/data/builtins.txt

Criteria, per function *name* (a call names a function; the server picks the
overload, so a name is allowed only when every overload a call can reach is):

- built in: `pg_proc.oid < 16384` (FirstNormalObjectId) in `pg_catalog`;
- callable from SQL: an ordinary, aggregate or window function whose result is
  not `internal`, `trigger` or a handler type (those can never be called);
- every callable overload IMMUTABLE or STABLE (volatile functions are where
  effects outside the transaction live: files, large objects, advisory locks,
  notifications, settings, signals, sequences, replication, stats resets),
  or the name is on `VOLATILE_ALLOWED`, a short list of volatile functions
  that only read a clock, a random source or sizes, or sleep (the statement
  timeout bounds that);
- not on `REFUSED`: stable or immutable functions that still run SQL text or
  read tables by name (so past what the guard sees), or assign a transaction
  id, or are language-handler internals.

Everything else that is callable goes to `REFUSED_FUNCTIONS` with its reason,
so the guard can also refuse those names where PostgreSQL would resolve an
attribute (`(x).name`) to a function. Built-in type names go to
`BUILTIN_TYPES` (casts to other types are checked against the server).
"""

from __future__ import annotations

import re
import sys

#: Volatile, but only read a clock, a random source or object sizes, or sleep.
VOLATILE_ALLOWED = frozenset(
    {
        "random", "clock_timestamp", "timeofday", "gen_random_uuid",
        "pg_sleep", "pg_sleep_for", "pg_sleep_until",
        "pg_relation_size", "pg_table_size", "pg_indexes_size", "pg_total_relation_size",
        "pg_database_size", "pg_tablespace_size",
        "pg_is_in_recovery", "pg_jit_available", "pg_partition_tree", "pg_partition_ancestors",
    }
)  # fmt: skip

#: Immutable or stable, and still refused: name -> reason code (see `REASONS`).
REFUSED = {
    "ts_rewrite": "sql",  # ts_rewrite(tsquery, text) runs the query text
    "ts_stat": "sql",
    "txid_current": "xid",
    "pg_current_xact_id": "xid",
    "fmgr_c_validator": "internal",
    "fmgr_internal_validator": "internal",
    "fmgr_sql_validator": "internal",
    # What the pooled reader sessions ran, or are running: other callers' SQL text, literals and all.
    "pg_stat_get_activity": "others",
    "pg_stat_get_backend_activity": "others",
    "pg_prepared_statement": "others",
    "pg_cursor": "others",
}
#: The XML export family runs SQL text or reads whole tables, schemas or databases by name.
REFUSED_PATTERN = re.compile(r"(query|cursor|table|schema|database)_to_xml(schema|_and_xmlschema)?")

REASONS = {
    "volatile": "it is volatile: such functions may act outside the transaction",
    "sql": "it runs SQL text or reads tables by name, which the guard cannot check",
    "xid": "it assigns a transaction id",
    "internal": "it is an internal function of the server",
    "others": "it shows SQL text other callers of the hub sent (they share the reader's pooled sessions)",
}

#: Callable built-in functions: (name, volatile?) per overload.
FUNCTIONS_SQL = """
SELECT p.proname::text, p.provolatile = 'v'
FROM pg_proc p
WHERE p.oid < 16384 AND p.pronamespace = 'pg_catalog'::regnamespace AND p.prokind IN ('f', 'a', 'w')
  AND p.prorettype NOT IN ('internal'::regtype, 'trigger'::regtype, 'event_trigger'::regtype,
      'language_handler'::regtype, 'fdw_handler'::regtype, 'index_am_handler'::regtype,
      'tsm_handler'::regtype, 'table_am_handler'::regtype)
  AND NOT 'internal'::regtype = ANY (p.proargtypes::oid[])
ORDER BY 1
"""

TYPES_SQL = """
SELECT typname::text FROM pg_type WHERE oid < 16384 AND typnamespace = 'pg_catalog'::regnamespace ORDER BY 1
"""


def classify(overloads: list[tuple[str, bool]]) -> tuple[list[str], dict[str, str]]:
    """(allowed names, refused name -> reason code) from (name, volatile) per overload."""
    volatile: dict[str, bool] = {}
    for name, is_volatile in overloads:
        volatile[name] = volatile.get(name, False) or is_volatile
    allowed, refused = [], {}
    for name in sorted(volatile):
        if name in REFUSED:
            refused[name] = REFUSED[name]
        elif REFUSED_PATTERN.fullmatch(name):
            refused[name] = "sql"
        elif volatile[name] and name not in VOLATILE_ALLOWED:
            refused[name] = "volatile"
        else:
            allowed.append(name)
    return allowed, refused


def render(version: str, allowed: list[str], refused: dict[str, str], types: list[str]) -> str:
    """The text of `data/builtins.txt` (read by `builtins.py`)."""
    lines = [
        f"# GENERATED by `python -m connectors.postgres.builtins_gen <dsn>` from {version}",
        "# do not edit by hand: change the criteria in builtins_gen.py and regenerate",
        "[allowed]",
        *allowed,
        "[refused]",
        *(f"{name} {reason}" for name, reason in refused.items()),
        "[types]",
        *types,
    ]
    return "\n".join(lines) + "\n"


def main(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn) as conn:
        version = str(conn.execute("SELECT version()").fetchone()[0]).split(" on ")[0]  # type: ignore[index]
        overloads = [(str(n), bool(v)) for n, v in conn.execute(FUNCTIONS_SQL).fetchall()]
        types = [str(t) for (t,) in conn.execute(TYPES_SQL).fetchall()]
    allowed, refused = classify(overloads)
    sys.stdout.write(render(version, allowed, refused, types))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/postgres")
