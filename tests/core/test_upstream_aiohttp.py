"""The kit's aiohttp hook: parameters read one way (query + form/JSON body), refusals never sent, journalled."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from mcp_hub.errors import PolicyDenied
from mcp_hub.upstream import RequestGuard, Route, Scope, Target, journal
from mcp_hub.upstream.transport_aiohttp import guard_middleware

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[str]]]:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


async def _send(base: str, **kwargs: Any) -> tuple[Mapping[str, str], Target]:
    guard = RequestGuard(Scope("svc", base + "/api", (Route("m", r"/m", methods=frozenset({"GET", "POST"})),)))
    got: dict[str, Mapping[str, str]] = {}

    def check(method: str, url: str, params: Mapping[str, str]) -> Target:
        if params.get("room") == "other":
            raise guard.refuse(method, url, "room other is outside scope")
        got["params"] = params
        return guard.check(method, url)

    async with aiohttp.ClientSession(middlewares=(guard_middleware(check, guard.refuse),)) as session:
        with journal() as sent:
            async with session.post(base + "/api/m", **kwargs) as response:
                await response.read()
        assert sent.last is not None
        return got["params"], sent.last


async def test_query_form_and_json_are_read_and_journalled(server: tuple[str, list[str]]) -> None:
    base, seen = server
    form, target = await _send(base, params={"a": "1"}, data={"room": "r1"})
    as_json, _ = await _send(base, json={"room": "r2", "n": 3, "flag": False})
    assert form == {"a": "1", "room": "r1"} and target.route == "m"
    assert as_json == {"room": "r2", "n": "3", "flag": "false"} and seen == ["/api/m", "/api/m"]


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"json": {"room": "other"}}, "outside scope"),
        ({"params": {"room": "r1"}, "data": {"room": "other"}}, "more than once"),
        ({"data": "room=r1&room=r2", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, "more than"),
        ({"data": {"f": io.BytesIO(b"x")}}, "not one this connector sends"),
        ({"data": b"\xff\xfe", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, "not UTF-8"),
        ({"data": "[1]", "headers": {"Content-Type": "application/json"}}, "not an object"),
        ({"data": "room", "headers": {"Content-Type": "text/plain"}}, "not one this connector sends"),
    ],
)
async def test_unreadable_or_outside_scope_is_never_sent(
    server: tuple[str, list[str]], kwargs: dict[str, Any], why: str
) -> None:
    base, seen = server
    with pytest.raises(PolicyDenied, match=why):
        await _send(base, **kwargs)
    assert seen == []
