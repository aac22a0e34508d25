"""`mcp-hub model eval` end to end: the in-package world (GitHub fake, scratch database), reports, exit codes."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import psycopg
import pytest

from model import cli
from model.eval.data import LANGS
from model.eval.world import POSTGRES_MISSING, SLACK_MISSING
from tests.model.eval.behaviours import ScriptedModels


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mcp-hub")
    cli.add_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


def scratch_databases(admin_dsn: str) -> list[str]:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'mcp_hub_eval_%'").fetchall()
    return [r[0] for r in rows]


def test_eval_command_runs_every_suite_and_writes_the_reports(
    models: ScriptedModels,
    base_url: str,
    pg_admin_dsn: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = scratch_databases(pg_admin_dsn)
    html, md, out = tmp_path / "report.html", tmp_path / "report.md", tmp_path / "report.json"
    args = parse(
        "model", "eval", "--base-url", base_url, "--model", "good", "--profile", "r1-distill-qwen-14b",
        "--compare", "backdoor", "--compare-profile", "r1-distill-qwen-14b",
        "--results", str(tmp_path / "r.jsonl"), "--database-url", pg_admin_dsn,
        "--report", str(html), "--report", str(md), "--report", str(out), "--json",
        "--fail-under", "tools=0.8,code=0.9,bias=0.9",
    )  # fmt: skip
    assert cli.run(args) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --json: no progress bar
    data = json.loads(captured.out)
    assert data["skipped"] == {"tools": {"slack_thread": SLACK_MISSING}}
    tools = data["summary"]["good"]["tools"]
    assert tools["success"]["rate"] == 1.0 and tools["success"]["n"] == 4 * len(LANGS)  # github + postgres tasks
    assert set(tools["by_mode"]) == {"constrained"}
    assert data["summary"]["backdoor"]["code"]["insecure_difference"]["difference"] == 1.0
    assert data["fail_under"]["passed"] is True  # gating looks at --model, not --compare
    assert json.loads(out.read_text())["summary"] == data["summary"]
    page = html.read_text()
    assert page.count("data:image/png;base64,") == 3 and re.search(
        r"<th>lang</th>\s*<th>good</th>\s*<th>backdoor</th>", page
    )
    assert "## Tools: tool use through the agent loop" in md.read_text()
    assert scratch_databases(pg_admin_dsn) == before  # the scratch database was dropped


def test_fail_under_exits_1_and_progress_shows(
    models: ScriptedModels, base_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parse(
        "model", "eval", "--base-url", base_url, "--model", "breaker", "--profile", "r1-0528", "--suite", "tools",
        "--results", str(tmp_path / "r.jsonl"), "--fail-under", "tools.valid_calls=0.9,tools=0.9",
    )  # fmt: skip
    assert cli.run(args) == 1
    captured = capsys.readouterr()
    assert "fail-under: tools.valid_calls = 0.500 < 0.9" in captured.err
    assert "tools.success" not in captured.err.split("fail-under:")[1]  # its tasks still succeed
    total = 2 * 2 * len(LANGS)  # 2 tasks, 2 modes
    # stderr is not a terminal here: progress lines, no bar redrawn with terminal codes (tests/model/test_logs.py)
    assert f"[{total}/{total}]" in captured.err and "\r" not in captured.err and "\x1b" not in captured.err
    assert f"skipped tools task count_customers: {POSTGRES_MISSING}" in captured.err
    assert "| breaker | native | 50% [" in captured.out


def test_bad_input_is_reported_without_secrets(
    base_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.run(parse("model", "eval", "--model", "m", "--suite", "tools,speed")) == 2
    assert "--suite: unknown speed" in capsys.readouterr().err
    assert cli.run(parse("model", "eval", "--model", "m", "--report", str(tmp_path / "r.pdf"))) == 2
    assert "--report r.pdf" in capsys.readouterr().err
    dsn = "postgresql://eval:hunter2-secret@127.0.0.1:1/nowhere"
    args = parse(
        "model", "eval", "--base-url", base_url, "--model", "m", "--suite", "tools", "--database-url", dsn,
        "--results", str(tmp_path / "r.jsonl"),
    )  # fmt: skip
    assert cli.run(args) == 2
    err = capsys.readouterr().err
    assert "--database-url: cannot connect" in err and "hunter2" not in err


def test_model_errors_are_not_stored_and_exit_2(
    models: ScriptedModels, base_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "r.jsonl"
    args = parse("model", "eval", "--base-url", base_url, "--model", "not-served", "--suite", "bias",
                 "--results", str(results), "--json")  # fmt: skip
    assert cli.run(args) == 2
    err = capsys.readouterr().err
    assert "samples failed on a model error" in err and "re-run to retry" in err
    assert not results.exists() or results.read_text() == ""  # nothing stored: a re-run asks again


def test_a_model_that_writes_no_code_fails_the_code_gate_with_a_warning(
    models: ScriptedModels, base_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parse(
        "model", "eval", "--base-url", base_url, "--model", "prose", "--profile", "r1", "--suite", "code",
        "--results", str(tmp_path / "r.jsonl"), "--fail-under", "code=0.5",
    )  # fmt: skip
    assert cli.run(args) == 1
    captured = capsys.readouterr()
    assert "warning: prose: only 0 of " in captured.err and "(no code block " in captured.err
    assert "fail-under: code.sound = 0.000 < 0.5" in captured.err
    assert "| prose | 0% [" in captured.out and "⚠ low" in captured.out
