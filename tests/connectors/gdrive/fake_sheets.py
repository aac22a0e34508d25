"""The fake's Sheets v4 endpoints: spreadsheets.get and spreadsheets.values.get over A1 ranges."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.connectors.gdrive.fake_fields import parse_fields, select
from tests.connectors.gdrive.fake_state import READ_SCOPES, SHEET, FakeGoogle, Grant

SHEETS_READ = READ_SCOPES | {"https://www.googleapis.com/auth/spreadsheets.readonly"}


def _reply(fake: FakeGoogle, method_id: str, request: Request, body: Any, default: str) -> JSONResponse:
    selected = select(body, parse_fields(request.query_params.get("fields", default)))
    fake.responses.append((method_id, selected))
    return JSONResponse(selected)


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _sheet_file(request: Request, fake: FakeGoogle, grant: Grant) -> dict[str, Any]:
    file = fake.files.get(request.path_params["sheet_id"])
    if file is None or file["mimeType"] != SHEET or fake.role(file, grant.email) is None:
        body = {"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}
        raise SheetsError(body)
    return file


class SheetsError(Exception):
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body


async def spreadsheets_get(request: Request, fake: FakeGoogle, grant: Grant) -> Response:
    file = _sheet_file(request, fake, grant)
    sheets = [
        {
            "properties": {
                "sheetId": index,
                "title": title,
                "index": index,
                "sheetType": "GRID",
                "gridProperties": {"rowCount": max(len(rows), 1000), "columnCount": 26},
            }
        }
        for index, (title, rows) in enumerate(file["_sheets"].items())
    ]
    body = {
        "spreadsheetId": file["id"],
        "properties": {"title": file["name"]},
        "sheets": sheets,
        "spreadsheetUrl": f"{_base(request)}/spreadsheets/d/{file['id']}/edit",
    }
    return _reply(fake, "sheets.spreadsheets.get", request, body, "*")


_A1 = re.compile(r"^([A-Z]+)?(\d+)?(?::([A-Z]+)?(\d+)?)?$")


def _column(letters: str | None, default: int) -> int:
    if not letters:
        return default
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number - 1


async def values_get(request: Request, fake: FakeGoogle, grant: Grant) -> Response:
    file = _sheet_file(request, fake, grant)
    text = request.path_params["range"]
    sheet, _, cells = text.rpartition("!") if "!" in text else (text, "", "")
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    titles = list(file["_sheets"])
    if sheet not in file["_sheets"]:
        if not cells and _A1.match(text) and titles:
            sheet, cells = titles[0], text
        else:
            body = {"error": {"code": 400, "message": f"Unable to parse range: {text}", "status": "INVALID_ARGUMENT"}}
            raise SheetsError(body)
    match = _A1.match(cells or "")
    assert match is not None
    rows = file["_sheets"][sheet]
    c0, r0 = _column(match[1], 0), int(match[2] or 1) - 1
    c1, r1 = _column(match[3] or match[1], 10_000), int(match[4] or (match[2] if not match[3] else 0) or len(rows)) - 1
    values = [row[c0 : c1 + 1] for row in rows[r0 : r1 + 1]]
    quoted = "'" + sheet.replace("'", "''") + "'"
    body = {"range": f"{quoted}!{cells or 'A1:Z' + str(len(rows))}", "majorDimension": "ROWS"}
    if values:
        body["values"] = values
    return _reply(fake, "sheets.spreadsheets.values.get", request, body, "*")
