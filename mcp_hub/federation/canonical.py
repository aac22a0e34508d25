"""One spelling per definition: what is pinned, hashed and diffed.

A federated server's tool (or prompt, or resource template) is reduced to the
JSON a client receives, then normalised so that spellings that mean the same to
a model and to a JSON Schema validator hash the same:

- object keys in any order (the hash is over sorted keys);
- every string, key or value, in Unicode NFC (a composed and a decomposed "é");
- in prose (`description` and `title` strings, at any depth) any run of whitespace,
  line breaks included, as one space, with none at either end;
- `required` lists in any order.

Nothing else is folded: zero-width and bidi characters, fullwidth or homoglyph
letters, enum order, defaults, `$ref`/`$defs`, annotations and `_meta` all count,
so the spellings that change what a model reads or what a validator accepts are
changes. The diff shown to a person (`render`) escapes every non-ASCII character,
which makes hidden characters visible.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import unicodedata
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

#: Keys whose string values are prose for a model (whitespace-insensitive).
PROSE_KEYS = frozenset({"description", "title"})


def dump(definition: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """The definition as the wire carries it (camelCase keys, no unset fields)."""
    if isinstance(definition, BaseModel):
        raw = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    else:
        raw = json.loads(json.dumps(dict(definition), default=str))
    if not isinstance(raw, dict):
        raise TypeError("a definition is a JSON object")
    return raw


def canonical(definition: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    value = _normalise(dump(definition), None)
    assert isinstance(value, dict)
    return value


def _normalise(value: Any, key: str | None) -> Any:
    if isinstance(value, str):
        text = unicodedata.normalize("NFC", value)
        return " ".join(text.split()) if key in PROSE_KEYS else text
    if isinstance(value, Mapping):
        return {unicodedata.normalize("NFC", str(k)): _normalise(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_normalise(v, None) for v in value]
        if key == "required" and all(isinstance(v, str) for v in items):
            items.sort()
        return items
    return value


def encode(canonical_form: Mapping[str, Any]) -> str:
    return json.dumps(canonical_form, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(canonical_form: Mapping[str, Any]) -> str:
    """`sha256:<hex>` of the canonical JSON (UTF-8)."""
    return "sha256:" + hashlib.sha256(encode(canonical_form).encode("utf-8")).hexdigest()


def pretty(canonical_form: Mapping[str, Any] | None) -> list[str]:
    """Stable, one-field-a-line JSON with every non-ASCII character escaped (hidden ones show)."""
    if canonical_form is None:
        return []
    return json.dumps(canonical_form, sort_keys=True, indent=2, ensure_ascii=True).splitlines()


def changed_fields(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[str]:
    """Top-level fields that differ (`description`, `inputSchema`, `annotations`, …)."""
    old, new = old or {}, new or {}
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))


def render(name: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, *, max_lines: int = 200) -> str:
    """A unified diff of two canonical forms (either may be None: added or removed), bounded."""
    lines = list(
        difflib.unified_diff(
            pretty(old),
            pretty(new),
            fromfile=f"pinned/{name}" if old is not None else "/dev/null",
            tofile=f"current/{name}" if new is not None else "/dev/null",
            lineterm="",
            n=2,
        )
    )
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"… {len(lines) - max_lines} more diff lines"]
    return "\n".join(lines)
