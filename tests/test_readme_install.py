"""The README's install lines work as written from a fresh clone (tests/support/readme_install.py).

The main line (`pip install -e '.[all,embedded]'`, then `mcp-hub`) is run here in a fresh venv of a
`git clone` of this checkout's committed state (~35 s: pip resolves from the package index), and the
install-from-the-repository form at the clone's HEAD commit (~20 s). The test
line (`pip install -e '.[test]' && pytest -q`) is what `.ci/run` itself runs on its clean clone
(`tests/test_examples.py::test_readme_commands_exist` keeps the two the same).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support.readme_install import (
    INSTALL_LINE,
    ROOT,
    install_lines,
    probe_script,
    repository_commands,
    run,
    run_repository,
    setup_part,
)

README = (ROOT / "README.md").read_text()
LINES = install_lines(README)
EXTRAS = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])


def test_the_readme_install_lines_are_parsed_out_of_the_readme() -> None:
    by_extras = {",".join(extras): line for line, extras in LINES}
    assert set(by_extras) >= {"all,embedded", "test"}
    assert all(set(extras) <= EXTRAS for _, extras in LINES)
    main = by_extras["all,embedded"]
    assert main in README  # run as written, not retyped
    assert setup_part(main) == "python3 -m venv .venv && .venv/bin/pip install -e '.[all,embedded]'"
    # what is not a venv-and-install line is not taken for one
    for other in ("pip install 'mcp-hub-selfhosted[all]'", "python3 -m venv .venv && .venv/bin/pip install mcp-hub"):
        assert not INSTALL_LINE.match(other)


def test_the_extra_probe_fails_when_an_extra_is_missing() -> None:
    ok = subprocess.run([sys.executable, "-c", probe_script(["psycopg", "jwt"], None)])
    missing = subprocess.run([sys.executable, "-c", probe_script(["psycopg", "vllm"], None)], capture_output=True)
    assert ok.returncode == 0
    assert missing.returncode != 0 and b"ModuleNotFoundError" in missing.stderr


def test_the_main_install_line_works_from_a_fresh_clone(tmp_path: Path) -> None:
    (line, extras) = next((line, extras) for line, extras in LINES if "all" in extras)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    assert not (clone / ".venv").exists()
    try:
        checked = run(line, extras, clone)
    except RuntimeError as error:
        pytest.fail(str(error))
    # `all` brings every connector and the agent's scanner; `embedded` its PostgreSQL
    assert {"github", "gitlab", "slack", "gdrive", "postgres", "embedded", "agent", "console"} <= set(checked)


def test_the_repository_install_form_works_at_a_commit(tmp_path: Path) -> None:
    """`pip install 'mcp-hub-selfhosted[github,slack] @ git+<repository URL>@<commit>'`, the form the
    code's install hints also give (mcp_hub/install.py), filled in with a clone and its HEAD."""
    (command, extras) = repository_commands(README)[0]
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    try:
        checked = run_repository(command, extras, clone, tmp_path / "venv")
    except RuntimeError as error:
        pytest.fail(str(error))
    assert {"github", "slack", "oidc"} <= set(checked)  # github pulls in oidc
    # installed from the commit, not from the clone's folder (no editable link back to it)
    done = subprocess.run(
        [tmp_path / "venv" / "bin" / "python", "-c", "import mcp_hub; print(mcp_hub.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,  # not this checkout, which `python -c` would import from
    )
    assert done.stdout.startswith(str(tmp_path / "venv"))
