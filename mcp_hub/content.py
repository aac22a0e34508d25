"""Content beyond text that a tool result or a prompt may carry: images, audio, embedded resources.

Connectors build these plain values (no SDK import); the hub turns them into MCP
content blocks (`ImageContent`, `AudioContent`, `EmbeddedResource`). Embedded
text written by outsiders is delimited like every other outsider text.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from mcp_types import (
    AudioContent,
    BlobResourceContents,
    EmbeddedResource,
    ImageContent,
    TextContent,
    TextResourceContents,
)


@dataclass(frozen=True, slots=True)
class Image:
    data: bytes
    mime_type: str = "image/png"


@dataclass(frozen=True, slots=True)
class Audio:
    data: bytes
    mime_type: str = "audio/wav"


@dataclass(frozen=True, slots=True)
class Embedded:
    """A resource embedded in a result: `text` or `data` (bytes), with its URI and MIME type."""

    uri: str
    mime_type: str
    text: str | None = None
    data: bytes | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.data is None):
            raise ValueError("an embedded resource has exactly one of text and data")


#: What a `ToolOutput.content` item or a prompt message may be (a `str` is text).
Attachment = Image | Audio | Embedded


def to_block(item: str | Attachment, delimit: Any = None) -> Any:
    """The MCP content block of `item`; `delimit(text) -> text` wraps outsider text (None: as is)."""
    if isinstance(item, str):
        return TextContent(type="text", text=delimit(item) if delimit else item)
    if isinstance(item, Image):
        return ImageContent(type="image", data=base64.b64encode(item.data).decode(), mime_type=item.mime_type)
    if isinstance(item, Audio):
        return AudioContent(type="audio", data=base64.b64encode(item.data).decode(), mime_type=item.mime_type)
    if item.text is not None:
        text = delimit(item.text) if delimit else item.text
        resource: Any = TextResourceContents(uri=item.uri, mime_type=item.mime_type, text=text)
    else:
        assert item.data is not None
        resource = BlobResourceContents(
            uri=item.uri, mime_type=item.mime_type, blob=base64.b64encode(item.data).decode()
        )
    return EmbeddedResource(type="resource", resource=resource)
