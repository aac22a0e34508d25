"""Secret values given inline or by file, re-read when the file changes.

A `Secret` prints as `**********` everywhere (repr, str, model dumps, logs);
only `get_secret_value()` reveals it. File-backed secrets (`…_file` keys in the
config, `…_FILE` variables) are re-read when the file's mtime or size changes,
so a rotated Kubernetes Secret takes effect without a restart.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from mcp_hub.errors import ConfigError


class Secret:
    __slots__ = ("_listeners", "_path", "_stamp", "_value")

    def __init__(self, value: str | None = None, path: str | Path | None = None) -> None:
        if (value is None) == (path is None):
            raise ValueError("a Secret has either a value or a file")
        self._value = value
        self._path = Path(path) if path is not None else None
        self._stamp: tuple[int, int] | None = None
        self._listeners: list[Callable[[str], None]] = []

    @classmethod
    def from_file(cls, path: str | Path) -> Secret:
        return cls(path=path)

    @property
    def path(self) -> Path | None:
        return self._path

    def on_change(self, listener: Callable[[str], None]) -> None:
        """Call `listener(new_value)` whenever a re-read of the file yields a new value.

        The redactor listens, so a rotated token is masked from the moment the
        hub first reads it: before any request, error or log line can carry it.
        """
        self._listeners.append(listener)

    def get_secret_value(self) -> str:
        if self._path is None:
            assert self._value is not None
            return self._value
        try:
            stat = self._path.stat()
        except OSError as exc:
            raise ConfigError(f"cannot read secret file {self._path}: {exc.strerror}") from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp or self._value is None:
            previous = self._value
            value = self._path.read_text(encoding="utf-8").strip()
            if previous is not None and value != previous:
                for listener in self._listeners:
                    listener(value)
            self._value = value
            self._stamp = stamp
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.get_secret_value() == self.get_secret_value()

    def __hash__(self) -> int:
        return hash(self.get_secret_value())

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def coerce(value: Any) -> Secret:
            if isinstance(value, Secret):
                return value
            if isinstance(value, str):
                return Secret(value)
            raise ValueError("expected a string")

        return core_schema.no_info_plain_validator_function(
            coerce,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda _: "**********"),
            json_schema_input_schema=core_schema.str_schema(),
        )


def secret_from_env(env: os._Environ[str] | dict[str, str], name: str) -> Secret | None:
    """`NAME` inline, or `NAME_FILE` as a path."""
    path = env.get(f"{name}_FILE")
    if path:
        return Secret.from_file(path)
    value = env.get(name)
    return Secret(value) if value else None
