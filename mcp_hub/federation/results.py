"""What a federated server's answer becomes on its way to the hub's client.

The shape passes through (content blocks, `structuredContent`, `isError`, the server's own `_meta`);
the hub adds its provenance label and, for a server not marked `trusted`, treats every text as
outsider text, exactly like a native connector's: hidden-instruction carriers cleaned
(`clean_outsider_text`), the text fenced between per-response random markers
(`delimit_outsider_text`), and, under lockdown, withheld. Strings inside `structuredContent` are
cleaned (or withheld) but not fenced: the markers would break the server's output schema.
"""

from __future__ import annotations

import re
from typing import Any

from mcp import types as mt

from mcp_hub.errors import ConnectorError
from mcp_hub.federation.settings import ServerSettings
from mcp_hub.provenance import META_KEY, clean_outsider_text, delimit_outsider_text, new_boundary
from mcp_hub.upstream.outsider import WITHHELD


class ResultTooLarge(ConnectorError):
    kind = "too_large"


def provenance(
    server: str, settings: ServerSettings, what: str, *, outsider: bool, boundary: str | None
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "connector": server,
        "instance": "default",
        "resource": f"{server}:{what}",
        "visibility": settings.visibility,
        "outsider_text": outsider,
        "server": server,
        "trusted": settings.trusted,
        "federated": True,
    }
    if boundary is not None:
        meta["boundary"] = boundary
    return meta


class Fence:
    """Cleans, fences or withholds the texts of one untrusted answer (one boundary per answer)."""

    def __init__(self, lockdown: bool) -> None:
        self.lockdown = lockdown
        self.boundary = new_boundary()
        self.seen = False

    def text(self, text: str) -> str:
        if not text:
            return text
        if self.lockdown:
            return WITHHELD
        self.seen = True
        return delimit_outsider_text(clean_outsider_text(text), self.boundary)

    def value(self, value: Any) -> Any:
        """Strings anywhere in a JSON value, cleaned (or withheld); the structure is kept."""
        if isinstance(value, str):
            if not value:
                return value
            if self.lockdown:
                return WITHHELD
            self.seen = True
            return clean_outsider_text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {self._key(k, i): self.value(v) for i, (k, v) in enumerate(value.items())}
        return value

    def _key(self, key: str, index: int) -> str:
        """A key is the server's text too: cleaned, or under lockdown kept only when shaped like a name."""
        if _PLAIN_KEY.fullmatch(key):
            return key
        if self.lockdown:
            return f"withheld_{index}"
        self.seen = True
        cleaned = clean_outsider_text(key)
        return cleaned if cleaned == key else f"{cleaned} ({index})"  # cleaning must not merge two keys

    def block(self, block: Any) -> Any:
        if isinstance(block, mt.TextContent):
            return block.model_copy(update={"text": self.text(block.text)})
        if isinstance(block, mt.EmbeddedResource) and isinstance(block.resource, mt.TextResourceContents):
            inner = block.resource.model_copy(update={"text": self.text(block.resource.text)})
            return block.model_copy(update={"resource": inner})
        if isinstance(block, mt.ResourceLink):
            update = {"name": self.value(block.name)}
            for field in ("title", "description"):
                if getattr(block, field):
                    update[field] = self.value(getattr(block, field))
            return block.model_copy(update=update)
        return block  # images, audio, blobs: no text to steer a model with


#: Keys of structured content that pass as they are, even under lockdown.
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.$@-]{1,64}")
#: `_meta` keys in the hub's own namespace (`mcp_hub/provenance`, `mcp_hub/error`, …): the hub sets them.
_HUB_META = "mcp_hub/"


def their_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    """A server's `_meta` without the hub's keys: a server must not label its own answer (trusted,
    not outsider text) nor set the outcome the audit log records (`mcp_hub/error`)."""
    return {k: v for k, v in (meta or {}).items() if not k.startswith(_HUB_META)}


def _own_labels_only(block: Any) -> Any:
    """`block` (a content block, or a resource inside one) without hub keys in its `_meta`."""
    meta = getattr(block, "meta", None)
    if meta and any(k.startswith(_HUB_META) for k in meta):
        block = block.model_copy(update={"meta": their_meta(meta) or None})
    inner = getattr(block, "resource", None)
    if inner is not None and isinstance(block, mt.EmbeddedResource):
        cleaned = _own_labels_only(inner)
        if cleaned is not inner:
            block = block.model_copy(update={"resource": cleaned})
    return block


def size_check(server: str, settings: ServerSettings, what: str, result: mt.Result) -> None:
    size = len(result.model_dump_json(by_alias=True, exclude_none=True))
    if size > settings.max_result_bytes:
        raise ResultTooLarge(
            f"{what} on federated server {server} answered {size:,} bytes, more than "
            f"servers.{server}.max_result_bytes ({settings.max_result_bytes:,}); ask for less (a page, a filter)."
        )


def tool_result(
    server: str, settings: ServerSettings, tool: str, result: mt.CallToolResult, *, lockdown: bool
) -> mt.CallToolResult:
    size_check(server, settings, tool, result)
    meta = their_meta(result.meta)
    blocks = [_own_labels_only(b) for b in result.content]
    if settings.trusted:
        meta[META_KEY] = provenance(server, settings, tool, outsider=False, boundary=None)
        return result.model_copy(update={"meta": meta, "content": blocks})
    fence = Fence(lockdown)
    content = [fence.block(b) for b in blocks]
    structured = fence.value(result.structured_content) if result.structured_content is not None else None
    meta[META_KEY] = provenance(
        server, settings, tool, outsider=fence.seen, boundary=fence.boundary if fence.seen else None
    )
    return result.model_copy(update={"content": content, "structured_content": structured, "meta": meta})


def resource_text(settings: ServerSettings, text: str, fence: Fence | None) -> str:
    return text if settings.trusted or fence is None else fence.text(text)


def prompt_result(
    server: str, settings: ServerSettings, name: str, result: mt.GetPromptResult, *, lockdown: bool
) -> mt.GetPromptResult:
    size_check(server, settings, name, result)
    meta = their_meta(result.meta)
    own = [m.model_copy(update={"content": _own_labels_only(m.content)}) for m in result.messages]
    if settings.trusted:
        meta[META_KEY] = provenance(server, settings, name, outsider=False, boundary=None)
        return result.model_copy(update={"meta": meta, "messages": own})
    fence = Fence(lockdown)
    messages = [m.model_copy(update={"content": fence.block(m.content)}) for m in own]
    description = fence.value(result.description) if result.description else result.description
    meta[META_KEY] = provenance(
        server, settings, name, outsider=fence.seen, boundary=fence.boundary if fence.seen else None
    )
    return result.model_copy(update={"messages": messages, "description": description, "meta": meta})
