"""Results bounded in bytes while they arrive: the byte budget, the truncation reply, the cheap output
schema, values of every kind across the cut, errors mid-result, and the hub's peak memory with wide values."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import jsonschema
import psycopg
import pytest
from mcp import Client

from connectors.postgres import rest, wire
from connectors.postgres.executor import Pool, open_pool, run_internal, run_read_only
from connectors.postgres.settings import PostgresSettings
from mcp_hub.secret import Secret
from tests.connectors.postgres.conftest import data, hub_for
from tests.connectors.postgres.rss_probe import BUDGET
from tests.pg import TestDatabase, throwaway_database

pytestmark = pytest.mark.anyio

#: 300 rows of 1 MiB each (stored uncompressed, so the server really sends 300 MiB).
WIDE_SETUP = """
CREATE TABLE wide (id int PRIMARY KEY, body text);
ALTER TABLE wide ALTER body SET STORAGE EXTERNAL;
INSERT INTO wide SELECT g, repeat(md5(g::text), 32768) FROM generate_series(1, 300) g;
CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL, blob bytea, doc jsonb, tags text[], note text);
INSERT INTO items
SELECT g, 'item ' || g || ' ' || repeat('ü€😀', g % 7), decode(repeat('00ff', g), 'hex'),
       jsonb_build_object('n', g, 'nested', jsonb_build_array(g, 'é')), ARRAY['a' || g, NULL, 'ß'],
       CASE WHEN g % 3 = 0 THEN NULL ELSE repeat('ñ', 50 + g) END
