"""deploy/Dockerfile and the image's entrypoint and healthcheck, run directly with the image's environment."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.deploy.dockerfile import DOCKERFILE, stages
from tests.deploy.manifests import DEPLOY, ROOT
from tests.support.http_server import free_port, wait_healthy

ENTRYPOINT = DEPLOY / "entrypoint.sh"
HEALTHCHECK = DEPLOY / "healthcheck.py"
TOKEN = "deploy-test-token-0123456789abcdef"


def image_env(**overrides: str) -> dict[str, str]:
    """The environment the runtime stage sets, with this venv's `mcp-hub` first on PATH."""
    runtime = stages()[-1].env()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_") and k != "DATABASE_URL"}
    env |= {k: v for k, v in runtime.items() if k != "PATH"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = env["TMPDIR"] = os.environ.get("TMPDIR", "/tmp")
    return env | overrides


@contextmanager
def entrypoint(env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[str]]:
    port = env["MCP_HUB_HTTP__PORT"]
    proc = subprocess.Popen(
        ["/bin/sh", str(ENTRYPOINT), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_healthy(proc, port, 30, "the entrypoint did not start the hub")
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


def test_dockerfile_is_multi_stage_non_root_with_every_connector_and_a_healthcheck() -> None:
    build, runtime = stages()
    assert (build.name, runtime.name) == ("build", "runtime")
    assert build.base == runtime.base == "${PYTHON_IMAGE}"  # pinned by digest: test_dockerfile_lint.py
    install = next(run for run in build.all("RUN") if "--require-hashes" in run)
    # EXTRAS picks one export of the lock: "server,agent" -> deploy/requirements/server-agent.txt
    assert 'requirements="deploy/requirements/$(echo "${EXTRAS}" | tr , -).txt"' in install
    assert "EXTRAS" in build.all("ARG")
    (default,) = re.findall(r"^ARG EXTRAS=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert (ROOT / "deploy" / "requirements" / f"{default.replace(',', '-')}.txt").is_file()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["optional-dependencies"]
    entry_points = project["entry-points"]["mcp_hub.connectors"]

    def closure(extra: str) -> set[str]:
        out = {extra}
        for requirement in declared[extra]:
            if requirement.startswith(project["name"] + "["):
                for inner in requirement.split("[", 1)[1].split("]", 1)[0].split(","):
                    out |= closure(inner)
        return out

    installed = set().union(*(closure(extra) for extra in default.split(",")))
    connectors = {name for name in entry_points if name in declared}  # review needs no extra
    assert connectors == {"postgres", "github", "gitlab", "slack", "gdrive"}
    assert connectors <= installed
    # The agent's scanner only when asked for (--build-arg EXTRAS=server,agent); vLLM never (its own image).
    assert "agent" not in installed and "vllm" not in installed
    packages = {r.split("[")[0].split(">")[0].split("=")[0].lower() for e in installed for r in declared[e]}
    assert "bandit" not in packages and "vllm" not in packages
    assert any(source.startswith("--from=build ") for source in runtime.all("COPY"))
    # Only the runtime stage ships: no compiler, no pip cache, a non-root numeric user.
    (user,) = runtime.all("USER")
    uid, _, gid = user.partition(":")
    assert int(uid) > 0 and int(gid) > 0
    assert f"--uid {uid}" in " ".join(runtime.all("RUN"))
    (healthcheck,) = runtime.all("HEALTHCHECK")
    assert json.loads(healthcheck.split("CMD ", 1)[1]) == ["python", "/usr/local/bin/mcp-hub-healthcheck"]
    assert runtime.exec_form("ENTRYPOINT") == ["/usr/local/bin/mcp-hub-entrypoint"]
    assert runtime.exec_form("CMD") == ["serve"]
    copies = dict(reversed(c.split()) for c in runtime.all("COPY") if not c.startswith("--"))
    assert copies == {
        "/usr/local/bin/mcp-hub-entrypoint": "deploy/entrypoint.sh",
        "/usr/local/bin/mcp-hub-healthcheck": "deploy/healthcheck.py",
    }
    for source in copies.values():
        assert (ROOT / source).is_file() and os.access(ROOT / source, os.X_OK)
    env = runtime.env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1" and env["HOME"] == env["TMPDIR"] == "/tmp"
    assert env["MCP_HUB_HTTP__HOST"] == "0.0.0.0"
    assert env["MCP_HUB_HTTP__TOKENS__TEAM__TOKEN_FILE"].startswith("/run/secrets/")
    # Every file the build stage copies exists in the build context.
    for copy in build.all("COPY"):
        for source in copy.split()[:-1]:
            assert (ROOT / source).exists(), source


def test_dockerignore_lets_in_what_the_build_copies() -> None:
    lines = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    ignore = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = {s.rstrip("/") for c in stages()[0].all("COPY") for s in c.split()[:-1]}
    copied |= {c.split()[0] for c in stages()[-1].all("COPY") if not c.startswith("--")}
    assert copied <= allowed
    assert ignore[0] == "*"  # everything else stays out (.venv, deploy/secrets, .git)


def test_the_build_stage_copies_what_the_wheel_build_reads() -> None:
    """The readme and every license-files entry (PEP 639): setuptools fails on a missing one."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    copied = [s.rstrip("/") for c in stages()[0].all("COPY") for s in c.split()[:-1]]
    needed = [project["readme"], *project["license-files"]]
    assert needed[1:] and all(any(n == c or n.startswith(c + "/") for c in copied) for n in needed), needed


def test_entrypoint_serves_streamable_http_with_the_token_and_audits_to_stdout(pg_dsn: Any, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "token").write_text(TOKEN + "\n")
    port = str(free_port())
    env = image_env(
        MCP_HUB_HTTP__PORT=port,
        MCP_HUB_HTTP__TOKENS__TEAM__TOKEN_FILE=str(secrets / "token"),
        DATABASE_URL=pg_dsn.reader_dsn,
    )
    assert env["MCP_HUB_HTTP__HOST"] == "0.0.0.0"  # as in the image: the hub's public-bind guard applies
    with entrypoint(env) as proc:
        base = f"http://127.0.0.1:{port}"
        assert httpx2.post(f"{base}/mcp", json={}).status_code == 401
        health = subprocess.run([sys.executable, str(HEALTHCHECK)], env=env, capture_output=True, timeout=30)
        assert health.returncode == 0, health.stderr

        async def call() -> Any:
            http = create_mcp_http_client(headers={"authorization": f"Bearer {TOKEN}"})
            async with http, Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
                return await client.call_tool("postgres_query", {"sql": "SELECT 6 * 7 AS n"})

        import anyio

        result = anyio.run(call)
        assert result.structured_content["rows"] == [[42]]
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=15)
    audit = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    assert [(a["caller"], a["tool"], a["outcome"]) for a in audit] == [("team", "postgres_query", "ok")]
    assert "listening on http://0.0.0.0:" in stderr
    assert TOKEN not in stdout + stderr


def test_healthcheck_fails_when_nothing_answers() -> None:
    env = image_env(MCP_HUB_HTTP__PORT=str(free_port()))
    done = subprocess.run([sys.executable, str(HEALTHCHECK)], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "unhealthy: http://127.0.0.1:" in done.stderr


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (None, "which does not exist: mount the hub's bearer token there"),
        ("", "which is empty: write a long random token into it"),
    ],
)
def test_entrypoint_refuses_to_start_without_a_usable_token_file(tmp_path: Path, make: str | None, says: str) -> None:
    token = tmp_path / "token"
    if make is not None:
        token.write_text(make)
    env = image_env(MCP_HUB_HTTP__PORT=str(free_port()), MCP_HUB_HTTP__TOKENS__TEAM__TOKEN_FILE=str(token))
    done = subprocess.run(["/bin/sh", str(ENTRYPOINT)], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 64
    assert f"MCP_HUB_HTTP__TOKENS__TEAM__TOKEN_FILE names {token}, {says}" in done.stderr


def test_entrypoint_refuses_an_unreadable_token_file() -> None:
    # A directory anyone may enter (pytest's tmp_path is private to its user), a file nobody may read.
    with tempfile.TemporaryDirectory() as directory:
        Path(directory).chmod(0o755)
        token = Path(directory) / "token"
        token.write_text(TOKEN)
        token.chmod(0)
        env = image_env(MCP_HUB_HTTP__PORT=str(free_port()), MCP_HUB_HTTP__TOKENS__TEAM__TOKEN_FILE=str(token))
        command = ["/bin/sh", str(ENTRYPOINT)]
        if os.geteuid() == 0:  # root reads any file: run as nobody, as the image runs as 10001
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 64
    uid = 65534 if os.geteuid() == 0 else os.geteuid()
    assert f"names {token}, which user {uid} cannot read: make it readable" in done.stderr


def test_entrypoint_passes_other_commands_to_mcp_hub() -> None:
    done = subprocess.run(
        ["/bin/sh", str(ENTRYPOINT), "--version"], env=image_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.startswith("mcp-hub ")
