"""How much smaller `gitlab_list_merge_requests` is than GitLab's REST JSON, in DeepSeek tokens.

Lists 20 merge requests from the test suite's fake GitLab (whose MR objects carry
the fields of GitLab's documented list response), once as the raw REST JSON
(`GET /projects/:id/merge_requests?per_page=20`) and once through the hub's
tool, and compares token counts. Target: the tool's output is at most one fifth.

    python bench/gitlab_compactness.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import requests
from mcp import Client
from mcp_types import TextContent

from connectors.gitlab import GitlabConnector
from mcp_hub.config import load_config
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import build_server, hub_policy
from mcp_hub.tokens import count_tokens

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fake lives in the test suite

from tests.connectors.gitlab.fake.app import FakeGitlab
from tests.connectors.gitlab.fake.state import TOKEN, State
from tests.support.http_server import serve_in_thread

TARGET_RATIO = 1 / 5


async def tool_text(url: str) -> str:
    registry = Registry([GitlabConnector])
    config = load_config(env={"GITLAB_TOKEN": TOKEN, "GITLAB_URL": url}, ecosystem_env=registry.ecosystem_env())
    hub = build_server(config, registry=registry, caller=Caller("bench", "memory", hub_policy(config)))
    async with Client(hub) as client:
        result = await client.call_tool("gitlab_list_merge_requests", {"project": "acme/app", "state": "all"})
    content = result.content[0]
    assert isinstance(content, TextContent)
    return content.text


def main() -> None:
    with serve_in_thread(FakeGitlab(State())) as url:
        raw = requests.get(
            f"{url}/api/v4/projects/acme%2Fapp/merge_requests",
            params={"per_page": "20", "state": "all"},
            headers={"PRIVATE-TOKEN": TOKEN},
            timeout=10,
        ).json()
        ours = anyio.run(tool_text, url)
    raw_tokens = count_tokens(json.dumps(raw, separators=(",", ":"), ensure_ascii=False))
    raw_pretty = count_tokens(json.dumps(raw, indent=2, ensure_ascii=False))
    tool_tokens = count_tokens(ours)
    ratio = tool_tokens / raw_tokens
    verdict = "ok" if ratio <= TARGET_RATIO else "OVER"
    print(f"merge requests listed:     {len(raw)}")
    print(f"raw REST JSON (compact):   {raw_tokens} tokens  (pretty-printed: {raw_pretty})")
    print(f"gitlab_list_merge_requests: {tool_tokens} tokens (incl. the untrusted-data fence)")
    print(f"ratio:                     {ratio:.3f} (target <= {TARGET_RATIO:.2f}) {verdict}")


if __name__ == "__main__":
    main()
