"""Drive's query language (`q`): escaping and the queries the tools send.

User text only ever appears inside a single-quoted string literal, with `\\`
and `'` escaped, so `foo' or name contains '` searches for exactly that text
and cannot add a clause. Ids are checked against Drive's id alphabet before
they are put in a query or a URL.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field

from mcp_hub.errors import InvalidInput

FOLDER = "application/vnd.google-apps.folder"
DOC = "application/vnd.google-apps.document"
SHEET = "application/vnd.google-apps.spreadsheet"
SLIDES = "application/vnd.google-apps.presentation"
SHORTCUT = "application/vnd.google-apps.shortcut"
PDF = "application/pdf"

FileType = Literal["doc", "sheet", "slides", "folder", "pdf"]
TYPE_MIME: dict[str, str] = {"doc": DOC, "sheet": SHEET, "slides": SLIDES, "folder": FOLDER, "pdf": PDF}
MIME_TYPE: dict[str, str] = {mime: short for short, mime in TYPE_MIME.items()}

#: Drive's id alphabet ("root" included): checked in the input schema and again before use.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,200}$"
_ID = re.compile(ID_PATTERN)
FileId = Annotated[str, Field(pattern=ID_PATTERN)]


def quote(text: str) -> str:
    """`text` as a Drive query string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def check_id(file_id: str, what: str = "file_id") -> str:
    if file_id == "root" or _ID.match(file_id):
        return file_id
    raise InvalidInput(f"{what} {file_id[:60]!r} is not a Drive id: use an id from search_files or list_folder")


def search_query(text: str, *, names_only: bool, file_type: str | None, folder_id: str | None) -> str:
    clauses = []
    literal = quote(text)
    clauses.append(
        f"name contains {literal}" if names_only else f"(name contains {literal} or fullText contains {literal})"
    )
    if file_type is not None:
        clauses.append(f"mimeType = {quote(TYPE_MIME[file_type])}")
    if folder_id is not None:
        clauses.append(f"{quote(check_id(folder_id, 'folder_id'))} in parents")
    clauses.append("trashed = false")
    return " and ".join(clauses)


def folder_query(folder_id: str) -> str:
    return f"{quote(check_id(folder_id, 'folder_id'))} in parents and trashed = false"


def short_type(mime: str) -> str:
    """doc / sheet / slides / folder / pdf, or the MIME type itself."""
    return MIME_TYPE.get(mime, mime)
