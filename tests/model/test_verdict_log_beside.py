"""The verdict log derived beside the hub's audit log: a file gets a sibling (`audit.agent.jsonl`), a stream
(the images set `MCP_HUB_AUDIT_LOG=/dev/stdout`) is shared, never turned into a new file in `/dev`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from model.gate import VerdictLog, is_stream


@pytest.mark.parametrize("stream", ["/dev/stdout", "/dev/stderr", "/dev/fd/1", "/proc/self/fd/2", "/dev/null"])
def test_a_stream_is_shared_not_derived(stream: str) -> None:
    assert VerdictLog.beside(Path(stream)) == Path(stream)


def test_a_fifo_anywhere_is_a_stream(tmp_path: Path) -> None:
    fifo = tmp_path / "audit.pipe"
    os.mkfifo(fifo)
    assert is_stream(fifo) and VerdictLog.beside(fifo) == fifo


@pytest.mark.parametrize(
    ("audit", "verdicts"),
    [("audit.jsonl", "audit.agent.jsonl"), ("audit", "audit.agent.jsonl"), ("logs/hub.log", "logs/hub.agent.log")],
)
def test_a_file_gets_its_sibling(tmp_path: Path, audit: str, verdicts: str) -> None:
    assert VerdictLog.beside(tmp_path / audit) == tmp_path / verdicts  # not there yet
    (tmp_path / audit).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / audit).write_text("")
    assert VerdictLog.beside(tmp_path / audit) == tmp_path / verdicts  # there, a regular file
    assert not is_stream(tmp_path)  # a directory is not a stream either


def test_the_verdicts_reach_the_processes_stdout_and_nothing_is_created_in_dev() -> None:
    """The image's setting, end to end, in a process of its own whose stdout is a pipe."""
    before = set(os.listdir("/dev"))
    code = (
        "from pathlib import Path\n"
        "from model.gate import GateDecision, VerdictLog\n"
        "log = VerdictLog(VerdictLog.beside(Path('/dev/stdout')))\n"
        "log.record('run-1', 'github_create_issue', {'title': 't'}, GateDecision('denied', ['no'], 'policy'), 'a/b')\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ | {"PYTHONPATH": str(root)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["run"] == "run-1" and line["decision"] == "denied" and line["tool"] == "github_create_issue"
    assert set(os.listdir("/dev")) - before == set()
