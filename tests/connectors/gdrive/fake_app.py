"""The fake's HTTP surface: OAuth token endpoint, Drive v3 and Sheets v4 on one Starlette app."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import anyio
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.connectors.gdrive.fake_fields import parse_fields, select
from tests.connectors.gdrive.fake_query import QueryError, compile_query
from tests.connectors.gdrive.fake_sheets import SHEETS_READ, SheetsError, spreadsheets_get, values_get
from tests.connectors.gdrive.fake_state import (
    DOC,
    FOLDER,
    GOOGLE_PREFIX,
    RANK,
    READ_SCOPES,
    SHEET,
    SLIDES,
    WRITE_SCOPE,
    FakeGoogle,
    Grant,
    plain,
)
from tests.support.hostile import wire_entry

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
Handler = Callable[[Request, FakeGoogle, Grant], Awaitable[Response]]


class ApiError(Exception):
    def __init__(self, status: int, reason: str, message: str, location: str | None = None) -> None:
        self.status, self.reason, self.message, self.location = status, reason, message, location

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        item = {"domain": "global", "reason": self.reason, "message": self.message}
        if self.location:
            item |= {"locationType": "parameter", "location": self.location}
        body = {"error": {"code": self.status, "message": self.message, "errors": [item]}}
        return JSONResponse(body, self.status, headers=headers)


def not_found(file_id: str) -> ApiError:
    return ApiError(404, "notFound", f"File not found: {file_id}.", "fileId")


def base_of(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def truthy(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() == "true"


def reply(fake: FakeGoogle, method_id: str, request: Request, body: Any, default: str) -> JSONResponse:
    fields = request.query_params.get("fields", default)
    try:
        selected = select(body, parse_fields(fields))
    except ValueError:
        raise ApiError(400, "invalidParameter", "Invalid field selection", "fields") from None
    fake.responses.append((method_id, selected))
    return JSONResponse(selected)


# -- OAuth token endpoint ---------------------------------------------------------------------------


async def token(request: Request) -> Response:
    fake: FakeGoogle = request.app.state.fake
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    fake.token_requests.append(form)
    grant = form.get("grant_type")
    if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
        try:
            header = jwt.get_unverified_header(form["assertion"])
            issuer = jwt.decode(form["assertion"], options={"verify_signature": False})["iss"]
            key_id, public_pem = fake.service_accounts[issuer]
            if header.get("kid") != key_id:
                raise jwt.InvalidTokenError("unknown key id")
            # google-auth always addresses the assertion to Google's endpoint, whatever token_uri it posts to
            claims = jwt.decode(form["assertion"], public_pem, algorithms=["RS256"], audience=GOOGLE_TOKEN_AUDIENCE)
        except (KeyError, ValueError, jwt.PyJWTError):
            return JSONResponse({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400)
        who = claims.get("sub") or claims["iss"]
        scopes = set(str(claims.get("scope", "")).split())
    elif grant == "refresh_token":
        known = fake.refresh_tokens.get(form.get("refresh_token", ""))
        if known is None or known[:2] != (form.get("client_id"), form.get("client_secret")):
            return JSONResponse({"error": "invalid_grant", "error_description": "Bad Request"}, 400)
        who = known[2]
        scopes = set(form.get("scope", "").split()) or READ_SCOPES
    else:
        return JSONResponse({"error": "unsupported_grant_type"}, 400)
    access = "ya29.fake-" + secrets.token_urlsafe(16)
    fake.tokens[access] = Grant(who, scopes)
    return JSONResponse({"access_token": access, "expires_in": 3599, "token_type": "Bearer"})


# -- plumbing -----------------------------------------------------------------------------------------


def api(
    method_id: str, handler: Handler, *, scopes: set[str] = READ_SCOPES
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        fake: FakeGoogle = request.app.state.fake
        fake.requests.append(
            {"id": method_id, "method": request.method, "path": request.url.path, "params": dict(request.query_params)}
        )
        if fake.delay_s:
            await anyio.sleep(fake.delay_s)
        if fake.redirect:
            return Response(status_code=302, headers={"location": fake.redirect})
        if fake.faults:
            fault = fake.faults.pop(0)
            return ApiError(fault.status, fault.reason, fault.message).response(fault.headers)
        auth = request.headers.get("authorization", "")
        grant = fake.tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        if grant is None:
            body = {
                "error": {
                    "code": 401,
                    "message": "Request had invalid authentication credentials.",
                    "errors": [{"domain": "global", "reason": "authError", "message": "Invalid Credentials"}],
                    "status": "UNAUTHENTICATED",
                }
            }
            return JSONResponse(body, 401)
        if not grant.scopes & scopes:
            return ApiError(
                403, "insufficientPermissions", "Request had insufficient authentication scopes."
            ).response()
        try:
            return await handler(request, fake, grant)
        except ApiError as exc:
            return exc.response()

    return endpoint


def visible(
    request: Request, fake: FakeGoogle, grant: Grant, file_id: str, need: str = "reader", *, all_drives: bool = True
) -> dict[str, Any]:
    """The file if the caller may `need` it; shared-drive items need supportsAllDrives where the method has it."""
    file = fake.files.get(file_id)
    if file is None or (all_drives and "driveId" in file and not truthy(request, "supportsAllDrives")):
        raise not_found(file_id)
    role = fake.role(file, grant.email)
    if role is None:
        raise not_found(file_id)
    if RANK[role] < RANK[need]:
        raise ApiError(
            403, "insufficientFilePermissions", "The user does not have sufficient permissions for this file."
        )
    return file


# -- Drive: files ---------------------------------------------------------------------------------------


async def files_list(request: Request, fake: FakeGoogle, grant: Grant) -> Response:
    params = request.query_params
    all_drives = truthy(request, "includeItemsFromAllDrives")
    if params.get("corpora") == "allDrives" and not all_drives:
        raise ApiError(400, "badRequest", "includeItemsFromAllDrives must be true with corpora=allDrives", "corpora")
    q = params.get("q", "trashed = false")
    try:
        predicate = compile_query(q)
    except QueryError:
        raise ApiError(400, "invalid", "Invalid Value", "q") from None
    order = params.get("orderBy")
    if order and "fullText" in q:
        raise ApiError(400, "badRequest", "Sorting is not supported for queries with fullText terms.", "orderBy")
    found = [
        f
        for f in fake.files.values()
        if ("driveId" not in f or (all_drives and params.get("corpora") in ("allDrives", "drive")))
        and fake.role(f, grant.email) is not None
        and predicate(fake.searchable(f))
    ]
    if order == "folder,name":
        found.sort(key=lambda f: (f["mimeType"] != FOLDER, f["name"].lower()))
    size = min(int(params.get("pageSize", "100")), 1000)
    offset = 0
    if params.get("pageToken"):
        try:
            state = json.loads(base64.urlsafe_b64decode(params["pageToken"]))
            assert state["q"] == q
            offset = int(state["o"])
        except (ValueError, AssertionError, KeyError):
            raise ApiError(400, "invalid", "Invalid Value", "pageToken") from None
    page = found[offset : offset + size]
    body: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False}
    body["files"] = [fake.public(f, base_of(request)) for f in page]
    if offset + size < len(found):
        body["nextPageToken"] = base64.urlsafe_b64encode(json.dumps({"q": q, "o": offset + size}).encode()).decode()
    return reply(
        fake, "drive.files.list", request, body, "kind,nextPageToken,incompleteSearch,files(kind,id,name,mimeType)"
    )


async def files_get(request: Request, fake: FakeGoogle, grant: Grant) -> Response:
    file = visible(request, fake, grant, request.path_params["file_id"])
    if request.query_params.get("alt") == "media":
        if file["mimeType"].startswith(GOOGLE_PREFIX):
            raise ApiError(
                403,
                "fileNotDownloadable",
                "Only files with binary content can be downloaded. Use Export with Docs Editors files.",
            )
        data: bytes = file["_content"]
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", request.headers.get("range", ""))
        if match:
            start, end = int(match[1]), int(match[2] or len(data) - 1)
            part = data[start : end + 1]
            headers = {"content-range": f"bytes {start}-{start + len(part) - 1}/{len(data)}"}
            return Response(part, 206, headers=headers, media_type=file["mimeType"])
        return Response(data, media_type=file["mimeType"])
    return reply(fake, "drive.files.get", request, fake.public(file, base_of(request)), "kind,id,name,mimeType")


async def files_export(request: Request, fake: FakeGoogle, grant: Grant) -> Response:
    file = visible(request, fake, grant, request.path_params["file_id"], all_drives=False)
    mime, wanted = file["mimeType"], request.query_params.get("mimeType", "")
    if not mime.startswith(GOOGLE_PREFIX):
        raise ApiError(403, "fileNotExportable", "Export only supports Docs Editors files.")
    if file.get("_huge"):
        raise ApiError(403, "exportSizeLimitExceeded", "This file is too large to be exported.")
    exports: dict[tuple[str, str], Callable[[], str]] = {
        (DOC, "text/plain"): lambda: plain(file["_text"]),
        (SLIDES, "text/plain"): lambda: file["_text"],
        (SHEET, "text/csv"): lambda: fake.csv(file),
    }
    if not file.get("_no_markdown"):
        exports[(DOC, "text/markdown")] = lambda: file["_text"]
    if (mime, wanted) not in exports:
        raise ApiError(400, "badRequest", "The requested conversion is not supported.", "mimeType")
    fake.responses.append(("drive.files.export", None))
    return Response(exports[(mime, wanted)]().encode(), media_type=wanted)


def _multipart(request: Request, body: bytes) -> tuple[dict[str, Any], bytes | None, str | None]:
    """(metadata, media, media type) of an upload in any of Drive's uploadType forms."""
    kind = request.query_params.get("uploadType")
    content_type = request.headers.get("content-type", "")
    if kind == "media":
        return {}, body, content_type
    if kind == "multipart":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        parts = list(message.iter_parts())  # type: ignore[attr-defined]
        metadata = json.loads(parts[0].get_payload(decode=True) or b"{}")
        return metadata, parts[1].get_payload(decode=True), parts[1].get_content_type()
    return (json.loads(body) if body else {}), None, None


