"""Patches for a model's context: paged by file under a token budget, and lines a review may comment on.

A page holds whole files while they fit the budget; a file larger than what
is left starts the next page, and a file larger than a whole page is split by
lines (its `from_line` says where a part starts), so a 5,000-line pull request
is read page by page without losing a line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from connectors.github.models import FilePatch
from mcp_hub.tokens import count_tokens

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
#: Fixed cost of a file's fields besides its patch, in tokens.
FILE_OVERHEAD = 30


def _patch_of(file: dict[str, Any]) -> str | None:
    patch = file.get("patch")
    return patch if isinstance(patch, str) else None


def page_files(
    files: list[dict[str, Any]],
    start: tuple[int, int],
    budget: int,
    clean: Callable[[str], str],
) -> tuple[list[FilePatch], tuple[int, int] | None]:
    """Files from `start` = (file index, line offset) within `budget` tokens, and where the next page starts."""
    index, offset = start
    out: list[FilePatch] = []
    left = budget
    while index < len(files):
        file = files[index]
        patch = _patch_of(file)
        lines = patch.split("\n") if patch is not None else []
        rest = "\n".join(lines[offset:]) if patch is not None else ""
        cost = FILE_OVERHEAD + (count_tokens(rest) if rest else 0)
        if cost <= left:
            out.append(_file(file, clean(rest) if patch is not None else None, offset, False))
            left -= cost
            index, offset = index + 1, 0
            continue
        if out and cost <= budget:
            break  # fits whole on the next page
        # Too big even for a page of its own (or this page is empty): take the lines that fit.
        take = _lines_within(lines[offset:], max(left - FILE_OVERHEAD, 1))
        out.append(_file(file, clean("\n".join(lines[offset : offset + take])), offset, True))
        offset += take
        if offset >= len(lines):
            index, offset = index + 1, 0
        break
    return out, ((index, offset) if index < len(files) else None)


def _lines_within(lines: list[str], budget: int) -> int:
    """How many leading lines fit `budget` tokens (at least one)."""
    taken, spent = 0, 0
    for line in lines:
        spent += count_tokens(line) + 1
        if taken and spent > budget:
            break
        taken += 1
    return max(taken, 1)


def _file(file: dict[str, Any], patch: str | None, offset: int, cut: bool) -> FilePatch:
    return FilePatch(
        path=str(file.get("filename", "")),
        status=str(file.get("status", "")),
        additions=int(file.get("additions") or 0),
        deletions=int(file.get("deletions") or 0),
        previous_path=file.get("previous_filename"),
        patch=patch,
        from_line=offset or None,
        patch_truncated=cut,
    )


def commentable_lines(patch: str | None) -> dict[str, set[int]]:
    """Lines of a patch a review comment may target: {"RIGHT": new-file lines, "LEFT": old-file lines}."""
    right: set[int] = set()
    left: set[int] = set()
    old = new = 0
    for line in (patch or "").split("\n"):
        match = _HUNK.match(line)
        if match:
            old, new = int(match.group(1)), int(match.group(3))
            continue
        if line.startswith("+"):
            right.add(new)
            new += 1
        elif line.startswith("-"):
            left.add(old)
            old += 1
        elif line.startswith(" ") or line == "":
            right.add(new)
            left.add(old)
            old += 1
            new += 1
    return {"RIGHT": right, "LEFT": left}
