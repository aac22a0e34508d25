"""Masking secrets in anything that leaves the hub: tool errors, logs, audit lines.

Two layers: the exact values of every configured secret (tokens, DSNs and their
passwords), and patterns for credentials the hub was never told about (a DSN
with a password inside an upstream error, a token format a user pasted).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Protocol
from urllib.parse import urlsplit

MASK = "***"

_PATTERNS: tuple[re.Pattern[str], ...] = (
    # scheme://user:password@host -> keep the user, mask the password
    re.compile(r"(?P<keep>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)[^\s@/]+(?=@)"),
    # key=value secrets in libpq keyword DSNs and query strings (6+ characters: "no token: set X" is prose)
    re.compile(
        r"(?P<keep>\b(?:password|passwd|pwd|token|secret|api[_-]?key)\s*[=:]\s*)"
        r"(?:'[^']*'|\"[^\"]*\"|[^\s&;,]{6,})",
        re.I,
    ),
    # Authorization headers
    re.compile(r"(?P<keep>\b(?:Bearer|Basic|token)\s+)[A-Za-z0-9._~+/=-]{12,}", re.I),
    # well-known token formats
    re.compile(
        r"(?P<keep>)\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})\b"
    ),
)


class SecretValue(Protocol):
    def get_secret_value(self) -> str: ...


class Redactor:
    """Replaces known secret values and secret-shaped strings with `***`.

    Secrets are given as strings or as secret objects (`Secret`, pydantic's
    `SecretStr`); a file-backed `Secret` that is rotated tells the redactor its
    new value when it is re-read, so the new value is masked before it is used.
    """

    def __init__(self, secrets: Iterable[str | SecretValue] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()  # rotated secrets are re-read in SDK worker threads
        self.add(secrets)

    def add(self, secrets: Iterable[str | SecretValue]) -> None:
        values: list[str] = []
        for secret in secrets:
            if isinstance(secret, str):
                values.append(secret)
                continue
            on_change = getattr(secret, "on_change", None)
            if callable(on_change):
                on_change(self._learn)
            value = secret.get_secret_value()
            if isinstance(value, str) and value:
                values.append(value)
        with self._lock:
            changed = False
            for secret_text in values:
                for value in _variants(secret_text):
                    if len(value) >= 4 and value not in self._secrets:
                        self._secrets.add(value)
                        changed = True
            if changed:
                ordered = sorted(self._secrets, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def _learn(self, value: str) -> None:
        self.add([value])

    def redact(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group("keep") + MASK, text)
        return text

    def redact_value(self, value: object) -> object:
        """Redact every string inside a JSON-like value."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {k: self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_value(v) for v in value]
        return value


def _variants(secret: str) -> list[str]:
    """The secret itself plus the password inside it when it is a URL."""
    variants = [secret]
    if "://" in secret:
        try:
            password = urlsplit(secret).password
        except ValueError:
            password = None
        if password:
            variants.append(password)
    return variants


class RedactingFilter(logging.Filter):
    """Logging filter that redacts each record's rendered message."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            # Keep the traceback in the log, but through the redactor.
            message = message + "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg = self.redactor.redact(message)
        record.args = None
        return True
