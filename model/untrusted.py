"""Text a model wrote (or an outsider fed it) made safe to show in a forge or in Slack.

One module for every place the hub posts model output: the review bot (GitHub and GitLab
Markdown) and the triage digest (Slack mrkdwn). It is an allow-list over what renders:

- **mentions** (`@user`, `@org/team`, GitLab `@group`) are put in code spans, where no forge
  notifies anyone;
- **links** render only to allow-listed hosts (by default the repository's own forge); any other
  URL, Markdown link or image target, `www.` autolink or protocol-relative link is replaced by a
  visible `[link removed: host]`;
- **no raw HTML**: `<` and `>` outside code are escaped, so no `<details>`, `<img onerror>`, HTML
  comment or hidden marker can be injected (the bot's own `mcp-hub-review:` markers are also
  defused, so model text cannot forge one inside the bot's comment);
- **no approval or merge claims** in the bot's voice: a text that claims approval or tells anyone
  to merge is shown quoted as model output;
- **no suggestion blocks**: a fence's info string is dropped (the bot adds suggestion blocks
  itself, only for lines inside the diff), and an unclosed fence is closed.

Code spans and fenced blocks are left as they are (nothing renders inside them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from mcp_hub.provenance import clean_outsider_text

#: Every URL with a scheme, a protocol-relative `//host`, or a `www.` autolink (GitHub links those).
URL = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://|(?<![\w/])//|\bwww\.)[^\s<>()\[\]`'\"]+", re.I)
_MD_TARGET = re.compile(r"\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'][^)]*[\"'])?\s*\)")
_MENTION = re.compile(r"(?<![\w`/.@])@[A-Za-z0-9][\w.-]*(?:/[\w.-]+)*")
_FENCE = re.compile(r"^(\s{0,3})(`{3,}|~{3,})(.*)$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_MARKER = re.compile(r"mcp-hub-review\s*:", re.I)
_APPROVAL = re.compile(
    r"\b(?:lgtm|approved?|approving|approval|ship\s+it|ready\s+(?:to|for)\s+merge|safe\s+to\s+merge|"
    r"(?:please\s+)?merge\s+(?:it|this|now|without|immediately|right\s+away)|no\s+further\s+review)\b|✅",
    re.I,
)
_SCHEMES_WITHOUT_HOST = re.compile(r"^(?:javascript|data|vbscript|file|mailto):", re.I)


def host_of(url: str) -> str:
    """The host a URL (or a `www.` / `//` link) points at, lower case ('' when it has none)."""
    text = url.strip()
    if text.lower().startswith("www."):
        text = "https://" + text
    elif text.startswith("//"):
        text = "https:" + text
    try:
        return (urlsplit(text).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def _allowed(url: str, hosts: frozenset[str]) -> bool:
    if _SCHEMES_WITHOUT_HOST.match(url.strip()):
        return False
    host = host_of(url)
    if not host:
        # A relative link (`/org/repo/pull/1`, `#L10`) resolves on the forge itself.
        return "://" not in url and ":" not in url.split("/", 1)[0]
    return host in hosts or any(host.endswith("." + h) for h in hosts)


def remove_links(text: str, hosts: Iterable[str] = (), *, show_host: bool = True) -> str:
    """Replace every link to a host outside `hosts` (all links when empty) with a visible notice."""
    allowed = frozenset(h.lower() for h in hosts if h)

    def target(match: re.Match[str]) -> str:
        url = match.group(1)
        if _allowed(url, allowed):
            return match.group(0)
        return "](#link-removed)"

    def bare(match: re.Match[str]) -> str:
        whole = match.group(0)
        url = whole.rstrip(".,;:!?")  # sentence punctuation after a link is not part of it
        tail = whole[len(url) :]
        if url == "#link-removed" or _allowed(url, allowed):
            return whole
        host = host_of(url) or "unknown host"
        # The host in a code span: forges autolink `www.` and bare URLs in prose, never inside code.
        return (f"[link removed: `{host}`]" if show_host else "[link removed]") + tail

    text = _MD_TARGET.sub(target, text)
    return URL.sub(bare, text)


def _prose(text: str, hosts: frozenset[str]) -> str:
    text = _MARKER.sub("mcp-hub-review (quoted):", text)
    text = remove_links(text, hosts)
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return _MENTION.sub(lambda m: f"`{m.group(0)}`", text)


def _outside_code(text: str, hosts: frozenset[str]) -> str:
    """Sanitise prose, leaving inline code spans as they are (nothing renders inside them)."""
    out: list[str] = []
    last = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_prose(text[last : match.start()], hosts))
        out.append(_MARKER.sub("mcp-hub-review (quoted):", match.group(0)))
        last = match.end()
    out.append(_prose(text[last:], hosts))
    return "".join(out)


def forge_markdown(text: str, hosts: Iterable[str] = ()) -> str:
    """Model-written (or outsider) text made safe to post as Markdown on GitHub or GitLab."""
    allowed = frozenset(h.lower() for h in hosts if h)
    text = clean_outsider_text(text)
    lines = text.split("\n")
    out: list[str] = []
    prose: list[str] = []
    fence: str | None = None
    for line in lines:
        match = _FENCE.match(line)
        if fence is None and match:
            if prose:
                out.append(_outside_code("\n".join(prose), allowed))
            prose = []
            fence = match.group(2)
            out.append(match.group(1) + fence)  # the info string (`suggestion`, …) is dropped
            continue
        if fence is not None:
            closing = match is not None and match.group(2)[0] == fence[0] and len(match.group(2)) >= len(fence)
            if match is not None and closing and not match.group(3).strip():
                out.append(match.group(1) + fence)
                fence = None
            else:
                out.append(_MARKER.sub("mcp-hub-review (quoted):", line))
            continue
        prose.append(line)
    if prose:
        out.append(_outside_code("\n".join(prose), allowed))
    if fence is not None:
        out.append(fence)
    result = "\n".join(out)
    if _APPROVAL.search(result):
        quoted = "\n".join(f"> {line}" if line else ">" for line in result.split("\n"))
        result = "_Model output, quoted (the bot neither approves nor merges):_\n" + quoted
    return result


def suggestion_text(text: str | None) -> str | None:
    """A suggested replacement fit for a suggestion block (None when it could break out of one)."""
    if text is None:
        return None
    cleaned = clean_outsider_text(text)
    if "```" in cleaned or "~~~" in cleaned or _MARKER.search(cleaned):
        return None
    return cleaned


def slack_plain(text: str) -> str:
    """Plain text for Slack mrkdwn: no links at all (they could carry data out), no mentions or markup.

    Escaping `&`, `<` and `>` is what stops Slack's `<@U123>`, `<!channel>` and `<url|text>` forms.
    """
    text = remove_links(clean_outsider_text(text), show_host=False)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
