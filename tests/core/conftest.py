from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mcp_hub.config import load_config
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_server, hub_policy
from tests.support.notes_connector import NotesConnector

NOTES_TOKEN = "notes-secret-token-0123456789"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make_hub(tmp_path: Path) -> Callable[..., HubServer]:
    """Build a hub with the notes connector from env-style settings."""

    def make(env: dict[str, str] | None = None, caller_name: str = "local", **kwargs: Any) -> HubServer:
        registry = Registry([NotesConnector])
        full_env = {"NOTES_TOKEN": NOTES_TOKEN, "MCP_HUB_NOTES__NOTES": '["first", "second"]'} | (env or {})
        config = load_config(env=full_env, ecosystem_env=registry.ecosystem_env())
        caller = Caller(caller_name, "memory", hub_policy(config))
        return build_server(config, registry=registry, caller=caller, **kwargs)

    return make
