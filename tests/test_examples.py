"""The examples in examples/ and the README stay true to the code."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from connectors.postgres import PostgresConnector
from mcp_hub.cli import _parser
from mcp_hub.config import load_config
from mcp_hub.registry import Registry
from mcp_hub.server import build_server

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def test_example_config_is_valid_and_complete(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name in ("review-bot.token", "postgres.dsn", "analytics.dsn"):
        (secrets / name).write_text(
            "postgresql://reader@127.0.0.1:1/app" if name.endswith(".dsn") else "t0ken-value-0123456789"
        )
    text = (EXAMPLES / "hub.toml").read_text().replace('"secrets/', f'"{secrets}/')
    config_file = tmp_path / "hub.toml"
    config_file.write_text(text)
    registry = Registry([PostgresConnector])
    config = load_config(config_file, env={}, ecosystem_env=registry.ecosystem_env())
    statuses = registry.resolve(config)
    assert [(s.instance, s.enabled) for s in statuses] == [("default", True), ("analytics", True)]
    assert config.http.tokens["review-bot"].token.get_secret_value() == "t0ken-value-0123456789"
    server = build_server(config, registry=registry)
    assert "postgres_query" in server.hub_tools and "postgres_execute" in server.hub_tools
    # every [hub] and [http] key the example shows is a real setting (extra keys would have failed above)
    assert config.hub.deny == ["*_execute"]


@pytest.mark.parametrize("snippet", ["claude_desktop_config.json", "vscode_mcp.json"])
def test_client_snippets_run_real_commands(snippet: str) -> None:
    data = json.loads((EXAMPLES / snippet).read_text())
    servers = data.get("mcpServers") or data["servers"]
    stdio = [s for s in servers.values() if "command" in s]
    assert stdio
    for server in stdio:
        assert server["command"] == "mcp-hub"
        args = _parser().parse_args(server["args"])  # raises SystemExit on a flag the CLI lacks
        assert args.command == "serve"
    for server in servers.values():
        if "url" in server:
            assert server["url"].endswith("/mcp")
            assert server["headers"]["Authorization"].startswith("Bearer ")


def test_inspector_script_runs_the_hub(tmp_path: Path) -> None:
    """The Inspector gets `mcp-hub` from PATH, else this clone's venv (what the README installs)."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    npx = fake_bin / "npx"
    npx.write_text('#!/bin/sh\necho "$@"\n')
    npx.chmod(0o755)
    without = subprocess.run(
        ["sh", str(EXAMPLES / "inspector.sh")],
        env={"PATH": f"{fake_bin}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert without.stdout.split() == ["@modelcontextprotocol/inspector", str(ROOT / ".venv/bin/mcp-hub"), "serve"]
    hub = fake_bin / "mcp-hub"
    hub.write_text("#!/bin/sh\n")
    hub.chmod(0o755)
    on_path = subprocess.run(
        ["sh", str(EXAMPLES / "inspector.sh")],
        env={"PATH": f"{fake_bin}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert on_path.stdout.split() == ["@modelcontextprotocol/inspector", str(hub), "serve"]


def test_readme_commands_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    test_command = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest -q -n auto"
    assert test_command in readme
    assert ".venv/bin/pytest -q -n auto" in (ROOT / ".ci" / "run").read_text()
    for link in re.findall(r"\]\((examples/[^)]+)\)", readme):
        assert (ROOT / link).exists(), link


# -- install lines: one distribution name, extras that exist, no release that was never published ---------


def _project() -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project


def _documents() -> list[Path]:
    """Every file a user reads an install line from, and the code's own `pip install` hints."""
    out = [ROOT / "README.md"]
    for top in ("connectors", "model", "mcp_hub", "examples", "deploy"):
        out += [p for p in sorted((ROOT / top).rglob("*")) if p.is_file() and p.suffix in DOC_SUFFIXES]
    return out


DOC_SUFFIXES = {".md", ".py", ".yml", ".yaml", ".toml", ".sh", ".json", ""}


def test_install_lines_name_the_published_distribution_and_real_extras() -> None:
    project = _project()
    name, extras = project["name"], set(project["optional-dependencies"])
    seen = 0
    for path in _documents():
        text = path.read_text(errors="replace")
        relative = path.relative_to(ROOT)
        # The old name (taken on PyPI by another project) never appears as something to install.
        assert not re.search(r"(?<![\w-])mcp[-_.]hub\[", text), relative
        assert not re.search(r"(?<![\w-])mcp[-_.]hub(==|>=|~=)", text), relative
        for match in re.finditer(re.escape(name) + r"\[([^\]]+)\]([^\s'\"`]*)", text):
            seen += 1
            if "{" in match.group(1):  # mcp_hub/install.py: the extras are its arguments
                continue
            assert set(match.group(1).split(",")) <= extras, (relative, match.group(0))
            assert not match.group(2).startswith("=="), (relative, "no release of it has been published")
        for match in re.finditer(r"pip install\s+(?:-e\s+)?'\.\[([^\]]+)\]'", text):
            if "{" in match.group(1):  # mcp_hub/install.py spells the command for its arguments
                continue
            assert set(match.group(1).split(",")) <= extras, (relative, match.group(0))
    # the scan does see the install lines (README, CI examples); the code's hints: tests/core/test_install_hints.py
    assert seen >= 5
    # The command and the import packages keep their names.
    assert project["scripts"] == {"mcp-hub": "mcp_hub.cli:main"}


@pytest.mark.parametrize("example", ["github-actions-review.yml", "gitlab-ci-review.yml"])
def test_ci_examples_install_from_the_repository_at_a_pinned_commit(example: str) -> None:
    text = (EXAMPLES / "review" / example).read_text()
    (guard,) = [line.strip().removeprefix("- ") for line in text.splitlines() if "grep -Eqx" in line]
    guard = guard.removesuffix("\\").strip()
    install = next(line for line in text.splitlines() if "pip install" in line)
    assert f'"{_project()["name"]}[' in install and "@ $MCP_HUB_SOURCE" in install
    sha = "0123456789abcdef0123456789abcdef01234567"
    cases = {
        f"git+https://github.com/acme/mcp-hub@{sha}": 0,
        "git+https://github.com/acme/mcp-hub@main": 1,  # a branch moves
        "git+https://github.com/acme/mcp-hub@v0.1.0": 1,
        f"git+https://github.com/acme/mcp-hub@{sha[:12]}": 1,
        "": 1,
        f"git+https://evil.example/x@{sha} ; curl evil": 1,
    }
    for value, expected in cases.items():
        ran = subprocess.run(["bash", "-c", guard], env={"MCP_HUB_SOURCE": value, "PATH": "/usr/bin:/bin"})
        assert ran.returncode == expected, value


def test_doc_install_lines_work_from_a_fresh_clone() -> None:
    """The distribution is not on PyPI: a document installs it from the clone (`pip install -e '.[x]'`)
    or from the repository at a commit (`'mcp-hub-selfhosted[x] @ git+…'`), never by name alone."""
    name = _project()["name"]
    # the name, its extras and quote, and then no `@ <url>`: the whole token, so no backtracking shortens it
    token = re.escape(name) + r"(\[[^\]]*\])?['\"]?(?![\[\w.-])(?!['\"]?\s*@)"
    by_name = re.compile(r"(?:pip3?|pipx|uv pip) install[^`\n]*?['\"]?" + token)
    uvx = re.compile(r"uvx\s+(?:--from\s+)?['\"]?" + token)
    checked = 0
    for path in _documents():
        if path.suffix == ".py":  # error hints name the extra to install, in the package's own words
            continue
        text = re.sub(r"\s*\n\s*", " ", path.read_text(errors="replace"))  # install lines wrap in prose
        checked += len(re.findall(r"(?:pip3?|pipx|uv pip) install|uvx ", text))
        assert not by_name.search(text), (path.relative_to(ROOT), by_name.search(text))
        assert not uvx.search(text), (path.relative_to(ROOT), uvx.search(text))
    assert checked >= 15
    # and the check bites: the forms a fresh clone cannot install
    for bad in (f"pip install '{name}[slack]'", f"pipx install {name}", f"uvx --from '{name}[all]' mcp-hub serve"):
        assert by_name.search(bad) or uvx.search(bad), bad
    for good in (f"pip install '{name}[slack] @ git+https://x/y@{'0' * 40}'", "pip install -e '.[slack]'"):
        assert not by_name.search(good) and not uvx.search(good), good


def test_federation_examples_move_a_claude_desktop_config_behind_the_hub(tmp_path: Path) -> None:
    """README's two steps: the old file's servers are read as they are, the new file runs the hub on them."""
    from mcp_hub.federation.settings import read_client_servers

    folder = EXAMPLES / "federation"
    servers = read_client_servers(folder / "servers.json", env={"TRACKER_TOKEN": "t0ken-0123456789"})
    assert set(servers) == {"filesystem", "time", "git", "tracker"}
    assert servers["tracker"]["headers"]["Authorization"] == "Bearer t0ken-0123456789"
    client = json.loads((folder / "claude_desktop_config.json").read_text())["mcpServers"]["mcp-hub"]
    args = _parser().parse_args(client["args"])
    assert client["command"] == "mcp-hub" and args.command == "serve"
    assert Path(args.servers).name == "servers.json"
    # the TOML example is valid, and builds a hub with both servers mounted (none is started here)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "notes.token").write_text("notes-token-0123456789")
    config_file = tmp_path / "hub.toml"
    config_file.write_text((folder / "hub.toml").read_text().replace('"secrets/', f'"{secrets}/'))
    env = {"TRACKER_TOKEN": "t0ken-0123456789"}
    config = load_config(config_file, env=env, servers_file=folder / "servers.json")
    assert config.servers["notes"].trusted and not config.servers["docs"].trusted
    assert config.servers["notes"].pin == "tofu" and config.servers["docs"].pin == "strict"
    assert config.servers["notes"].toolset_of("sync_all") == "admin"
    # the TOML's settings land on the servers.json entries of the same name
    assert config.servers["time"].command == "uvx" and "get_current_time" in config.servers["time"].read_only
    assert config.servers["git"].timeout_s == 60
    server = build_server(config, registry=Registry([]))
    assert server.federation is not None
    assert set(server.federation.links) == {"docs", "notes", "filesystem", "time", "git", "tracker"}
