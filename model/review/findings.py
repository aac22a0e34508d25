"""The fixed schema of review findings, reading it from a model's output, and checking it against the diff.

The schema is sent as a structured-outputs constraint (vLLM applies it after the
reasoning ends, so an R1 distill thinks freely and still answers in the schema).
Servers that cannot constrain get the tolerant reader and one repair round.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from model.review.diff import FileDiff
from model.toolcalls import ParseFailure, _json_objects, _strip_fence

Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
CATEGORIES = ("bug", "security", "performance", "maintainability", "style", "tests", "docs")


def rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


class ModelFinding(BaseModel):
    path: str = Field(max_length=1000)
    line: int = Field(ge=1, description="new-side line number shown in the diff")
    severity: Severity
    category: Literal["bug", "security", "performance", "maintainability", "style", "tests", "docs"]
    message: str = Field(min_length=1, max_length=4000)
    suggestion: str | None = Field(default=None, max_length=4000, description="replacement text for the line(s)")
    end_line: int | None = Field(default=None, ge=1, description="last line of a finding over several lines")


class ModelReview(BaseModel):
    findings: list[ModelFinding] = Field(default_factory=list, max_length=50)
    summary: str = Field(default="", max_length=4000)


def review_schema() -> dict[str, Any]:
    """The JSON schema the model's answer is held to (no $defs: some servers' grammars dislike them)."""
    return {
        "type": "object",
        "properties": {
            "findings": {
                "type": "array",
                "maxItems": 50,
                "items": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string"},
                        "line": {"type": "integer", "minimum": 1},
                        "severity": {"enum": list(SEVERITIES)},
                        "category": {"enum": list(CATEGORIES)},
                        "message": {"type": "string"},
                        "suggestion": {"type": "string"},
                        "end_line": {"type": "integer", "minimum": 1},
                    },
                    "required": ["path", "line", "severity", "category", "message"],
                    "additionalProperties": False,
                },
            },
            "summary": {"type": "string"},
        },
        "required": ["findings", "summary"],
        "additionalProperties": False,
    }


_SEVERITY_ALIASES = {"info": "low", "minor": "low", "major": "high", "blocker": "critical", "warning": "medium"}


def parse_review(text: str) -> ModelReview:
    """The review in `text` (reasoning already removed); ParseFailure says what to fix."""
    # The whole text first: a fence inside a JSON string (a message quoting ```code```) is not a wrapper.
    candidates = [o for o in _json_objects(text) if isinstance(o, dict) and ("findings" in o or "summary" in o)]
    if not candidates:
        objects = _json_objects(_strip_fence(text))
        candidates = [o for o in objects if isinstance(o, dict) and ("findings" in o or "summary" in o)]
    if not candidates:
        stripped = text.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            candidates = [{"findings": _list_or_none(stripped), "summary": ""}]
    if not candidates:
        raise ParseFailure('no JSON object with "findings" and "summary" was found.')
    raw = dict(candidates[0])
    items = raw.get("findings") or []
    if not isinstance(items, list):
        raise ParseFailure('"findings" must be a list.')
    findings: list[ModelFinding] = []
    problems: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"findings[{index}] is not an object")
            continue
        item = dict(item)
        item["severity"] = _SEVERITY_ALIASES.get(str(item.get("severity", "")).lower(), item.get("severity"))
        if isinstance(item.get("severity"), str):
            item["severity"] = item["severity"].lower()
        if item.get("suggestion") in ("", None):
            item.pop("suggestion", None)
        if item.get("end_line") in (None, "", 0, item.get("line")):
            item.pop("end_line", None)
        try:
            findings.append(ModelFinding.model_validate(item))
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors(include_url=False))
            problems.append(f"findings[{index}] has invalid {fields}")
    if problems and not findings:
        raise ParseFailure("; ".join(problems[:5]) + ".")
    summary = raw.get("summary")
    return ModelReview(findings=findings, summary=summary if isinstance(summary, str) else "")


def _list_or_none(text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except ValueError:
        return None


def repair_prompt(problem: str) -> str:
    return (
        f"Your last reply could not be used: {problem} Reply again with exactly one JSON object "
        '{"findings": [{"path", "line", "severity", "category", "message", "suggestion"?}], "summary": "..."} '
        "and nothing else."
    )


@dataclass
class Finding:
    path: str
    line: int
    severity: Severity
    category: str
    message: str
    suggestion: str | None = None
    #: The new-side text of the line it targets ("" when outside the diff).
    code: str = ""
    in_diff: bool = True
    fingerprint: str = ""
    #: Set when the suggested change was withheld (scanner); the message is kept.
    note: str = ""
    #: The last line of a finding over several lines (line..end_line, one hunk); its suggestion replaces them all.
    end_line: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


def fingerprint(path: str, category: str, code: str, ordinal: int = 0) -> str:
    """Stable across pushes that move the line, and across re-runs that word the message differently.

    The path, the category and the text of the line (whitespace-normalised), not its number or the
    model's wording; `ordinal` tells apart several findings of one category on one line.
    """
    key = "\x1f".join([path, category, " ".join(code.split()), str(ordinal)])
    return hashlib.sha256(key.encode()).hexdigest()[:12]


#: Lines a multi-line finding may span at most.
MAX_RANGE = 20


def _one_hunk(file: FileDiff, start: int, end: int) -> bool:
    """Whether new-side lines start..end are all shown, in one hunk (what both forges accept for a range)."""
    if not start < end <= start + MAX_RANGE:
        return False
    wanted = set(range(start, end + 1))
    return any(wanted <= {line.new for line in h.lines if line.new is not None} for h in file.hunks)


def validate(found: list[ModelFinding], files: dict[str, FileDiff]) -> list[Finding]:
    """Check each finding's path and line against the diff; those outside it are kept, marked `in_diff=False`."""
    out: list[Finding] = []
    seen: set[str] = set()
    for item in found:
        path = item.path.strip().removeprefix("a/").removeprefix("b/").lstrip("/")
        file = files.get(path)
        lines = file.new_lines() if file is not None else {}
        code = lines.get(item.line, "")
        in_diff = item.line in lines
        finding = Finding(path, item.line, item.severity, item.category, item.message.strip(), item.suggestion)
        finding.code = code
        finding.in_diff = in_diff
        if not in_diff:
            finding.suggestion = None
        elif item.end_line is not None and file is not None:
            if _one_hunk(file, item.line, item.end_line):
                finding.end_line = item.end_line
            else:  # a replacement for several lines must not land on one: dropped, the message kept
                finding.suggestion = None
        anchor = code if in_diff else f"line {item.line}: " + " ".join(re.findall(r"\w+", finding.message.lower())[:8])
        ordinal = 0
        while (fp := fingerprint(path, item.category, anchor, ordinal)) in seen:
            ordinal += 1
        if any(f.path == path and f.line == item.line and f.message == finding.message for f in out):
            continue  # the same finding twice (two chunks, or the model repeating itself)
        finding.fingerprint = fp
        seen.add(fp)
        out.append(finding)
    return out