FROM generate_series(1, 400) g;
ANALYZE;
"""


@pytest.fixture(scope="module")
def wide_db(pg_admin_dsn: str) -> Iterator[TestDatabase]:
    with throwaway_database(pg_admin_dsn) as db:
        with psycopg.connect(db.superuser_dsn, autocommit=True) as conn:
            conn.execute(WIDE_SETUP)
            conn.execute(f"GRANT SELECT ON wide, items TO {db.reader_role}")
        yield db


def compact_size(rows: Any) -> int:
    return len(json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode())


def hub(db: TestDatabase, **settings: Any) -> Any:
    env = {f"MCP_HUB_POSTGRES__{key.upper()}": str(value) for key, value in settings.items()}
    return hub_for(db.reader_dsn, env)


async def test_byte_budget_reply_says_why_how_much_and_how_to_go_on(wide_db: TestDatabase) -> None:
    sql = "SELECT id, label FROM items ORDER BY id"
    async with Client(hub(wide_db, max_result_bytes=2048)) as client:
        reply = await client.call_tool("postgres_query", {"sql": sql})
        first = data(reply)
        # What to do next comes before the rows: a client that cuts a long text still reads it.
        assert reply.content[0].text.index('"more":') < reply.content[0].text.index('"rows":')
        more = first["more"]
        assert first["truncated"] and more["reason"] == "max_result_bytes"
        assert 0 < first["row_count"] < 400 and first["row_count"] == len(first["rows"])
        # bytes: the rows as compact JSON, numbers counted at their widest (so never less than that)
        assert compact_size(first["rows"]) <= more["bytes"] <= 2048
        assert more["total_rows"] == 400 and more.get("estimated") is None
        last_id = first["rows"][-1][0]
        assert (
            more["next"]
            == f"select fewer or narrower columns, or page: add id > {last_id} to the WHERE clause, same ORDER BY"
        )
        # The hint is actionable: the next page starts right after.
        page = data(
            await client.call_tool(
                "postgres_query", {"sql": f"SELECT id, label FROM items WHERE id > {last_id} ORDER BY id"}
            )
        )
    assert page["rows"][0][0] == last_id + 1


async def test_row_cap_reply_with_keyset_offset_and_estimate(
    wide_db: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Client(hub(wide_db, max_rows=10)) as client:
        keyset = data(
            await client.call_tool(
                "postgres_query",
                {"sql": "SELECT b, a FROM (SELECT id % 5 AS a, id AS b FROM items) s ORDER BY a DESC, b DESC"},
            )
        )
        by_text = data(await client.call_tool("postgres_query", {"sql": "SELECT label FROM items ORDER BY label"}))
        explained = data(
            await client.call_tool(
                "postgres_query", {"sql": "EXPLAIN SELECT * FROM items ORDER BY label", "max_rows": 1}
            )
        )
        unordered = data(await client.call_tool("postgres_query", {"sql": "SELECT id FROM items", "max_rows": 3}))
        offset = data(await client.call_tool("postgres_query", {"sql": "SELECT id FROM items ORDER BY id OFFSET 20"}))
        monkeypatch.setattr(rest, "COUNT_UP_TO", 10)
        estimated = data(await client.call_tool("postgres_query", {"sql": "SELECT id FROM items WHERE id > 100"}))
        small = data(await client.call_tool("postgres_query", {"sql": "SELECT id FROM items WHERE id <= 10"}))
    b, a = keyset["rows"][-1]
    assert keyset["rows"][0] == [399, 4] and keyset["more"] == {
        "reason": "max_rows",
        "bytes": keyset["more"]["bytes"],
        "total_rows": 400,
        "estimated": None,
        "next": f"add (a, b) < ({a}, {b}) to the WHERE clause, same ORDER BY",
    }
    # Free text is never quoted into the hint (it sits outside any fence): OFFSET instead.
    assert by_text["more"]["next"] == "OFFSET 10" and "item" not in by_text["more"]["next"]
    assert explained["more"]["next"] == "narrow the statement" and explained["more"]["total_rows"] is None
    assert unordered["row_count"] == 3 and unordered["more"]["next"] == "OFFSET 3; add an ORDER BY for stable pages"
    assert offset["rows"][0] == [21] and offset["more"]["next"] == "OFFSET 30" and offset["more"]["total_rows"] == 380
    assert estimated["more"]["estimated"] is True and 200 <= estimated["more"]["total_rows"] <= 400
    assert not small["truncated"] and small["more"] is None and small["cut_cells"] is None


async def test_published_output_schema_validates_cheaply_and_still_validates(wide_db: TestDatabase) -> None:
    async with Client(hub(wide_db)) as client:  # the SDK client checks every result against the schema
        (tool,) = [t for t in (await client.list_tools()).tools if t.name == "postgres_query"]
        result = data(await client.call_tool("postgres_query", {"sql": "SELECT * FROM items ORDER BY id LIMIT 3"}))
    schema = tool.output_schema
    assert schema is not None
    rows = schema["properties"]["rows"]
    assert rows["type"] == "array" and "items" not in rows  # one check per result, not one per row and cell
    jsonschema.validate(result, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**result, "rows": "not rows"}, schema)


async def test_every_kind_of_value_across_the_byte_cut(wide_db: TestDatabase) -> None:
    sql = "SELECT id, label, blob, doc, tags, note FROM items ORDER BY id"
    async with Client(hub(wide_db, max_rows=10_000, max_result_bytes=1024 * 1024)) as client:
        whole = data(await client.call_tool("postgres_query", {"sql": sql}))
        for budget in (1024, 1500, 4096, 9999):
            async with Client(hub(wide_db, max_rows=10_000, max_result_bytes=budget)) as small:
                cut = data(await small.call_tool("postgres_query", {"sql": sql}))
            assert cut["truncated"] and cut["more"]["reason"] == "max_result_bytes"
            assert cut["rows"] == whole["rows"][: cut["row_count"]]  # whole rows only: a prefix, exact
            assert compact_size(cut["rows"]) <= cut["more"]["bytes"] <= budget
    assert not whole["truncated"] and whole["row_count"] == 400
    third = whole["rows"][2]
    assert third[2] == "\\x" + "00ff" * 3 and third[3] == {"n": 3, "nested": [3, "é"]} and third[4] == ["a3", None, "ß"]
    assert third[5] is None and "ü€😀" in third[1]


async def test_a_first_row_wider_than_the_budget_is_cut_on_a_character_boundary(wide_db: TestDatabase) -> None:
    # 4-byte and 3-byte characters: any byte cut would land inside one, unless cut on a boundary.
    sql = "SELECT repeat('😀€', 2000) AS text, '[1]'::jsonb || to_jsonb(repeat('é', 3000)) AS doc"
    async with Client(hub(wide_db, max_result_bytes=1024, max_cell_chars=1_000_000)) as client:
        reply = data(await client.call_tool("postgres_query", {"sql": sql}))
    assert reply["row_count"] == 1 and not reply["truncated"] and reply["cut_cells"] == 2
    text, doc = reply["rows"][0]
    kept, _, marker = text.partition("…[truncated ")
    assert kept != "😀€" * 2000 and ("😀€" * 2000).startswith(kept) and kept
    assert marker == f"{4000 - len(kept)} chars]"
    assert doc.startswith('[1,"éé') and "…[truncated " in doc
    assert compact_size(reply["rows"]) <= 1024


async def test_an_error_after_some_rows_is_clear_and_the_connection_stays_clean(wide_db: TestDatabase) -> None:
    failing = "SELECT id, 100 / (250 - id) AS ratio FROM items ORDER BY id"
    async with Client(hub(wide_db, pool_max_size=1)) as client:  # one connection: the next call reuses it
        failed = await client.call_tool("postgres_query", {"sql": failing, "max_rows": 400})
        after = data(
            await client.call_tool(
                "postgres_query", {"sql": "SELECT count(*), current_setting('transaction_read_only') FROM items"}
            )
        )
    assert failed.is_error and "division by zero" in failed.content[0].text
    assert after["rows"] == [[400, "on"]]
    with psycopg.connect(wide_db.superuser_dsn, autocommit=True) as admin:
        states = admin.execute(
            "SELECT state FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'mcp-hub'"
        ).fetchall()
    assert all(state == "idle" for (state,) in states)


@pytest.fixture
async def one_connection(wide_db: TestDatabase) -> Any:
    pool = await open_pool(PostgresSettings(dsn=Secret(wide_db.superuser_dsn), pool_max_size=1))
    try:
        yield pool
    finally:
        await pool.close()


async def test_a_stopped_statement_is_cancelled_and_the_session_reset(one_connection: Pool) -> None:
    pool = one_connection

    async def read(sql: str, budget: int) -> Any:
        return await run_read_only(
            pool, sql, None, max_rows=500, timeout_ms=10_000, max_cell_chars=10_000_000, max_bytes=budget
        )

    point = "SELECT label FROM items WHERE id = 7"
    for _ in range(2):
        await read(point, 1 << 20)
    stopped = await read("SELECT id, body FROM wide ORDER BY id", 4096)  # 300 MiB on offer
    assert stopped.truncated and stopped.reason == "max_result_bytes" and stopped.row_count == 1
    state = await run_internal(  # the hub's own look: callers may not read pg_prepared_statements
        pool,
        "SELECT pg_current_xact_id_if_assigned() IS NULL, (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'),"
        " (SELECT array_agg(statement) FROM pg_prepared_statements)",
        None,
        max_rows=1,
        timeout_ms=10_000,
        max_cell_chars=10_000,
    )
    clean, advisory, prepared = state.rows[0]
    assert clean and advisory == 0
    assert any("WHERE id = 7" in text for text in prepared)  # the point query stays prepared: no DISCARD ALL
    assert (await read(point, 1 << 20)).rows == [[(await read(point, 1 << 20)).rows[0][0]]]


async def test_rows_stream_through_a_sink_not_a_whole_result(
    one_connection: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the memory test rests on: with streaming on, libpq hands over one row per result."""
    seen: list[int] = []
    original = wire._stream

    def spy(pgconn: Any, tx: Any, encoding: str, sink: Any) -> Any:
        add = sink.add

        def counting(rows: list[Any]) -> bool:
            seen.append(len(rows))
            return bool(add(rows))

        sink.add = counting
        return (yield from original(pgconn, tx, encoding, sink))

    monkeypatch.setattr(wire, "_stream", spy)
    result = await run_read_only(
        one_connection, "SELECT id FROM items", None, max_rows=50, timeout_ms=5000, max_cell_chars=100
    )
    assert result.row_count == 50 and result.truncated and seen == [1] * 51


