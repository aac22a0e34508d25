"""The GitHub deliveries the tests send are GitHub's shapes: checked against the webhook schemas of GitHub's
OpenAPI description (`webhook-issue-comment-created`, `-edited`, `webhook-pull-request-review-comment-created`,
kept in the trimmed description by tests/connectors/github/data/trim_spec.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

from tests.connectors.github.contract import SPEC
from tests.model.webhook.payloads import github_issue_comment, github_review_comment

COMPONENTS = json.loads(SPEC.read_text(encoding="utf-8"))["components"]


def errors(schema: str, payload: dict[str, Any]) -> list[str]:
    validator = OAS30Validator({"$ref": f"#/components/schemas/{schema}", "components": COMPONENTS})
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(payload)]


@pytest.mark.parametrize(
    ("schema", "payload"),
    [
        ("webhook-issue-comment-created", github_issue_comment(4, "/ask why?", "alice", 7001)),
        ("webhook-issue-comment-created", github_issue_comment(40, "/review", "bob", 7002, on_pull=False)),
        ("webhook-issue-comment-created", github_issue_comment(4, "/review", "renovate", 7003, user_type="Bot")),
        ("webhook-issue-comment-edited", github_issue_comment(4, "/review", "bob", 7004, action="edited")),
        ("webhook-pull-request-review-comment-created", github_review_comment(1, "/ask x", "a" * 40, "bob", 7101)),
        ("webhook-pull-request-review-comment-created", github_review_comment(1, "/ask", "a" * 40, in_reply_to=901)),
    ],
)
def test_deliveries_match_github_s_webhook_schemas(schema: str, payload: dict[str, Any]) -> None:
    assert errors(schema, payload) == []


def test_the_check_catches_a_wrong_shape() -> None:
    payload = github_issue_comment(4, "/review")
    del payload["comment"]["id"]
    payload["issue"]["number"] = "4"
    found = errors("webhook-issue-comment-created", payload)
    assert "comment: 'id' is a required property" in found and "issue/number: '4' is not of type 'integer'" in found