def _store_media(file: dict[str, Any], media: bytes | None) -> None:
    if media is None:
        return
    if file["mimeType"].startswith(GOOGLE_PREFIX):
        file["_text"] = media.decode()
    else:
        file["_content"], file["_text"] = media, ""


async def files_create(request: Request, fake: FakeGoogle, grant: Grant) -> Response:
    metadata, media, media_type = _multipart(request, await request.body())
    parents = metadata.get("parents") or []
    for parent in parents:
        if parent in fake.files:
            visible(request, fake, grant, parent, "writer")
        elif parent != "root":
            raise not_found(parent)
    mime = metadata.get("mimeType") or media_type or "application/octet-stream"
    file_id = fake.add_file(metadata.get("name", "Untitled"), mime, owner=grant.email, parents=parents or None)
    _store_media(fake.files[file_id], media)
    return reply(
        fake, "drive.files.create", request, fake.public(fake.files[file_id], base_of(request)), "kind,id,name,mimeType"
    )


async def files_update(request: Request, fake: FakeGoogle, grant: Grant) -> Response:
    file = visible(request, fake, grant, request.path_params["file_id"], "writer")
    metadata, media, _ = _multipart(request, await request.body())
    if "name" in metadata:
        file["name"] = metadata["name"]
    _store_media(file, media)
    file["modifiedTime"] = fake.stamp()
    file["lastModifyingUser"] = {"kind": "drive#user", "emailAddress": grant.email}
    return reply(fake, "drive.files.update", request, fake.public(file, base_of(request)), "kind,id,name,mimeType")


