"""What the hub's layers (policy, provenance, data boundary, audit, redaction) add to a tool call.

The same trivial tool (it returns a small typed record, no I/O) is called
through a bare MCPServer and through the hub (connector contract, policy check,
provenance `_meta`, audit line to a file), both over the in-memory client,
interleaved in batches; prints medians, p99s and the ratio.

    python bench/overhead.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated, ClassVar

import anyio
from mcp import Client
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field

from mcp_hub.config import load_config
from mcp_hub.connector import Connector, ConnectorSettings, ToolOutput, tool
from mcp_hub.policy import Caller
from mcp_hub.provenance import Provenance
from mcp_hub.registry import Registry
from mcp_hub.server import build_server, hub_policy


class Record(BaseModel):
    id: int
    name: str
    tags: list[str]


def make_record(record_id: int) -> Record:
    return Record(id=record_id, name=f"record {record_id}", tags=["a", "b"])


class BenchSettings(ConnectorSettings):
    pass


class BenchConnector(Connector[BenchSettings]):
    name: ClassVar[str] = "bench"
    settings_model = BenchSettings

    @tool(toolset="read", description="Get a record.")
    async def get_record(self, record_id: Annotated[int, Field(ge=0)]) -> ToolOutput[Record]:
        return ToolOutput(make_record(record_id), Provenance("bench://records", "internal"))


def bare_server() -> MCPServer:
    server = MCPServer("bare")

    @server.tool(description="Get a record.")
    async def bench_get_record(record_id: Annotated[int, Field(ge=0)]) -> Record:
        return make_record(record_id)

    return server


async def timed_calls(client: Client, calls: int) -> list[float]:
    samples = []
    for i in range(calls):
        started = time.perf_counter()
        result = await client.call_tool("bench_get_record", {"record_id": i})
        samples.append(time.perf_counter() - started)
        assert not result.is_error
    return samples


async def run(calls: int, audit_dir: Path) -> None:
    registry = Registry([BenchConnector])
    config = load_config(
        env={"MCP_HUB_AUDIT_LOG": str(audit_dir / "audit.jsonl"), "MCP_HUB_BENCH__VISIBILITY": "internal"}
    )
    hub = build_server(config, registry=registry, caller=Caller("bench", "memory", hub_policy(config)))
    samples: dict[str, list[float]] = {"bare": [], "hub": []}
    async with Client(bare_server()) as bare, Client(hub) as hubc:
        await timed_calls(bare, 50)  # warm-up
        await timed_calls(hubc, 50)
        batch = 100
        for round_index in range(calls // batch):
            order = [("bare", bare), ("hub", hubc)] if round_index % 2 == 0 else [("hub", hubc), ("bare", bare)]
            for name, client in order:
                samples[name] += await timed_calls(client, batch)

    def stats(name: str) -> tuple[float, float]:
        values = sorted(samples[name])
        return statistics.median(values) * 1000, values[int(len(values) * 0.99) - 1] * 1000

    print(f"calls: {len(samples['bare'])} each, in-memory client, interleaved batches of 100")
    for name in ("bare", "hub"):
        median, p99 = stats(name)
        print(f"{name:5} median {median:.3f} ms   p99 {p99:.3f} ms")
    print(f"ratio hub/bare (median): {stats('hub')[0] / stats('bare')[0]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(run, args.calls, Path(tmp))


if __name__ == "__main__":
    main()
