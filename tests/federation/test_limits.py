"""Finding the id of a message that is dropped for its size (`mcp_hub.federation.limits`)."""

from __future__ import annotations

import json

import pytest

from mcp_hub.federation import limits


def edges(message: dict[str, object]) -> tuple[bytes, bytes]:
    raw = json.dumps(message, separators=(",", ":")).encode()
    return raw[: limits.EDGE_BYTES], raw[-limits.EDGE_BYTES :]


BIG = {"content": [{"type": "text", "text": "x" * 5000}], "structuredContent": {"id": 99, "rows": [{"id": 98}]}}


@pytest.mark.parametrize("request_id", [7, "req-7", 0, -3])
def test_the_id_is_found_where_the_python_and_typescript_sdks_write_it(request_id: int | str) -> None:
    python_order = {"jsonrpc": "2.0", "id": request_id, "result": BIG}
    typescript_order = {"result": BIG, "jsonrpc": "2.0", "id": request_id}
    assert limits.message_id(*edges(python_order)) == request_id
    assert limits.message_id(*edges(typescript_order)) == request_id


def test_an_id_inside_the_result_is_not_taken_for_the_messages() -> None:
    # The result ends with {"id": 98}}: two closing braces, so the tail pattern does not match it.
    inner_last = {"jsonrpc": "2.0", "result": BIG | {"tail": {"id": 98}}, "extra": 1}
    assert limits.message_id(*edges(inner_last)) is None
    notification = {"jsonrpc": "2.0", "method": "notifications/message", "params": {"data": "x" * 5000}}
    assert limits.message_id(*edges(notification)) is None


def test_the_stand_in_error_names_the_setting() -> None:
    error = limits.too_large_error(5, "files", limits.message_cap(1_000_000))
    assert error.id == 5 and error.error.code == limits.TOO_LARGE
    assert "servers.files.max_result_bytes" in error.error.message and "1,065,536" in error.error.message
