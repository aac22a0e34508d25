"""Who may see a file and whether outsiders wrote it, from the metadata Drive returns.

A file is *outside* when its owner or last editor is not in the organisation's
domain, or when it is shared with anyone or with another domain; without a
configured domain every file counts as outside (the safe default). Visibility:
link-shared with `anyone` -> public, shared with a domain -> internal, else
private (also when Drive does not return permissions, as for shared drives).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mcp_hub.provenance import VISIBILITY_RANK, Visibility, clean_outsider_text

#: The `fields` selector of one file in lists, and in full for a single file.
LIST_FILE_FIELDS = (
    "id,name,mimeType,modifiedTime,owners(emailAddress),lastModifyingUser(emailAddress),"
    "permissions(type,domain,emailAddress)"
)
FILE_FIELDS = LIST_FILE_FIELDS + ",size,createdTime,description,webViewLink,parents,driveId,shortcutDetails(targetId)"
WITHHELD = "[withheld: from outside the organisation; lockdown is on]"


@dataclass(frozen=True, slots=True)
class Labels:
    visibility: Visibility
    outside: bool


def _domain_of(email: object) -> str | None:
    if isinstance(email, str) and "@" in email:
        return email.rsplit("@", 1)[1].lower()
    return None


def assess(file: Mapping[str, Any], domain: str | None) -> Labels:
    permissions = [p for p in file.get("permissions") or [] if isinstance(p, dict)]
    kinds = {p.get("type") for p in permissions}
    if "anyone" in kinds:
        visibility: Visibility = "public"
    elif "domain" in kinds:
        visibility = "internal"
    else:
        visibility = "private"
    return Labels(visibility, _outside(file, permissions, domain))


def _outside(file: Mapping[str, Any], permissions: list[dict[str, Any]], domain: str | None) -> bool:
    if domain is None:
        return True
    people = [o.get("emailAddress") for o in file.get("owners") or [] if isinstance(o, dict)]
    editor = file.get("lastModifyingUser")
    if isinstance(editor, dict):
        people.append(editor.get("emailAddress"))
    if any((d := _domain_of(email)) is not None and d != domain for email in people):
        return True
    for permission in permissions:
        kind = permission.get("type")
        if kind == "anyone":
            return True
        if kind == "domain" and str(permission.get("domain", "")).lower() != domain:
            return True
        if kind in ("user", "group") and (d := _domain_of(permission.get("emailAddress"))) and d != domain:
            return True
    return False


def strictest(labels: Iterable[Labels], default: Visibility) -> Visibility:
    """The visibility of a result that combines several files."""
    ranked = [label.visibility for label in labels]
    if not ranked:
        return default
    return max(ranked, key=lambda v: VISIBILITY_RANK[v])


def outsider_value(text: str, outside: bool, withhold: bool) -> str:
    """Outsider text cleaned, or withheld under lockdown; insiders' text as is."""
    if not outside:
        return text
    return WITHHELD if withhold else clean_outsider_text(text)
