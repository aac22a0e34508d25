"""Google Drive connector (google-api-python-client, run in worker threads).

Search returns file ids and works across shared drives; Docs read as
Markdown, Sheets as CSV or by range, Slides as text; search text is escaped
for Drive's query language. Files owned or shared outside the organisation's
domain are outsider text. The Google SDK is imported on first use only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from connectors.gdrive import MANIFEST
from connectors.gdrive.files import FileTools
from connectors.gdrive.settings import GdriveSettings
from connectors.gdrive.sheets import SheetTools
from connectors.gdrive.writes import WriteTools


class GdriveConnector(FileTools, SheetTools, WriteTools):
    name: ClassVar[str] = "gdrive"
    settings_model = GdriveSettings
    ecosystem_env: ClassVar[Mapping[str, str]] = MANIFEST.ecosystem_env
    requires = ("googleapiclient", "google.auth", "google_auth_httplib2", "httplib2")
    extra = "gdrive"

    async def diagnose(self) -> list[str]:
        warnings = []
        if self.settings.own_domain() is None:
            warnings.append(
                'no domain set: every file counts as written by outsiders; set domain = "example.com" '
                "(your Google Workspace domain) so your own files are not labelled as outsider text."
            )
        return warnings


__all__ = ["GdriveConnector", "GdriveSettings"]
