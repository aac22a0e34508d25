"""EXPLAIN as compact text for a model, from PostgreSQL's JSON plan.

One line per plan node, indented by depth: node type, relation or index,
estimated cost and rows, and, with ANALYZE, actual time, rows and loops; then
the node's conditions and keys on the following lines.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from connectors.postgres.models import ExplainResult

#: Node fields shown, in this order, on their own lines under the node.
_DETAILS = (
    "Index Cond", "Recheck Cond", "Hash Cond", "Merge Cond", "Join Filter", "Filter", "Rows Removed by Filter",
    "Sort Key", "Sort Method", "Group Key", "Presorted Key", "Cache Key", "One-Time Filter",
)  # fmt: skip


def explain_statement(statement: str, *, analyze: bool) -> str:
    options = "FORMAT JSON, ANALYZE, BUFFERS" if analyze else "FORMAT JSON"
    return f"EXPLAIN ({options}) {statement}"


def parse_plan(rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """The top object of EXPLAIN (FORMAT JSON) output (one row, one cell)."""
    cell = rows[0][0]
    document = json.loads(cell) if isinstance(cell, str) else cell
    top: dict[str, Any] = document[0]
    return top


def summarize(top: dict[str, Any]) -> ExplainResult:
    plan = top["Plan"]
    lines: list[str] = []
    _render(plan, 0, lines)
    return ExplainResult(
        plan="\n".join(lines),
        total_cost=float(plan.get("Total Cost", 0.0)),
        plan_rows=int(plan.get("Plan Rows", 0)),
        planning_ms=_ms(top.get("Planning Time")),
        execution_ms=_ms(top.get("Execution Time")),
    )


def render_text(result: ExplainResult) -> str:
    tail = [f"total cost {result.total_cost:g}, {result.plan_rows} rows estimated"]
    if result.planning_ms is not None:
        tail.append(f"planning {result.planning_ms:g} ms")
    if result.execution_ms is not None:
        tail.append(f"execution {result.execution_ms:g} ms")
    return f"{result.plan}\n{'; '.join(tail)}"


def _ms(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def _render(node: dict[str, Any], depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    head = node.get("Node Type", "?")
    if head == "ModifyTable" and node.get("Operation"):
        head = node["Operation"]  # Insert, Update, Delete, Merge, as the text format says
    if node.get("Join Type") and "Join" in head and node["Join Type"] != "Inner":
        head = f"{node['Join Type']} {head}"
    if node.get("Strategy") and head == "Aggregate":
        head = f"{node['Strategy'].title()} {head}"
    if node.get("Index Name"):
        head += f" using {node['Index Name']}"
    if node.get("Relation Name"):
        relation = node["Relation Name"]
        if node.get("Schema") and node["Schema"] != "public":
            relation = f"{node['Schema']}.{relation}"
        head += f" on {relation}"
        if node.get("Alias") and node["Alias"] != node["Relation Name"]:
            head += f" {node['Alias']}"
    head += f" (cost={node.get('Startup Cost', 0):g}..{node.get('Total Cost', 0):g} rows={node.get('Plan Rows', 0)})"
    if "Actual Total Time" in node:
        head += (
            f" (actual {node['Actual Total Time']:g} ms rows={node.get('Actual Rows', 0)}"
            f" loops={node.get('Actual Loops', 1)})"
        )
    elif node.get("Actual Loops") == 0:
        head += " (never executed)"
    lines.append(pad + head)
    for key in _DETAILS:
        value = node.get(key)
        if value in (None, [], 0) and key == "Rows Removed by Filter":
            continue
        if value is not None:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            lines.append(f"{pad}  {key}: {shown}")
    hit, read = node.get("Shared Hit Blocks"), node.get("Shared Read Blocks")
    if hit or read:
        lines.append(f"{pad}  Buffers: shared hit={hit or 0} read={read or 0}")
    for child in node.get("Plans", ()):
        _render(child, depth + 1, lines)