async def comments_create(request: Request, fake: FakeGoogle, grant: Grant) -> Response:
    file = visible(request, fake, grant, request.path_params["file_id"], "commenter", all_drives=False)
    if "fields" not in request.query_params:
        raise ApiError(400, "required", "The 'fields' parameter is required for this operation.", "fields")
    body = json.loads(await request.body())
    comment = {
        "kind": "drive#comment",
        "id": "AAAA" + secrets.token_hex(6),
        "content": body.get("content", ""),
        "createdTime": fake.stamp(),
        "author": {"kind": "drive#user", "displayName": grant.email.split("@")[0]},
    }
    fake.comments.setdefault(file["id"], []).append(comment)
    return reply(fake, "drive.comments.create", request, comment, "")


async def permissions_create(request: Request, fake: FakeGoogle, grant: Grant) -> Response:
    file = visible(request, fake, grant, request.path_params["file_id"], "writer")
    body = json.loads(await request.body())
    kind, role = body.get("type"), body.get("role")
    if kind not in ("user", "group", "domain", "anyone") or role not in RANK:
        raise ApiError(400, "invalid", "Invalid permission type or role.")
    if "sendNotificationEmail" in request.query_params and kind not in ("user", "group"):
        raise ApiError(400, "badRequest", "sendNotificationEmail is only allowed for users and groups.")
    permission = {"kind": "drive#permission", "id": secrets.token_hex(8), **body}
    file["permissions"].append(permission)
    return reply(fake, "drive.permissions.create", request, permission, "kind,id,type,role")


