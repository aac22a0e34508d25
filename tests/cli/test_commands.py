"""`mcp-hub config check` and `mcp-hub tools`, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.cli.test_transports import HUB, hub_env

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HUB, *args], env=env, capture_output=True, text=True, timeout=60)


def with_password(dsn: str, password: str) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(dsn, password=password)  # trust auth ignores it, so the DSN still connects


def test_config_check_reports_and_never_prints_secrets(pg_dsn: Any) -> None:
    dsn = with_password(pg_dsn.superuser_dsn, "hunter2-very-secret")
    assert "hunter2-very-secret" in dsn
    done = run(["config", "check"], hub_env(dsn))
    assert done.returncode == 0, done.stderr
    assert "enabled  postgres/default" in done.stdout
    # The effective login of each side and what it can do; no reassurance for a superuser, and the fix.
    assert "configured login 'postgres': superuser" in done.stdout
    assert "are off for instance 'default'" in done.stdout and "mcp-hub postgres create-reader" in done.stdout
    assert "still hold" not in done.stdout
    assert "hunter2-very-secret" not in done.stdout + done.stderr

    as_json = json.loads(run(["config", "check", "--json"], hub_env(pg_dsn.reader_dsn)).stdout)
    (postgres,) = [c for c in as_json["connectors"] if c["connector"] == "postgres"]
    assert postgres["enabled"] and len(postgres["warnings"]) == 2
    reads, rest = postgres["warnings"]
    assert f"runs as configured login {pg_dsn.reader_role!r}: not superuser, no dangerous" in reads
    assert f"run as the configured login {pg_dsn.reader_role!r}: not superuser" in rest
    assert as_json["policy"]["state"] == "in-process"
    # Shared state in PostgreSQL: named by kind only (its DSN holds a password).
    shared = run(["config", "check", "--json"], hub_env(pg_dsn.reader_dsn) | {"MCP_HUB_STATE_URL": dsn})
    assert json.loads(shared.stdout)["policy"]["state"] == "postgresql"
    assert "hunter2-very-secret" not in shared.stdout + shared.stderr


def test_config_check_says_why_disabled() -> None:
    credentials = ("DATABASE_URL", "GITHUB_TOKEN", "GITLAB_TOKEN", "SLACK_BOT_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_") and k not in credentials}
    done = run(["config", "check", "--no-connect"], env)
    assert done.returncode == 0
    assert "disabled github/default: no token: set GITHUB_TOKEN" in done.stdout
    assert "disabled slack/default: no token: set SLACK_BOT_TOKEN" in done.stdout
    # without a DSN, Postgres falls back to the embedded database (started on first use, not here)
    assert "enabled  postgres/default" in done.stdout


def test_config_errors_exit_2_with_message(tmp_path: Path) -> None:
    bad = tmp_path / "hub.toml"
    bad.write_text('[postgres]\ndsn = "postgresql://x"\nstatement_timeout_ms = "soon"\n')
    done = run(["config", "check", "--config", str(bad)], hub_env("postgresql://x"))
    assert done.returncode == 2
    assert "statement_timeout_ms" in done.stderr and "Traceback" not in done.stderr


def test_tools_lists_costs_in_deepseek_tokens(pg_dsn: Any) -> None:
    done = run(["tools", "--json"], hub_env(pg_dsn.reader_dsn))
    assert done.returncode == 0, done.stderr
    catalog = json.loads(done.stdout)
    by_name = {t["name"]: t for t in catalog["tools"]}
    assert "postgres_query" in by_name and by_name["postgres_query"]["read_only"] is True
    assert all(t["tokens"] > 10 for t in catalog["tools"])
    assert catalog["total_tokens"] == sum(t["tokens"] for t in catalog["tools"])
    text = run(["tools"], hub_env(pg_dsn.reader_dsn)).stdout
    assert f"{len(catalog['tools'])} tools, {catalog['total_tokens']} DeepSeek tokens" in text
    discovery = json.loads(run(["tools", "--json", "--discovery"], hub_env(pg_dsn.reader_dsn)).stdout)
    assert {t["name"] for t in discovery["tools"]} == {"hub_call_tool", "hub_find_tools"}
    assert discovery["total_tokens"] <= 1500


def test_help_matches_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = (["serve", "--help"], ["config", "check", "--help"], ["tools", "--help"], ["servers", "pin", "--help"])
    for command in (*commands, ["servers", "status", "--help"]):
        done = subprocess.run([HUB, *command], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0
        for flag in [w for w in done.stdout.split() if w.startswith("--") and w not in ("--help",)]:
            flag = flag.strip(",[]();:.")  # words of the help prose carry punctuation
            assert flag in readme, f"{' '.join(command)}: {flag} is not documented in the README"
    assert sys.executable
