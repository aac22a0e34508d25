"""File diffs: GitLab's diff objects made compact, paged under a token budget, and diff-line positions.

A file whose diff alone is larger than the budget is cut at a line boundary
(`truncated`), so a page always makes progress.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from connectors.gitlab.models import FileDiff
from mcp_hub.errors import InvalidInput
from mcp_hub.paging import take_within_budget
from mcp_hub.tokens import count_tokens

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def file_diff(raw: dict[str, Any]) -> FileDiff:
    """One entry of GitLab's `diffs` arrays (MR diffs, commit diff, compare) as a `FileDiff`."""
    if raw.get("new_file"):
        status = "added"
    elif raw.get("deleted_file"):
        status = "deleted"
    elif raw.get("renamed_file"):
        status = "renamed"
    else:
        status = "modified"
    new_path = str(raw.get("new_path") or raw.get("old_path") or "")
    old_path = raw.get("old_path") if status == "renamed" else None
    diff = str(raw.get("diff") or "")
    if not diff and (raw.get("too_large") or raw.get("collapsed")):
        return FileDiff(
            path=new_path, old_path=old_path, status=status, diff="[diff too large for GitLab]", truncated=True
        )
    return FileDiff(path=new_path, old_path=old_path, status=status, diff=diff)


def cost(item: FileDiff) -> int:
    return count_tokens(item.diff) + count_tokens(item.path) + 8


def within_budget(items: list[FileDiff], start: int, budget: int) -> tuple[list[FileDiff], int | None]:
    """Files from `start` fitting `budget` tokens, and the next start; an oversize single file is cut."""
    taken, next_start = take_within_budget(items, start, budget, cost)
    if len(taken) == 1 and cost(taken[0]) > budget:
        taken = [cut(taken[0], budget)]
    return taken, next_start


def cut(item: FileDiff, budget: int) -> FileDiff:
    tokens = max(1, count_tokens(item.diff))
    keep = int(len(item.diff) * min(1.0, budget / tokens) * 0.9)
    text = item.diff[:keep]
    if "\n" in text:
        text = text[: text.rindex("\n") + 1]
    return item.model_copy(update={"diff": text + "[… diff cut to fit max_tokens]", "truncated": True})


def line_position(diff: str, line: int, side: str) -> tuple[int | None, int | None]:
    """(old_line, new_line) of `line` on `side` ("new" or "old") of a unified diff, as GitLab wants them.

    Added lines have only new_line, removed lines only old_line, context lines both. A line outside
    every hunk cannot carry a diff note: InvalidInput names the lines that can.
    """
    old = new = 0
    in_hunk = False
    ranges: list[tuple[int, int]] = []
    for text in diff.splitlines():
        match = _HUNK.match(text)
        if match:
            old, new = int(match.group(1)), int(match.group(2))
            in_hunk = True
            ranges.append((new if side == "new" else old, -1))
            continue
        if not in_hunk or text.startswith("\\"):
            continue
        kind = text[:1]
        if kind == "+":
            if side == "new" and new == line:
                return None, new
            new += 1
        elif kind == "-":
            if side == "old" and old == line:
                return old, None
            old += 1
        else:
            if (side == "new" and new == line) or (side == "old" and old == line):
                return old, new
            old += 1
            new += 1
        ranges[-1] = (ranges[-1][0], (new if side == "new" else old) - 1)
    shown = ", ".join(f"{a}-{b}" for a, b in ranges if b >= a) or "none"
    raise InvalidInput(f"line {line} ({side} side) is not in this file's diff; lines in the diff: {shown}.")


def line_range_end(path: str, diff: str, line: int, side: str) -> dict[str, Any]:
    """One end of a GitLab `line_range`: the line's `line_code` (SHA-1 of the path, then its old and new
    positions in the diff), its `type` (`new` added, `old` removed, None context) and its lines."""
    old_line, new_line = line_position(diff, line, side)
    old = new = 0
    for text in diff.splitlines():
        match = _HUNK.match(text)
        if match:
            old, new = int(match.group(1)), int(match.group(2))
            continue
        kind = text[:1]
        if kind == "\\":
            continue
        here = (None if kind == "+" else old, None if kind == "-" else new)
        if here == (old_line, new_line):
            kind_name = {"+": "new", "-": "old"}.get(kind)
            code = f"{hashlib.sha1(path.encode()).hexdigest()}_{old}_{new}"  # noqa: S324 - GitLab's own format
            return {"line_code": code, "type": kind_name, "old_line": old_line, "new_line": new_line}
        if kind != "+":
            old += 1
        if kind != "-":
            new += 1
    raise InvalidInput(f"line {line} ({side} side) is not in this file's diff.")