def sheets_api(method_id: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def wrapped(request: Request, fake: FakeGoogle, grant: Grant) -> Response:
        try:
            return await handler(request, fake, grant)
        except SheetsError as exc:
            return JSONResponse(exc.body, exc.body["error"]["code"])

    return api(method_id, wrapped, scopes=SHEETS_READ)


def build_app(fake: FakeGoogle) -> Recorded:
    files_id = "/drive/v3/files/{file_id}"
    write = {WRITE_SCOPE}
    routes = [
        Route("/token", token, methods=["POST"]),
        Route("/drive/v3/files", api("drive.files.list", files_list), methods=["GET"]),
        Route("/drive/v3/files", api("drive.files.create", files_create, scopes=write), methods=["POST"]),
        Route("/upload/drive/v3/files", api("drive.files.create", files_create, scopes=write), methods=["POST"]),
        Route(files_id, api("drive.files.get", files_get), methods=["GET"]),
        Route(files_id, api("drive.files.update", files_update, scopes=write), methods=["PATCH"]),
        Route("/upload" + files_id, api("drive.files.update", files_update, scopes=write), methods=["PATCH"]),
        Route(files_id + "/export", api("drive.files.export", files_export), methods=["GET"]),
        Route(files_id + "/comments", api("drive.comments.create", comments_create, scopes=write), methods=["POST"]),
        Route(
            files_id + "/permissions",
            api("drive.permissions.create", permissions_create, scopes=write),
            methods=["POST"],
        ),
        Route("/v4/spreadsheets/{sheet_id}", sheets_api("sheets.spreadsheets.get", spreadsheets_get)),
        Route(
            "/v4/spreadsheets/{sheet_id}/values/{range:path}", sheets_api("sheets.spreadsheets.values.get", values_get)
        ),
    ]
    app = Starlette(routes=routes)
    app.state.fake = fake
    return Recorded(app)


class Recorded:
    """The app, recording every request in the current fake's `wire` before routing (nothing escapes the log)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state  # conftest swaps `state.fake` per test

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.state.fake.wire.append(wire_entry(scope))
        await self.app(scope, receive, send)
