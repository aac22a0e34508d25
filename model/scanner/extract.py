"""Find the code a write carries: files, diffs and code blocks inside its arguments."""

from __future__ import annotations

import re
from typing import Any

from model.scanner.findings import Fragment

_CODE_BLOCK = re.compile(r"```([\w+-]*)[^\n]*\n(.*?)```", re.S)
_DIFF_FILE = re.compile(r"^\+\+\+ (?:b/)?(.+)$")
_PATH_KEYS = ("path", "file", "filename", "file_path")
_CONTENT_KEYS = ("content", "contents", "new_content", "code")
_DIFF_KEYS = ("patch", "diff")


def parse_diff(text: str) -> list[Fragment]:
    """The added lines of each file in a unified diff, one fragment per file (line numbers kept as text order)."""
    fragments: list[Fragment] = []
    path: str | None = None
    added: list[str] = []

    def close() -> None:
        if path is not None or added:
            fragments.append(Fragment("\n".join(added), path, "diff"))

    for line in text.splitlines():
        match = _DIFF_FILE.match(line)
        if match:
            close()
            path, added = match.group(1).strip(), []
            if path == "/dev/null":
                path = None
        elif line.startswith("+") and not line.startswith("+++"):
            added.append(line[1:])
    close()
    return fragments


def looks_like_diff(text: str) -> bool:
    return "\n+++ " in text or text.startswith(("diff --git", "--- ", "+++ ")) or "\n@@ " in text


def fragments_of_text(text: str, path: str | None = None) -> list[Fragment]:
    if looks_like_diff(text):
        return parse_diff(text)
    out = [Fragment(match.group(2), path, "code", match.group(1) or None) for match in _CODE_BLOCK.finditer(text)]
    return [*out, Fragment(text, path, "text")]


def fragments_of_arguments(arguments: dict[str, Any]) -> list[Fragment]:
    """Every fragment in a write tool's arguments, looked for recursively."""
    found: list[Fragment] = []
    _walk(arguments, found)
    return found


def _walk(value: Any, found: list[Fragment]) -> None:
    if isinstance(value, list):
        for item in value:
            _walk(item, found)
        return
    if not isinstance(value, dict):
        return
    path = next((value[k] for k in _PATH_KEYS if isinstance(value.get(k), str)), None)
    for key, item in value.items():
        if isinstance(item, str):
            if key in _CONTENT_KEYS:
                found.append(Fragment(item, path, "file"))
            elif key in _DIFF_KEYS:
                found.extend(parse_diff(item) if looks_like_diff(item) else [Fragment(item, path, "diff")])
            elif key not in _PATH_KEYS and len(item) > 0:
                found.extend(fragments_of_text(item, path))
        else:
            _walk(item, found)
