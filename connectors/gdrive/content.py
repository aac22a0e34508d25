"""A file's content as text: Docs as Markdown, Slides as text, Sheets as CSV, text files as they are.

Google's editor files are exported (Docs as text/markdown, falling back to
text/plain where Markdown export is refused); other files are downloaded when
their type is text-like, the first `max_download_bytes` only; binaries give
no text. Long text is served in pages of about `page_chars` characters, cut at
a line end where one is near.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from connectors.gdrive.client import Gateway
from connectors.gdrive.query import DOC, FOLDER, SHEET, SHORTCUT, SLIDES
from mcp_hub.errors import InvalidInput
from mcp_hub.upstream import Target

Format = Literal["markdown", "text", "csv", "none"]

TEXT_MIMES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/x-yaml",
        "application/yaml",
        "application/x-sh",
        "application/sql",
        "application/toml",
        "application/x-ndjson",
        "image/svg+xml",
    }
)
TEXT_SUFFIXES = (".md", ".txt", ".csv", ".tsv", ".json", ".yaml", ".yml", ".toml", ".ini", ".log", ".py", ".sql")


@dataclass(frozen=True, slots=True)
class Loaded:
    text: str
    format: Format
    #: Only the first max_download_bytes were fetched.
    partial: bool = False
    note: str | None = None
    #: The last request the text came from (its metadata when nothing else was fetched).
    sent: Target | None = None


def is_text_like(mime: str, name: str) -> bool:
    return mime.startswith("text/") or mime in TEXT_MIMES or name.lower().endswith(TEXT_SUFFIXES)


def _decode(raw: Any) -> str:
    data = raw if isinstance(raw, bytes) else str(raw).encode()
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")


async def _export(gateway: Gateway, file_id: str, mime: str, fmt: Format, note: str | None = None) -> Loaded:
    raw, sent = await gateway.sent(lambda c: c.files.export(fileId=file_id, mimeType=mime), file_id=file_id)
    return Loaded(_decode(raw), fmt, note=note, sent=sent)


async def load(gateway: Gateway, meta: dict[str, Any], max_bytes: int, meta_sent: Target) -> Loaded:
    """The text of the file `meta` describes (id, name, mimeType, size), which `meta_sent` fetched."""
    file_id, mime, name = meta["id"], meta.get("mimeType", ""), meta.get("name", "")
    if mime == DOC:
        try:
            return await _export(gateway, file_id, "text/markdown", "markdown")
        except InvalidInput:  # Markdown export refused: plain text still works
            return await _export(gateway, file_id, "text/plain", "text")
    if mime == SLIDES:
        return await _export(gateway, file_id, "text/plain", "text")
    if mime == SHEET:
        return await _export(gateway, file_id, "text/csv", "csv", "first sheet; read_sheet reads others")
    if mime == FOLDER:
        return Loaded("", "none", note="a folder: list_folder lists its files", sent=meta_sent)
    if mime == SHORTCUT:
        target = (meta.get("shortcutDetails") or {}).get("targetId")
        return Loaded("", "none", note=f"a shortcut: read its target {target}", sent=meta_sent)
    if mime.startswith("application/vnd.google-apps."):
        return Loaded("", "none", note=f"{mime} has no text export", sent=meta_sent)
    if not is_text_like(mime, name):
        return Loaded("", "none", note=f"binary file ({mime}): metadata only", sent=meta_sent)
    size = int(meta.get("size") or 0)
    partial = size > max_bytes

    def request(client: Any) -> Any:
        req = client.files.get_media(fileId=file_id, supportsAllDrives=True)
        if partial:
            req.headers["range"] = f"bytes=0-{max_bytes - 1}"
        return req

    raw, sent = await gateway.sent(request, file_id=file_id)
    fmt: Format = "csv" if mime == "text/csv" else ("markdown" if mime == "text/markdown" else "text")
    return Loaded(_decode(raw), fmt, partial, note=f"first {max_bytes} bytes of {size}" if partial else None, sent=sent)


def page(text: str, start: int, size: int) -> tuple[str, int]:
    """`text[start:end]` of about `size` characters, ending at a line end when one is in its second half."""
    end = min(len(text), start + size)
    if end < len(text):
        newline = text.rfind("\n", start + size // 2, end)
        if newline != -1:
            end = newline + 1
    return text[start:end], end
