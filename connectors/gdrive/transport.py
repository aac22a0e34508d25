"""The request guard at the transport googleapiclient really uses: one guarded `AuthorizedHttp` per thread.

httplib2 is not thread-safe, so each worker thread gets its own
`AuthorizedHttp` (all sharing one credentials object), wrapped in the kit's
`GuardedHttp` (`mcp_hub.upstream.transport_httplib2`): every request the SDK
sends on it (metadata, media, export, uploads, Sheets) is checked against the
instance's scope (`connectors.gdrive.scope`) after normalisation, recorded in
the journal, and only then sent. Redirects are not followed.

With a `folders` allow-list, a file id is admitted only once `FolderProof`
walked it up to an allowed folder or shared drive; its metadata lookups go,
checked by their own one-route guard, through the same thread's
`AuthorizedHttp`. A creation's parents (in the upload's metadata part, which
the URL does not show) must be admitted the same way.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from connectors.gdrive.auth import authorized_http
from connectors.gdrive.errors import Subject, from_http
from connectors.gdrive.proof import FolderProof
from connectors.gdrive.scope import BOOL, ID, JSON, PROOF_FIELDS, gdrive_scopes, params
from connectors.gdrive.settings import GdriveSettings
from mcp_hub.errors import PolicyDenied
from mcp_hub.upstream import RequestGuard, Route, Scope, Target
from mcp_hub.upstream.transport_httplib2 import GuardedHttp

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

log = logging.getLogger(__name__)


def upload_parents(body: Any) -> list[str] | None:
    """The `parents` of an upload's metadata (the first JSON object of the body); None when unreadable."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    start = text.find("{")
    if start == -1:
        return None
    try:
        metadata, _ = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return None
    if not isinstance(metadata, dict):
        return None
    parents = metadata.get("parents", [])
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        return None
    return parents


class DriveTransport:
    """This instance's guarded connections, one per worker thread, and its folder proof."""

    def __init__(self, settings: GdriveSettings, instance: str, credentials: Credentials) -> None:
        self.settings = settings
        self.instance = instance
        self.credentials = credentials
        self.proof = FolderProof(settings.folders)
        proof_route = Route(
            "proof",
            rf"/drive/v3/files/(?P<key>{ID})",
            query=params(fields=frozenset({PROOF_FIELDS}), supportsAllDrives=BOOL, alt=JSON),
        )
        self.proof_guard = RequestGuard(Scope("gdrive", settings.drive_root(), (proof_route,)))
        self._local = threading.local()
        self._lock = threading.Lock()
        self._guards: list[RequestGuard] = [self.proof_guard]

    @property
    def refused(self) -> int:
        """Requests the guards of every thread refused."""
        with self._lock:
            return sum(guard.refused for guard in self._guards)

    def get(self) -> GuardedHttp:
        """This thread's guarded `AuthorizedHttp`."""
        http: GuardedHttp | None = getattr(self._local, "http", None)
        if http is None:
            http = self._new()
            self._local.http = http
        return http

    def _new(self) -> GuardedHttp:
        authorized = authorized_http(self.settings, self.credentials)

        def fetch(file_id: str) -> tuple[Sequence[str], str | None] | None:
            return self._lookup(authorized, file_id)

        def allows(key: str) -> bool:
            return self.proof.admits(key, fetch)

        guards = [RequestGuard(scope) for scope in gdrive_scopes(self.settings, self.instance, allows)]
        with self._lock:
            self._guards.extend(guards)

        def inspect(target: Target, body: Any) -> None:
            if not self.proof.active or target.route != "files.create":
                return
            parents = upload_parents(body)
            if not parents or not all(self.proof.admits(parent, fetch) for parent in parents):
                guards[0].refused += 1
                log.warning("gdrive: refused POST %s before sending: its parents are outside the folders", target.path)
                raise PolicyDenied(
                    "the hub refused to create a file outside this instance's folders (gdrive folders setting): "
                    "pass folder_id, a folder under one of them."
                )

        return GuardedHttp(authorized, guards, inspect=inspect)

    def _lookup(self, authorized: Any, file_id: str) -> tuple[Sequence[str], str | None] | None:
        """`(parents, driveId)` of `file_id` as Drive answers; None when Drive does not show it."""
        query = urlencode({"fields": PROOF_FIELDS, "supportsAllDrives": "true", "alt": "json"})
        url = f"{self.settings.drive_root()}drive/v3/files/{file_id}?{query}"
        self.proof_guard.check("GET", url)
        response, content = authorized.request(url, "GET")
        status = int(response.status)
        if status == 404:
            return None
        if status != 200:
            raise from_http(status, content, response, Subject("check the folder of", file_id))
        try:
            found = json.loads(content)
            parents = [str(p) for p in found.get("parents") or []]
            drive = found.get("driveId")
        except (ValueError, AttributeError):
            return None
        return parents, drive if isinstance(drive, str) else None

    def admits_listed(self, file: dict[str, Any]) -> bool:
        """Whether a listed file is under the allowed folders (its listed parents first); in a worker thread."""
        authorized = self.get().http
        parents = [str(p) for p in file.get("parents") or []]
        drive = file.get("driveId") if isinstance(file.get("driveId"), str) else None
        return self.proof.admits_listed(str(file.get("id", "")), parents, drive, lambda i: self._lookup(authorized, i))
