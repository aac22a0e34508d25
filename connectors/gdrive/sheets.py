"""Spreadsheets: the first sheet through Drive's CSV export, any sheet or range through Sheets v4."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from pydantic import Field

from connectors.gdrive.base import GdriveBase
from connectors.gdrive.labels import LIST_FILE_FIELDS, WITHHELD, assess, outsider_value
from connectors.gdrive.models import SheetValues
from connectors.gdrive.query import SHEET, FileId, check_id, short_type
from mcp_hub.connector import ToolOutput, tool
from mcp_hub.errors import InvalidInput
from mcp_hub.upstream import Target
from mcp_hub.upstream.segments import SEGMENT_PATTERN, segment


class SheetTools(GdriveBase):
    @tool(toolset="sheets", description="Read spreadsheet rows: the first sheet, or a sheet/range in A1 notation.")
    async def read_sheet(
        self,
        file_id: FileId,
        range: Annotated[
            str | None, Field(max_length=200, pattern=SEGMENT_PATTERN, description="e.g. Budget or Budget!A1:F100")
        ] = None,
        max_rows: Annotated[int | None, Field(ge=1, le=10_000)] = None,
    ) -> ToolOutput[SheetValues]:
        file_id = check_id(file_id)
        if range is not None:  # one URL segment: no '/', '..', '%', '?', '#' (the guard refuses them too)
            segment(range, what="range")
        meta, sent = await self.metadata(file_id, LIST_FILE_FIELDS)
        if meta.get("mimeType") != SHEET:
            raise InvalidInput(
                f"{file_id} is a {short_type(meta.get('mimeType', ''))}, not a Google Sheet: use read_file"
            )
        titles = await self._titles(file_id)
        labels = assess(meta, self.domain)
        withheld = labels.outside and self.withhold()
        if withheld:
            rows: list[list[str]] = [[WITHHELD]]
        elif range is None:
            raw, sent = await self.gateway.sent(
                lambda c: c.files.export(fileId=file_id, mimeType="text/csv"), file_id=file_id
            )
            text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
            rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
        else:
            rows, sent = await self._values(file_id, range, titles)
        cap = min(max_rows or self.settings.max_rows, self.settings.max_rows)
        kept = [[outsider_value(cell, labels.outside, False) for cell in row] for row in rows[:cap]]
        result = SheetValues(
            id=file_id,
            name=outsider_value(meta.get("name", ""), labels.outside, withheld),
            sheets=[outsider_value(t, labels.outside, withheld) for t in titles],
            range=range,
            rows=kept,
            row_count=len(kept),
            truncated=len(rows) > cap,
        )
        outsider = labels.outside and not withheld
        return ToolOutput(result, self.provenance(sent, labels.visibility, outsider))

    async def _titles(self, file_id: str) -> list[str]:
        found = await self.gateway.call(
            lambda c: c.spreadsheets.get(spreadsheetId=file_id, fields="sheets.properties.title"),
            file_id=file_id,
        )
        return [s.get("properties", {}).get("title", "") for s in found.get("sheets", [])]

    async def _values(self, file_id: str, cell_range: str, titles: list[str]) -> tuple[list[list[str]], Target]:
        if cell_range in titles:  # a bare sheet name: quote it for A1 notation (spaces, apostrophes)
            cell_range = "'" + cell_range.replace("'", "''") + "'"

        def request(client: Any) -> Any:
            return client.values.get(
                spreadsheetId=file_id, range=cell_range, valueRenderOption="FORMATTED_VALUE", majorDimension="ROWS"
            )

        try:
            found, sent = await self.gateway.sent(request, file_id=file_id)
        except InvalidInput as exc:
            raise InvalidInput(f"{exc.message}. The sheets are: {', '.join(titles)}") from None
        return [[str(cell) for cell in row] for row in found.get("values", [])], sent
