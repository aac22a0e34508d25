"""Every "not installed" hint in the code is a command that works before the package is on PyPI.

The hints come from one place (`mcp_hub/install.py`): its two commands are the ones the README's
install section documents, each extra a hint names exists in `pyproject.toml`, and no other string in
`mcp_hub/`, `connectors/` or `model/` spells a `pip install` of an extra by itself.
"""

from __future__ import annotations

import ast
import re
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from mcp_hub.install import DISTRIBUTION, install_commands, install_hint

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = set(PROJECT["optional-dependencies"])
HINT_FUNCTIONS = {"install_hint", "install_commands"}
#: The one `pip install` any other string may mention: re-reading a checkout's entry points.
PLAIN_REINSTALL = re.compile(r"pip install -e \.(?![\[\w])")


def _readme() -> str:
    """README.md with its prose wrapping undone (install lines break across lines)."""
    return re.sub(r"\s*\n\s*", " ", (ROOT / "README.md").read_text())


def _strings(tree: ast.AST) -> list[str]:
    """Every string literal, f-strings' literal parts included."""
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _sources() -> list[Path]:
    return [p for top in ("mcp_hub", "connectors", "model") for p in sorted((ROOT / top).rglob("*.py"))]


def stray_install_commands(source: str) -> list[str]:
    """`pip install …` spelled outside mcp_hub/install.py (the bare editable reinstall aside)."""
    out = []
    for text in _strings(ast.parse(source)):
        for match in re.finditer(r"pip3? install[^\n]*", text):
            if not PLAIN_REINSTALL.match(match.group(0)):
                out.append(match.group(0))
    return out


def named_extras(source: str) -> list[str]:
    """The extras named by literal arguments of install_hint/install_commands calls."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in HINT_FUNCTIONS:
                for arg in node.args:
                    assert isinstance(arg, ast.Constant | ast.BoolOp), ast.unparse(node)  # literal or `extra or name`
                    out += [arg.value] if isinstance(arg, ast.Constant) else []
    return out


def test_the_hint_commands_are_the_forms_the_readme_documents() -> None:
    readme = _readme()
    # the README's own example of the two forms, with its extras
    checkout, repository = install_commands("github", "slack")
    assert f"install from a clone (`{checkout}`)" in readme
    assert f"from the repository (`{repository}`)" in readme
    hint = install_hint("tracing")
    assert hint.startswith("install the `tracing` extra: ")
    assert all(command in hint for command in install_commands("tracing"))
    assert f"'{DISTRIBUTION}[tracing] @ git+" in hint  # never by name alone: it is not on PyPI


def test_every_hint_in_the_code_comes_from_install_py_and_names_a_real_extra() -> None:
    named: list[str] = []
    for path in _sources():
        source = path.read_text()
        relative = path.relative_to(ROOT).as_posix()
        if relative == "mcp_hub/install.py":  # where the commands are spelled, from its arguments
            continue
        assert stray_install_commands(source) == [], relative
        named += named_extras(source)
    assert len(named) >= 10  # the scan sees the hints (tracing, oidc, metrics, state, console, postgres, vllm …)
    assert set(named) <= EXTRAS, set(named) - EXTRAS


def test_each_connectors_missing_module_hint_names_a_real_extra() -> None:
    """The registry's hint is `install_hint(extra or name)`: each manifest with modules to miss names an extra."""
    checked = 0
    for point in entry_points(group="mcp_hub.connectors"):
        manifest = point.load()
        if manifest.requires:
            assert (manifest.extra or point.name) in EXTRAS, point.name
            checked += 1
    assert checked >= 5


@pytest.mark.parametrize(
    ("source", "stray", "extras"),
    [
        ("raise ConfigError(\"needs x: pip install 'mcp-hub-selfhosted[redis]'\")", True, []),
        ("msg = f\"needs: pip install -e '.[{extra}]'\"", True, []),
        ('"""Bandit is optional (`pip install bandit`)."""', True, []),
        ('"""works before the next `pip install -e .`."""', False, []),
        ("raise ConfigError(f\"needs x: {install_hint('rediss')}\")", False, ["rediss"]),
    ],
)
def test_the_checks_catch_a_hand_written_hint_and_an_unknown_extra(source: str, stray: bool, extras: list[str]) -> None:
    assert bool(stray_install_commands(source)) is stray
    assert named_extras(source) == extras
    assert not set(extras) <= EXTRAS or not extras
