"""Typed outputs of the Postgres tools: only what a model needs, compact."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, WithJsonSchema

#: Rows as arrays of cells in column order. The published schema leaves the items unconstrained
#: (no `items`): a client that checks results against it (the MCP SDK does, on every call) then
#: checks one array, not every row and cell, which for 10,000 rows cost more than the query.
Rows = Annotated[
    list[list[Any]], WithJsonSchema({"type": "array", "description": "One array of cells per row, in column order."})
]


class More(BaseModel):
    """Rows were left out: why, how much came, how many there are, how to get the rest."""

    reason: Literal["max_rows", "max_result_bytes"] = Field(description="The row cap or the byte budget was reached.")
    bytes: int = Field(description="Bytes of row data returned (as JSON, about).")
    total_rows: int | None = Field(default=None, description="Rows the statement returns in all, if known.")
    estimated: bool | None = Field(default=None, description="True: total_rows is the planner's estimate.")
    next: str = Field(description="How to get the next rows.")


def _null_first(schema: dict[str, Any]) -> None:
    """`null` first in an optional field's anyOf: a validator that checks every result stops at the
    first match, and null is the usual value (half the cost of QueryResult's check, measured)."""
    schema["anyOf"].sort(key=lambda option: option.get("type") != "null")


class QueryResult(BaseModel):
    """Rows of a query: column names once, rows as arrays. The rows come last, so a client that cuts
    a long text (the hub's own agent keeps 20,000 characters) still reads whether and how to page."""

    columns: list[str]
    row_count: int
    truncated: bool = Field(description="True when rows were left out (see more).")
    more: More | None = Field(default=None, json_schema_extra=_null_first)
    cut_cells: int | None = Field(
        default=None, description="Cells cut short, each marked …[truncated N chars].", json_schema_extra=_null_first
    )
    rows: Rows


_QUERY_FIELDS = frozenset(QueryResult.model_fields)


def query_result(
    columns: list[str], rows: list[list[Any]], row_count: int, truncated: bool, more: More | None, cut_cells: int | None
) -> QueryResult:
    """`QueryResult.model_construct(...)` with every field given, without its generic per-field loop
    (~3 µs a call, measured; it runs on every query): the same object, nothing validated (the cells
    are JSON-ready by construction, and validating 10,000 rows costs more than the query)."""
    result = QueryResult.__new__(QueryResult)
    fields = {
        "columns": columns,
        "row_count": row_count,
        "truncated": truncated,
        "more": more,
        "cut_cells": cut_cells,
        "rows": rows,
    }  # in the order of declaration, as model_construct builds it
    object.__setattr__(result, "__dict__", fields)
    object.__setattr__(result, "__pydantic_fields_set__", set(_QUERY_FIELDS))
    object.__setattr__(result, "__pydantic_extra__", None)
    object.__setattr__(result, "__pydantic_private__", None)
    return result


class WriteResult(BaseModel):
    """What `execute` did: the command tag, rows affected, and any RETURNING rows."""

    status: str
    affected: int | None
    columns: list[str]
    rows: Rows
    truncated: bool


class SchemaInfo(BaseModel):
    name: str
    owner: str
    relations: int
    comment: str | None = None


class SchemaList(BaseModel):
    schemas: list[SchemaInfo]


class TableInfo(BaseModel):
    name: str = Field(description="schema.name")
    kind: str
    rows_estimate: int | None = Field(description="From planner statistics; null if never analyzed.")
    size_bytes: int
    comment: str | None = None


class TableList(BaseModel):
    tables: list[TableInfo]
    next_cursor: str | None = None
    truncated: bool = False


class ColumnInfo(BaseModel):
    name: str
    type: str
    nullable: bool
    default: str | None = None
    comment: str | None = None


class Constraint(BaseModel):
    name: str
    definition: str


class Reference(BaseModel):
    """A foreign key pointing at this table from another one."""

    name: str
    table: str
    definition: str


class IndexInfo(BaseModel):
    name: str
    definition: str
    size_bytes: int


class TableDescription(BaseModel):
    name: str = Field(description="schema.name")
    kind: str
    comment: str | None = None
    rows_estimate: int | None = None
    columns: list[ColumnInfo]
    primary_key: list[str]
    foreign_keys: list[Constraint]
    referenced_by: list[Reference]
    unique: list[Constraint]
    checks: list[Constraint]
    indexes: list[IndexInfo]


class ColumnMatch(BaseModel):
    table: str = Field(description="schema.name")
    column: str
    type: str


class ColumnMatches(BaseModel):
    matches: list[ColumnMatch]
    truncated: bool


class ExplainResult(BaseModel):
    plan: str = Field(description="The plan as indented text, one node per line.")
    total_cost: float
    plan_rows: int
    planning_ms: float | None = None
    execution_ms: float | None = None


# -- monitoring ---------------------------------------------------------------------------------


class Session(BaseModel):
    pid: int
    user: str | None
    state: str | None
    seconds: float
    wait: str | None = None
    blocked_by: list[int] = Field(default_factory=list)
    query: str


class TableMaintenance(BaseModel):
    table: str
    live_rows: int
    dead_rows: int
    dead_ratio: float | None
    last_vacuum: str | None
    last_analyze: str | None
    xid_age: int


class IndexNote(BaseModel):
    index: str
    table: str
    size_bytes: int


class SequenceNote(BaseModel):
    sequence: str
    last_value: int
    limit: int
    used: float = Field(description="last_value / limit")


class HealthReport(BaseModel):
    connections: dict[str, int] | None = None
    max_connections: int | None = None
    long_running: list[Session] | None = None
    blocked: list[Session] | None = None
    cache_hit_ratio: dict[str, float | None] | None = None
    maintenance: list[TableMaintenance] | None = None
    unused_indexes: list[IndexNote] | None = None
    duplicate_indexes: list[list[str]] | None = None
    sequences: list[SequenceNote] | None = None
    notes: list[str] = Field(default_factory=list)


class TopQuery(BaseModel):
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int
    cache_hit: float | None = Field(description="Share of blocks found in shared buffers.")


class TopQueries(BaseModel):
    available: bool
    queries: list[TopQuery]
    note: str | None = None


class IndexCandidate(BaseModel):
    index: str = Field(description="CREATE INDEX statement")
    cost_after: float | None = Field(description="Estimated total cost with it; null without hypopg.")
    used: bool | None = Field(description="Whether the planner chose it.")


class StatementAdvice(BaseModel):
    statement: str
    cost_before: float | None
    candidates: list[IndexCandidate]


class IndexAdvice(BaseModel):
    hypopg: bool
    statements: list[StatementAdvice]
    notes: list[str] = Field(default_factory=list)
