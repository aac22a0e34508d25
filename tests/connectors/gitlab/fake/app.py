"""The fake GitLab REST API v4 as an ASGI app (python-gitlab talks to it with `gitlab.Gitlab(url=B)`).

Every request that reaches the server is recorded first, as received (`state.wire`, the kit's
`tests/support/hostile.Wire`). Routing works on the raw path, segment by segment, after a lenient
proxy's reading (backslashes as slashes, dot segments resolved: `lenient_raw_path`), because GitLab takes
URL-encoded project paths and file paths (`acme%2Fapp`, `src%2Fa.py`) as one
segment. Shapes follow docs.gitlab.com (each handler names its page):
- "REST API" – authentication: `PRIVATE-TOKEN` header, 401 `{"message": "401 Unauthorized"}`;
- "REST API" – pagination: offset (`page`, `per_page` ≤ 100; `X-Page`, `X-Per-Page`, `X-Total`,
  `X-Total-Pages`, `X-Next-Page`, `X-Prev-Page` and `Link` rel=next/prev/first/last) and keyset
  (`pagination=keyset`, `Link` rel=next only);
- "REST API" – status codes and error bodies `{"message": …}` / `{"error": …}`;
- "Rate limits": 429 with `Retry-After` and `RateLimit-*` headers; GitLab.com ("GitLab.com settings",
  API throttle) includes `RateLimit-Limit`, `-Observed`, `-Remaining`, `-Reset` (epoch seconds) and
  `-ResetTime` in every API response: set `State.rate_limit` to turn that window on.
"""

from __future__ import annotations

import json
import math
import posixpath
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from tests.connectors.gitlab.fake.state import TOKEN, State
from tests.support.hostile import wire_entry

Handler = Callable[["Call"], Awaitable[Response]]


class HttpError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body


class Call:
    """One request: path variables, query (multi-valued keys like scope[] kept), body, the state."""

    def __init__(self, state: State, request: Request, params: dict[str, str], body: Any) -> None:
        self.state = state
        self.request = request
        self.params = params
        self.query = dict(parse_qsl(request.url.query))
        self.body = body if isinstance(body, dict) else {}

    def project(self) -> Any:
        found = self.state.project(self.params["project"])
        if found is None:
            raise HttpError(404, {"message": "404 Project Not Found"})
        return found

    def int_param(self, name: str) -> int:
        value = self.params[name]
        if not value.isdigit():
            raise HttpError(400, {"error": f"{name} is invalid"})
        return int(value)

    def arg(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, self.query.get(name, default))


def not_found(what: str) -> HttpError:
    return HttpError(404, {"message": f"404 {what} Not Found"})


