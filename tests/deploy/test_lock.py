"""uv.lock matches pyproject.toml, and the image's exports (deploy/requirements/) match uv.lock: offline.

`uv lock --check --offline` is uv's own comparison of the lock with the project's requirements (the
same one `uv sync --locked` makes): it needs no index and no cache. deploy/lock.sh re-locks and
rewrites the exports; its `--exports-to DIR` mode writes the exports of the committed lock only.
A second check without uv compares the lock's own record of our requirements with pyproject.toml,
extra by extra.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.deploy.manifests import DEPLOY, ROOT

REQUIREMENTS = DEPLOY / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if found is None:
        pytest.fail("uv is not installed: it is in the test extra (pip install -e '.[test]')")
    return found


def run_uv(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"UV_OFFLINE": "1", "UV_NO_PROGRESS": "1"}
    return subprocess.run([uv(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def pins(path: Path) -> dict[str, str]:
    """name -> version of every requirement in an export, checking each carries its hashes."""
    out: dict[str, str] = {}
    entries = re.split(r"\n(?=[A-Za-z0-9])", path.read_text())
    for entry in entries:
        match = PIN.match(entry)
        if match is None:
            continue
        assert "--hash=sha256:" in entry, f"{path.name}: {match[1]} has no hash"
        out[match[1].lower().replace("_", "-")] = match[2]
    return out


def test_the_lock_matches_pyproject() -> None:
    done = run_uv("lock", "--check", "--offline", cwd=ROOT)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param('"anyio>=4.9",', '"anyio>=4.9", "six>=1.16",', id="a-new-requirement"),
        pytest.param('"anyio>=4.9",', '"anyio>=4.10",', id="a-changed-bound"),
        pytest.param('redis = ["redis>=5"]', 'redis = ["redis>=5", "hiredis>=3"]', id="a-new-requirement-of-an-extra"),
    ],
)
def test_the_lock_check_fails_when_pyproject_moves_on(tmp_path: Path, old: str, new: str) -> None:
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    assert run_uv("lock", "--check", "--offline", cwd=tmp_path).returncode == 0  # the copy alone is fine
    text = (tmp_path / "pyproject.toml").read_text()
    assert old in text
    (tmp_path / "pyproject.toml").write_text(text.replace(old, new, 1))
    done = run_uv("lock", "--check", "--offline", cwd=tmp_path)
    assert done.returncode != 0
    # uv says the lock is stale, or (offline, when the new requirement is not in the lock) that it
    # could not re-resolve without the index: either way the check fails and names the cause.
    said = ("needs to be updated", "the network was disabled")
    assert any(s in done.stderr for s in said), done.stderr


def test_the_image_exports_are_those_of_the_lock(tmp_path: Path) -> None:
    env = os.environ | {"PATH": f"{Path(uv()).parent}{os.pathsep}{os.environ.get('PATH', '')}", "UV_OFFLINE": "1"}
    done = subprocess.run(
        ["/bin/sh", str(DEPLOY / "lock.sh"), "--exports-to", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in REQUIREMENTS.iterdir()) == ["build.txt", "server-agent.txt", "server.txt"]
    for name in written:
        assert (tmp_path / name).read_text() == (REQUIREMENTS / name).read_text(), f"run deploy/lock.sh: {name}"


def test_the_server_image_has_every_connector_and_neither_bandit_nor_vllm() -> None:
    server, agent = pins(REQUIREMENTS / "server.txt"), pins(REQUIREMENTS / "server-agent.txt")
    sdks = {"pygithub", "python-gitlab", "slack-sdk", "google-api-python-client", "psycopg", "mcp", "uvicorn"}
    assert sdks <= server.keys()
    assert not {"bandit", "vllm", "torch", "pytest", "mcp-hub-selfhosted"} & server.keys()
    # --build-arg EXTRAS=server,agent adds the scanner and what it needs, nothing else moves
    assert "bandit" in agent and "vllm" not in agent and "torch" not in agent
    assert {k: v for k, v in agent.items() if k in server} == server
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    locked = {p["name"]: p["version"] for p in lock["package"] if "version" in p}
    for name, version in (server | agent).items():
        assert locked[name] == version, name


def test_the_build_backend_is_locked_as_build_system_requires() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    requires = [Requirement(r) for r in pyproject["build-system"]["requires"]]
    assert [str(Requirement(r)) for r in pyproject["dependency-groups"]["build"]] == [str(r) for r in requires]
    backend = pins(REQUIREMENTS / "build.txt")
    for requirement in requires:
        assert requirement.specifier.contains(backend[requirement.name.lower()]), requirement


# -- a second wall, without uv: the lock's record of our requirements, extra by extra -------------------

Req = tuple[str, frozenset[str], str]


def _key(name: str, extras: list[str] | set[str], specifier: str) -> Req:
    spec = ",".join(sorted(str(s) for s in SpecifierSet(specifier)))
    return canonicalize_name(name), frozenset(extras), spec


def declared(pyproject: dict[str, object]) -> dict[str | None, set[Req]]:
    """pyproject.toml's requirements by extra (None: the base requirements)."""
    project = pyproject["project"]
    assert isinstance(project, dict)
    out: dict[str | None, set[Req]] = {None: set()}
    groups: list[tuple[str | None, list[str]]] = [(None, project["dependencies"])]
    groups += list(project["optional-dependencies"].items())
    for extra, requirements in groups:
        for text in requirements:
            req = Requirement(text)
            assert req.marker is None, text  # markers would need evaluating here
            out.setdefault(extra, set()).add(_key(req.name, req.extras, str(req.specifier)))
    return out


def locked(lock: dict[str, object], name: str) -> dict[str | None, set[Req]]:
    """The same, as uv.lock recorded it for the project (`[package.metadata] requires-dist`)."""
    packages = lock["package"]
    assert isinstance(packages, list)
    (root,) = [p for p in packages if p["name"] == name]
    out: dict[str | None, set[Req]] = {None: set()}
    for entry in root["metadata"]["requires-dist"]:
        marker = entry.get("marker", "")
        match = re.fullmatch(r"extra == '([\w-]+)'", marker)
        assert marker == "" or match, marker
        extra = match[1] if match else None
        out.setdefault(extra, set()).add(_key(entry["name"], entry.get("extras", []), entry.get("specifier", "")))
    return out


def test_the_lock_records_each_extras_requirements_as_declared() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    name = pyproject["project"]["name"]
    assert locked(lock, name) == declared(pyproject)
    (root,) = [p for p in lock["package"] if p["name"] == name]
    assert root["metadata"]["provides-extras"] == list(pyproject["project"]["optional-dependencies"])


def test_the_per_extra_comparison_sees_a_change() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    name = pyproject["project"]["name"]
    pyproject["project"]["optional-dependencies"]["redis"] = ["redis>=6"]
    assert locked(lock, name) != declared(pyproject)
