"""Tokens of `github_list_pull_requests` (30 PRs) against GitHub's raw REST JSON of the same page.

Runs the fake GitHub of the tests on 127.0.0.1 (full REST payloads, as
api.github.com sends them), reads one page of 30 pull requests through the hub
and directly, and counts both in DeepSeek tokens. Target: at most one fifth.

    python bench/github_compactness.py
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

import anyio
from mcp import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fake lives with the tests

from connectors.github import GithubConnector
from mcp_hub.config import load_config
from mcp_hub.registry import Registry
from mcp_hub.server import build_server
from mcp_hub.tokens import count_tokens
from tests.connectors.github.fake_app import FakeGithub
from tests.connectors.github.fake_state import PAT
from tests.support.http_server import serve_in_thread

PULLS = 30


async def hub_text(api: str) -> str:
    registry = Registry([GithubConnector])
    config = load_config(env={"GITHUB_TOKEN": PAT, "GITHUB_API_URL": api}, ecosystem_env=registry.ecosystem_env())
    async with Client(build_server(config, registry=registry)) as client:
        result = await client.call_tool("github_list_pull_requests", {"repo": "acme/widgets", "limit": PULLS})
    assert len(result.structured_content["pulls"]) == PULLS
    return str(result.content[0].text)


def raw_json(api: str) -> str:
    request = urllib.request.Request(
        f"{api}/repos/acme/widgets/pulls?per_page={PULLS}&sort=created&direction=desc&state=open",
        headers={"Authorization": f"token {PAT}", "Accept": "application/vnd.github+json"},
    )
    with urllib.request.urlopen(request) as response:
        body = json.loads(response.read())
    assert len(body) == PULLS
    return json.dumps(body, separators=(",", ":"))


def main() -> None:
    with serve_in_thread(FakeGithub().app) as base:
        api = base + "/api/v3"
        ours = anyio.run(hub_text, api)
        raw = raw_json(api)
    ours_tokens, raw_tokens = count_tokens(ours), count_tokens(raw)
    print(f"list_pull_requests, {PULLS} PRs (DeepSeek tokens)")
    print(f"  raw REST JSON (compact): {raw_tokens:>7}  ({raw_tokens / PULLS:.0f} per PR)")
    print(f"  github_list_pull_requests: {ours_tokens:>5}  ({ours_tokens / PULLS:.0f} per PR)")
    ratio = ours_tokens / raw_tokens
    print(f"  ratio: 1/{1 / ratio:.0f} ({'ok' if ratio <= 0.2 else 'OVER'}: target <= 1/5)")


if __name__ == "__main__":
    main()
