"""Rows as they arrive, converted to JSON-ready cells and kept within a row cap and a byte budget.

`ResultRows` is the sink `wire` hands each chunk of rows to (see `wire.RowSink`).
It decides per column, once, from the result's type oids, what each cell needs:
integers and booleans pass through untouched, text is only measured (and cut to
`max_cell_chars`), the rest goes through `cells.sized_cell`. Each kept row is
counted in bytes (its cells as UTF-8 JSON, numbers at their widest); the row
that would pass `max_bytes` is not kept (the first row is cut to fit instead, so
a reply is never empty for width alone) and, for a read, reading stops there:
the statement is cancelled, so neither the hub nor the network carries the rest.
Rows past `max_rows` are only dropped: the server's LIMIT has ended the result.

What is kept is plain lists of cells in column order, with `columns` and
`sources` (table oid, column number) beside them: later steps (masking, fencing)
rewrite cells in place by column.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Literal

from connectors.postgres.cells import clip, sized_cell, utf8_len

#: Type oids whose values psycopg loads as int or bool: JSON as they are. Their width as JSON, at most.
_FIXED_WIDTH = {16: 6, 21: 7, 23: 12, 20: 21, 26: 11}
#: text, varchar, bpchar, name, "char", unknown: loaded as str.
_TEXT = frozenset({25, 1043, 1042, 19, 18, 705})
#: date, time, timestamp, timestamptz, timetz: loaded as date/time/datetime, shown in ISO 8601 (ASCII).
_ISO = frozenset({1082, 1083, 1114, 1184, 1266})
_ISO_TYPES = (datetime, date, time)
#: Per tuple of type oids, what `begin` derives from it (text, ISO and other columns; fixed width).
_Plan = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int]
_PLANS: dict[tuple[int, ...], _Plan] = {}
_MAX_PLANS = 256
#: Below this many bytes of budget a cut cell keeps nothing but its marker.
_MIN_SHARE = 16

Reason = Literal["max_rows", "max_result_bytes"]


class ResultRows:
    """Collects a result's rows within `max_rows` and `max_bytes` (see the module doc).

    `stop` False (a write's RETURNING rows: the statement must finish) reads on
    past the limits, dropping rows, instead of asking `wire` to cancel.
    """

    def __init__(self, max_rows: int, max_bytes: int, max_cell_chars: int, *, stop: bool = True) -> None:
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.max_cell_chars = max_cell_chars
        self.stop = stop
        self.columns: list[str] = []
        self.sources: list[tuple[int, int]] = []
        self.types: list[int] = []  # type oid per column (outsider marking reads them)
        self.rows: list[list[Any]] = []
        #: Bytes of the kept rows as JSON (approximately; numbers counted at their widest).
        self.bytes = 2
        #: Why rows were left out, if they were.
        self.reason: Reason | None = None
        #: Cells cut to `max_cell_chars` (or, in a first row wider than the budget, to fit it).
        self.cut_cells = 0
        #: The widest row read, in characters of its text cells before any cut (what libpq buffered).
        self.widest_row = 0
        self._text: tuple[int, ...] = ()
        self._iso: tuple[int, ...] = ()
        self._other: tuple[int, ...] = ()
        self._fixed = 0

    def begin(self, columns: list[str], sources: list[tuple[int, int]], types: list[int]) -> None:
        self.columns, self.sources, self.types = columns, sources, types
        key = tuple(types)
        plan = _PLANS.get(key)
        if plan is None:
            plan = _plan(key)
            if len(_PLANS) < _MAX_PLANS:  # the same few shapes repeat; never grows without bound
                _PLANS[key] = plan
        self._text, self._iso, self._other, self._fixed = plan

    @property
    def truncated(self) -> bool:
        return self.reason is not None

    def add(self, rows: list[tuple[Any, ...]]) -> bool:
        max_chars = self.max_cell_chars
        for row in rows:
            if self.reason is not None:  # full, and told not to stop: drop the rest
                continue
            if len(self.rows) >= self.max_rows:
                # Not a reason to cancel: the server's LIMIT (max_rows + 1) has ended the result.
                self.reason = "max_rows"
                continue
            cells = list(row)
            size = self._fixed
            raw = 0
            for i in self._text:
                value = cells[i]
                if value is None:
                    size += 5
                    continue
                full = len(value)
                raw += full
                if full > max_chars:
                    value = cells[i] = clip(value, max_chars)
                    self.cut_cells += 1
                size += (len(value) if value.isascii() else utf8_len(value)) + 3
            for i in self._iso:
                value = cells[i]
                if value is None:
                    size += 5
                    continue
                if not isinstance(value, _ISO_TYPES):  # another loader's value: the general way
                    cell, width, full = sized_cell(value, max_chars)
                    cells[i] = cell
                    size += width
                    raw += full
                    self.cut_cells += full > max_chars
                    continue
                text = value.isoformat()  # ASCII: characters are bytes
                full = len(text)
                raw += full
                if full > max_chars:  # the cut's marker is not ASCII
                    text = clip(text, max_chars)
                    self.cut_cells += 1
                    full = utf8_len(text)
                cells[i] = text
                size += full + 3
            for i in self._other:
                cell, width, full = sized_cell(cells[i], max_chars)
                cells[i] = cell
                size += width
                raw += full
                self.cut_cells += full > max_chars
            if raw > self.widest_row:
                self.widest_row = raw
            if self.bytes + size > self.max_bytes:
                if not self.rows:  # cut to fit, not left out: a next row, if any, will not fit
                    self.rows.append(self._fit(cells))
                    continue
                self.reason = "max_result_bytes"
                if self.stop:
                    return False
                continue
            self.rows.append(cells)
            self.bytes += size
        return True

    def _fit(self, cells: list[Any]) -> list[Any]:
        """A first row wider than the whole budget: its text cells share what the budget leaves,
        each cut on a character boundary (never inside a UTF-8 sequence)."""
        wide = [i for i, cell in enumerate(cells) if isinstance(cell, (str, list, dict))]
        share = max(_MIN_SHARE, (self.max_bytes - self._fixed) // max(1, len(wide)) - 40)
        size = self._fixed
        for i in wide:
            cell = cells[i]
            text = cell if isinstance(cell, str) else sized_cell(cell, 1 << 62)[0]
            if not isinstance(text, str):
                text = _compact_json(text)
            if utf8_len(text) > share:
                kept = text.encode()[:share].decode("utf-8", "ignore")
                text = f"{kept}…[truncated {len(text) - len(kept)} chars]"
                self.cut_cells += 1
            cells[i] = text
            size += utf8_len(text) + 3
        self.bytes += size
        return cells


def _plan(types: tuple[int, ...]) -> _Plan:
    text, iso, other = [], [], []
    for i, oid in enumerate(types):
        if oid in _TEXT:
            text.append(i)
        elif oid in _ISO:
            iso.append(i)
        elif oid not in _FIXED_WIDTH:
            other.append(i)
    return tuple(text), tuple(iso), tuple(other), 2 + sum(_FIXED_WIDTH.get(oid, 0) for oid in types)


def _compact_json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
