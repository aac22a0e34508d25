"""Column masking in query results, samples and writes; the rules on their own."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from connectors.postgres.masking import Masker
from connectors.postgres.settings import PostgresSettings
from tests.connectors.postgres.conftest import HubFactory, data

pytestmark = pytest.mark.anyio

MASKED = {"MCP_HUB_POSTGRES__MASKED_COLUMNS": "users.email, *.password_hash, billing.invoices.card_number"}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # traced to the table column by libpq (PQftable/PQftablecol), also through subqueries and CTEs
        ("SELECT id, email, password_hash, nickname FROM users WHERE id = 1", [1, "***", "***", "anon"]),
        ("SELECT * FROM (SELECT email AS e, id FROM users) s WHERE id = 1", ["***", 1]),
        ("WITH x AS (SELECT u.email FROM users u WHERE id = 1) SELECT * FROM x", ["***"]),
        ("SELECT user_id, card_number, amount FROM billing.invoices WHERE id = 1", [2, "***", "1.00"]),
        # computed from a masked column, or read through a view: masked by name
        ("SELECT upper(email), id FROM users WHERE id = 1", ["***", 1]),
        ("SELECT email || '' AS x FROM users WHERE id = 1", ["***"]),
        ("SELECT email FROM user_emails WHERE id = 1", ["***"]),
        # whole rows inside expressions
        ("SELECT row_to_json(u) FROM users u WHERE id = 1", ["***"]),
        ("SELECT to_jsonb(u.*) FROM users u WHERE id = 1", ["***"]),
        # nothing masked: other tables, other columns, plain expressions
        ("SELECT id, nickname, age FROM users WHERE id = 1", [1, "anon", 21]),
        ("SELECT count(*) FROM users", [50]),
        ("SELECT email FROM customers WHERE id = 1", ["ada@example.com"]),
    ],
)
async def test_query_results_are_masked(shop_hub: HubFactory, sql: str, expected: list[object]) -> None:
    async with Client(shop_hub(MASKED)) as client:
        result = data(await client.call_tool("postgres_query", {"sql": sql}))
    assert result["rows"][0] == expected


async def test_nulls_stay_null_and_samples_are_masked(shop_hub: HubFactory) -> None:
    async with Client(shop_hub(MASKED)) as client:
        nulls = data(await client.call_tool("postgres_query", {"sql": "SELECT NULL::text AS email"}))
        sample = json.loads((await client.read_resource("postgres://billing/invoices/sample?rows=1")).contents[0].text)
        users = json.loads((await client.read_resource("postgres://public/users/sample?rows=1")).contents[0].text)
    assert nulls["rows"] == [[None]]
    assert sample["rows"][0][3] == "***" and sample["rows"][0][2] == "1.00"
    assert users["columns"][1:3] == ["email", "password_hash"] and users["rows"][0][1:3] == ["***", "***"]


async def test_write_results_are_masked(shop_hub: HubFactory) -> None:
    env = MASKED | {"MCP_HUB_POSTGRES__ALLOW_WRITES": "1"}
    async with Client(shop_hub(env, allow_writes=True, superuser=True)) as client:
        result = data(
            await client.call_tool(
                "postgres_execute", {"sql": "UPDATE users SET age = age WHERE id = 2 RETURNING id, email"}
            )
        )
    assert result["rows"] == [[2, "***"]]


def test_rules() -> None:
    masker = Masker(["users.email", "*.password_hash", "billing.*.card_*"])
    assert masker.masks("public", "users", "email") and masker.masks("other", "users", "email")
    assert masker.masks("x", "accounts", "password_hash")
    assert masker.masks("billing", "invoices", "card_number") and not masker.masks("public", "invoices", "card_number")
    assert not masker.masks("public", "users", "nickname") and not masker.masks("public", "admins", "email")
    assert not Masker([])


@pytest.mark.parametrize("bad", ["email", "a.b.c.d", "users..email"])
def test_bad_patterns_are_config_errors(bad: str) -> None:
    with pytest.raises(ValueError, match="schema"):
        PostgresSettings(masked_columns=[bad])