def probe(db: TestDatabase, calls: int, max_cell_chars: int, *extra: str) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "tests.connectors.postgres.rss_probe",
        db.reader_dsn,
        str(calls),
        str(max_cell_chars),
        *extra,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["peak_before_kib"] - report["rss_before_kib"] < 4096, report  # the peak starts afresh
    report["growth"] = (report["peak_after_kib"] - report["rss_before_kib"]) * 1024
    return report


@pytest.mark.parametrize(("calls", "limit"), [(1, 24 * BUDGET), (4, 64 * BUDGET)])
@pytest.mark.parametrize("max_cell_chars", [2000, 10_000_000])
def test_peak_memory_stays_within_a_small_multiple_of_the_budget(
    wide_db: TestDatabase, calls: int, limit: int, max_cell_chars: int
) -> None:
    """300 rows of 1 MiB (300 MiB offered per call). With cells cut to 2000 characters every row fits the
    budget and all are read, one at a time; with uncut cells the budget stops the statement after the first.
    The probe is its own process, so the resident set measured is the hub's (and its in-memory client's)."""
    report = probe(wide_db, calls, max_cell_chars)
    assert report["growth"] < limit, report
    if max_cell_chars == 2000:
        assert report["rows"] == [300] * calls and not any(report["truncated"])
    else:
        assert report["rows"] == [1] * calls and all(report["truncated"])
        assert all(size <= BUDGET for size in report["text_bytes"])


