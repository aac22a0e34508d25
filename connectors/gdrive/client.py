"""The Drive v3 and Sheets v4 clients, and running their calls off the event loop.

Both are built from the discovery documents bundled with google-api-python-client
with `rootUrl` set to the configured base URL (the plain `api_endpoint` option
leaves the upload paths on Google's host). Every call runs in the instance's
`BlockingRunner`, with the SDK's retries off (`num_retries=0`); the hub's
`retrying` backs off on quota errors, and exceptions are translated on the way out.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from connectors.gdrive.auth import HttpPerThread, Identity, credentials_json, load_identity
from connectors.gdrive.errors import Subject, translate
from connectors.gdrive.settings import GdriveSettings
from mcp_hub.retry import RetryPolicy, retrying
from mcp_hub.threads import BlockingRunner

T = TypeVar("T")


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
    """Drive and Sheets resources for one set of credentials."""

    def __init__(self, settings: GdriveSettings, identity: Identity) -> None:
        self.identity = identity
        self._http = HttpPerThread(settings, identity.credentials)
        drive = _build("drive", "v3", settings.drive_root(), self._http.get())
        sheets = _build("sheets", "v4", settings.sheets_root(), self._http.get())
        # Each `service.x()` builds its methods (and their docstrings) anew, for Sheets' schemas
        # about 0.1 s: take the collections once.
        self.files = drive.files()
        self.comments = drive.comments()
        self.permissions = drive.permissions()
        self.spreadsheets = sheets.spreadsheets()
        self.values = self.spreadsheets.values()

    def execute(self, request: Any) -> Any:
        """Run one prepared request on this thread's connection; no SDK retries."""
        return request.execute(http=self._http.get(), num_retries=0)


class Gateway:
    """The instance's way to Google: lazily built client, bounded threads, the hub's retries."""

    def __init__(self, settings: GdriveSettings, policy: RetryPolicy) -> None:
        self._settings = settings
        self._policy = policy
        self._runner = BlockingRunner(settings.max_concurrency)
        self._client: GoogleClient | None = None
        self._client_key: str | None = None

    async def client(self) -> GoogleClient:
        """The client, rebuilt when the credentials JSON changes (a rotated key file)."""
        text = await self._runner.run(credentials_json, self._settings)
        if self._client is None or self._client_key != text:
            self._client = await self._runner.run(self._new_client, text)
            self._client_key = text
        return self._client

    def _new_client(self, text: str) -> GoogleClient:
        return GoogleClient(self._settings, load_identity(self._settings, text))

    async def account(self) -> str | None:
        return (await self.client()).identity.email

    async def call(
        self,
        make: Callable[[GoogleClient], Any],
        *,
        action: str = "read",
        file_id: str | None = None,
        idempotent: bool = True,
    ) -> Any:
        """Build the request with `make` and execute it, retried and translated."""
        client = await self.client()
        acting_as = self._settings.subject or client.identity.email
        subject = Subject(action, file_id, acting_as, bool(self._settings.subject))

        def run() -> Any:
            return client.execute(make(client))

        async def once() -> Any:
            try:
                return await self._runner.run(run)
            except Exception as exc:
                raise translate(exc, subject) from None

        return await retrying(once, policy=self._policy, idempotent=idempotent)
