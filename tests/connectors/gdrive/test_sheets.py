"""Spreadsheets: first sheet via Drive's CSV export, named sheets and ranges via Sheets v4, row caps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.connectors.gdrive.conftest import Seeded
from tests.connectors.gdrive.fake_state import FakeGoogle

pytestmark = pytest.mark.anyio
Call = Callable[..., Any]


async def test_first_sheet_through_csv_export(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    result = await call("gdrive_read_sheet", {"file_id": files.budget})
    assert result.structured_content == {
        "id": files.budget,
        "name": "Budget 2026",
        "sheets": ["Summary", "Q1 plan"],
        "range": None,
        "rows": [["item", "cost"], ["laptops", "12,000"], ["travel", "3,500"]],
        "row_count": 3,
        "truncated": False,
    }
    assert fake.api_requests("drive.files.export")[-1]["params"]["mimeType"] == "text/csv"
    assert fake.api_requests("sheets.spreadsheets.values.get") == []
    assert result.meta["mcp_hub/provenance"]["resource"] == f"gdrive:///{files.budget}"


async def test_named_sheet_and_range_through_sheets_api(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    sheet = await call("gdrive_read_sheet", {"file_id": files.budget, "range": "Q1 plan"})
    assert sheet.structured_content["rows"] == [["month", "spend"], ["Jan", "1"], ["Feb", "2"], ["Mar", "3"]]
    sent = fake.api_requests("sheets.spreadsheets.values.get")[-1]
    assert sent["path"].endswith("/values/'Q1 plan'") and sent["params"]["valueRenderOption"] == "FORMATTED_VALUE"
    cells = await call("gdrive_read_sheet", {"file_id": files.budget, "range": "'Q1 plan'!A2:B3"})
    assert cells.structured_content["rows"] == [["Jan", "1"], ["Feb", "2"]]


async def test_row_cap_sets_truncated(call: Call, files: Seeded) -> None:
    asked = await call("gdrive_read_sheet", {"file_id": files.budget, "range": "Q1 plan", "max_rows": 2})
    assert asked.structured_content["row_count"] == 2 and asked.structured_content["truncated"] is True
    capped = await call("gdrive_read_sheet", {"file_id": files.budget}, env={"MCP_HUB_GDRIVE__MAX_ROWS": "1"})
    assert capped.structured_content["rows"] == [["item", "cost"]] and capped.structured_content["truncated"]
    too_many = await call("gdrive_read_sheet", {"file_id": files.budget, "max_rows": 100_000})
    assert too_many.is_error and "max_rows" in too_many.content[0].text


async def test_bad_sheet_input_is_explained(call: Call, files: Seeded) -> None:
    unknown = await call("gdrive_read_sheet", {"file_id": files.budget, "range": "Nope!A1"})
    assert unknown.is_error and unknown.meta["mcp_hub/error"] == "invalid_input"
    assert "Unable to parse range: Nope!A1" in unknown.content[0].text
    assert "The sheets are: Summary, Q1 plan" in unknown.content[0].text
    not_sheet = await call("gdrive_read_sheet", {"file_id": files.runbook})
    assert not_sheet.is_error and "is a doc, not a Google Sheet: use read_file" in not_sheet.content[0].text
    hidden = await call("gdrive_read_sheet", {"file_id": files.hidden})
    assert hidden.is_error and hidden.meta["mcp_hub/error"] == "not_found"
