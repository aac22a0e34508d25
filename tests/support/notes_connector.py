"""A small in-memory connector for testing the hub core without any service."""

from __future__ import annotations

import asyncio
from typing import Annotated, ClassVar

from pydantic import BaseModel, Field

from mcp_hub.calls import current_context, lockdown_requested
from mcp_hub.connector import Connector, ConnectorSettings, ResourceOutput, ToolOutput, prompt, resource, tool
from mcp_hub.errors import NotFound, RateLimited
from mcp_hub.provenance import Provenance
from mcp_hub.secret import Secret


class NotesSettings(ConnectorSettings):
    token: Secret | None = None
    notes: list[str] = Field(default_factory=list)

    def missing(self) -> str | None:
        return None if self.token else "no token: set MCP_HUB_NOTES__TOKEN"


class Note(BaseModel):
    id: int
    text: str


class NoteList(BaseModel):
    notes: list[Note]
    instance: str


class NotesConnector(Connector[NotesSettings]):
    name: ClassVar[str] = "notes"
    settings_model = NotesSettings
    ecosystem_env: ClassVar[dict[str, str]] = {"NOTES_TOKEN": "token"}
    default_toolsets = frozenset({"read", "write"})
    opened: ClassVar[int] = 0

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.notes = list(self.settings.notes)

    @tool(toolset="read", description="List notes.")
    async def list_notes(self) -> ToolOutput[NoteList]:
        notes = [Note(id=i, text=t) for i, t in enumerate(self.notes)]
        return ToolOutput(
            NoteList(notes=notes, instance=self.instance),
            Provenance(f"notes://{self.instance}", self.settings.visibility, outsider_text=True),
        )

    @resource("notes://note/{note_id}{?format}", description="One note as text.", toolset="read")
    async def note_text(self, note_id: str, format: str = "plain") -> ResourceOutput:
        if not note_id.isdigit() or int(note_id) >= len(self.notes):
            raise NotFound(f"note {note_id} does not exist")
        if lockdown_requested():
            return ResourceOutput("[withheld: lockdown]", Provenance("notes", "public"))
        text = self.notes[int(note_id)]
        body = f"# note {note_id}\n{text}" if format == "markdown" else text
        return ResourceOutput(body, Provenance(f"notes://{self.instance}/{note_id}", self.settings.visibility, True))

    @tool(toolset="read", description="Get one note.")
    async def get_note(self, note_id: Annotated[int, Field(ge=0)]) -> ToolOutput[Note]:
        if note_id >= len(self.notes):
            raise NotFound(f"note {note_id} does not exist; list_notes shows the ids")
        return ToolOutput(Note(id=note_id, text=self.notes[note_id]), Provenance("notes", "public"))

    @tool(toolset="write", description="Add a note.", read_only=False)
    async def add_note(self, text: Annotated[str, Field(max_length=1000)]) -> ToolOutput[Note]:
        self.notes.append(text)
        return ToolOutput(Note(id=len(self.notes) - 1, text=text), Provenance("notes", "public"))

    @tool(toolset="write", description="Delete every note.", read_only=False, destructive=True)
    async def delete_notes(self) -> ToolOutput[NoteList]:
        self.notes.clear()
        return ToolOutput(NoteList(notes=[], instance=self.instance), Provenance("notes", "public"))

    @prompt(toolset="read", description="Summarise the notes.")
    async def summarise(self, style: str = "short") -> str:
        if style not in ("short", "long"):
            raise NotFound(f"no style {style!r}; use short or long")
        return f"Summarise these {len(self.notes)} notes ({style}): call notes_list_notes first."

    @tool(toolset="probe", description="Report progress through the MCP context.")
    async def probe_context(self) -> ToolOutput[Note]:
        ctx = current_context()
        await ctx.report_progress(1, 2, "halfway")
        return ToolOutput(Note(id=0, text=type(ctx).__name__), Provenance("notes", "public"))

    @tool(toolset="admin", description="Misbehave on purpose.")
    async def fail(self, how: str) -> ToolOutput[Note]:
        if how == "rate":
            raise RateLimited("the notes service is throttling", retry_after=7)
        if how == "sleep":
            await asyncio.sleep(30)
        secret = self.settings.token.get_secret_value() if self.settings.token else ""
        raise RuntimeError(f"kaboom with token {secret}")
