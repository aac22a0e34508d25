"""Which calls wait for approval is policy: the hub's `approve_writes` for everyone, a token's on top."""

from __future__ import annotations

from mcp_hub.policy import Policy, ToolFacts

CREATE = ToolFacts("github_create_issue", "github", "issues", read_only=False, destructive=False, default_toolset=True)
LIST = ToolFacts("github_list_issues", "github", "issues", read_only=True, destructive=False, default_toolset=True)
COMMENT = ToolFacts("github_add_issue_comment", "github", "issues", False, False, True)


def test_a_glob_holds_writes_and_never_reads() -> None:
    hub = Policy(allow_writes=True, toolsets=frozenset({"all"}), hold=("github_*",))
    assert hub.held_by(CREATE) == "github_*" and hub.held_by(COMMENT) == "github_*"
    assert hub.held_by(LIST) is None
    assert Policy(allow_writes=True).held_by(CREATE) is None


def test_a_token_adds_holds_and_a_request_cannot_lift_them() -> None:
    hub = Policy(allow_writes=True, toolsets=frozenset({"all"}), hold=("github_create_*",))
    token = hub.narrowed(
        allow_writes=True,
        allow_destructive=False,
        toolsets=None,
        allow=(),
        deny=(),
        connectors=None,
        hold=("github_add_*",),
    )
    assert token.held_by(CREATE) == "github_create_*" and token.held_by(COMMENT) == "github_add_*"
    unheld = hub.narrowed(allow_writes=True, allow_destructive=False, toolsets=None, allow=(), deny=(), connectors=None)
    assert unheld.held_by(CREATE) == "github_create_*"  # a token without holds keeps the hub's
    narrowed_by_request = token.also(Policy(allow_writes=True, toolsets=frozenset({"all"})))
    assert narrowed_by_request.held_by(CREATE) and narrowed_by_request.held_by(COMMENT)
