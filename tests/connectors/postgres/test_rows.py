"""`ResultRows`'s per-type shortcuts give exactly what the general `cells.sized_cell` gives."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from connectors.postgres import rows as rows_module
from connectors.postgres.cells import sized_cell
from connectors.postgres.rows import ResultRows

#: date, time, timestamp, timestamptz, timetz (the ISO 8601 shortcut), then text and int4.
TYPES = [1082, 1083, 1114, 1184, 1266, 25, 23]
ROW = (
    date(2024, 1, 2),
    time(12, 34, 56, 789),
    datetime(2024, 1, 2, 3, 4, 5),
    datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    time(1, 2, 3, tzinfo=timezone(timedelta(hours=2))),
    "héllo",
    7,
)


def _general(row: tuple[Any, ...], max_chars: int) -> tuple[list[Any], int, int]:
    """Cells, bytes and cut cells the way the general conversion counts them."""
    cells, size, cut = [], 2 + 12 + 2, 0  # brackets, the int4 at its widest, the row's own brackets
    for value in row[:-1]:
        cell, width, full = sized_cell(value, max_chars)
        cells.append(cell)
        size += width
        cut += full > max_chars
    return [*cells, row[-1]], size, cut


def _read(row: tuple[Any, ...], max_chars: int) -> ResultRows:
    sink = ResultRows(10, 1 << 20, max_chars)
    sink.begin([f"c{i}" for i in range(len(TYPES))], [(0, 0)] * len(TYPES), TYPES)
    assert sink.add([row])
    return sink


def test_dates_and_times_convert_as_the_general_way() -> None:
    for max_chars in (2000, 8):
        sink = _read(ROW, max_chars)
        cells, size, cut = _general(ROW, max_chars)
        assert sink.rows == [cells]
        assert (sink.bytes, sink.cut_cells) == (size, cut)
    assert _read(ROW, 2000).rows[0][:5] == [
        "2024-01-02",
        "12:34:56.000789",
        "2024-01-02T03:04:05",
        "2024-01-02T03:04:05+00:00",
        "01:02:03+02:00",
    ]
    assert _read(ROW, 8).rows[0][0] == "2024-01-…[truncated 2 chars]"


def test_other_values_in_a_date_column_take_the_general_way() -> None:
    """A loader may return something else (infinity as text, say): no shortcut applies to it."""
    odd = ("infinity", None, ["x"], 12, b"\x01", "t", 1)
    sink = _read(odd, 2000)
    cells, _size, _cut = _general(odd, 2000)
    assert sink.rows == [cells]
    assert sink.rows[0][:5] == ["infinity", None, ["x"], 12, "\\x01"]


def test_shapes_are_remembered_within_a_bound() -> None:
    rows_module._PLANS.clear()
    for width in range(rows_module._MAX_PLANS + 20):
        ResultRows(1, 1 << 20, 100).begin(["c"] * (width + 1), [(0, 0)] * (width + 1), [25] * (width + 1))
    assert len(rows_module._PLANS) == rows_module._MAX_PLANS


def test_query_result_is_what_model_construct_builds() -> None:
    from connectors.postgres.models import More, QueryResult, query_result

    more = More(reason="max_rows", bytes=10, next="OFFSET 1")
    for args in ((["a"], [[1]], 1, False, None, None), (["a", "b"], [["x", None]], 1, True, more, 2)):
        fast = query_result(*args)  # type: ignore[arg-type]
        kwargs = dict(zip(("columns", "rows", "row_count", "truncated", "more", "cut_cells"), args, strict=True))
        slow = QueryResult.model_construct(**kwargs)  # type: ignore[arg-type]
        assert fast == slow and fast.model_fields_set == slow.model_fields_set
        assert list(fast.__dict__) == list(slow.__dict__)
        assert fast.model_dump_json(exclude_none=True) == slow.model_dump_json(exclude_none=True)
        assert fast.model_dump(mode="json") == slow.model_dump(mode="json")
