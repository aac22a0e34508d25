"""State of the fake Google: files, shared drives, accounts, issued tokens, faults and logs."""

from __future__ import annotations

import csv
import io
import itertools
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from tests.connectors.gdrive.fake_query import ROOT_ID
from tests.support.hostile import Wire

DOC = "application/vnd.google-apps.document"
SHEET = "application/vnd.google-apps.spreadsheet"
SLIDES = "application/vnd.google-apps.presentation"
FOLDER = "application/vnd.google-apps.folder"
GOOGLE_PREFIX = "application/vnd.google-apps."
RANK = {"reader": 0, "commenter": 1, "writer": 2, "fileOrganizer": 2, "organizer": 3, "owner": 3}
READ_SCOPES = {
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.readonly",
}
WRITE_SCOPE = "https://www.googleapis.com/auth/drive"


@dataclass
class Grant:
    """An issued access token: who it acts as and its scopes."""

    email: str
    scopes: set[str]


@dataclass
class Fault:
    status: int
    reason: str
    message: str
    headers: dict[str, str]


@dataclass
class FakeGoogle:
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: shared drive id -> {member email: role}
    drives: dict[str, dict[str, str]] = field(default_factory=dict)
    #: service account email -> (key id, public key PEM)
    service_accounts: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: refresh token -> (client id, client secret, user email)
    refresh_tokens: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    tokens: dict[str, Grant] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    delay_s: float = 0.0
    #: When set, API requests are answered with a 302 to this URL.
    redirect: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    #: Every request received, recorded before routing (tests/support/hostile.py's `Wire`).
    wire: list[Wire] = field(default_factory=list)
    responses: list[tuple[str, Any]] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _clock: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- setup -----------------------------------------------------------------------------------

    def stamp(self) -> str:
        return f"2026-01-{1 + next(self._clock) % 28:02d}T10:00:00.000Z"

    def add_file(
        self,
        name: str,
        mime: str,
        *,
        owner: str | None,
        file_id: str | None = None,
        parents: list[str] | None = None,
        drive: str | None = None,
        permissions: list[dict[str, Any]] | None = None,
        text: str = "",
        content: bytes | None = None,
        sheets: dict[str, list[list[str]]] | None = None,
        **extra: Any,
    ) -> str:
        """A file; `text` is a Doc's Markdown or a Slides deck's text, `content` a binary's bytes."""
        file_id = file_id or "1" + secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")
        when = self.stamp()
        record: dict[str, Any] = {
            "id": file_id,
            "name": name,
            "mimeType": mime,
            "parents": parents or [drive or ROOT_ID],
            "createdTime": when,
            "modifiedTime": when,
            "trashed": False,
            "permissions": [],
            "_text": text,
            "_content": content if content is not None else text.encode(),
            "_sheets": sheets or {},
        }
        if drive is not None:
            record["driveId"] = drive
        if owner is not None:
            record["owners"] = [{"kind": "drive#user", "emailAddress": owner, "displayName": owner.split("@")[0]}]
            record["lastModifyingUser"] = record["owners"][0]
            record["permissions"].append({"type": "user", "role": "owner", "emailAddress": owner})
        for index, permission in enumerate(permissions or []):
            record["permissions"].append({"id": f"p{index}", **permission})
        record.update(extra)
        self.files[file_id] = record
        return file_id

    def fail(self, status: int, reason: str, *, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """The next `times` API requests fail so."""
        message = {"userRateLimitExceeded": "User Rate Limit Exceeded"}.get(reason, reason)
        self.faults.extend(Fault(status, reason, message, headers or {}) for _ in range(times))

    def api_requests(self, method_id: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["id"] == method_id]

    # -- access ------------------------------------------------------------------------------------

    def role(self, file: dict[str, Any], email: str) -> str | None:
        """The caller's best role on `file`, or None when it cannot see it."""
        roles: list[str] = []
        drive = file.get("driveId")
        if drive is not None:
            member = self.drives.get(drive, {}).get(email)
            if member:
                roles.append(member)
        domain = email.rsplit("@", 1)[-1]
        for permission in file.get("permissions", []):
            kind = permission.get("type")
            if (
                (kind in ("user", "group") and permission.get("emailAddress") == email)
                or (kind == "domain" and permission.get("domain") == domain)
                or kind == "anyone"
            ):
                roles.append(permission["role"])
        return max(roles, key=lambda r: RANK[r]) if roles else None

    # -- views -------------------------------------------------------------------------------------

    def public(self, file: dict[str, Any], base: str) -> dict[str, Any]:
        """The File resource as Drive returns it (before `fields` selection)."""
        view = {k: v for k, v in file.items() if not k.startswith("_")}
        view["kind"] = "drive#file"
        view["webViewLink"] = f"{base}/file/d/{file['id']}/view"
        if not file["mimeType"].startswith(GOOGLE_PREFIX):
            view["size"] = str(len(file["_content"]))
        view["permissions"] = [
            {"kind": "drive#permission", "id": p.get("id", f"o{i}"), **{k: v for k, v in p.items() if k != "id"}}
            for i, p in enumerate(file.get("permissions", []))
        ]
        if "driveId" in file:  # Drive returns neither owners nor permissions of shared-drive items in lists
            view.pop("owners", None)
            view.pop("permissions", None)
        return view

    def searchable(self, file: dict[str, Any]) -> dict[str, Any]:
        cells = " ".join(f"{title} {self.csv(file, title)}" for title in file["_sheets"])
        text = file["_text"] or cells or file["_content"].decode("utf-8", "replace")
        return {**file, "text": text}

    def csv(self, file: dict[str, Any], sheet: str | None = None) -> str:
        sheets = file["_sheets"]
        if not sheets:
            return ""
        rows = sheets[sheet] if sheet is not None else next(iter(sheets.values()))
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(rows)
        return out.getvalue()


def plain(markdown: str) -> str:
    """What a Doc's text/plain export looks like next to its Markdown."""
    return re.sub(r"^#+\s*|\*\*|__", "", markdown, flags=re.M)
