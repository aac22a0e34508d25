"""No false positives live: server-everything (stdio and Streamable HTTP, with the extra tools it lists to a
client that can elicit and sample) and mcp-server-time, attached to a hub whose gate is `PinnedGate`
(pinned on first use) and which knows the hub's catalog and each other's tool names: every definition is
admitted, nothing is flagged. The same hub withholds our hostile server's poisoned tools beside them."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from mcp_hub.federation.pins import PinnedGate
from tests.federation.conftest import HubFactory, everything_stdio, time_stdio
from tests.support.malicious_server import POISONED_DOCS

pytestmark = pytest.mark.anyio
SERVERS = {"everything", "time", "everything-http", "wx"}


async def test_real_servers_pass_the_gate_without_findings(
    make_hub: HubFactory, everything_http: str, tmp_path: Path
) -> None:
    import json
    import sys

    from tests.federation.conftest import ROOT

    hostile = (
        "[servers.wx]\n"
        f"command = {json.dumps(sys.executable)}\n"
        f"args = {json.dumps(['-m', 'tests.support.malicious_server', '--mode', 'poisoned'])}\n"
        f"cwd = {json.dumps(str(ROOT))}\n"
    )
    toml = (
        "[hub]\nallow_writes = true\nallow_destructive = true\n"
        + everything_stdio()
        + time_stdio()
        + f'[servers.everything-http]\nurl = "{everything_http}"\n'
        + hostile
    )
    gate = PinnedGate(tmp_path / "pins", tofu=SERVERS, servers=SERVERS)
    hub = make_hub(toml, gate=gate)
    async with hub.running(), Client(hub) as client:
        assert hub.federation is not None
        await hub.federation.wait_listed(60)
        status = {row["server"]: row for row in hub.federation.status()}
        assert {name: row["state"] for name, row in status.items()} == dict.fromkeys(SERVERS, "ready")
        for name in ("everything", "everything-http", "time"):
            assert status[name]["withheld"] == [], name
        assert status["everything"]["tools"] >= 13 and status["time"]["tools"] == 2
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"everything_echo", "everything_trigger-sampling-request", "time_get_current_time"} <= names
        assert {"everything-http_echo", "wx_echo"} <= names
        # the hostile server beside them: the same gate, the same hub, its poisoned tools withheld
        assert {w["name"] for w in status["wx"]["withheld"]} == {
            "lookup_docs",
            "translate",
            "set_mode",
            "prompt summarize",
            "resource template note",
        }
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert {"everything_simple-prompt", "everything_args-prompt", "wx_greet"} <= prompts
        assert "wx_lookup_docs" not in names
    pinned = json.loads((tmp_path / "pins" / "servers.lock.json").read_text())["servers"]
    assert set(pinned) == SERVERS
    assert pinned["wx"]["tools"]["lookup_docs"]["approved_findings"] == []  # recorded, not approved
    assert pinned["wx"]["tools"]["lookup_docs"]["definition"]["description"] == POISONED_DOCS
