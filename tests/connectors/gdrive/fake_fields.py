"""Google's partial-response `fields` selector: `a,b(c,d(e)),f.g` applied to a JSON value."""

from __future__ import annotations

from typing import Any

Tree = dict[str, "Tree | None"]


def parse_fields(text: str) -> Tree:
    tree, rest = _parse(text.replace(" ", ""), 0)
    if rest != len(text.replace(" ", "")):
        raise ValueError("unbalanced parentheses in fields")
    return tree


def _parse(text: str, pos: int) -> tuple[Tree, int]:
    tree: Tree = {}
    while pos < len(text) and text[pos] != ")":
        start = pos
        while pos < len(text) and text[pos] not in ",()":
            pos += 1
        path = text[start:pos].split(".")
        sub: Tree | None = None
        if pos < len(text) and text[pos] == "(":
            sub, pos = _parse(text, pos + 1)
            if pos >= len(text) or text[pos] != ")":
                raise ValueError("unbalanced parentheses in fields")
            pos += 1
        node = tree
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = {}
                node[part] = child
            node = child
        if path[-1]:
            node[path[-1]] = _merge(node.get(path[-1]), sub) if path[-1] in node else sub
        if pos < len(text) and text[pos] == ",":
            pos += 1
    return tree, pos


def _merge(a: Tree | None, b: Tree | None) -> Tree | None:
    if a is None or b is None:
        return None
    return {**a, **b}


def select(value: Any, tree: Tree | None) -> Any:
    if tree is None or "*" in tree:
        return value
    if isinstance(value, list):
        return [select(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: select(value[key], sub) for key, sub in tree.items() if key in value}
