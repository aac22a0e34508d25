"""model/cli.py through a parser built here, as mcp_hub.cli will mount it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from model import cli
from tests.model.fake_openai import FakeOpenAI, Reply, answer, native_call, prompted_call
from tests.pg import TestDatabase


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mcp-hub")
    cli.add_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


def test_serve_dry_run_prints_the_command(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    monkeypatch.setenv("VLLM_API_KEY", "sk-do-not-print")
    code = cli.run(
        parse("model", "serve", "r1-0528", "--lora", "ja=/loras/ja", "--dry-run", "--chat-template-dir", "/t")
    )
    out, err = capsys.readouterr()
    assert code == 0 and out.startswith("vllm serve deepseek-ai/DeepSeek-R1-0528 ")
    assert "--tensor-parallel-size 4" in out and "--tool-call-parser deepseek_v3" in out
    # The key goes to vLLM by environment, never argv (visible in `ps`).
    assert "--lora-modules ja=/loras/ja" in out and "--api-key" not in out and "sk-do-not-print" not in out + err
    assert "VLLM_API_KEY in its environment" in err


def test_serve_without_template_or_vllm_fails_clearly(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.run(parse("model", "serve", "r1-0528", "--chat-template-dir", str(tmp_path))) == 2
    assert "chat template" in capsys.readouterr().err


def test_check_reports_the_endpoint(fake: FakeOpenAI, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    fake.push(
        Reply(content="5.", reasoning="2+3", shape="reasoning_content"),
        Reply(content="Five.", reasoning="easy", chunk=2),
        native_call("ping", {}),
    )
    assert cli.run(parse("model", "check", "--base-url", base_url)) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["models"] == fake.models and report["reasoning_shape"] == "reasoning_content"
    assert report["native_tool_calls"] is True and report["tokens_per_s"] > 0
    assert report["time_to_first_token_s"] >= 0
    assert fake.requests[2]["tools"][0]["function"]["name"] == "ping"


def test_check_without_native_tools(fake: FakeOpenAI, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    refusal = Reply(status=400, error='"auto" tool choice requires --enable-auto-tool-choice', vllm_error=True)
    fake.push(Reply(content="<think>x</think>5", shape="think"), Reply(content="5"), refusal)
    assert cli.run(parse("model", "check", "--base-url", base_url)) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["reasoning_shape"] == "think-tags" and report["native_tool_calls"] is False


def test_check_on_a_dead_endpoint_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.http_server import free_port

    assert cli.run(parse("model", "check", "--base-url", f"http://127.0.0.1:{free_port()}/v1")) == 2
    assert "no model server answers" in capsys.readouterr().err


def test_agent_json_transcript(
    fake: FakeOpenAI,
    base_url: str,
    pg_dsn: TestDatabase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_dsn.reader_dsn)
    monkeypatch.setenv("MCP_HUB_CONNECTORS", "postgres")
    monkeypatch.setenv("MCP_HUB_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("MCP_HUB_MODEL__NAME", fake.models[0])
    fake.push(prompted_call("postgres_query", {"sql": "SELECT count(*) FROM orders"}), answer("4 orders"))
    code = cli.run(parse("agent", "How many orders?", "--base-url", base_url, "--json", "--model", "r1-ja-14b"))
    transcript = json.loads(capsys.readouterr().out)
    assert code == 0 and transcript["status"] == "answered" and transcript["answer"] == "4 orders"
    assert transcript["calls"][0]["tool"] == "postgres_query" and transcript["calls"][0]["status"] == "called"
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert audit[0]["caller"] == "agent" and audit[0]["tool"] == "postgres_query"


def test_agent_streams_progress(
    fake: FakeOpenAI,
    base_url: str,
    pg_dsn: TestDatabase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_dsn.reader_dsn)
    monkeypatch.setenv("MCP_HUB_CONNECTORS", "postgres")
    monkeypatch.setenv("MCP_HUB_MODEL__NAME", fake.models[0])
    fake.push(prompted_call("postgres_query", {"sql": "SELECT 1"}), answer("one"))
    code = cli.run(parse("agent", "Say one", "--base-url", base_url, "--show-reasoning"))
    captured = capsys.readouterr()
    assert code == 0 and captured.out.strip() == "one"
    assert "→ postgres_query" in captured.err and "I need a tool." in captured.err
