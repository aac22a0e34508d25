"""The guard's hook for SDKs built on aiohttp (slack-sdk's `AsyncWebClient`).

aiohttp runs a client session's `middlewares` for every request it sends,
redirects included, with the final `ClientRequest` (its URL as yarl encoded it
and its body already built). `guard_middleware(check)` gives such a session a
middleware that reads the request's parameters (query string and body), asks
`check(method, url, params)` for the request's `Target`, records it in the
current journal, and only then lets aiohttp send it. Services that address
resources in the body (Slack's Web API: `channel=C123` in a form or JSON body)
are checked on what is really sent, after aiohttp encoded it.

Parameters are read one way only, or the request is refused: a form body
(`application/x-www-form-urlencoded`, strict UTF-8), a JSON object body, or no
body; a name given twice (in the query and the body, or twice in one of them)
is refused, because a server may read either. Any other body (multipart file
uploads, streams) is refused: a connector that needs one adds its reading here.

Build the session with `aiohttp.ClientSession(middlewares=(guard_middleware(check),))`
and hand that session to the SDK. Imports aiohttp: import this module only
where the SDK is loaded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import ClientRequest, ClientResponse
from aiohttp.client_middlewares import ClientHandlerType, ClientMiddlewareType
from aiohttp.payload import BytesPayload

from mcp_hub.upstream.guard import Refused
from mcp_hub.upstream.journal import current_journal
from mcp_hub.upstream.scope import Target

#: `(method, url, params) -> Target`, raising `PolicyDenied` for a request outside scope.
BodyCheck = Callable[[str, str, Mapping[str, str]], Target]
#: `(method, url, reason) -> PolicyDenied` for a request whose parameters cannot be read one way.
Refuse = Callable[[str, str, str], Exception]

_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"


def _scalar(value: Any) -> str:
    """A JSON body value as the text a server compares: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)


def _body_pairs(request: ClientRequest) -> list[tuple[str, str]]:
    body: Any = request.body
    if body is None or body == b"":
        return []
    if not isinstance(body, (bytes, BytesPayload)):
        raise Refused(f"its body ({type(body).__name__}) is not one this connector sends")
    try:
        text = body.decode("utf-8", "strict")
    except UnicodeDecodeError:
        raise Refused("its body is not UTF-8") from None
    if not text:
        return []
    ctype = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype == _FORM:
        try:
            return parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
        except (ValueError, UnicodeDecodeError):
            raise Refused("its form body is malformed") from None
    if ctype == _JSON:
        try:
            data = json.loads(text)
        except ValueError:
            raise Refused("its JSON body is malformed") from None
        if not isinstance(data, dict):
            raise Refused("its JSON body is not an object")
        return [(str(key), _scalar(value)) for key, value in data.items()]
    raise Refused(f"its body type {ctype or '(none)'!r} is not one this connector sends")


def request_params(request: ClientRequest) -> dict[str, str]:
    """The request's parameters, query and body together; `Refused` when a name comes twice."""
    pairs: list[tuple[str, str]] = []
    query = request.url.raw_query_string
    if query:
        try:
            pairs += parse_qsl(query, keep_blank_values=True, strict_parsing=True, errors="strict")
        except (ValueError, UnicodeDecodeError):
            raise Refused("its query string is malformed") from None
    pairs += _body_pairs(request)
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise Refused(f"it gives the parameter {key[:40]!r} more than once")
        params[key] = value
    return params


def guard_middleware(check: BodyCheck, refuse: Refuse) -> ClientMiddlewareType:
    """An aiohttp client middleware that sends only what `check` allows, and journals it."""

    async def middleware(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        url = str(request.url)
        try:
            params = request_params(request)
        except Refused as exc:
            raise refuse(request.method, url, str(exc)) from None
        target = check(request.method, url, params)
        journal = current_journal()
        if journal is not None:
            journal.record(target)
        return await handler(request)

    return middleware
