"""Tool poisoning: definitions that talk to the model instead of describing a tool.

`scan(definition)` walks every string of a tool, prompt or resource template as
the wire carries it (names, titles, descriptions at any depth of the input and
output schemas, `$defs`, enum values, defaults, examples, annotations, `_meta`;
not `icons`, which no model reads) and returns findings:

- `hidden-character`: anything outside an allow-list of visible text (letters,
  marks, digits, punctuation, symbols, spaces, tab and line breaks): zero-width
  characters, bidi controls, tag characters (U+E0000…), private-use and
  unassigned code points, invisible fillers, variation selectors not after a symbol;
- `homoglyph`: words mixing Latin with Cyrillic/Greek/… letters, lookalike
  (mathematical, fullwidth) Latin, or Latin-looking foreign words in Latin text;
- `instruction`: text addressed to the model rather than describing the tool:
  "ignore previous instructions", keeping things from the user, steering other
  tools, chat-template tokens;
- `sensitive-data`: credential files and keys (`~/.ssh`, `.env`, `mcp.json`, …), or
  reading/passing secrets;
- `exfiltration`: sending data to a URL, an address or a webhook;
- `markup`: HTML comments, `<IMPORTANT>`-style tags, paired tags;
- `encoded-blob`: base64-looking runs (40+ characters);
- `foreign-reference`: names of tools of the hub's catalog or of other servers;
- `oversized`: one text over `MAX_TEXT` characters, or all of them over `MAX_TOTAL`.

The patterns aim at what an attack needs to say, not at imperatives in general:
"Do not pass anything to this param if…" or "Use 'Etc/UTC' if no timezone is
provided by the user" (real servers' parameter help) pass. The tests hold them to
zero findings on server-everything, mcp-server-git, mcp-server-time and the hub's
own catalog. A finding is a reason to withhold until a person approves it, not a
verdict; approval is bound to the definition's hash (`pins.PinnedGate`).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 2000
MAX_TOTAL = 8000
#: Subtrees no model reads (icon URLs and data URIs).
_SKIPPED_KEYS = frozenset({"icons"})
#: Invisible although their category is a visible one.
_INVISIBLE = frozenset({0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x2800, 0x3164, 0xFFA0})
_VISIBLE_CATEGORIES = ("L", "M", "N", "P", "S")
_ALLOWED_CONTROLS = frozenset("\n\r\t")


@dataclass(frozen=True)
class Finding:
    code: str
    #: Where in the definition: `description`, `inputSchema.properties.path.description`, `…enum[1]`.
    where: str
    detail: str

    @property
    def key(self) -> str:
        """What an approval names (`code@where`): approving one finding approves no other."""
        return f"{self.code}@{self.where}"

    def __str__(self) -> str:
        return f"{self.code} in {self.where}: {self.detail}"


def scan(
    definition: Mapping[str, Any],
    *,
    foreign_tools: Collection[str] = (),
    foreign_servers: Collection[str] = (),
) -> list[Finding]:
    """Findings for one definition (its wire JSON, e.g. `canonical.dump(tool)`), in a stable order."""
    findings: list[Finding] = []
    tool_refs = _names_pattern(frozenset(n for n in foreign_tools if identifier_like(n)))
    server_refs = _servers_pattern(frozenset(foreign_servers))
    total = 0
    for where, text, is_key in _strings(definition, ""):
        total += len(text)
        findings += _hidden(where, text)
        findings += _homoglyphs(where, text)
        if is_key:
            continue
        if len(text) > MAX_TEXT:
            findings.append(Finding("oversized", where, f"{len(text)} characters (limit {MAX_TEXT})"))
        folded = fold(text)
        for code, pattern in _PATTERNS:
            match = pattern.search(folded)
            if match:
                findings.append(Finding(code, where, _snippet(match.group(0))))
        match = _MARKUP_CASED.search(text)
        if match and not any(f.code == "markup" and f.where == where for f in findings):
            findings.append(Finding("markup", where, _snippet(match.group(0))))
        blob = _encoded_blob(text)
        if blob:
            findings.append(Finding("encoded-blob", where, _snippet(blob)))
        for refs in (tool_refs, server_refs) if where != "name" else ():
            match = refs.search(folded) if refs is not None else None
            if match:
                findings.append(Finding("foreign-reference", where, _snippet(match.group(0))))
    if total > MAX_TOTAL:
        findings.append(Finding("oversized", "*", f"{total} characters of text in all (limit {MAX_TOTAL})"))
    return findings


def fold(text: str) -> str:
    """What the patterns read: NFKC (fullwidth and styled letters as plain), invisible characters
    dropped (so `ig\\u200bnore` reads `ignore`), lower case, whitespace collapsed."""
    if text.isascii():
        text = _ASCII_CONTROL.sub("", text)
    else:
        text = unicodedata.normalize("NFKC", text)
        text = "".join(ch for ch in text if not _is_hidden(ch, None))
    return " ".join(text.lower().split())


def _strings(value: Any, where: str) -> Iterator[tuple[str, str, bool]]:
    if isinstance(value, str):
        yield where, value, False
    elif isinstance(value, Mapping):
        for key, child in value.items():
            key = str(key)
            if key in _SKIPPED_KEYS and not where:
                continue
            path = f"{where}.{key}" if where else key
            yield path, key, True
            yield from _strings(child, path)
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            yield from _strings(child, f"{where}[{index}]")


# -- hidden characters ------------------------------------------------------------------------


def _is_hidden(ch: str, previous: str | None) -> bool:
    code = ord(ch)
    if ch in _ALLOWED_CONTROLS or code in (0x20,):
        return False
    if code in _INVISIBLE or 0xE0000 <= code <= 0xE0FFF:  # tags, supplementary variation selectors
        return True
    if 0xFE00 <= code <= 0xFE0F:  # a variation selector is visible styling only right after a symbol
        return previous is None or unicodedata.category(previous) != "So"
    category = unicodedata.category(ch)
    if category == "Zs":
        return False
    return not category.startswith(_VISIBLE_CATEGORIES)


_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _hidden(where: str, text: str) -> list[Finding]:
    if text.isascii() and not _ASCII_CONTROL.search(text):  # the common case, without a look at each character
        return []
    found = [(i, ch) for i, ch in enumerate(text) if _is_hidden(ch, text[i - 1] if i else None)]
    if not found:
        return []
    shown = ", ".join(f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')} at {i}" for i, ch in found[:3])
    more = f" (+{len(found) - 3} more)" if len(found) > 3 else ""
    return [Finding("hidden-character", where, shown + more)]


# -- homoglyphs ---------------------------------------------------------------------------------

_LOOKALIKE_SCRIPTS = ("CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC", "LISU", "TIFINAGH")
#: Cyrillic and Greek letters that look like Latin ones.
_LATIN_LOOKING = frozenset("аеорсухіјѕԁһԛԝвкмнтАВЕКМНОРСТУХІЈЅΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοικνρτυχ")
_WORD = re.compile(r"[^\W\d_]+")


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    if name.startswith(("MATHEMATICAL", "FULLWIDTH LATIN", "LATIN LETTER SMALL CAPITAL")):
        return "LOOKALIKE"
    return name.split(" ", 1)[0]


def _homoglyphs(where: str, text: str) -> list[Finding]:
    if text.isascii():  # ASCII letters are all Latin
        return []
    words = _WORD.findall(text)
    latin = sum(1 for w in words for ch in w if _script(ch) == "LATIN")
    letters = sum(len(w) for w in words)
    for word in words:
        scripts = {_script(ch) for ch in word}
        if "LOOKALIKE" in scripts:
            return [Finding("homoglyph", where, f"lookalike letters in {_snippet(word)!s}")]
        if "LATIN" in scripts and scripts & set(_LOOKALIKE_SCRIPTS):
            return [Finding("homoglyph", where, f"mixed scripts in {_snippet(word)}")]
        if len(word) >= 3 and latin * 2 > letters and all(ch in _LATIN_LOOKING for ch in word):
            return [Finding("homoglyph", where, f"Latin-looking {'/'.join(sorted(scripts))} word {_snippet(word)}")]
    return []


# -- what the text says -----------------------------------------------------------------------

_VERB_SECRETS = (
    r"\b(?:read|cat|open|include|send|pass|provide|copy|extract|upload|leak|exfiltrate|forward|attach|append|embed)\b"
    r"(?:\W+\w+){0,5}?\W+(?:api[ _-]?keys?|secret keys?|secrets|passwords?|credentials|private keys?|ssh keys?|"
    r"(?:access|auth|bearer|api|oauth|session) tokens?|environment variables|env vars|cookies)\b"
)
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (code, re.compile(pattern))
    for code, pattern in (
        (
            "instruction",
            r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+|the\s+|your\s+)*"
            r"(?:previous|prior|above|earlier|preceding|other|system|safety|original|existing)\b",
        ),
        (
            "instruction",
            r"\b(?:do not|don'?t|never|without)\s+(?:\w+\s+){0,2}?(?:tell|telling|inform|informing|notify|notifying|"
            r"mention|mentioning|reveal|revealing|alert|alerting|warn|warning|let)\b(?:\W+\w+){0,3}?\W+"
            r"(?:the\s+)?(?:user|human|operator|anyone)\b",
        ),
        ("instruction", r"\b(?:the )?user (?:must|should|will|need) (?:not|never) (?:know|see|notice|be told)\b"),
        (
            "instruction",
            r"\b(?:secretly|covertly|behind the user'?s back|without (?:the )?user'?s? (?:knowledge|consent))\b",
        ),
        (
            "instruction",
            r"\b(?:you (?:must|should|have to|need to|are required to)|always|be sure to|make sure to|"
            r"must first|first you must)\s+(?:\w+\s+)?(?:call|invoke|execute|run|read|send|include|pass|forward|"
            r"copy|upload|email|post|fetch)\b",
        ),
        (
            "instruction",
            r"\b(?:as an? (?:ai|assistant|language model)|(?:ai|llm|language model|assistant|agent)\s*[,:]?\s*"
            r"(?:must|should|shall|is required to))\b",
        ),
        ("instruction", r"\bwhen this tool is (?:available|present|loaded|installed)\b"),
        (
            "instruction",
            r"\b(?:all|any|every|other|another) (?:mcp )?(?:tools?|servers?)\b(?:\W+\w+){0,4}?\W+"
            r"(?:must|should|shall|need to|have to)\b",
        ),
        ("instruction", r"<\|[a-z_]+\|>|\[/?inst\]|(?:^|\s)(?:system|assistant)\s*:\s"),
        ("instruction", r"\b(?:the |your )?(?:entire |whole |full )?(?:conversation|chat) history\b"),
        (
            "sensitive-data",
            r"(?:~|\$home|%userprofile%)[/\\]\.|(?:^|[\s/\\'\"`(])\.(?:ssh|aws|kube|docker|gnupg|netrc|npmrc|pypirc|"
            r"git-credentials|env)\b|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|/etc/(?:passwd|shadow)\b|\bmcp\.json\b|"
            r"claude_desktop_config|\bkeychain\b",
        ),
        ("sensitive-data", _VERB_SECRETS),
        (
            "exfiltration",
            r"\b(?:send|post|upload|forward|transmit|exfiltrate|e-?mail|mail|leak|report|copy|submit)\b"
            r"[^.]{0,80}?\b(?:to|at)\s+(?:https?://|ftp://|[\w.+-]+@[\w-]+\.[\w.]+|(?:a |the |this )?webhook)",
        ),
        (
            "markup",
            r"<!--|-->|</?\s*(?:important|system|instructions?|system[-_ ]?(?:prompt|message|reminder)|secret|"
            r"hidden|admin|assistant|prompt|context|critical|tool[-_ ]?instructions?)\b[^<>]{0,40}>",
        ),
        ("markup", r"<([a-z][\w-]{0,30})(?:\s[^<>]{0,40})?>[\s\S]{0,2000}?</\1\s*>"),
    )
)
#: An all-capitals tag (`<IMPORTANT>`, `<SYS>`) or shouted emphasis, read before folding.
_MARKUP_CASED = re.compile(r"</?[A-Z][A-Z_-]{2,}>|\b(?:IMPORTANT|CRITICAL|URGENT|ATTENTION)\s*[:!]")
_BLOB = re.compile(r"[A-Za-z0-9+/_-]{40,}={0,2}")


def _encoded_blob(text: str) -> str | None:
    for match in _BLOB.finditer(text):
        run = match.group(0)
        classes = (any(c.isupper() for c in run), any(c.islower() for c in run), any(c.isdigit() for c in run))
        if all(classes) and run.count("/") <= 2 and run.count("-") + run.count("_") <= len(run) // 10:
            return run
    return None


def identifier_like(name: str) -> bool:
    """A tool name that cannot be an ordinary word (`echo`, `add` are left alone)."""
    return len(name) >= 4 and ("_" in name or "-" in name or any(c.isupper() for c in name[1:]))


@functools.lru_cache(maxsize=32)
def _names_pattern(names: frozenset[str]) -> re.Pattern[str] | None:
    if not names:
        return None
    alternatives = "|".join(re.escape(n.lower()) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


@functools.lru_cache(maxsize=32)
def _servers_pattern(servers: frozenset[str]) -> re.Pattern[str] | None:
    if not servers:
        return None
    names = "|".join(re.escape(s.lower()) for s in sorted(servers, key=len, reverse=True))
    # "the slack server", "`slack` MCP server", "the server named slack"; not "server time" (prose)
    return re.compile(
        rf"(?<![\w-])['\"`]?(?:{names})['\"`]?\s+(?:mcp\s+)?server\b"
        rf"|\bserver\s+(?:named|called)\s+['\"`]?(?:{names})(?![\w-])"
    )


def _snippet(text: str, limit: int = 60) -> str:
    """Short and printable: non-ASCII and control characters escaped (no hidden text, no terminal escape
    sequence in a reason, a log line or `servers status`)."""
    return printable(text if len(text) <= limit else text[: limit - 1] + "…")


def printable(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")
