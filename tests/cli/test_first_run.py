"""The first run, as a user runs it: `config check` tells the truth, `postgres demo` loads the configured
database and says what to run next, and a failing database does not flood stderr."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import tempfile
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.cli.test_commands import run
from tests.cli.test_transports import hub_env
from tests.pg import throwaway_database

PASSWORD = "hunter2-first-run"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_entry(stdout: str) -> dict[str, Any]:
    (entry,) = [c for c in json.loads(stdout)["connectors"] if c["connector"] == "postgres"]
    return entry


@pytest.mark.parametrize(
    ("change", "expected", "kind"),
    [
        ({"dbname": "no_such_db_{r}"}, 'database "no_such_db_{r}" does not exist', "database"),
        ({"user": "no_such_role_{r}"}, 'role "no_such_role_{r}" does not exist', "role"),
        ({"host": "127.0.0.1", "port": "{port}"}, "the database is unreachable", "unreachable"),
    ],
)
def test_config_check_names_the_cause_and_fails(
    pg_dsn: Any, tmp_path: Path, change: dict[str, str], expected: str, kind: str
) -> None:
    r, port = uuid.uuid4().hex[:8], str(closed_port())
    dsn = make_conninfo(
        pg_dsn.superuser_dsn, password=PASSWORD, **{k: v.format(r=r, port=port) for k, v in change.items()}
    )
    done = run(["config", "check"], hub_env(dsn, MCP_HUB_POSTGRES__CONNECT_TIMEOUT_S="2"))
    assert done.returncode == 1, done.stdout + done.stderr
    line = next(li for li in done.stdout.splitlines() if li.strip().startswith("error:"))
    assert expected.format(r=r) in line
    assert ("try again" in line) == (kind == "unreachable")  # a retry is advised only where it can help
    assert PASSWORD not in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) <= 2, done.stderr  # the pool's reconnect warnings are tamed

    as_json = run(["config", "check", "--json"], hub_env(dsn, MCP_HUB_POSTGRES__CONNECT_TIMEOUT_S="2"))
    assert as_json.returncode == 1 and expected.format(r=r) in postgres_entry(as_json.stdout)["error"]


def test_config_check_fails_when_the_embedded_server_cannot_start(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = hub_env("") | {"MCP_HUB_POSTGRES__EMBEDDED_DIR": str(blocker / "pg")}
    env.pop("DATABASE_URL")
    done = run(["config", "check"], env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"error: the embedded database in {blocker / 'pg'} cannot be used: cannot create" in done.stdout


def test_config_check_no_connect_stays_offline(tmp_path: Path) -> None:
    """Neither the embedded server nor a configured one is touched."""
    embedded = tmp_path / "pg"
    env = hub_env("") | {"MCP_HUB_POSTGRES__EMBEDDED_DIR": str(embedded)}
    env.pop("DATABASE_URL")
    done = run(["config", "check", "--no-connect"], env)
    assert done.returncode == 0 and "enabled  postgres/default" in done.stdout and "error:" not in done.stdout
    assert not embedded.exists()
    unreachable = f"postgresql://postgres@127.0.0.1:{closed_port()}/postgres"
    done = run(["config", "check", "--no-connect"], hub_env(unreachable))
    assert done.returncode == 0 and "error:" not in done.stdout


def test_config_check_passes_on_the_embedded_default() -> None:
    # As root, the service account must pass every folder above the data directory (pytest's are 0700).
    home = Path(tempfile.mkdtemp(prefix="mcp_hub_check_"))
    try:
        home.chmod(0o755)
        env = hub_env("") | {"MCP_HUB_POSTGRES__EMBEDDED_DIR": str(home / "pg")}
        env.pop("DATABASE_URL")
        done = run(["config", "check"], env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"no DSN: the embedded database in {home / 'pg'} is used" in done.stdout
        assert (home / "pg" / "pgdata" / "PG_VERSION").exists()  # it did start it
        assert not (home / "pg" / "pgdata" / "postmaster.pid").exists()  # and stopped it again at exit
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _next_command(stdout: str) -> list[str]:
    line = next(li for li in stdout.splitlines() if li.startswith("Next, serve it: "))
    return shlex.split(line.removeprefix("Next, serve it: "))


def _shop_orders(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM shop.orders").fetchone()
    return int(row[0]) if row else 0


def test_demo_loads_database_url_and_prints_the_next_command(pg_admin_dsn: str, tmp_path: Path) -> None:
    embedded = tmp_path / "pg"
    with throwaway_database(pg_admin_dsn) as database:
        env = hub_env(make_conninfo(database.superuser_dsn, password=PASSWORD))
        env |= {"MCP_HUB_POSTGRES__EMBEDDED_DIR": str(embedded)}
        done = run(["postgres", "demo"], env)
        assert done.returncode == 0, done.stderr
        assert "loaded schema shop into the database of the DSN" in done.stdout and "2000 orders" in done.stdout
        assert PASSWORD not in done.stdout + done.stderr
        assert _shop_orders(database.superuser_dsn) == 2000 and not embedded.exists()
        words = _next_command(done.stdout)
        assert words[-1] == "serve" and (shutil.which(words[0]) or Path(words[0]).is_file())
        # the printed command is the one that serves it: the same program, here with --help
        helped = run_words([*words, "--help"], env)
        assert helped.returncode == 0 and "--transport" in helped.stdout


def test_demo_with_a_config_file_names_it_in_the_next_command(pg_admin_dsn: str, tmp_path: Path) -> None:
    with throwaway_database(pg_admin_dsn) as database:
        config = tmp_path / "hub.toml"
        parts = conninfo_to_dict(database.superuser_dsn)
        config.write_text(f"[postgres]\ndsn = {json.dumps(make_conninfo('', **parts))}\n")
        env = hub_env("")
        env.pop("DATABASE_URL")
        os_cwd = os.getcwd()
        done = run(["postgres", "demo", "--config", str(config)], env)
        assert done.returncode == 0, done.stderr
        assert _shop_orders(database.superuser_dsn) == 2000
        words = _next_command(done.stdout)
        assert words[-3:] == ["serve", "--config", str(config)] and os.getcwd() == os_cwd


def run_words(words: list[str], env: dict[str, str]) -> Any:
    import subprocess

    return subprocess.run(words, env=env, capture_output=True, text=True, timeout=60)
