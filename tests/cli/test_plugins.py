"""Commands plug in through the `mcp_hub.commands` entry-point group; the core never imports them for `serve`."""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_hub import cli
from mcp_hub.commands import command_points

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ("model", "connectors")


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_")}
    base["PYTHONPATH"] = os.pathsep.join(p for p in (extra.pop("PYTHONPATH", ""), str(ROOT)) if p)
    return base | extra


MODULES_AFTER_PARSING = (
    "import sys\n"
    "from mcp_hub import cli\n"
    "argv = sys.argv[1:]\n"
    "cli._parser(cli._plugins_for(argv)).parse_args(argv)\n"
    "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('model', 'connectors'))))\n"
)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["serve"], set()),
        (["serve", "--transport", "http", "--port", "0"], set()),
        (["tools", "--json"], set()),
        # the check sees a plug-in when one is loaded: the command that names it loads it, and only it
        (["review", "https://github.com/o/r/pull/1"], {"model.cli"}),
        (["postgres", "demo"], {"connectors.postgres.commands"}),
    ],
)
def test_core_commands_import_no_plugin(argv: list[str], expected: set[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", MODULES_AFTER_PARSING, *argv], capture_output=True, text=True, env=env(), cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert expected <= loaded
    if not expected:
        assert loaded == set()
    else:  # the one named, never the others
        other = "connectors.postgres.commands" if "model.cli" in expected else "model.cli"
        assert other not in loaded


AS_RUN = (
    "import atexit, runpy, sys\n"
    "atexit.register(lambda: print(' '.join(sorted(sys.modules)), file=sys.stderr))\n"
    "runpy.run_module('mcp_hub.cli', run_name='__main__', alter_sys=True)\n"
)


def modules_as_run(*argv: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """`python -m mcp_hub.cli ARGV` as a user runs it, and every module it had imported when it exited
    (sys.modules, which also sees importlib's imports: -X importtime does not)."""
    done = subprocess.run(
        [sys.executable, "-c", AS_RUN, *argv], capture_output=True, text=True, env=env(), cwd=ROOT, timeout=60
    )
    return done, set(done.stderr.splitlines()[-1].split())


def test_serve_help_imports_neither_model_nor_connectors() -> None:
    done, modules = modules_as_run("serve", "--help")
    assert done.returncode == 0 and "--transport" in done.stdout
    assert "mcp_hub.commands" in modules
    assert not {m for m in modules if m.split(".")[0] in FOREIGN}
    assert "mcp_hub.completion" not in modules  # imported only by `mcp-hub completion`
    # `servers` is a core command, but only its arguments are built for other commands (no federation)
    assert "mcp_hub.federation.pin_args" in modules
    assert not {"mcp_hub.federation.pin_cli", "mcp_hub.federation.pins", "mcp_hub.federation.poison"} & modules
    # ... while the top-level help imports every plug-in, so it can list them
    done, modules = modules_as_run("--help")
    assert done.returncode == 0
    assert {"model.cli", "connectors.postgres.commands"} <= modules


def test_core_package_never_imports_model_or_connectors() -> None:
    """Statically, anywhere in mcp_hub/ (lazy imports in functions included)."""
    offenders = []
    for path in sorted((ROOT / "mcp_hub").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in FOREIGN]
    assert offenders == []


def test_help_lists_every_registered_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mcp_hub.cli", "--help"], capture_output=True, text=True, env=env(), cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    points = command_points()
    assert {"postgres", "model", "agent", "review", "triage", "webhook"} <= set(points)
    for name in [*cli.CORE_COMMANDS, *points]:
        assert f"\n    {name} " in done.stdout, name


def _paths(parser: argparse.ArgumentParser, prefix: list[str]) -> list[list[str]]:
    """Every command path in the parser tree: ["postgres"], ["postgres", "demo"], …"""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append([*prefix, name])
                found += _paths(sub, [*prefix, name])
    return found


@pytest.mark.parametrize("name", sorted(command_points()))
def test_every_registered_command_has_working_help(name: str) -> None:
    """Through the real loading path (only this plug-in imported), for the command and each subcommand."""
    done = subprocess.run(
        [sys.executable, "-m", "mcp_hub.cli", name, "--help"], capture_output=True, text=True, env=env(), cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: mcp-hub {name}")
    parser = cli._parser([name])
    for path in [p for p in _paths(parser, []) if p[0] == name]:
        with pytest.raises(SystemExit) as exited:
            parser.parse_args([*path, "--help"])
        assert exited.value.code == 0, path
    handlers = {sub.get_default("handler") for p, sub in _subparsers(parser) if p == name}
    assert handlers and None not in handlers  # the registration set a handler for the command


def _subparsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices.items())


PLUGIN = """
import argparse

def register(commands):
    hello = commands.add_parser("hello", help="say hello (a third-party command)")
    hello.add_argument("--name", default="world")
    hello.set_defaults(handler=lambda args: print(f"hello {args.name}") or 0)
"""


def _install_plugin(tmp_path: Path, value: str) -> Path:
    """A distribution with one entry point in the group, found on PYTHONPATH as pip would install it."""
    (tmp_path / "hello_plugin.py").write_text(PLUGIN)
    dist = tmp_path / "hello_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hello-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[mcp_hub.commands]\nhello = {value}\n")
    return tmp_path


def test_a_third_party_command_is_one_registration_function(tmp_path: Path) -> None:
    path = _install_plugin(tmp_path, "hello_plugin:register")
    run = [sys.executable, "-m", "mcp_hub.cli"]
    done = subprocess.run(
        [*run, "hello", "--name", "hub"], capture_output=True, text=True, env=env(PYTHONPATH=str(path))
    )
    assert (done.returncode, done.stdout) == (0, "hello hub\n"), done.stderr
    listed = subprocess.run([*run, "--help"], capture_output=True, text=True, env=env(PYTHONPATH=str(path)))
    assert "say hello (a third-party command)" in listed.stdout
    # ... and without it installed, no such command
    absent = subprocess.run([*run, "hello"], capture_output=True, text=True, env=env())
    assert absent.returncode == 2 and "invalid choice: 'hello'" in absent.stderr


def test_a_broken_plugin_does_not_take_the_cli_down(tmp_path: Path) -> None:
    path = _install_plugin(tmp_path, "no_such_module:register")
    done = subprocess.run(
        [sys.executable, "-m", "mcp_hub.cli", "--help"], capture_output=True, text=True, env=env(PYTHONPATH=str(path))
    )
    assert done.returncode == 0 and "review" in done.stdout
    assert "command 'hello' is not available (ModuleNotFoundError" in done.stderr


def test_the_project_declares_each_of_its_commands_once() -> None:
    """pyproject.toml's group names every command model/cli.py and the Postgres connector add (a command
    added there without its entry point would never be offered), and the checkout's declarations are what
    `command_points` serves even when the installed metadata predates them."""
    import tomllib

    from mcp_hub.commands import GROUP, _checkout_points
    from model.cli import COMMANDS

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][GROUP]
    assert set(declared) == {*COMMANDS, "postgres", "approvals"}
    assert {p.name: p.value for p in _checkout_points()} == declared
    points = command_points()
    assert {name: points[name].value for name in declared} == declared


def test_a_registration_without_handler_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "mute_plugin.py").write_text("def register(commands):\n    commands.add_parser('mute')\n")
    dist = tmp_path / "mute_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mute-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[mcp_hub.commands]\nmute = mute_plugin:register\n")
    done = subprocess.run(
        [sys.executable, "-m", "mcp_hub.cli", "mute"], capture_output=True, text=True, env=env(PYTHONPATH=str(tmp_path))
    )
    assert done.returncode == 2 and "command 'mute' registered no handler" in done.stderr
