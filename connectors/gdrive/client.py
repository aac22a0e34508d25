"""The Drive v3 and Sheets v4 clients, and running their calls off the event loop.

Both are built from the discovery documents bundled with google-api-python-client
with `rootUrl` set to the configured base URL (the plain `api_endpoint` option
leaves the upload paths on Google's host). Every call goes through the kit's
`Upstream` (worker thread, the hub's retries, translation), with the SDK's
retries off (`num_retries=0`), on a connection guarded per thread
(`connectors.gdrive.transport`): each result comes with the `Target` of the
request actually sent.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from connectors.gdrive.auth import Identity, credentials_json, load_identity
from connectors.gdrive.errors import Subject, from_http_error, refresh_failed, translate
from connectors.gdrive.settings import GdriveSettings
from connectors.gdrive.transport import DriveTransport
from mcp_hub.upstream import Target, Upstream, journal

#: The methods the connector calls, per resource path. The client is built from these alone: the SDK
#: renders a docstring for every method it builds, which for all of Drive and Sheets takes ~0.2 s.
USED_METHODS: dict[str, dict[str, frozenset[str]]] = {
    "drive": {
        "files": frozenset({"list", "get", "export", "create", "update"}),
        "comments": frozenset({"create"}),
        "permissions": frozenset({"create"}),
    },
    "sheets": {"spreadsheets": frozenset({"get"}), "spreadsheets.values": frozenset({"get"})},
}


@functools.cache
def discovery_document(service: str, version: str) -> str:
    """The bundled discovery document, trimmed to the methods in USED_METHODS (JSON text)."""
    from googleapiclient.discovery_cache import get_static_doc  # type: ignore[import-untyped]

    document = json.loads(get_static_doc(service, version))
    document["resources"] = _trim(document.get("resources", {}), USED_METHODS[service], "")
    return json.dumps(document)


def _trim(resources: dict[str, Any], keep: dict[str, frozenset[str]], prefix: str) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name, resource in resources.items():
        path = prefix + name
        methods = {m: d for m, d in resource.get("methods", {}).items() if m in keep.get(path, ())}
        nested = _trim(resource.get("resources", {}), keep, path + ".")
        if methods or nested:
            kept[name] = {**resource, "methods": methods, "resources": nested}
    return kept


def _build(service: str, version: str, root_url: str, http: Any) -> Any:
    from googleapiclient.discovery import build_from_document  # type: ignore[import-untyped]

    document = json.loads(discovery_document(service, version))
    document["rootUrl"] = root_url
    document.pop("mtlsRootUrl", None)
    return build_from_document(document, http=http)


class GoogleClient:
    """Drive and Sheets resources for one set of credentials, on guarded per-thread connections."""

    def __init__(self, settings: GdriveSettings, identity: Identity, instance: str) -> None:
        self.identity = identity
        self.transport = DriveTransport(settings, instance, identity.credentials)
        drive = _build("drive", "v3", settings.drive_root(), self.transport.get())
        sheets = _build("sheets", "v4", settings.sheets_root(), self.transport.get())
        # Each `service.x()` builds its methods (and their docstrings) anew, for Sheets' schemas
        # about 0.1 s: take the collections once.
        self.files = drive.files()
        self.comments = drive.comments()
        self.permissions = drive.permissions()
        self.spreadsheets = sheets.spreadsheets()
        self.values = self.spreadsheets.values()

    def execute(self, request: Any) -> Any:
        """Run one prepared request on this thread's guarded connection; no SDK retries."""
        return request.execute(http=self.transport.get(), num_retries=0)


class Gateway:
    """The instance's way to Google: a lazily built client behind the kit's one call path (`Upstream`)."""

    def __init__(self, settings: GdriveSettings, instance: str = "default") -> None:
        self._settings = settings
        self._instance = instance
        self.upstream = Upstream(
            "Google Drive",
            settings,
            translate=translate,
            instance=instance,
            max_concurrency=settings.max_concurrency,
        )
        self._client: GoogleClient | None = None
        self._client_key: str | None = None

    async def client(self) -> GoogleClient:
        """The client, rebuilt when the credentials JSON changes (a rotated key file)."""
        text = await self.upstream.runner.run(credentials_json, self._settings)
        if self._client is None or self._client_key != text:
            self._client = await self.upstream.runner.run(self._new_client, text)
            self._client_key = text
        return self._client

    def _new_client(self, text: str) -> GoogleClient:
        return GoogleClient(self._settings, load_identity(self._settings, text), self._instance)

    async def account(self) -> str | None:
        return (await self.client()).identity.email

    async def call(self, make: Callable[[GoogleClient], Any], **how: Any) -> Any:
        """`sent(make, **how)`'s value only (no label is built from it)."""
        return (await self.sent(make, **how))[0]

    async def sent(
        self,
        make: Callable[[GoogleClient], Any],
        *,
        action: str = "read",
        file_id: str | None = None,
        idempotent: bool = True,
    ) -> tuple[Any, Target]:
        """`call`, with the `Target` of the request actually sent (what a result is labelled from)."""
        from google.auth.exceptions import RefreshError
        from googleapiclient.errors import HttpError  # type: ignore[import-untyped]

        client = await self.client()
        acting_as = self._settings.subject or client.identity.email
        subject = Subject(action, file_id, acting_as, bool(self._settings.subject))

        def run() -> Any:
            try:
                return client.execute(make(client))
            except HttpError as exc:
                raise from_http_error(exc, subject) from None
            except RefreshError as exc:  # said with the subject: delegation is worth a mention
                raise refresh_failed(exc, subject) from None

        what = f"file {file_id}" if file_id else "files"
        with journal() as sent:
            value = await self.upstream.run(run, what=what, idempotent=idempotent)
        target = sent.last
        if target is None:  # the guard did not see this request: never label (or return) what it fetched
            raise AssertionError("a Google request went out without passing the request guard")
        return value, target

    async def admitted(self, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The listed files under the allowed folders (all of them without a `folders` allow-list)."""
        client = await self.client()
        if not client.transport.proof.active:
            return files

        def keep() -> list[dict[str, Any]]:
            return [file for file in files if client.transport.admits_listed(file)]

        kept: list[dict[str, Any]] = await self.upstream.run(keep, what="the folders of listed files", idempotent=True)
        return kept
