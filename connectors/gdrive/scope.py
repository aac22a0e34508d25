"""What one Google Drive instance may ask for: the request guard's scope (see `mcp_hub.upstream`).

An allow-list of the Drive v3 and Sheets v4 calls the tools make, and nothing
else: listing files, creating one by a multipart upload, and, on one file id
(Drive's id alphabet only, checked after the URL is decoded), its metadata or
media, its export, a media update, a comment, a permission; a spreadsheet's
titles and a range of its values. Each route admits only the query parameters
the connector sends (with the values it sends where they choose what is
returned), so an unseen parameter or endpoint (`/about`, `/batch/drive/v3`,
`/drive/v2`, a `..` walk) is refused before it is sent.

A file id in a path says nothing about where the file lives: with a `folders`
allow-list, the key of each file route is checked by `FolderProof`
(`connectors.gdrive.proof`), which walks the file's parents, as Drive answered
them, up to an allowed folder or shared drive.

The resource of a request on one file is `/<id>` (provenance URI `gdrive:///<id>`);
of a listing or a creation `<instance>/files`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from connectors.gdrive.settings import GdriveSettings
from mcp_hub.upstream import Route, Scope
from mcp_hub.upstream.scope import QueryCheck

#: A Drive file / folder / shared drive / spreadsheet id ("root" included).
ID = r"[A-Za-z0-9_-]{1,200}"
#: The same, for an input schema.
ID_PATTERN = rf"^{ID}$"
#: Metadata fields a scope proof asks for (`FolderProof`): nothing a tool shows.
PROOF_FIELDS = "id,parents,driveId"
ANY = None


def params(**allowed: frozenset[str] | None) -> QueryCheck:
    """A query check admitting only `allowed` parameters (each once), with the listed values where given."""

    def check(query: Mapping[str, list[str]]) -> str | None:
        for name, values in query.items():
            if name not in allowed:
                return f"the query parameter {name!r} is not one this connector sends"
            if len(values) != 1:
                return f"the query parameter {name!r} is repeated"
            admitted = allowed[name]
            if admitted is not None and values[0] not in admitted:
                return f"{name}={values[0][:40]!r} is not a value this connector sends"
        return None

    return check


def _one(*values: str) -> frozenset[str]:
    return frozenset(values)


BOOL = _one("true", "false")
JSON = _one("json")
FILE_METHODS = frozenset({"GET"})


def _file(match: re.Match[str]) -> str:
    return "/" + match.group("key")


def drive_routes(instance: str) -> tuple[Route, ...]:
    listing = f"{instance}/files"
    return (
        Route(
            "files.list",
            r"/drive/v3/files",
            query=params(
                q=ANY,
                pageSize=ANY,
                pageToken=ANY,
                orderBy=_one("folder,name"),
                fields=ANY,
                corpora=_one("allDrives"),
                includeItemsFromAllDrives=BOOL,
                supportsAllDrives=BOOL,
                alt=JSON,
            ),
            resource=lambda match: listing,
        ),
        Route(
            "files.create",
            r"/upload/drive/v3/files",
            methods=frozenset({"POST"}),
            query=params(uploadType=_one("multipart"), fields=ANY, supportsAllDrives=BOOL, alt=JSON),
            resource=lambda match: listing,
        ),
        Route(
            "file",
            rf"/drive/v3/files/(?P<key>{ID})",
            query=params(fields=ANY, supportsAllDrives=BOOL, alt=_one("json", "media")),
            resource=_file,
        ),
        Route(
            "file.export",
            rf"/drive/v3/files/(?P<key>{ID})/export",
            query=params(mimeType=_one("text/markdown", "text/plain", "text/csv"), alt=_one("json", "media")),
            resource=_file,
        ),
        Route(
            "file.update",
            rf"/upload/drive/v3/files/(?P<key>{ID})",
            methods=frozenset({"PATCH"}),
            query=params(uploadType=_one("media", "multipart"), fields=ANY, supportsAllDrives=BOOL, alt=JSON),
            resource=_file,
        ),
        Route(
            "file.comments",
            rf"/drive/v3/files/(?P<key>{ID})/comments",
            methods=frozenset({"POST"}),
            query=params(fields=ANY, alt=JSON),
            resource=_file,
        ),
        Route(
            "file.permissions",
            rf"/drive/v3/files/(?P<key>{ID})/permissions",
            methods=frozenset({"POST"}),
            query=params(fields=ANY, supportsAllDrives=BOOL, sendNotificationEmail=BOOL, alt=JSON),
            resource=_file,
        ),
    )


def sheets_routes() -> tuple[Route, ...]:
    return (
        Route("spreadsheet", rf"/v4/spreadsheets/(?P<key>{ID})", query=params(fields=ANY, alt=JSON), resource=_file),
        Route(
            "spreadsheet.values",
            # the range is one segment: a '/' in it arrives encoded, and the guard refuses that
            rf"/v4/spreadsheets/(?P<key>{ID})/values/[^/]+",
            query=params(valueRenderOption=_one("FORMATTED_VALUE"), majorDimension=_one("ROWS"), alt=JSON),
            resource=_file,
        ),
    )


def gdrive_scopes(settings: GdriveSettings, instance: str, allows: Callable[[str], bool]) -> tuple[Scope, ...]:
    """The Drive scope and the Sheets scope (one scope when both APIs have the same root)."""
    name = (
        "this instance's folders (gdrive folders setting)"
        if settings.folders
        else "the Drive and Sheets calls this connector makes"
    )
    drive, sheets = settings.drive_root(), settings.sheets_root()
    if drive == sheets:
        return (Scope("gdrive", drive, drive_routes(instance) + sheets_routes(), allows, allow_list_name=name),)
    return (
        Scope("gdrive", drive, drive_routes(instance), allows, allow_list_name=name),
        Scope("gdrive", sheets, sheets_routes(), allows, allow_list_name=name),
    )
