"""Which functions, operators and types a read may name, as the server resolves them.

The guard sees names as the SQL text spells them; the server resolves them
through the search path and overloading. `Names` closes the gap: it combines
the built-in allow-list (`builtins`, generated from pg_proc), the operator's
`allowed_functions`, and a snapshot of what the server defines besides the
built-ins (`catalog`). A name is allowed only when every object the server
could resolve it to is allowed; anything else, including names nobody knows,
is refused (the next unseen object fails closed).

Built in means `oid < 16384` (FirstNormalObjectId): a superuser can create
functions in `pg_catalog` too, and those count as user-defined.

Without a snapshot (`Names.static()`), the guard assumes the server defines
nothing besides the built-ins: right for tests of the guard alone, and for
callers that only need the tree of a statement that already passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from connectors.postgres import builtins
from connectors.postgres.settings import function_pattern

BUILTIN_SCHEMA = "pg_catalog"
#: Operator names SQL constructs use without spelling them (CASE x WHEN, JOIN USING, IN (subquery), BETWEEN).
_IMPLIED = {"BETWEEN": ("<=", ">="), "NOT BETWEEN": ("<=", ">="), "BETWEEN SYMMETRIC": ("<=", ">=")}
_IMPLIED["NOT BETWEEN SYMMETRIC"] = ("<=", ">=")
#: Built-in tablesample methods (their handlers return tsm_handler, so they are not on the function list).
_TABLESAMPLE = frozenset({"bernoulli", "system"})
#: Syntax the guard's parser (libpg_query, PostgreSQL 18's grammar) reads as its own node, that an
#: older server's grammar reads as a call of a function of that name (which anyone may define):
#: node -> (function name, first server version with the syntax). JsonFuncExpr: by its `op`.
NEWER_SYNTAX = {
    "JsonObjectConstructor": ("json_object", 160000),
    "JsonArrayConstructor": ("json_array", 160000),
    "JsonArrayQueryConstructor": ("json_array", 160000),
    "JsonObjectAgg": ("json_objectagg", 160000),
    "JsonArrayAgg": ("json_arrayagg", 160000),
    "JsonParseExpr": ("json", 170000),
    "JsonScalarExpr": ("json_scalar", 170000),
    "JsonSerializeExpr": ("json_serialize", 170000),
    "JsonTable": ("json_table", 170000),
    "JsonFuncExpr": ("", 170000),
    "MergeSupportFunc": ("merge_action", 170000),
}
#: Functions that convert JSON into a row type given by a value (`jsonb_populate_record(t, …)` with `t` a
#: table's row): its columns' types are converted to without any name showing them.
_POPULATE = frozenset(
    {"json_populate_record", "json_populate_recordset", "jsonb_populate_record", "jsonb_populate_recordset",
     "jsonb_populate_record_valid"}
)  # fmt: skip
#: Non-built-in types a cast may name: enums only (their input function is built in; a domain's
#: constraints, a range's or base type's support functions are arbitrary functions).
_SAFE_TYPE_KINDS = frozenset({"e"})


@dataclass(frozen=True)
class FunctionRef:
    """A function as the catalog knows it."""

    schema: str
    name: str
    builtin: bool


@dataclass(frozen=True)
class Snapshot:
    """What the server defines besides the built-ins (see `catalog.SNAPSHOT_SQL`)."""

    #: Function name -> schemas holding a non-built-in function (any kind) of that name.
    functions: dict[str, frozenset[str]] = field(default_factory=dict)
    #: Built-in function names with a volatile callable overload on this server.
    volatile_builtins: frozenset[str] = frozenset()
    #: Every callable built-in function name on this server (empty: use the generated lists).
    builtin_functions: frozenset[str] = frozenset()
    #: Operator name -> [(schema, functions it calls)] for non-built-in operators.
    operators: dict[str, list[tuple[str, list[FunctionRef]]]] = field(default_factory=dict)
    #: Type name -> [(schema, typtype, input function)] for non-built-in types that matter.
    types: dict[str, list[tuple[str, str, FunctionRef | None]]] = field(default_factory=dict)
    #: Non-built-in casts with a function: (context 'e'/'a'/'i', source type, target type name, function,
    #: both types built in?).
    casts: list[tuple[str, str, str, FunctionRef, bool]] = field(default_factory=list)
    #: server_version_num; 0 when unknown (then the oldest grammar is assumed).
    server_version: int = 0


class Refused(Exception):
    """A name the read may not use; `what` completes "... is refused" and `why` explains."""

    def __init__(self, what: str, why: str, allow: str | None = None, *, unknown: bool = False) -> None:
        super().__init__(what)
        self.what, self.why, self.allow = what, why, allow
        #: The server snapshot does not know the name (created since it was taken?).
        self.unknown = unknown


class Names:
    """Resolution rules for one instance: built-in list x allowed_functions x server snapshot.

    Compared by identity: the guard caches verdicts per (text, mode, Names).
    """

    def __init__(self, allowed_functions: Sequence[str] = (), snapshot: Snapshot | None = None) -> None:
        self.patterns = tuple(function_pattern(text) for text in allowed_functions)
        self.snapshot = snap = snapshot or Snapshot()
        self.builtin_allowed = builtins.ALLOWED_FUNCTIONS - (snap.volatile_builtins - builtins.VOLATILE_ALLOWED)
        if snap.builtin_functions:
            self.builtin_allowed &= snap.builtin_functions
        self.builtin_all = builtins.ALLOWED_FUNCTIONS | builtins.REFUSED_FUNCTIONS.keys() | snap.builtin_functions
        # Operator names with a non-built-in definition calling a function not allowed: schema -> function.
        self.tainted_operators: dict[str, dict[str, str]] = {}
        for op, definitions in snap.operators.items():
            for schema, functions in definitions:
                blocked = [f"{f.schema}.{f.name}" for f in functions if not self._ref_allowed(f)]
                if blocked:
                    self.tainted_operators.setdefault(op, {})[schema] = blocked[0]
        self.tainted_cast_targets: dict[str, str] = {}
        self.implicit_cast: str | None = None
        for context, source, target, function, between_builtins in snap.casts:
            if self._ref_allowed(function):
                continue
            described = f"the cast from {source} to {target} calls {function.schema}.{function.name}()"
            # An implicit cast may fire where no name shows it. An assignment cast fires in INSERT and
            # UPDATE, which reads cannot hold: counted only between built-in types, to be safe (citext's
            # casts into citext by a function are assignment casts).
            if context == "i" or (context == "a" and between_builtins):
                self.implicit_cast = described
            self.tainted_cast_targets.setdefault(target, described)

    @cached_property
    def unsafe_type(self) -> str | None:
        """A non-built-in type that converting to may call a function not allowed (see `check_type`)."""
        for name, definitions in sorted(self.snapshot.types.items()):
            for schema, kind, input_function in definitions:
                if kind in _SAFE_TYPE_KINDS or (
                    kind == "b" and input_function is not None and self._ref_allowed(input_function)
                ):
                    continue
                return f"{schema}.{name}"
        return None

    @classmethod
    def static(cls) -> Names:
        return _STATIC

    # -- rules -----------------------------------------------------------------------------------

    def check_implicit(self) -> None:
        """An implicit cast the server may apply anywhere, calling a function not allowed."""
        if self.implicit_cast:
            raise Refused(
                "every query on this database",
                f"{self.implicit_cast} and applies implicitly, where the guard cannot see it",
                self.implicit_cast.rsplit(" calls ", 1)[1].removesuffix("()"),
            )

    def check_function(self, qualified: Sequence[str]) -> None:
        """A call (or function-style cast) by its name as written, e.g. ["pg_catalog", "lower"]."""
        name = qualified[-1]
        if name in _POPULATE and self.unsafe_type is not None:
            raise Refused(
                f"calling {name}()",
                f"it converts into the types of a row's columns without naming them, and the type {self.unsafe_type} "
                "of this database may call functions that are not built in (a domain's constraints, an input function)",
            )
        schema = qualified[-2] if len(qualified) > 1 else None
        if schema is not None and schema != BUILTIN_SCHEMA:
            if self._allowed(schema, name):
                return
            raise Refused(f"calling {schema}.{name}()", "it is not on the allow-list", f"{schema}.{name}")
        # `pg_catalog.x` is checked as `x`: the guard's parser qualifies some names that an older
        # server's parser leaves to the search path (`json_object(…)` before PostgreSQL 16).
        others = self.snapshot.functions.get(name, frozenset())
        self._check_overloads(name, others, builtin=name in self.builtin_allowed or self._allowed(BUILTIN_SCHEMA, name))
        if name in self.tainted_cast_targets:
            raise Refused(f"converting to {name}", self.tainted_cast_targets[name], None)

    def check_field(self, name: str) -> None:
        """A field selected from a row or composite value (`t.name`, `(x).name`): the server calls a
        one-argument function of that name when no column or field has it."""
        others = self.snapshot.functions.get(name, frozenset())
        if name not in self.builtin_all and not others:
            return  # not a function anywhere: a column or field
        builtin = name not in self.builtin_all or name in self.builtin_allowed or self._allowed(BUILTIN_SCHEMA, name)
        try:
            self._check_overloads(name, others, builtin=builtin)
        except Refused as refused:
            raise Refused(
                f"selecting .{name} from a row or value",
                f"PostgreSQL calls {name}(…) for it when no column is named so, and {refused.why}",
                refused.allow,
            ) from None

    def check_operator(self, qualified: Sequence[str]) -> None:
        """An operator by its name as written, e.g. ["="] or ["public", "+"] (`OPERATOR(public.+)`)."""
        name = qualified[-1]
        schema = qualified[-2] if len(qualified) > 1 else None
        for op in _IMPLIED.get(name, (name,)):
            tainted = self.tainted_operators.get(op, {})
            if schema is not None and schema != BUILTIN_SCHEMA:
                defined = {s for s, _ in self.snapshot.operators.get(op, [])}
                if schema in tainted or schema not in defined:
                    raise Refused(
                        f"the operator {schema}.{op}",
                        "only built-in operators and operators whose functions are allowed may be used",
                        tainted.get(schema),
                    )
            elif tainted and (schema is None or BUILTIN_SCHEMA in tainted):
                where = ", ".join(sorted(tainted))
                raise Refused(
                    f"the operator {op}",
                    f"it is also defined in {where} by a function not on the allow-list, and the server "
                    "may pick that definition",
                    tainted[sorted(tainted)[0]],
                )

    def check_type(self, qualified: Sequence[str]) -> None:
        """A type named in a cast, a literal (`date '…'`) or a column definition list."""
        name = qualified[-1]
        schema = qualified[-2] if len(qualified) > 1 else None
        defined = self.snapshot.types.get(name, [])
        if schema is not None and schema != BUILTIN_SCHEMA:
            defined = [d for d in defined if d[0] == schema]
            builtin = False
        else:
            builtin = name in builtins.BUILTIN_TYPES
            if schema == BUILTIN_SCHEMA:
                defined = [d for d in defined if d[0] == BUILTIN_SCHEMA]
        for type_schema, kind, input_function in defined:
            if kind in _SAFE_TYPE_KINDS or (
                kind == "b" and input_function is not None and self._ref_allowed(input_function)
            ):
                continue
            raise Refused(
                f"the type {type_schema}.{name}",
                "converting to it may call functions that are not built in (its input function, "
                "a domain's constraints, a range's support functions)",
                f"{input_function.schema}.{input_function.name}" if input_function else None,
            )
        if not builtin and not defined:
            raise Refused(
                f"the type {'.'.join(qualified)}",
                "only built-in types, enums and types whose input function is allowed may be named",
                unknown=True,
            )
        if name in self.tainted_cast_targets:
            raise Refused(f"converting to {name}", self.tainted_cast_targets[name], None)

    def check_newer_syntax(self, node: str, op: str) -> None:
        """Syntax of a newer grammar: on an older server (or an unknown one), the call it would be."""
        name, since = NEWER_SYNTAX[node]
        if self.snapshot.server_version >= since:
            return
        self.check_function([name or op.lower().removesuffix("_op")])

    def check_tablesample(self, qualified: Sequence[str]) -> None:
        name = qualified[-1]
        schema = qualified[-2] if len(qualified) > 1 else None
        others = self.snapshot.functions.get(name, frozenset())
        if schema not in (None, BUILTIN_SCHEMA):
            others = others | {schema}
        self._check_overloads(name, others, builtin=name in _TABLESAMPLE)

    # -- helpers ---------------------------------------------------------------------------------

    def _check_overloads(self, name: str, others: Iterable[str], *, builtin: bool) -> None:
        """Refuse `name` unless its built-in overloads (if any) and every other one are allowed."""
        others = sorted(others)
        blocked = [schema for schema in others if not self._allowed(schema, name)]
        if blocked:
            why = (
                f"it is also defined in {', '.join(blocked)}, and the server may pick that overload"
                if builtin
                else f"{blocked[0]}.{name} is not on the allow-list"
            )
            raise Refused(f"calling {name}()", why, f"{blocked[0]}.{name}")
        if name in self.builtin_all and not builtin:
            code = builtins.REFUSED_FUNCTIONS.get(name, "volatile")
            why = builtins.REASONS.get(code, "it is not on the allow-list")
            raise Refused(f"calling {name}()", why, f"{BUILTIN_SCHEMA}.{name}")
        if not builtin and not others:
            raise Refused(
                f"calling {name}()", "it is not a built-in function on the allow-list", f"<schema>.{name}", unknown=True
            )

    def _ref_allowed(self, ref: FunctionRef) -> bool:
        """A function an operator or cast calls. Built-in ones that SQL cannot call (selectivity
        estimators such as `matchingsel(internal, …)`) are on neither list, and allowed."""
        if ref.builtin:
            allowed = ref.name in self.builtin_allowed or ref.name not in self.builtin_all
            return allowed or self._allowed(ref.schema, ref.name)
        return self._allowed(ref.schema, ref.name)

    def _allowed(self, schema: str, name: str) -> bool:
        return any(s == schema and n in ("*", name) for s, n in self.patterns)


_STATIC = Names()
