"""Enough of Drive's query language (`q`) to prove escaping holds.

Terms: `name contains`, `fullText contains`, `mimeType =`/`!=`, `'<id>' in parents`,
`trashed = true|false`, joined with and/or/not and parentheses. String
literals take `\\'` and `\\\\` escapes like Drive's; anything else is rejected the
way Drive rejects it (400 `invalid`, location `q`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]
#: The id of every caller's My Drive root in the fake; `'root' in parents` means it.
ROOT_ID = "0AROOTfolder0000"


class QueryError(ValueError):
    pass


_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<op>!=|<=|>=|=|<|>)|(?P<paren>[()])|(?P<word>[A-Za-z]+))")


def tokenize(q: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(q):
        if q[pos:].strip() == "":
            break
        match = _TOKEN.match(q, pos)
        if match is None:
            raise QueryError(f"unexpected input at {pos}")
        kind = match.lastgroup
        assert kind is not None
        text = match.group(kind)
        if kind == "str":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        tokens.append((kind, text))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, kind: str | None = None, word: str | None = None) -> str:
        token = self.peek()
        if token is None or (kind and token[0] != kind) or (word and token[1].lower() != word):
            raise QueryError(f"expected {word or kind} at token {self.at}")
        self.at += 1
        return token[1]

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() == word:
            self.at += 1
            return True
        return False

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.peek() is not None:
            raise QueryError("trailing input")
        return predicate

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.keyword("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda f: any(p(f) for p in parts))

    def conjunction(self) -> Predicate:
        parts = [self.unary()]
        while self.keyword("and"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda f: all(p(f) for p in parts))

    def unary(self) -> Predicate:
        if self.keyword("not"):
            inner = self.unary()
            return lambda f: not inner(f)
        token = self.peek()
        if token == ("paren", "("):
            self.at += 1
            inner = self.disjunction()
            self.take("paren")
            return inner
        if token and token[0] == "str":
            value = self.take("str")
            self.take("word", "in")
            collection = self.take("word")
            if collection != "parents":
                raise QueryError(f"unsupported collection {collection}")
            wanted = ROOT_ID if value == "root" else value
            return lambda f: wanted in f.get("parents", [])
        return self.comparison()

    def comparison(self) -> Predicate:
        field = self.take("word")
        if field not in ("name", "fullText", "mimeType", "trashed"):
            raise QueryError(f"unknown field {field}")
        if self.keyword("contains"):
            if field not in ("name", "fullText"):
                raise QueryError("contains needs name or fullText")
            needle = self.take("str").lower()
            return lambda f: needle in _field(f, field).lower()
        op = self.take("op")
        if op not in ("=", "!="):
            raise QueryError(f"unsupported operator {op}")
        if field == "trashed":
            word = self.take("word").lower()
            if word not in ("true", "false"):
                raise QueryError("trashed takes true or false")
            wanted = word == "true"
            return lambda f: (bool(f.get("trashed")) == wanted) == (op == "=")
        if field != "mimeType":
            raise QueryError(f"{field} does not support {op}")
        value = self.take("str")
        return lambda f: (f.get("mimeType") == value) == (op == "=")


def _field(file: dict[str, Any], field: str) -> str:
    if field == "name":
        return str(file.get("name", ""))
    return " ".join(str(file.get(k) or "") for k in ("name", "description", "text"))


def compile_query(q: str) -> Predicate:
    return _Parser(tokenize(q)).parse()
