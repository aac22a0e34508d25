"""What the tools return: only the fields a model needs, compact."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class FileItem(BaseModel):
    id: str
    name: str
    type: str = Field(description="doc, sheet, slides, folder, pdf or a MIME type")
    modified: str | None
    owner: str | None
    outside: bool = Field(description="Owned or shared outside the organisation")


class FileList(BaseModel):
    files: list[FileItem]
    next_cursor: str | None
    truncated: bool = Field(description="True when more files exist (pass next_cursor)")


class FileInfo(BaseModel):
    id: str
    name: str
    type: str
    mime_type: str
    size: int | None
    created: str | None
    modified: str | None
    owners: list[str]
    modified_by: str | None
    description: str | None
    link: str | None
    parents: list[str]
    drive_id: str | None = Field(description="Shared drive id, if in one")
    shortcut_target: str | None
    visibility: Literal["public", "internal", "private"]
    outside: bool


class FileContent(BaseModel):
    id: str
    name: str
    format: Literal["markdown", "text", "csv", "none"] = Field(description="none: binary, metadata only")
    text: str
    start: int = Field(description="Offset of text in the whole file, in characters")
    total_chars: int
    next_cursor: str | None
    truncated: bool = Field(description="True when more text follows (pass next_cursor)")


class SheetValues(BaseModel):
    id: str
    name: str
    sheets: list[str]
    range: str | None
    rows: list[list[str]]
    row_count: int
    truncated: bool = Field(description="True when more rows existed than were returned")


class Written(BaseModel):
    id: str
    name: str
    link: str | None


class Comment(BaseModel):
    id: str
    file_id: str


class Shared(BaseModel):
    permission_id: str
    file_id: str
    type: str
    role: str