def test_the_memory_test_fails_without_streaming(wide_db: TestDatabase) -> None:
    """The same probe with rows read as one whole result: the hub holds every 1 MiB value at once."""
    report = probe(wide_db, 1, 2000, "--no-streaming")
    assert report["rows"] == [300]
    assert report["growth"] > 24 * BUDGET * 4, report


async def test_a_write_past_the_budget_finishes_and_drops_returning_rows(wide_db: TestDatabase) -> None:
    """A write is never cancelled for its RETURNING rows: every row is written, the reply keeps what fits."""
    with psycopg.connect(wide_db.superuser_dsn, autocommit=True) as admin:
        admin.execute("CREATE TABLE IF NOT EXISTS copies (id int, body text)")
    env = {"MCP_HUB_POSTGRES__MAX_RESULT_BYTES": "2048", "MCP_HUB_POSTGRES__ALLOW_WRITES": "1"}
    server = hub_for(wide_db.superuser_dsn, env, allow_writes=True)
    async with Client(server) as client:
        written = data(
            await client.call_tool(
                "postgres_execute",
                {"sql": "INSERT INTO copies SELECT g, repeat('w', 500) FROM generate_series(1, 200) g RETURNING *"},
            )
        )
    assert written["affected"] == 200 and written["truncated"] and 0 < len(written["rows"]) < 200
    with psycopg.connect(wide_db.superuser_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM copies").fetchone() == (200,)


async def test_past_the_budget_the_statement_is_cancelled_not_read_to_its_end(one_connection: Pool) -> None:
    """Each row takes 50 ms in the server: reading all 300 would take 15 s; the cancel ends it at once."""
    started = time.monotonic()
    stopped = await run_read_only(
        one_connection,
        "SELECT id, body, pg_sleep(0.05) FROM wide ORDER BY id",
        None,
        max_rows=500,
        timeout_ms=60_000,
        max_cell_chars=10_000_000,
        max_bytes=4096,
    )
    assert stopped.reason == "max_result_bytes" and stopped.row_count == 1
    assert time.monotonic() - started < 5


async def test_a_connection_that_read_a_very_wide_row_is_replaced(one_connection: Pool) -> None:
    """libpq keeps its input buffer as large as the widest row it read: such a connection is not pooled."""

    async def pid() -> int:
        return int((await run_read_only(one_connection, "SELECT pg_backend_pid()", None, **LIMITS)).rows[0][0])

    first = await pid()
    await run_read_only(one_connection, "SELECT id, body FROM wide WHERE id <= 3", None, **LIMITS)
    assert await pid() == first  # 1 MiB rows: kept
    wide = await run_read_only(one_connection, "SELECT repeat('x', 20000000) AS big", None, **LIMITS)
    assert wide.rows[0][0].endswith("…[truncated 19998000 chars]")
    assert await pid() != first


LIMITS: dict[str, Any] = {"max_rows": 10, "timeout_ms": 10_000, "max_cell_chars": 2000, "max_bytes": 1 << 20}
