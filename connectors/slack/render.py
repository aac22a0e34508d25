"""Slack messages as compact, readable text: names resolved, mrkdwn markup turned into plain words.

`<@U123>` → `@alice`, `<#C1|general>` → `#general`, `<https://x|label>` → `label (https://x)`,
`<!here>` → `@here`; HTML entities decoded. Blocks are not re-rendered: Slack's `text` field already
holds the message (blocks repeat it), which is most of the saving over the raw API JSON.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.slack.directory import Channel, User

_MARKUP = re.compile(r"<([^<>]+)>")


def mention_ids(texts: Iterable[str]) -> set[str]:
    """User ids mentioned as `<@U…>` in `texts`."""
    found: set[str] = set()
    for text in texts:
        found.update(m.group(1) for m in re.finditer(r"<@([UW][A-Z0-9]+)", text))
    return found


def bare_channel_ids(texts: Iterable[str]) -> set[str]:
    """Channel ids mentioned as `<#C…>` or `<#C…|>` (no name in the markup) in `texts`."""
    found: set[str] = set()
    for text in texts:
        found.update(m.group(1) for m in re.finditer(r"<#([CG][A-Z0-9]+)\|?>", text))
    return found


def readable(text: str, users: Mapping[str, User], channels: Mapping[str, Channel]) -> str:
    """`text` (Slack mrkdwn) with its `<…>` markup made readable."""

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            user = users.get(target[1:])
            return "@" + (user.name if user else label.lstrip("@") or target[1:])
        if target.startswith("#"):
            channel = channels.get(target[1:])
            return "#" + (label or (channel.name if channel else "") or target[1:])
        if target.startswith("!"):
            if target.startswith("!subteam^"):
                return label or "@group"
            if target.startswith("!date^"):
                return label or "(date)"
            return "@" + target[1:]
        if label and label not in (target, target.split("://", 1)[-1], target.removeprefix("mailto:")):
            return f"{label} ({target})"
        return target.removeprefix("mailto:")

    return html.unescape(_MARKUP.sub(replace, text))


def message_text(raw: Mapping[str, Any]) -> str:
    """The text a person sees: `text`, else attachment fallbacks; file names appended."""
    text = str(raw.get("text") or "")
    if not text:
        parts = [str(a.get("fallback") or a.get("text") or "") for a in raw.get("attachments") or []]
        text = "\n".join(p for p in parts if p)
    files = [str(f.get("name") or f.get("title") or "file") for f in raw.get("files") or []]
    if files:
        text += "".join(f" [file: {name}]" for name in files)
    return text


def when(ts: str) -> datetime:
    return datetime.fromtimestamp(float(ts), tz=UTC)


def reactions_of(raw: Mapping[str, Any]) -> str:
    return " ".join(f":{r.get('name')}:×{r.get('count', 1)}" for r in raw.get("reactions") or [] if r.get("name"))


def line(ts: str, author: str, text: str, *, replies: int = 0, reactions: str = "", indent: bool = False) -> str:
    """`HH:MM ts @author: text [3 replies] [:+1:×2]`; multi-line texts are indented under their first line."""
    body = text.replace("\n", "\n    ")
    tail = (f" [{replies} replies]" if replies else "") + (f" [{reactions}]" if reactions else "")
    prefix = "  ↳ " if indent else ""
    return f"{prefix}{when(ts):%H:%M} {ts} {author}: {body}{tail}"


def day_header(ts: str) -> str:
    return f"-- {when(ts):%Y-%m-%d} (UTC) --"
