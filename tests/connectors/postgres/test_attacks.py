"""Attacks on the read path that the other tests do not cover: each one leaked before its fix.

Masking is display protection (the README), but it promises that a masked column's values do not
show through expressions, views or whole rows. Renaming a column (alias column lists), a join's
alias as a whole row, and stars whose columns come out untraced (set operations) each showed the
raw values.
"""

from __future__ import annotations

import pytest
from mcp import Client

from tests.connectors.postgres.conftest import HubFactory, data

pytestmark = pytest.mark.anyio

MASKED = {"MCP_HUB_POSTGRES__MASKED_COLUMNS": "users.email, *.password_hash, billing.invoices.card_number"}
SECRETS = ("user1@example.com", "c4ca4238a0b923820dcc509a6f75849b", "4111-0000-1")


@pytest.mark.parametrize(
    "sql",
    [
        # a column renamed by an alias column list, then computed on: its name is not the masked one
        "SELECT e || '' FROM users AS t(i, e) WHERE i = 1",
        "SELECT lower(x) FROM (SELECT id, email FROM users) AS s(i, x) WHERE i = 1",
        "WITH c(i, e) AS (SELECT * FROM users) SELECT e || '' FROM c WHERE i = 1",
        # a join's alias read as a whole row
        "SELECT row_to_json(j) FROM (users JOIN billing.invoices ON invoices.id = 1 AND users.id = 1) AS j",
        # a FULL JOIN's merged column (computed: untraced), renamed
        "SELECT t.e FROM (SELECT * FROM users FULL JOIN (SELECT NULL::text AS email WHERE false) s USING (email)) "
        "AS t(e) WHERE t.e = 'user1@example.com'",
        # a star in a set operation: the columns are named by the other branch, and untraced
        "SELECT * FROM (SELECT 0 AS i, '' AS e, '' AS p, '' AS n, 0 AS a UNION ALL SELECT * FROM users) s WHERE i = 1",
        "SELECT 0 AS i, '' AS e, '' AS p, '' AS n, 0 AS a WHERE false UNION ALL (SELECT * FROM users WHERE id = 1)",
    ],
)
async def test_masked_values_do_not_show_through_renames_and_stars(shop_hub: HubFactory, sql: str) -> None:
    async with Client(shop_hub(MASKED, superuser=True)) as client:
        result = data(await client.call_tool("postgres_query", {"sql": sql}))
    assert result["row_count"] == 1
    shown = repr(result["rows"])
    assert not any(secret in shown for secret in SECRETS), shown


async def test_plain_queries_stay_unmasked(shop_hub: HubFactory) -> None:
    """The fix masks computed columns only where a rename or a star could hide a masked one."""
    async with Client(shop_hub(MASKED, superuser=True)) as client:
        plain = data(
            await client.call_tool("postgres_query", {"sql": "SELECT id, upper(nickname) FROM users WHERE id = 1"})
        )
        star = data(await client.call_tool("postgres_query", {"sql": "SELECT *, age + 1 FROM users WHERE id = 1"}))
    assert plain["rows"] == [[1, "ANON"]]
    assert star["rows"] == [[1, "***", "***", "anon", 21, 22]]
