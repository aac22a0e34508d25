"""State and helpers shared by the connector's tool groups (no tools here)."""

from __future__ import annotations

import hashlib
from typing import Any

from connectors.gdrive.client import Gateway
from connectors.gdrive.labels import FILE_FIELDS, Labels, assess, outsider_value
from connectors.gdrive.models import FileItem
from connectors.gdrive.query import check_id, short_type
from connectors.gdrive.settings import GdriveSettings
from mcp_hub.calls import lockdown_requested
from mcp_hub.connector import Connector
from mcp_hub.errors import InvalidInput, PolicyDenied
from mcp_hub.paging import decode_cursor
from mcp_hub.provenance import Provenance, Visibility
from mcp_hub.upstream import Target


class GdriveBase(Connector[GdriveSettings]):
    _gateway: Gateway | None = None

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            self._gateway = Gateway(self.settings, self.instance)
        return self._gateway

    @property
    def domain(self) -> str | None:
        return self.settings.own_domain()

    def withhold(self) -> bool:
        """Lockdown: the instance's setting or the caller's request."""
        return self.settings.lockdown or lockdown_requested()

    def require_writes(self) -> None:
        if not self.settings.allow_writes:
            raise PolicyDenied(
                "this gdrive instance holds read-only credentials (allow_writes = false); ask the hub's operator "
                "to set allow_writes = true for it."
            )

    def provenance(self, sent: Target, visibility: Visibility | None = None, outsider: bool = False) -> Provenance:
        """Labelled from the request actually sent (the guard's `Target`), never from arguments."""
        return Provenance(sent.uri, visibility or self.settings.visibility, outsider)

    async def metadata(self, file_id: str, fields: str = FILE_FIELDS) -> tuple[dict[str, Any], Target]:
        """The file's metadata as Drive answered, and the request that asked for it."""
        file_id = check_id(file_id)
        meta, sent = await self.gateway.sent(
            lambda c: c.files.get(fileId=file_id, fields=fields, supportsAllDrives=True), file_id=file_id
        )
        return meta, sent

    def item(self, file: dict[str, Any]) -> tuple[FileItem, Labels]:
        labels = assess(file, self.domain)
        owners = [o.get("emailAddress") for o in file.get("owners") or [] if isinstance(o, dict)]
        item = FileItem(
            id=file["id"],
            name=outsider_value(file.get("name", ""), labels.outside, self.withhold()),
            type=short_type(file.get("mimeType", "")),
            modified=file.get("modifiedTime"),
            owner=owners[0] if owners else None,
            outside=labels.outside,
        )
        return item, labels


def query_key(query: str) -> str:
    """A short fingerprint binding a cursor to the query it pages."""
    return hashlib.sha256(query.encode()).hexdigest()[:12]


def page_token(cursor: str | None, query: str) -> str | None:
    state = decode_cursor(cursor)
    if not state:
        return None
    if state.get("q") != query_key(query) or not isinstance(state.get("p"), str):
        raise InvalidInput("this cursor belongs to another query: repeat the same arguments with next_cursor")
    token: str = state["p"]
    return token