def paginate(call: Call, items: list[Any]) -> Response:
    """Offset pagination, GitLab style (docs.gitlab.com "REST API" – Offset-based pagination)."""
    per_page = min(max(int(call.query.get("per_page", 20)), 1), 100)
    page = max(int(call.query.get("page", 1)), 1)
    total_pages = max(1, math.ceil(len(items) / per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    base = str(call.request.url.replace(query=""))
    query = {k: v for k, v in call.query.items() if k != "page"}

    def link(p: int, rel: str) -> str:
        return f'<{base}?{urlencode({**query, "page": p, "per_page": per_page})}>; rel="{rel}"'

    links = [link(1, "first"), link(total_pages, "last")]
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Total": str(len(items)),
        "X-Total-Pages": str(total_pages),
        "X-Prev-Page": str(page - 1) if page > 1 else "",
        "X-Next-Page": str(page + 1) if page < total_pages else "",
    }
    if page < total_pages:
        links.insert(0, link(page + 1, "next"))
    if page > 1:
        links.insert(0, link(page - 1, "prev"))
    headers["Link"] = ", ".join(links)
    return JSONResponse(chunk, headers=headers)


def keyset(call: Call, items: list[dict[str, Any]]) -> Response:
    """Keyset pagination by id (docs.gitlab.com "REST API" – Keyset-based pagination: only a next Link)."""
    per_page = min(max(int(call.query.get("per_page", 20)), 1), 100)
    after = int(call.query.get("id_after", 0))
    rest = sorted((i for i in items if i["id"] > after), key=lambda i: i["id"])
    chunk = rest[:per_page]
    headers = {}
    if len(rest) > per_page:
        base = str(call.request.url.replace(query=""))
        query = {k: v for k, v in call.query.items() if k != "id_after"} | {"id_after": chunk[-1]["id"]}
        headers["Link"] = f'<{base}?{urlencode(query)}>; rel="next"'
    return JSONResponse(chunk, headers=headers)


def lenient_raw_path(raw: str) -> str:
    """The raw path as a lenient proxy in front of GitLab would pass it on: `\\` as `/`, dot segments resolved.

    Encoded segments stay encoded (GitLab decodes each segment once itself), so an escape that a
    lenient proxy would resolve really lands on the other project here, and shows in the log.
    """
    path = raw.replace("\\", "/").replace("%5C", "/").replace("%5c", "/")
    resolved = "/" + posixpath.normpath("/" + path.lstrip("/")).lstrip("/")
    return resolved + ("/" if path.endswith("/") and resolved != "/" else "")


class FakeGitlab:
    """ASGI app: `routes` maps (METHOD, "projects/:project/issues/:iid") to handlers."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.routes: list[tuple[str, list[str], Handler]] = []
        from tests.connectors.gitlab.fake import routes_issues, routes_mr, routes_repo

        for module in (routes_repo, routes_issues, routes_mr):
            for method, pattern, handler in module.ROUTES:
                self.routes.append((method, pattern.split("/"), handler))

    def match(self, method: str, segments: list[str]) -> tuple[Handler, dict[str, str]] | None:
        for route_method, pattern, handler in self.routes:
            if route_method != method or len(pattern) != len(segments):
                continue
            params: dict[str, str] = {}
            for want, got in zip(pattern, segments, strict=True):
                if want.startswith(":"):
                    params[want[1:]] = unquote(got)
                elif want != got:
                    break
            else:
                return handler, params
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.state.wire.append(wire_entry(scope))
        request = Request(scope, receive)
        raw = scope.get("raw_path", scope["path"].encode()).decode().split("?")[0]
        self.state.sent.append((request.method, raw, request.url.query))
        response = await self.handle(request, lenient_raw_path(raw))
        await response(scope, receive, send)

    async def handle(self, request: Request, raw_path: str) -> Response:
        self.state.requests.append((request.method, unquote(raw_path)))
        window = self.rate_window()
        if window is not None and self.state.rate_remaining < 0:  # the window was used up: 429 until its reset
            response: Response = JSONResponse({"message": "Retry later"}, status_code=429, headers=window)
            response.headers["Retry-After"] = str(max(0, self.state.rate_reset - int(time.time())))
        else:
            response = await self.answer(request, raw_path)
            response.headers.update(window or {})
        self.state.statuses.append((time.time(), response.status_code))
        return response

    def rate_window(self) -> dict[str, str] | None:
        """Count this request against the window (when on) and its `RateLimit-*` headers."""
        s = self.state
        if s.rate_limit is None:
            return None
        if s.rate_reset <= time.time():
            s.rate_reset, s.rate_remaining = int(time.time()) + 60, s.rate_limit
        s.rate_remaining -= 1
        return {
            "RateLimit-Limit": str(s.rate_limit),
            "RateLimit-Observed": str(min(s.rate_limit, s.rate_limit - s.rate_remaining)),
            "RateLimit-Remaining": str(max(0, s.rate_remaining)),
            "RateLimit-Reset": str(s.rate_reset),
            "RateLimit-ResetTime": formatdate(s.rate_reset, usegmt=True),
        }

    async def answer(self, request: Request, raw_path: str) -> Response:
        if not raw_path.startswith("/api/v4/"):
            return JSONResponse({"error": "404 Not Found"}, status_code=404)
        for failure in self.state.failures:
            if failure.times > 0 and failure.path_contains in unquote(raw_path):
                failure.times -= 1
                return JSONResponse(failure.body, status_code=failure.status, headers=failure.headers)
        if request.headers.get("private-token") != TOKEN:
            return JSONResponse({"message": "401 Unauthorized"}, status_code=401)
        segments = raw_path[len("/api/v4/") :].strip("/").split("/")
        found = self.match(request.method, segments)
        if found is None:
            return JSONResponse({"error": "404 Not Found"}, status_code=404)
        handler, params = found
        body: Any = None
        raw_body = await request.body()
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                return JSONResponse({"error": "body is not valid JSON"}, status_code=400)
        try:
            return await handler(Call(self.state, request, params, body))
        except HttpError as exc:
            return JSONResponse(exc.body, status_code=exc.status)


def text(body: str) -> Response:
    return PlainTextResponse(body)
