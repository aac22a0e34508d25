"""Quota errors retried with backoff, failures translated into actionable errors, the hub keeps serving."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from connectors.gdrive import GdriveConnector, GdriveSettings
from mcp_hub.connector import ConnectorContext
from mcp_hub.errors import InternalError
from mcp_hub.redaction import Redactor
from mcp_hub.server import HubServer
from tests.connectors.gdrive.conftest import ALICE, Seeded
from tests.connectors.gdrive.fake_state import FakeGoogle

pytestmark = pytest.mark.anyio
Call = Callable[..., Any]


@pytest.mark.parametrize(
    ("status", "reason", "headers"),
    [
        (403, "userRateLimitExceeded", {}),
        (403, "rateLimitExceeded", {}),
        (429, "rateLimitExceeded", {"Retry-After": "0"}),
    ],
)
async def test_quota_errors_are_retried(
    call: Call, files: Seeded, fake: FakeGoogle, status: int, reason: str, headers: dict[str, str]
) -> None:
    fake.fail(status, reason, times=2, headers=headers)
    result = await call("gdrive_get_file", {"file_id": files.runbook})
    assert not result.is_error, result.content
    assert len(fake.api_requests("drive.files.get")) == 3 and fake.faults == []


async def test_persistent_quota_errors_reach_the_model(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    fake.fail(403, "userRateLimitExceeded", times=3)
    result = await call("gdrive_search_files", {"query": "plan"})
    assert result.is_error and result.meta["mcp_hub/error"] == "rate_limited"
    assert "quota exceeded" in result.content[0].text and len(fake.api_requests("drive.files.list")) == 3
    fake.fail(429, "rateLimitExceeded", headers={"Retry-After": "120"})
    later = await call("gdrive_search_files", {"query": "plan"})
    assert later.is_error and "Retry after 120 s" in later.content[0].text  # too long to wait: not slept through
    fake.fail(403, "dailyLimitExceeded")
    daily = await call("gdrive_search_files", {"query": "plan"})
    assert daily.is_error and "daily quota" in daily.content[0].text


async def test_permission_errors_say_what_to_share(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    fake.fail(403, "insufficientFilePermissions")
    result = await call("gdrive_read_file", {"file_id": files.runbook})
    assert result.is_error and result.meta["mcp_hub/error"] == "auth"
    assert (
        f"no permission to read file {files.runbook}: share it with {ALICE} (viewer access)" in result.content[0].text
    )
    fake.fail(403, "insufficientPermissions")
    scopes = await call("gdrive_read_file", {"file_id": files.runbook})
    assert "allow_writes" in scopes.content[0].text
    fake.fail(403, "exportSizeLimitExceeded")
    fake.files[files.runbook]["_huge"] = True
    huge = await call("gdrive_read_file", {"file_id": files.runbook})
    assert huge.is_error and "too large to export" in huge.content[0].text


async def test_server_errors_retried_only_for_idempotent_calls(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    fake.fail(503, "backendError", times=2)
    read = await call("gdrive_get_file", {"file_id": files.runbook})
    assert not read.is_error and len(fake.api_requests("drive.files.get")) == 3
    fake.fail(503, "backendError")
    write = await call("gdrive_create_file", {"name": "a.txt", "content": "x"}, writes=True)
    assert write.is_error and write.meta["mcp_hub/error"] == "unavailable"
    assert len(fake.api_requests("drive.files.create")) == 1  # a write that may have happened is not repeated


async def test_bad_request_is_invalid_input(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    fake.fail(400, "invalid")
    result = await call("gdrive_search_files", {"query": "plan"})
    assert result.is_error and result.meta["mcp_hub/error"] == "invalid_input"
    assert result.content[0].text == "Google rejected the request: invalid"


async def test_timeout_then_the_hub_keeps_serving(
    make_hub: Callable[..., HubServer], files: Seeded, fake: FakeGoogle
) -> None:
    hub = make_hub({"MCP_HUB_GDRIVE__TIMEOUT_S": "0.3", "MCP_HUB_GDRIVE__RETRY_ATTEMPTS": "1"})
    async with Client(hub) as client:
        assert not (await client.call_tool("gdrive_get_file", {"file_id": files.runbook})).is_error
        fake.delay_s = 1.0
        slow = await client.call_tool("gdrive_get_file", {"file_id": files.runbook})
        fake.delay_s = 0.0
        again = await client.call_tool("gdrive_get_file", {"file_id": files.runbook})
    assert slow.is_error and slow.meta["mcp_hub/error"] == "timeout" and "timeout_s" in slow.content[0].text
    assert not again.is_error


async def test_unreachable_google(call: Call, files: Seeded) -> None:
    from tests.support.http_server import free_port

    result = await call(
        "gdrive_get_file",
        {"file_id": files.runbook},
        env={"MCP_HUB_GDRIVE__BASE_URL": f"http://127.0.0.1:{free_port()}", "MCP_HUB_GDRIVE__RETRY_ATTEMPTS": "1"},
    )
    assert result.is_error and result.meta["mcp_hub/error"] == "unavailable"


async def test_an_unrecognised_exception_is_the_hubs_bug_not_googles(
    base_url: str, key_file: Path, files: Seeded, fake: FakeGoogle, caplog: pytest.LogCaptureFixture
) -> None:
    """No catch-all: what the translator does not know is an internal error with an incident id, logged."""
    settings = GdriveSettings(credentials_path=str(key_file), base_url=base_url, subject=ALICE)
    gateway = GdriveConnector("default", settings, ConnectorContext(Redactor())).gateway

    def broken(client: Any) -> Any:
        return {}["no such key"]  # a bug in the hub while building the request

    with pytest.raises(InternalError) as raised:
        await gateway.call(broken, file_id=files.runbook)
    assert raised.value.kind == "internal" and "a bug in the hub" in raised.value.message
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)
    assert not [w for w in fake.wire if w.path != "/token"]
