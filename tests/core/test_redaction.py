from __future__ import annotations

import pytest

from mcp_hub.redaction import Redactor


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
