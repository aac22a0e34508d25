"""The server's names for the guard: one catalog query per instance, refreshed while in use.

`names_for(pool, allowed_functions)` returns the `Names` a read is checked
against. The snapshot (what the server defines besides the built-ins: functions
of any kind, operators and the functions they call, casts with a function, and
the types a cast could name) is loaded on first use and reloaded when it is
older than `MAX_AGE_S`, or at once when a read names a function the snapshot
does not know (`refresh`). What another session creates or renames between two
loads is seen within `MAX_AGE_S`: an object created under a name the guard
already allows (a new overload `public.lower(…)`, an operator `public.=`) is the
one case that window leaves open, which is why reads also run on a login that
cannot reach files or other sessions (wall 1). A failed load fails closed: the
read is not run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from weakref import WeakKeyDictionary

import anyio

from connectors.postgres.names import FunctionRef, Names, Snapshot

#: Seconds a snapshot is trusted.
MAX_AGE_S = 30.0
#: A refresh for an unknown name happens at most this often.
MIN_REFRESH_S = 1.0

#: One row per object: (kind, schema, name, detail as JSON); a function is [built in?, schema, name].
SNAPSHOT_SQL = """
SELECT 'f', n.nspname::text, p.proname::text, NULL::json
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid >= 16384
UNION ALL
SELECT 'b', 'pg_catalog', p.proname::text, to_json(bool_or(p.provolatile = 'v'))
  FROM pg_proc p
 WHERE p.oid < 16384 AND p.pronamespace = 'pg_catalog'::regnamespace AND p.prokind IN ('f', 'a', 'w')
   AND p.prorettype NOT IN ('internal'::regtype, 'trigger'::regtype, 'event_trigger'::regtype,
       'language_handler'::regtype, 'fdw_handler'::regtype, 'index_am_handler'::regtype,
       'tsm_handler'::regtype, 'table_am_handler'::regtype)
   AND NOT 'internal'::regtype = ANY (p.proargtypes::oid[])
 GROUP BY p.proname
UNION ALL
SELECT 'o', n.nspname::text, o.oprname::text,
       (SELECT coalesce(json_agg(json_build_array(p.oid < 16384, pn.nspname, p.proname)), '[]') FROM pg_proc p
          JOIN pg_namespace pn ON pn.oid = p.pronamespace
         WHERE p.oid IN (o.oprcode, o.oprrest, o.oprjoin))
  FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace WHERE o.oid >= 16384
UNION ALL
SELECT 't', n.nspname::text, t.typname::text,
       json_build_array(t.typtype, (SELECT json_build_array(p.oid < 16384, pn.nspname, p.proname) FROM pg_proc p
          JOIN pg_namespace pn ON pn.oid = p.pronamespace WHERE p.oid = t.typinput))
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE t.oid >= 16384 AND t.typtype IN ('b', 'd', 'e', 'r', 'm', 'p')
   AND NOT (t.typcategory = 'A' AND t.typelem <> 0)
UNION ALL
SELECT 'c', NULL, NULL,
       json_build_array(c.castcontext, format_type(c.castsource, NULL), tt.typname,
           (SELECT json_build_array(p.oid < 16384, pn.nspname, p.proname)
              FROM pg_proc p JOIN pg_namespace pn ON pn.oid = p.pronamespace WHERE p.oid = c.castfunc),
           c.castsource < 16384 AND c.casttarget < 16384)
  FROM pg_cast c JOIN pg_type tt ON tt.oid = c.casttarget
 WHERE c.oid >= 16384 AND c.castfunc <> 0
UNION ALL
SELECT 'v', NULL, current_setting('server_version_num'), NULL
"""


class _Entry:
    def __init__(self) -> None:
        self.lock = anyio.Lock()
        self.snapshot: Snapshot | None = None
        self.loaded_at = 0.0
        self.names: dict[tuple[str, ...], Names] = {}


_ENTRIES: WeakKeyDictionary[Any, _Entry] = WeakKeyDictionary()


async def names_for(pool: Any, allowed_functions: Sequence[str] = (), *, refresh: bool = False) -> Names:
    """The `Names` for reads on `pool`; `refresh` reloads a snapshot older than `MIN_REFRESH_S`."""
    entry = _ENTRIES.get(pool)
    if entry is None:
        entry = _ENTRIES.setdefault(pool, _Entry())
    key = tuple(allowed_functions)
    max_age = MIN_REFRESH_S if refresh else MAX_AGE_S
    if entry.snapshot is None or time.monotonic() - entry.loaded_at > max_age:
        async with entry.lock:
            if entry.snapshot is None or time.monotonic() - entry.loaded_at > max_age:
                snapshot = await load(pool)
                if snapshot != entry.snapshot:  # unchanged: keep the same Names, and the verdicts cached for it
                    entry.snapshot, entry.names = snapshot, {}
                entry.loaded_at = time.monotonic()
    names = entry.names.get(key)
    if names is None:
        names = entry.names[key] = Names(allowed_functions, entry.snapshot)
    return names


async def load(pool: Any) -> Snapshot:
    """Read the snapshot from the server (one query in a read-only transaction)."""
    from connectors.postgres.executor import run_script
    from connectors.postgres.wire import Command

    (outcome,) = await run_script(pool, [Command(SNAPSHOT_SQL)], timeout_ms=30_000)
    return parse(outcome.rows)


def parse(rows: Sequence[Sequence[Any]]) -> Snapshot:
    functions: dict[str, set[str]] = {}
    volatile: set[str] = set()
    builtin: set[str] = set()
    snapshot = Snapshot()
    version = 0
    for kind, schema, name, detail in rows:
        if kind == "f":
            functions.setdefault(name, set()).add(schema)
        elif kind == "b":
            builtin.add(name)
            if detail:
                volatile.add(name)
        elif kind == "o":
            snapshot.operators.setdefault(name, []).append((schema, [_ref(r) for r in detail]))
        elif kind == "t":
            typtype, input_function = detail
            snapshot.types.setdefault(name, []).append(
                (schema, typtype, _ref(input_function) if input_function else None)
            )
        elif kind == "v":
            version = int(name)
        elif kind == "c":
            context, source, target, function, between_builtins = detail
            snapshot.casts.append((context, source, target, _ref(function), bool(between_builtins)))
    return Snapshot(
        functions={name: frozenset(schemas) for name, schemas in functions.items()},
        volatile_builtins=frozenset(volatile),
        builtin_functions=frozenset(builtin),
        operators=snapshot.operators,
        types=snapshot.types,
        casts=snapshot.casts,
        server_version=version,
    )


def _ref(value: Sequence[Any]) -> FunctionRef:
    builtin, schema, name = value
    return FunctionRef(str(schema), str(name), bool(builtin))
