"""Read tools over files: search, list a folder, metadata, content (and the gdrive:/// resource)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from connectors.gdrive import content
from connectors.gdrive.base import GdriveBase, page_token, query_key
from connectors.gdrive.labels import LIST_FILE_FIELDS, WITHHELD, assess, outsider_value, strictest
from connectors.gdrive.models import FileContent, FileInfo, FileItem, FileList
from connectors.gdrive.query import ID_PATTERN, FileId, FileType, folder_query, search_query, short_type
from mcp_hub.connector import ResourceOutput, ToolOutput, resource, tool
from mcp_hub.errors import InvalidInput
from mcp_hub.paging import decode_cursor, encode_cursor
from mcp_hub.upstream import Target

Cursor = Annotated[str | None, Field(description="next_cursor of the previous page", max_length=2000)]
PageSize = Annotated[int, Field(ge=1, le=100)]


class FileTools(GdriveBase):
    async def _list(self, q: str, page_size: int, cursor: str | None, order_by: str | None) -> ToolOutput[FileList]:
        token = page_token(cursor, q)

        def request(client: Any) -> Any:
            return client.files.list(
                q=q,
                pageSize=page_size,
                pageToken=token,
                orderBy=order_by,
                fields=f"nextPageToken,incompleteSearch,files({LIST_FILE_FIELDS},parents,driveId)",
                corpora="allDrives",
                includeItemsFromAllDrives=True,
                supportsAllDrives=True,
            )

        listed, sent = await self.gateway.sent(request)
        items: list[FileItem] = []
        labels = []
        for file in await self.gateway.admitted(list(listed.get("files", []))):
            item, label = self.item(file)
            items.append(item)
            labels.append(label)
        next_token = listed.get("nextPageToken")
        next_cursor = encode_cursor({"p": next_token, "q": query_key(q)}) if next_token else None
        outsider = any(label.outside for label in labels) and not self.withhold()
        visibility = strictest(labels, self.settings.visibility)
        result = FileList(
            files=items, next_cursor=next_cursor, truncated=bool(next_token or listed.get("incompleteSearch"))
        )
        return ToolOutput(result, self.provenance(sent, visibility, outsider))

    @tool(toolset="files", description="Search files by name and content, across shared drives; returns ids.")
    async def search_files(
        self,
        query: Annotated[str, Field(min_length=1, max_length=500, description="Words to find")],
        names_only: bool = False,
        type: FileType | None = None,
        folder_id: FileId | None = None,
        page_size: PageSize = 20,
        cursor: Cursor = None,
    ) -> ToolOutput[FileList]:
        q = search_query(query, names_only=names_only, file_type=type, folder_id=folder_id)
        return await self._list(q, page_size, cursor, None)

    @tool(toolset="files", description="List a folder's files, folders first.")
    async def list_folder(
        self,
        folder_id: Annotated[str, Field(pattern=ID_PATTERN, description="'root' = My Drive")] = "root",
        page_size: PageSize = 50,
        cursor: Cursor = None,
    ) -> ToolOutput[FileList]:
        return await self._list(folder_query(folder_id), page_size, cursor, "folder,name")

    @tool(toolset="files", description="A file's metadata: owners, dates, link, parents, sharing.")
    async def get_file(self, file_id: FileId) -> ToolOutput[FileInfo]:
        meta, sent = await self.metadata(file_id)
        labels = assess(meta, self.domain)
        withhold = self.withhold()
        owners = [o.get("emailAddress", "") for o in meta.get("owners") or [] if isinstance(o, dict)]
        description = meta.get("description")
        info = FileInfo(
            id=meta["id"],
            name=outsider_value(meta.get("name", ""), labels.outside, withhold),
            type=short_type(meta.get("mimeType", "")),
            mime_type=meta.get("mimeType", ""),
            size=int(meta["size"]) if meta.get("size") else None,
            created=meta.get("createdTime"),
            modified=meta.get("modifiedTime"),
            owners=owners,
            modified_by=(meta.get("lastModifyingUser") or {}).get("emailAddress"),
            description=outsider_value(description, labels.outside, withhold) if description else None,
            link=meta.get("webViewLink"),
            parents=list(meta.get("parents") or []),
            drive_id=meta.get("driveId"),
            shortcut_target=(meta.get("shortcutDetails") or {}).get("targetId"),
            visibility=labels.visibility,
            outside=labels.outside,
        )
        outsider = labels.outside and not withhold
        return ToolOutput(info, self.provenance(sent, labels.visibility, outsider))

    async def _text(self, file_id: str) -> tuple[dict[str, Any], content.Loaded, bool, bool, Target]:
        """(metadata, loaded text, outside, withheld, the request it came from), cleaned or withheld when outside."""
        meta, sent = await self.metadata(file_id)
        labels = assess(meta, self.domain)
        if labels.outside and self.withhold():
            return meta, content.Loaded(WITHHELD, "none"), True, True, sent
        loaded = await content.load(self.gateway, meta, self.settings.max_download_bytes, sent)
        if labels.outside:
            cleaned = outsider_value(loaded.text, True, False)
            loaded = content.Loaded(cleaned, loaded.format, loaded.partial, loaded.note, loaded.sent)
        return meta, loaded, labels.outside, False, loaded.sent or sent

    @tool(
        toolset="files",
        description="Read a file as text, paged: Docs as Markdown, Sheets as CSV (first sheet), Slides as text.",
    )
    async def read_file(self, file_id: FileId, cursor: Cursor = None) -> ToolOutput[FileContent]:
        state = decode_cursor(cursor)
        if state and state.get("id") != file_id:
            raise InvalidInput("this cursor belongs to another file: pass the next_cursor of this file's last page")
        start = int(state.get("o", 0)) if state else 0
        meta, loaded, outside, withheld, sent = await self._text(file_id)
        total = len(loaded.text)
        if start > total:
            raise InvalidInput("the cursor is past the end of the file (it changed?): read again without cursor")
        text, end = content.page(loaded.text, start, self.settings.page_chars)
        next_cursor = encode_cursor({"id": file_id, "o": end}) if end < total else None
        result = FileContent(
            id=meta["id"],
            name=outsider_value(meta.get("name", ""), outside, withheld),
            format=loaded.format,
            text=text,
            start=start,
            total_chars=total,
            next_cursor=next_cursor,
            truncated=next_cursor is not None or loaded.partial,
        )
        visibility = assess(meta, self.domain).visibility
        provenance = self.provenance(sent, visibility, outside and not withheld)
        return ToolOutput(result, provenance, text=_render(result, loaded.note))

    @resource(
        "gdrive:///{file_id}", description="A Drive file as text (Docs as Markdown, Sheets as CSV).", toolset="files"
    )
    async def file(self, file_id: str) -> ResourceOutput:
        meta, loaded, outside, withheld, sent = await self._text(file_id)
        limit = self.settings.resource_chars
        text = loaded.text
        if len(text) > limit:
            text = text[:limit] + f"\n[truncated at {limit} characters: gdrive_read_file pages through the rest]"
        visibility = assess(meta, self.domain).visibility
        mime = {"markdown": "text/markdown", "csv": "text/csv"}.get(loaded.format, "text/plain")
        provenance = self.provenance(sent, visibility, outside and not withheld)
        return ResourceOutput(text or f"[{loaded.note or 'no text'}]", provenance, mime)


def _render(result: FileContent, note: str | None) -> str:
    end = result.start + len(result.text)
    head = f"{result.name} ({result.format}; characters {result.start}-{end} of {result.total_chars}"
    if note:
        head += f"; {note}"
    if result.next_cursor:
        head += f"; next_cursor={result.next_cursor}"
    return f"{head})\n\n{result.text}" if result.text else head + ")"
