"""Write tools (hidden until writes are allowed): create/update a text file, comment, share."""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

from pydantic import Field

from connectors.gdrive.base import GdriveBase
from connectors.gdrive.content import is_text_like
from connectors.gdrive.models import Comment, Shared, Written
from connectors.gdrive.query import DOC, FileId, check_id
from mcp_hub.connector import ToolOutput, tool
from mcp_hub.errors import InvalidInput
from mcp_hub.upstream import Target

Content = Annotated[str, Field(max_length=1_000_000)]
WRITTEN_FIELDS = "id,name,webViewLink"


def _upload_mime(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith(".md"):
        return "text/markdown"
    if lowered.endswith(".csv"):
        return "text/csv"
    if lowered.endswith(".json"):
        return "application/json"
    return "text/plain"


def _media(text: str, mime: str) -> Any:
    from googleapiclient.http import MediaIoBaseUpload  # type: ignore[import-untyped]

    return MediaIoBaseUpload(io.BytesIO(text.encode("utf-8")), mimetype=mime, resumable=False)


class WriteTools(GdriveBase):
    def _written(self, found: dict[str, Any], sent: Target) -> ToolOutput[Written]:
        written = Written(id=found["id"], name=found.get("name", ""), link=found.get("webViewLink"))
        return ToolOutput(written, self.provenance(sent))

    @tool(toolset="write", description="Create a text file (or a Google Doc from Markdown).", read_only=False)
    async def create_file(
        self,
        name: Annotated[str, Field(min_length=1, max_length=255)],
        content: Content,
        folder_id: FileId | None = None,
        google_doc: bool = False,
    ) -> ToolOutput[Written]:
        self.require_writes()
        body: dict[str, Any] = {"name": name}
        if folder_id is not None:
            body["parents"] = [check_id(folder_id, "folder_id")]
        mime = "text/markdown" if google_doc else _upload_mime(name)
        if google_doc:
            body["mimeType"] = DOC
        found, sent = await self.gateway.sent(
            lambda c: c.files.create(
                body=body, media_body=_media(content, mime), fields=WRITTEN_FIELDS, supportsAllDrives=True
            ),
            action="create a file in",
            file_id=folder_id,
            idempotent=False,
        )
        return self._written(found, sent)

    @tool(toolset="write", description="Replace the content of a text file or Google Doc.", read_only=False)
    async def update_file(self, file_id: FileId, content: Content) -> ToolOutput[Written]:
        self.require_writes()
        meta, _ = await self.metadata(file_id, "id,name,mimeType")
        mime = meta.get("mimeType", "")
        if mime == DOC:
            upload = "text/markdown"
        elif is_text_like(mime, meta.get("name", "")) and not mime.startswith("application/vnd.google-apps."):
            upload = mime
        else:
            raise InvalidInput(f"{file_id} is {mime}: only text files and Google Docs can be updated")
        found, sent = await self.gateway.sent(
            lambda c: c.files.update(
                fileId=meta["id"], media_body=_media(content, upload), fields=WRITTEN_FIELDS, supportsAllDrives=True
            ),
            action="edit",
            file_id=file_id,
        )
        return self._written(found, sent)

    @tool(toolset="write", description="Comment on a file.", read_only=False)
    async def add_comment(
        self, file_id: FileId, text: Annotated[str, Field(min_length=1, max_length=4096)]
    ) -> ToolOutput[Comment]:
        self.require_writes()
        file_id = check_id(file_id)
        found, sent = await self.gateway.sent(
            lambda c: c.comments.create(fileId=file_id, body={"content": text}, fields="id"),
            action="comment on",
            file_id=file_id,
            idempotent=False,
        )
        return ToolOutput(Comment(id=found["id"], file_id=file_id), self.provenance(sent))

    @tool(
        toolset="sharing",
        description="Share a file with a person (email), a domain (domain:example.com) or anyone with the link.",
        read_only=False,
        destructive=True,
    )
    async def share_file(
        self,
        file_id: FileId,
        grantee: Annotated[str, Field(min_length=3, max_length=254, description="email, domain:NAME or anyone")],
        role: Literal["reader", "commenter", "writer"] = "reader",
    ) -> ToolOutput[Shared]:
        self.require_writes()
        file_id = check_id(file_id)
        body: dict[str, Any] = {"role": role}
        extra: dict[str, Any] = {}
        if grantee == "anyone":
            body["type"] = "anyone"
        elif grantee.startswith("domain:") and "." in grantee:
            body.update(type="domain", domain=grantee.removeprefix("domain:"))
        elif "@" in grantee and " " not in grantee:
            body.update(type="user", emailAddress=grantee)
            extra["sendNotificationEmail"] = False
        else:
            raise InvalidInput("grantee must be an email address, domain:example.com or anyone")
        found, sent = await self.gateway.sent(
            lambda c: c.permissions.create(
                fileId=file_id, body=body, fields="id,type,role", supportsAllDrives=True, **extra
            ),
            action="share",
            file_id=file_id,
            idempotent=False,
        )
        shared = Shared(permission_id=found["id"], file_id=file_id, type=found["type"], role=found["role"])
        return ToolOutput(shared, self.provenance(sent))
