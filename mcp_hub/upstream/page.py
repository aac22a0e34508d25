"""One page model for every listing: `next_cursor` and `truncated`, the same on all connectors.

A connector's listing model subclasses `Page` and adds its items
(`class Issues(Page): issues: list[IssueSummary]`). `truncated` is True
whenever there is a next page (set automatically from `next_cursor`) and may
also be set when a single item was cut. Cursors are opaque and made by
`encode_cursor` (re-exported from `mcp_hub.paging`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from mcp_hub.paging import decode_cursor, encode_cursor, take_within_budget

__all__ = ["Cursor", "Page", "decode_cursor", "encode_cursor", "take_within_budget"]

#: A cursor argument of a tool: pass back `next_cursor` unchanged.
Cursor = Annotated[str | None, Field(max_length=500)]


class Page(BaseModel):
    next_cursor: str | None = Field(default=None, description="Pass back as cursor for the next page.")
    truncated: bool = Field(default=False, description="True when more exists than was returned.")

    @model_validator(mode="after")
    def _more_means_truncated(self) -> Page:
        if self.next_cursor is not None and not self.truncated:
            self.truncated = True
        return self
