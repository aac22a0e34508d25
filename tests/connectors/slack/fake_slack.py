"""A stateful fake of the Slack Web API on 127.0.0.1 (Starlette), contract-checked with openapi-core.

It speaks what slack-sdk sends and Slack answers: `POST|GET /api/<method>` with a bearer token, form, JSON
or query parameters; `{"ok": true, …}` bodies, `{"ok": false, "error": …}` errors with HTTP 200 (plus
`needed` for missing_scope), 429 + `Retry-After` when throttled, cursor pagination through
`response_metadata.next_cursor`. Every request and response is validated against the converted spec in
`data/` (ok:false bodies against its `default` response, see data/convert_spec.py); failures collect in
`contract_errors` for the tests to assert empty.

`wire` records every request that reaches the fake, on any path, before routing (`tests.support.hostile.Wire`,
its `query` holding the query and form/JSON body parameters together: Slack reads both), so a test can assert
what was never sent; `requests` holds the Web API calls among them (`(method, parameters)`).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.connectors.slack import workspace as ws
from tests.support.hostile import Wire, wire_entry

SPEC = Path(__file__).parent / "data" / "slack_web_openapi3.json"
SCOPES = {
    "conversations.list": "channels:read",
    "conversations.info": "channels:read",
    "conversations.history": "channels:history",
    "conversations.replies": "channels:history",
    "users.info": "users:read",
    "users.list": "users:read",
    "search.messages": "search:read",
    "chat.postMessage": "chat:write",
    "reactions.add": "reactions:write",
}
ALL_SCOPES = set(SCOPES.values())


@cache
def _openapi() -> Any:
    from openapi_core import OpenAPI

    return OpenAPI.from_dict(json.loads(SPEC.read_text(encoding="utf-8")))


def _cursor(offset: int) -> str:
    return base64.b64encode(f"o:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int | None:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().split(":", 1)[1])
    except (ValueError, IndexError):
        return None


class SlackError(Exception):
    def __init__(self, code: str, **extra: Any) -> None:
        self.code, self.extra = code, extra


class FakeSlack:
    def __init__(self, bot_token: str, user_token: str, *, validate: bool = True) -> None:
        self.tokens = {bot_token: "bot", user_token: "user"}
        self.scopes: dict[str, set[str]] = {bot_token: set(ALL_SCOPES) - {"search:read"}, user_token: set(ALL_SCOPES)}
        self.validate = validate
        self.users = {
            u["id"]: u
            for u in [
                ws.user(ws.ALICE, "alice", "Alice Archer", title="Staff engineer"),
                ws.user(ws.BOB, "bob", "Bob Baker"),
                ws.user(ws.GINA, "gina", "Gina Guest", is_restricted=True),
                ws.user(ws.EVE, "eve", "Eve External", team=ws.OTHER_TEAM),
                ws.user(ws.BOT, "hub", "Hub Bot", is_bot=True),
            ]
        }
        self.channels = {
            c["id"]: c
            for c in [
                ws.conversation(ws.GENERAL, "general", topic="Company-wide"),
                ws.conversation(ws.RANDOM, "random"),
                ws.conversation(ws.SECRET, "secret", private=True),
                ws.conversation(ws.PARTNERS, "partners", shared=True, topic="Shared with Partner Co"),
                ws.im(ws.DM, ws.ALICE),
            ]
        }
        self.bot_channels = {ws.GENERAL, ws.SECRET, ws.PARTNERS, ws.DM}
        self.history: dict[str, list[dict[str, Any]]] = {cid: [] for cid in self.channels}  # oldest first
        self.replies: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.wire: list[Wire] = []
        self.redirects: dict[str, str] = {}
        self.throttled: dict[str, tuple[int, int | None]] = {}
        self.failures: dict[str, tuple[int, int]] = {}
        self.contract_errors: list[str] = []
        self._clock = 1714600000.0

    # -- states -------------------------------------------------------------------------------

    def throttle(self, method: str, *, times: int = 1, retry_after: int | None = 1) -> None:
        """Answer the next `times` calls of `method` with 429 (and `Retry-After` unless it is None)."""
        self.throttled[method] = (times, retry_after)

    def fail(self, method: str, *, status: int = 503, times: int = 1) -> None:
        self.failures[method] = (times, status)

    def count(self, method: str | None = None) -> int:
        return sum(1 for m, _ in self.requests if method is None or m == method)

    # -- HTTP ---------------------------------------------------------------------------------

    def redirect(self, method: str, location: str) -> None:
        """Answer the next call of `method` with a 307 to `location` (relative to the fake, or absolute)."""
        self.redirects[method] = location

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/{rest:path}", self._elsewhere, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            ]
        )

    async def _params(self, request: Request) -> tuple[bytes, str, dict[str, Any]]:
        body = await request.body()
        params: dict[str, Any] = dict(request.query_params)
        ctype = request.headers.get("content-type", "").split(";")[0]
        if ctype == "application/json" and body:
            params |= json.loads(body)
        elif body and ctype != "multipart/form-data":
            params |= dict(parse_qsl(body.decode(errors="replace")))
        entry = wire_entry(request.scope)
        self.wire.append(
            replace(entry, query={k: [v if isinstance(v, str) else json.dumps(v)] for k, v in params.items()})
        )
        return body, ctype, params

    async def _elsewhere(self, request: Request) -> Response:
        await self._params(request)
        return JSONResponse({"ok": False, "error": "unknown_method"}, status_code=404)

    async def _endpoint(self, request: Request) -> Response:
        method = request.path_params["method"]
        body, ctype, params = await self._params(request)
        self.requests.append((method, params))
        location = self.redirects.pop(method, None)
        if location is not None:
            return Response(status_code=307, headers={"Location": location})
        times, status = self.failures.get(method, (0, 0))
        if times:  # a gateway failure: HTML, not a Web API body (and not in the spec)
            self.failures[method] = (times - 1, status)
            return Response("<html><body>Service Unavailable</body></html>", status, media_type="text/html")
        status, headers, payload = self._answer(method, request, params)
        if self.validate:
            self._check(request, body, ctype, status, payload)
        return JSONResponse(payload, status_code=status, headers=headers)

    def _answer(
        self, method: str, request: Request, params: dict[str, Any]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        times, retry_after = self.throttled.get(method, (0, 0))
        if times:
            self.throttled[method] = (times - 1, retry_after)
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return 429, headers, {"ok": False, "error": "ratelimited"}
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            if token not in self.tokens:
                raise SlackError("invalid_auth")
            needed = SCOPES.get(method)
            if needed and needed not in self.scopes[token]:
                if method == "search.messages" and self.tokens[token] == "bot":
                    raise SlackError("not_allowed_token_type")
                raise SlackError("missing_scope", needed=needed, provided=",".join(sorted(self.scopes[token])))
            handler = getattr(self, "m_" + method.replace(".", "_"), None)
            if handler is None:
                raise SlackError("unknown_method")
            return 200, {}, {"ok": True, **handler(params)}
        except SlackError as exc:
            return 200, {}, {"ok": False, "error": exc.code, **exc.extra}

    def _check(self, request: Request, body: bytes, ctype: str, status: int, payload: dict[str, Any]) -> None:
        from openapi_core.testing import MockRequest, MockResponse

        api = _openapi()
        host = f"{request.url.scheme}://{request.url.netloc}"
        args = dict(request.query_params)
        if request.method == "POST" and not body and args:
            # slack-sdk sends some POSTs (reactions.add) with the arguments in the query string, which Slack
            # reads like form fields; the spec only knows them as form fields.
            body, args, ctype = urlencode(args).encode(), {}, "application/x-www-form-urlencoded"
        mock = MockRequest(
            host,
            request.method.lower(),
            request.url.path,
            args=args,
            data=body or None,
            headers=dict(request.headers),
            content_type=ctype or "application/json",
        )
        # Slack sends ok:false with HTTP 200 (or 429); the spec files those bodies under `default`.
        spec_status = status if payload.get("ok") else 400
        response = MockResponse(json.dumps(payload).encode(), status_code=spec_status, content_type="application/json")
        for what, check in (
            ("request", lambda: api.validate_request(mock)),
            ("response", lambda: api.validate_response(mock, response)),
        ):
            try:
                check()
            except Exception as exc:
                detail = exc.__cause__ or exc
                errors = getattr(detail, "schema_errors", None)
                text = "; ".join(str(e).splitlines()[0] for e in errors) if errors else str(detail)
                self.contract_errors.append(f"{request.url.path} {what}: {text[:500]}")

    # -- helpers ------------------------------------------------------------------------------

    def _channel(self, params: dict[str, Any], *, member: bool = True) -> dict[str, Any]:
        channel = self.channels.get(str(params.get("channel") or ""))
        if channel is None:
            raise SlackError("channel_not_found")
        if member and channel["id"] not in self.bot_channels:
            raise SlackError("not_in_channel")
        return channel

    @staticmethod
    def _page(items: list[Any], params: dict[str, Any], default: int = 100) -> tuple[list[Any], str]:
        start = _offset(params.get("cursor"))
        if start is None:
            raise SlackError("invalid_cursor")
        limit = int(params.get("limit") or default) or default
        chunk = items[start : start + limit]
        return chunk, _cursor(start + limit) if start + limit < len(items) else ""

    def post(self, channel: str, message: dict[str, Any]) -> None:
        self.history[channel].append(message)

    def thread(self, channel: str, parent_ts: str, replies: list[dict[str, Any]]) -> None:
        self.replies[(channel, parent_ts)] = replies

    # -- methods ------------------------------------------------------------------------------

    def m_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://acme.slack.com/",
            "team": "Acme",
            "user": "hub",
            "team_id": ws.TEAM,
            "user_id": ws.BOT,
            "bot_id": "B0HUBBOT05",
            "is_enterprise_install": False,
        }

    def m_conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        kinds = set(str(params.get("types") or "public_channel").split(","))

        def kind(c: dict[str, Any]) -> str:
            if c.get("is_im"):
                return "im"
            return "private_channel" if c.get("is_private") else "public_channel"

        chosen = [c for c in self.channels.values() if kind(c) in kinds]
        chunk, cursor = self._page(chosen, params)
        return {"channels": chunk, "response_metadata": {"next_cursor": cursor}}

    def m_conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self._channel(params, member=False)}

    def m_conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or 1e12)
        newest_first = [m for m in reversed(self.history[channel["id"]]) if oldest <= float(m["ts"]) <= latest]
        chunk, cursor = self._page(newest_first, params)
        return {
            "messages": chunk,
            "has_more": bool(cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": cursor},
        }

    def m_conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        ts = str(params.get("ts") or "")
        parent = next((m for m in self.history[channel["id"]] if m["ts"] == ts), None)
        if parent is None:
            raise SlackError("thread_not_found")
        parent = {**parent, "subscribed": False}
        chunk, cursor = self._page([parent, *self.replies.get((channel["id"], ts), [])], params)
        return {"messages": chunk, "has_more": bool(cursor), "response_metadata": {"next_cursor": cursor}}

    def m_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        found = self.users.get(str(params.get("user") or ""))
        if found is None:
            raise SlackError("user_not_found")
        return {"user": found}

    def m_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        chunk, cursor = self._page(list(self.users.values()), params)
        return {"members": chunk, "cache_ts": int(time.time()), "response_metadata": {"next_cursor": cursor}}

    def m_search_messages(self, params: dict[str, Any]) -> dict[str, Any]:
        words = str(params.get("query") or "").lower().split()
        hits = []
        for cid, messages in self.history.items():
            channel = self.channels[cid]
            for m in messages:
                if all(w in m["text"].lower() for w in words):
                    info = {
                        k: channel.get(k, False)
                        for k in (
                            "is_channel",
                            "is_group",
                            "is_im",
                            "is_mpim",
                            "is_private",
                            "is_shared",
                            "is_ext_shared",
                            "is_org_shared",
                        )
                    }
                    hits.append(
                        {
                            "iid": m["ts"],
                            "team": m.get("team", ws.TEAM),
                            "type": "message",
                            "user": m.get("user"),
                            "username": self.users.get(m.get("user", ""), {}).get("name", ""),
                            "ts": m["ts"],
                            "text": m["text"],
                            "permalink": f"https://acme.slack.com/archives/{cid}/p{m['ts'].replace('.', '')}",
                            "channel": {"id": cid, "name": channel.get("name", cid), **info},
                        }
                    )
        hits.sort(key=lambda h: float(h["ts"]), reverse=True)
        count, page = int(params.get("count") or 20), int(params.get("page") or 1)
        pages = max(1, -(-len(hits) // count))
        chunk = hits[(page - 1) * count : page * count]
        paging = {"count": count, "total": len(hits), "page": page, "pages": pages}
        return {"query": params.get("query"), "messages": {"total": len(hits), "paging": paging, "matches": chunk}}

    def m_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._clock += 1
        ts = f"{self._clock:.6f}"
        message = {
            "type": "message",
            "user": ws.BOT,
            "text": params.get("text", ""),
            "ts": ts,
            "team": ws.TEAM,
            "bot_id": "B0HUBBOT05",
        }
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
            self.replies.setdefault((channel["id"], params["thread_ts"]), []).append(message)
        else:
            self.history[channel["id"]].append(message)
        return {"channel": channel["id"], "ts": ts, "message": message}

    def m_reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        message = next((m for m in self.history[channel["id"]] if m["ts"] == params.get("timestamp")), None)
        if message is None:
            raise SlackError("message_not_found")
        reactions = message.setdefault("reactions", [])
        found = next((r for r in reactions if r["name"] == params.get("name")), None)
        if found and ws.BOT in found["users"]:
            raise SlackError("already_reacted")
        if found:
            found["users"].append(ws.BOT)
            found["count"] += 1
        else:
            reactions.append({"name": params.get("name"), "users": [ws.BOT], "count": 1})
        return {}
