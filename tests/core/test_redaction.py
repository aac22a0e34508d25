from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from mcp_hub.connector import settings_secrets
from mcp_hub.redaction import Redactor
from mcp_hub.secret import Secret


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("connection to postgresql://app:hunter2pass@db:5432/x failed", "hunter2pass"),
        ("host=db user=app password=hunter2pass dbname=x", "hunter2pass"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz"),
        ("token ghp_" + "a" * 36 + " rejected", "ghp_" + "a" * 36),
        ("glpat-" + "b" * 20, "glpat-" + "b" * 20),
        ("slack xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"),
    ],
)
def test_patterns(text: str, leaked: str) -> None:
    redacted = Redactor().redact(text)
    assert leaked not in redacted and "***" in redacted


def test_known_secrets_and_dsn_passwords() -> None:
    redactor = Redactor(["postgresql://u:s3cr3t-pw@h/db", "plain-token-value"])
    assert redactor.redact("pw s3cr3t-pw and plain-token-value") == "pw *** and ***"
    assert redactor.redact_value({"a": ["plain-token-value", 3]}) == {"a": ["***", 3]}


def test_leaves_ordinary_text() -> None:
    for text in ("SELECT name FROM customers WHERE id = 3", "no token: set GITHUB_TOKEN or MCP_HUB_GITHUB__TOKEN"):
        assert Redactor(["abc1"]).redact(text) == text


def test_a_rotated_secret_file_is_masked_from_its_first_read(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("first-token-value\n")
    secret = Secret.from_file(path)
    redactor = Redactor([secret])
    path.write_text("rotated-token-value\n")
    later = time.time() + 5
    os.utime(path, (later, later))
    assert secret.get_secret_value() == "rotated-token-value"  # what the connector now sends
    assert redactor.redact("sent rotated-token-value, was first-token-value") == "sent ***, was ***"


def test_secrets_in_nested_settings_are_found() -> None:
    class Inner(BaseModel):
        model_config = ConfigDict(arbitrary_types_allowed=True)
        key: Secret

    class Outer(BaseModel):
        model_config = ConfigDict(arbitrary_types_allowed=True)
        token: Secret
        app: Inner
        headers: dict[str, Secret]
        extra: list[Inner]

    settings = Outer(
        token=Secret("top-level-token"),
        app=Inner(key=Secret("nested-app-key")),
        headers={"x": Secret("header-secret")},
        extra=[Inner(key=Secret("listed-secret"))],
    )
    redactor = Redactor(settings_secrets(settings))
    text = "top-level-token nested-app-key header-secret listed-secret"
    assert redactor.redact(text) == "*** *** *** ***"
