"""A finished review carried between the two rounds of an approval on MCP 2026-07-28.

Round one reviews and answers with an `InputRequiredResult` whose `request_state` is this
snapshot; round two (the client's retry with the user's answer) posts it without asking the
model again. The diff itself is left out (round two reads the change again and checks that
its head has not moved), so the state stays small. The SDK seals `request_state` (AES-GCM,
bound to the request, with an expiry), so what comes back is what was minted here.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from pydantic import TypeAdapter, ValidationError

from model.review.hubcalls import ReviewError
from model.review.report import ReviewReport

VERSION = 1
_ADAPTER: TypeAdapter[ReviewReport] | None = None


def _adapter() -> TypeAdapter[ReviewReport]:
    global _ADAPTER
    if _ADAPTER is None:
        _ADAPTER = TypeAdapter(ReviewReport)
    return _ADAPTER


def freeze(report: ReviewReport, url: str, lang: str | None) -> str:
    bare = replace(report, change=replace(report.change, files=[]), posted=None)
    report_json = _adapter().dump_python(bare, mode="json")
    payload: dict[str, Any] = {"v": VERSION, "url": url, "lang": lang, "report": report_json}
    return json.dumps(payload, separators=(",", ":"))


def thaw(state: str, url: str, lang: str | None) -> ReviewReport:
    """The review frozen for this very call; anything else is refused."""
    try:
        payload = json.loads(state)
        if payload.get("v") != VERSION or payload.get("url") != url or payload.get("lang") != lang:
            raise ValueError("another call's state")
        return _adapter().validate_python(payload["report"])
    except (ValueError, KeyError, TypeError, AttributeError, ValidationError):
        raise ReviewError("the approval's state does not belong to this review; call the tool again") from None
