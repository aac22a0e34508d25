"""`mcp-hub completion bash|zsh|fish`: scripts from the real argument parser, exercised in the real shells.

bash is always there; zsh and fish are installed by `.ci/run` (as root, from apt) and are required there:
these tests fail, not skip, when CI is meant to have them (CI_REQUIRE_SHELLS=1)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_hub import cli
from mcp_hub.completion import walk

ROOT = Path(__file__).resolve().parents[2]


def generate(shell: str, *, pythonpath: str = "") -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pythonpath, str(ROOT)) if p)
    done = subprocess.run(
        [sys.executable, "-m", "mcp_hub.cli", "completion", shell], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def bash_complete(script: str, tmp_path: Path, *words: str) -> list[str]:
    """What bash's programmable completion offers for the command line `words` (the last one being typed)."""
    path = tmp_path / "mcp-hub.bash"
    path.write_text(script)
    driver = (
        f'source "{path}"\n'
        'COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=()\n'
        'fn=$(complete -p mcp-hub | sed -E "s/.*-F ([^ ]+) .*/\\1/")\n'
        '"$fn"; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(["bash", "-c", driver, "bash", *words], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_commands_subcommands_options_and_choices(tmp_path: Path) -> None:
    script = generate("bash")
    top = next(n for n in walk(cli._parser()) if n.path == "")
    assert bash_complete(script, tmp_path, "mcp-hub", "") == list(top.commands)  # every command, plug-ins too
    assert {"serve", "postgres", "review", "webhook", "completion"} <= set(top.commands)
    assert bash_complete(script, tmp_path, "mcp-hub", "po") == ["postgres"]
    assert bash_complete(script, tmp_path, "mcp-hub", "postgres", "") == ["demo", "create-reader", "drop-reader"]
    assert bash_complete(script, tmp_path, "mcp-hub", "postgres", "d") == ["demo", "drop-reader"]
    assert bash_complete(script, tmp_path, "mcp-hub", "serve", "--tr") == ["--transport"]
    assert bash_complete(script, tmp_path, "mcp-hub", "serve", "--transport", "") == ["stdio", "sse", "http"]
    assert bash_complete(script, tmp_path, "mcp-hub", "review", "--fail-on", "h") == ["high"]
    assert bash_complete(script, tmp_path, "mcp-hub", "completion", "") == ["bash", "zsh", "fish"]
    # an option's value is not taken for a subcommand: `serve` after --config is a file name
    assert bash_complete(script, tmp_path, "mcp-hub", "serve", "--config", "serve", "--log-f") == ["--log-format"]
    assert bash_complete(script, tmp_path, "mcp-hub", "model", "serve", "--dry") == ["--dry-run"]
    # a value with no choices completes file names
    (tmp_path / "hub.toml").write_text("")
    assert bash_complete(script, tmp_path, "mcp-hub", "serve", "--config", "hu") == ["hub.toml"]


def test_a_plugin_command_completes_once_installed(tmp_path: Path) -> None:
    """No list is kept by hand: a third-party command from the entry-point group is in the script."""
    from tests.cli.test_plugins import _install_plugin

    (tmp_path / "site").mkdir()
    plugin = _install_plugin(tmp_path / "site", "hello_plugin:register")
    script = generate("bash", pythonpath=str(plugin))
    assert bash_complete(script, tmp_path, "mcp-hub", "hel") == ["hello"]
    assert bash_complete(script, tmp_path, "mcp-hub", "hello", "--") == ["--help", "--name"]
    assert bash_complete(generate("bash"), tmp_path, "mcp-hub", "hel") == []


def _shell(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI_REQUIRE_SHELLS"):
            pytest.fail(f"{name} is not installed: .ci/run installs it (apt-get install {name})")
        pytest.skip(f"{name} is not installed here (.ci/run installs it)")
    return found


def test_fish_script_parses_and_completes(tmp_path: Path) -> None:
    fish = _shell("fish")
    path = tmp_path / "mcp-hub.fish"
    path.write_text(generate("fish"))
    assert subprocess.run([fish, "-n", str(path)], capture_output=True).returncode == 0

    def offered(line: str) -> list[str]:
        done = subprocess.run(
            [fish, "--no-config", "-c", f"source {path}; complete -C '{line}'"], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return [entry.split("\t")[0] for entry in done.stdout.splitlines()]

    assert offered("mcp-hub po") == ["postgres"]
    assert sorted(offered("mcp-hub postgres ")) == ["create-reader", "demo", "drop-reader"]
    assert sorted(offered("mcp-hub serve --transport ")) == ["http", "sse", "stdio"]
    assert "--transport" in offered("mcp-hub serve --tr")


ZSH_DRIVER = """
compdef() { print "compdef $*" }
source %s
# compsys's builtins, recording what the function offers (zsh then filters by $PREFIX itself)
_describe() { shift 2; local name=$2; print -l -- "${(@P)name}" }
compadd() { shift; print -l -- "$@" }
_files() { print "<files>" }
words=("$@"); CURRENT=$#; PREFIX="${words[CURRENT]}"
_mcp_hub
"""


def test_zsh_script_parses_and_completes(tmp_path: Path) -> None:
    zsh = _shell("zsh")
    path = tmp_path / "_mcp-hub"
    path.write_text(generate("zsh"))
    assert subprocess.run([zsh, "-n", str(path)], capture_output=True).returncode == 0
    driver = tmp_path / "driver.zsh"
    driver.write_text(ZSH_DRIVER % path)

    def offered(*words: str) -> list[str]:
        done = subprocess.run([zsh, "-f", str(driver), *words], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("compdef _mcp_hub mcp-hub\n")  # sourced: it registers itself
        return done.stdout.splitlines()[1:]

    top = offered("mcp-hub", "")
    assert "serve:run the MCP server" in top and any(line.startswith("review:") for line in top)
    assert [line.split(":")[0] for line in offered("mcp-hub", "postgres", "d")] == [
        "demo",
        "create-reader",
        "drop-reader",
    ]
    assert offered("mcp-hub", "serve", "--transport", "") == ["stdio", "sse", "http"]
    serve_options = [line.split(":")[0] for line in offered("mcp-hub", "serve", "--config", "serve", "--tr")]
    assert "--transport" in serve_options and "--log-format" in serve_options and "demo" not in serve_options
    assert offered("mcp-hub", "serve", "--config", "h") == ["<files>"]
    assert [line.split(":")[0] for line in offered("mcp-hub", "completion", "")] == ["bash", "zsh", "fish"]


def test_the_cli_offers_every_shell_the_generator_knows() -> None:
    from mcp_hub.completion import SHELLS

    assert cli.SHELLS == SHELLS


def test_unknown_shell_is_a_clear_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mcp_hub.cli", "completion", "powershell"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 2 and "invalid choice: 'powershell'" in done.stderr
