"""`mcp-hub approvals` in text mode and its errors (the JSON paths run end to end in tests/model)."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from mcp_hub import cli
from mcp_hub.approvals import ApprovalQueue, HoldRequest, open_approvals
from tests.conftest import RedisTarget

HOSTILE = "fine\x1b]0;owned\x07\x1b[2J<script>x</script>"


def config_for(tmp_path: Path, redis_target: RedisTarget) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(
        f"[hub]\nstate_url = {json.dumps(redis_target.url)}\nstate_prefix = {json.dumps(redis_target.prefix)}\n"
    )
    return path


def hold(redis_target: RedisTarget) -> str:
    async def submit() -> str:
        queue = ApprovalQueue(open_approvals(redis_target.url, redis_target.prefix))
        held = await queue.submit(
            HoldRequest(
                "agent",
                "memory",
                "github_add_issue_comment",
                {"repo": "acme/widgets", "body": HOSTILE},
                reasons=["write tool"],
                target="github://acme/widgets",
                target_visibility="public",
            )
        )
        await queue.aclose()
        return held.id

    return anyio.run(submit)


def test_list_show_and_decide_in_text(
    tmp_path: Path, redis_target: RedisTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(config_for(tmp_path, redis_target))
    approval_id = hold(redis_target)
    assert cli.main(["approvals", "list", "--config", config]) == 0
    listed = capsys.readouterr().out
    assert approval_id in listed and "pending" in listed and "github://acme/widgets (public)" in listed
    assert cli.main(["approvals", "show", approval_id, "--config", config]) == 0
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "\\x1b]0;owned\\x07" in shown  # the text cannot drive the terminal
    assert "<script>x</script>" in shown and "asked by   agent (memory)" in shown
    assert cli.main(["approvals", "deny", approval_id, "--note", "no", "--by", "erin", "--config", config]) == 0
    assert capsys.readouterr().out.strip() == f"{approval_id} denied by erin"
    assert cli.main(["approvals", "approve", approval_id, "--config", config]) == 1
    assert f"{approval_id} was already denied by erin: no" in capsys.readouterr().err
    assert cli.main(["approvals", "list", "--config", config]) == 0
    assert capsys.readouterr().out.strip() == "no pending approvals"


def test_errors_are_one_clear_line(
    tmp_path: Path, redis_target: RedisTarget, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("MCP_HUB_STATE_URL", "MCP_HUB_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    assert cli.main(["approvals", "list", "--config", str(empty)]) == 2
    assert "hub.state_url is not set" in capsys.readouterr().err
    config = str(config_for(tmp_path, redis_target))
    assert cli.main(["approvals", "approve", "nope", "--config", config]) == 2
    assert "no approval with id 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # argparse: a denial needs --note
        cli.main(["approvals", "deny", "nope", "--config", config])
    assert refused.value.code == 2 and "--note" in capsys.readouterr().err
    down = tmp_path / "down.toml"
    down.write_text('[hub]\nstate_url = "redis://:hunter2@127.0.0.1:1/0"\n')
    assert cli.main(["approvals", "list", "--config", str(down)]) == 2
    err = capsys.readouterr().err
    assert "approvals store" in err and "hunter2" not in err and "Traceback" not in err


def test_ids_never_read_as_an_option() -> None:
    """An id is typed after `approvals show|approve|deny`: one starting with "-" would be read as an option
    (it happened: base64url ids start so once in 64)."""
    from mcp_hub.approvals.record import new_id

    ids = [new_id() for _ in range(2000)]
    assert not [i for i in ids if i.startswith("-")]
    assert len(set(ids)) == len(ids) and all(len(i) == 32 for i in ids)
