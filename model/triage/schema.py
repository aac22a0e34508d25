"""The model's triage of one issue: its schema (labels and duplicates restricted to what exists) and a
tolerant reader that drops anything outside those lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.toolcalls import ParseFailure, _json_objects, _strip_fence

MAX_SUMMARY = 600
MAX_REASON = 300


def triage_schema(labels: list[str], candidates: list[int]) -> dict[str, Any]:
    """The JSON schema the answer is held to: label names and duplicate numbers as enums."""
    label_items: dict[str, Any] = {"enum": labels} if labels else {"type": "string"}
    number_schema: dict[str, Any] = {"enum": candidates} if candidates else {"type": "integer"}
    return {
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "labels": {"type": "array", "items": label_items, "maxItems": min(5, len(labels))},
            "duplicates": {
                "type": "array",
                "maxItems": len(candidates),
                "items": {
                    "type": "object",
                    "properties": {"number": number_schema, "reason": {"type": "string"}},
                    "required": ["number", "reason"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["summary", "labels", "duplicates"],
        "additionalProperties": False,
    }


@dataclass
class ModelTriage:
    summary: str
    labels: list[str] = field(default_factory=list)
    duplicates: list[tuple[int, str]] = field(default_factory=list)
    #: What the model said that was dropped (unknown labels, issues that were not candidates).
    dropped: list[str] = field(default_factory=list)


def parse_triage(text: str, labels: list[str], candidates: list[int]) -> ModelTriage:
    """The triage in `text` (reasoning removed); labels and duplicates outside the given lists are dropped."""
    found = [o for o in _json_objects(_strip_fence(text)) if isinstance(o, dict) and "summary" in o]
    if not found:
        raise ParseFailure('no JSON object with "summary", "labels" and "duplicates" was found.')
    raw = found[0]
    summary = raw.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        raise ParseFailure('"summary" must be a non-empty string.')
    out = ModelTriage(summary=" ".join(summary.split())[:MAX_SUMMARY])
    by_folded = {name.casefold(): name for name in labels}
    for item in raw.get("labels") or []:
        name = by_folded.get(str(item).strip().casefold()) if isinstance(item, str) else None
        if name is None:
            out.dropped.append(f"label {str(item)[:60]!r} (not a label of this repository)")
        elif name not in out.labels:
            out.labels.append(name)
    for item in raw.get("duplicates") or []:
        number = item.get("number") if isinstance(item, dict) else None
        if isinstance(number, str) and number.lstrip("#").isdigit():
            number = int(number.lstrip("#"))
        if not isinstance(number, int) or number not in candidates:
            out.dropped.append(f"duplicate {str(number)[:20]} (not among the candidates)")
            continue
        if any(n == number for n, _ in out.duplicates):
            continue
        reason = item.get("reason") if isinstance(item.get("reason"), str) else ""
        out.duplicates.append((number, " ".join(reason.split())[:MAX_REASON]))
    return out


def repair_prompt(problem: str) -> str:
    return (
        f"Your last reply could not be used: {problem} Reply again with exactly one JSON object "
        '{"summary": "...", "labels": [...], "duplicates": [{"number": N, "reason": "..."}]} and nothing else.'
    )
