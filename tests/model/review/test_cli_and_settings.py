"""`mcp-hub review` through model/cli.py, repository settings from the base branch, and `--lang ja`."""

from __future__ import annotations

import argparse
import json
from typing import Any

import pytest

from model import cli
from model.client import ModelClient
from model.hub import HubSession
from model.profiles import get_profile
from model.review.engine import ReviewOptions
from model.review.workflow import run_review
from tests.model.review.conftest import MODEL, github_env
from tests.model.review.fake_reviewer import FakeReviewer
from tests.model.review.seed import REPO, SMALL_CHANGE, add_pull, url


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mcp-hub")
    cli.add_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


def _env(monkeypatch: pytest.MonkeyPatch, api: str, *, writes: bool) -> None:
    for key, value in github_env(api, writes=writes).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MCP_HUB_MODEL__NAME", MODEL)


def test_review_command_prints_markdown_and_gates(
    github: Any,
    github_served: tuple[Any, str],
    reviewer: FakeReviewer,
    model_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _env(monkeypatch, github_served[1], writes=False)
    number = add_pull(github, SMALL_CHANGE)
    code = cli.run(parse("review", url(number), "--base-url", model_url, "--fail-on", "medium"))
    out, err = capsys.readouterr()
    assert code == 1 and out.startswith(f"## Code review: {REPO}#{number} — Add payments")
    assert "**Coverage**: reviewed 2 of 4 files" in out and "[1/1] checking findings" in err
    assert cli.run(parse("review", url(number), "--base-url", model_url, "--fail-on", "high", "--json")) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["findings"]) == 2 and report["coverage"]["share"] < 1 and report["usage"]["calls"] == 1


def test_review_command_posts(
    github: Any,
    github_served: tuple[Any, str],
    reviewer: FakeReviewer,
    model_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _env(monkeypatch, github_served[1], writes=True)
    number = add_pull(github, SMALL_CHANGE)
    assert cli.run(parse("review", url(number), "--base-url", model_url, "--post")) == 0
    assert "posted: 2 new comment(s)" in capsys.readouterr().err
    assert len(github.state.review_comments[REPO][number]) == 2


def test_bad_url_and_dead_model_are_clear_errors(
    github: Any,
    github_served: tuple[Any, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.support.http_server import free_port

    _env(monkeypatch, github_served[1], writes=False)
    assert cli.run(parse("review", "https://github.com/acme/widgets/issues/3")) == 2
    assert "names neither a GitHub pull request" in capsys.readouterr().err
    number = add_pull(github, SMALL_CHANGE)
    dead = f"http://127.0.0.1:{free_port()}/v1"
    assert cli.run(parse("review", url(number), "--base-url", dead)) == 2
    assert "no model server answers" in capsys.readouterr().err


SETTINGS = b"""skip = ["docs/**"]
severity_threshold = "medium"
language = "ja"
instructions = "Flag every None comparison."
"""


@pytest.mark.anyio
async def test_settings_come_from_the_base_branch_and_japanese_output(
    github: Any, gh_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    github.state.repos[REPO].commit("main", {".mcp-hub-review.toml": SETTINGS}, "Review settings")
    hostile = b'skip = ["**"]\nseverity_threshold = "critical"\n'
    number = add_pull(github, SMALL_CHANGE | {".mcp-hub-review.toml": hostile}, branch="hostile")
    report = await run_review(
        gh_session, model_client, get_profile("r1-ja-14b"), url(number), ReviewOptions(model=MODEL)
    )
    assert report.lang == "ja"
    assert [(f.line, f.severity) for f in report.findings] == [(2, "medium")]  # the low TODO is under the threshold
    assert report.findings[0].message == "None を `is` で比較してください。"
    skipped = dict(report.coverage.files_skipped)
    assert skipped["docs/payments.md"] == "skipped by the repository's settings"
    prompt = reviewer.requests[0]["messages"][0]["content"]
    assert "Japanese" in prompt and "Flag every None comparison." in prompt
    from model.review.render import report_markdown

    assert "## コードレビュー" in report_markdown(report)
    english = await run_review(
        gh_session, model_client, get_profile("r1-ja-14b"), url(number), ReviewOptions(model=MODEL), lang="en"
    )
    assert english.findings[0].message == "Compare with None using `is`."


@pytest.mark.anyio
async def test_unusable_settings_file_is_noted(
    github: Any, gh_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    github.state.repos[REPO].commit("main", {".mcp-hub-review.toml": b"skip = 3\n"}, "Broken settings")
    number = add_pull(github, SMALL_CHANGE)
    report = await run_review(gh_session, model_client, get_profile("r1-distill-qwen-14b"), url(number),
                              ReviewOptions(model=MODEL))  # fmt: skip
    assert report.notes and "defaults used" in report.notes[0] and len(report.findings) == 2


def test_review_command_fails_closed_with_exit_2(
    github: Any,
    github_served: tuple[Any, str],
    reviewer: FakeReviewer,
    model_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.model.fake_openai import Reply

    _env(monkeypatch, github_served[1], writes=False)
    number = add_pull(github, SMALL_CHANGE)
    reviewer.push(Reply(content="", reasoning="hmm", finish_reason="length"), Reply(content="", finish_reason="length"))
    code = cli.run(parse("review", url(number), "--base-url", model_url, "--fail-on", "low", "--max-tokens", "2048"))
    out, err = capsys.readouterr()
    assert code == 2 and "NOT REVIEWED" in out and "No problems found" not in out
    assert "not reviewed: the model failed on 2 file(s) (exit 2)" in err
    assert [r["max_completion_tokens"] for r in reviewer.requests] == [2048, 4096]
    monkeypatch.setenv("MCP_HUB_MODEL__MAX_TOKENS", "3000")
    reviewer.reset()
    assert cli.run(parse("review", url(number), "--base-url", model_url, "--fail-on", "high")) == 0
    assert reviewer.requests[0]["max_completion_tokens"] == 3000
