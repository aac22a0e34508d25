"""Schema tools and resources through the hub, against a real database (shop_db, as the reader role)."""

from __future__ import annotations

import json

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.connectors.postgres.conftest import HubFactory, data

pytestmark = pytest.mark.anyio


async def test_list_schemas_and_tables(shop_hub: HubFactory) -> None:
    async with Client(shop_hub()) as client:
        schemas = data(await client.call_tool("postgres_list_schemas", {}))
        everything = data(await client.call_tool("postgres_list_tables", {}))
        billing = await client.call_tool("postgres_list_tables", {"schema": "billing"})
        bad_cursor = await client.call_tool("postgres_list_tables", {"cursor": "not-a-cursor"})
    assert {s["name"]: s["relations"] for s in schemas["schemas"]} == {"billing": 1, "public": 6}
    assert next(s for s in schemas["schemas"] if s["name"] == "billing")["comment"] == "money"
    tables = {t["name"]: t for t in everything["tables"]}
    assert tables["public.users"] == {
        "name": "public.users", "kind": "table", "rows_estimate": 50,
        "size_bytes": tables["public.users"]["size_bytes"], "comment": "people who log in",
    }  # fmt: skip
    assert tables["public.users"]["size_bytes"] > 8192
    assert tables["public.user_emails"]["kind"] == "view" and tables["public.user_emails"].get("rows_estimate") is None
    assert tables["public.invoice_totals"]["kind"] == "materialized view"
    assert everything["truncated"] is False and everything.get("next_cursor") is None
    assert [t["name"] for t in data(billing)["tables"]] == ["billing.invoices"]
    assert billing.meta["mcp_hub/provenance"]["resource"] == "postgres://default/billing/tables"
    assert bad_cursor.is_error and "next_cursor" in bad_cursor.content[0].text


async def test_describe_table_both_directions(shop_hub: HubFactory) -> None:
    async with Client(shop_hub()) as client:
        users = await client.call_tool("postgres_describe_table", {"table": "users"})
        invoices = data(await client.call_tool("postgres_describe_table", {"table": "billing.invoices"}))
        missing = await client.call_tool("postgres_describe_table", {"table": "nope", "schema": "billing"})
    described = data(users)
    assert described["name"] == "public.users" and described["comment"] == "people who log in"
    columns = {c["name"]: c for c in described["columns"]}
    assert columns["id"]["default"] == "generated always as identity" and not columns["id"]["nullable"]
    assert columns["nickname"]["default"] == "'anon'::text" and columns["nickname"]["nullable"]
    assert columns["email"]["comment"] == "login" and columns["email"]["type"] == "text"
    assert described["primary_key"] == ["id"]
    assert [c["definition"] for c in described["unique"]] == ["UNIQUE (email)"]
    assert [c["definition"] for c in described["checks"]] == ["CHECK (age >= 0)"]
    assert described["referenced_by"] == [
        {"name": "invoices_user_id_fkey", "table": "billing.invoices",
         "definition": "FOREIGN KEY (user_id) REFERENCES users(id)"},
    ]  # fmt: skip
    assert invoices["foreign_keys"][0]["definition"] == "FOREIGN KEY (user_id) REFERENCES users(id)"
    assert [i["definition"] for i in invoices["indexes"]][:2] == ["UNIQUE btree (id)", "btree (issued_on)"]
    text = users.content[0].text
    assert text.startswith("table public.users -- people who log in (~50 rows)\n  id integer NOT NULL")
    assert "referenced by billing.invoices: FOREIGN KEY (user_id) REFERENCES users(id)" in text
    assert users.meta["mcp_hub/provenance"]["resource"] == "postgres://default/public/users"
    assert (
        missing.is_error and missing.meta["mcp_hub/error"] == "not_found" and "list_tables" in missing.content[0].text
    )


async def test_search_columns(shop_hub: HubFactory) -> None:
    async with Client(shop_hub()) as client:
        found = data(await client.call_tool("postgres_search_columns", {"text": "USER_"}))
        in_billing = data(await client.call_tool("postgres_search_columns", {"text": "id", "schema": "billing"}))
        literal = data(await client.call_tool("postgres_search_columns", {"text": "%"}))
        empty = await client.call_tool("postgres_search_columns", {"text": ""})
    assert {(m["table"], m["column"]) for m in found["matches"]} == {
        ("billing.invoices", "user_id"), ("public.invoice_totals", "user_id"),
    }  # fmt: skip
    assert {m["column"] for m in in_billing["matches"]} == {"id", "user_id"}
    assert literal["matches"] == []  # % is matched literally, not as a wildcard
    assert empty.is_error


async def test_schema_resource_and_sample(shop_hub: HubFactory) -> None:
    async with Client(shop_hub()) as client:
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        schema = await client.read_resource("postgres://billing/invoices")
        sample = await client.read_resource("postgres://billing/invoices/sample?rows=2")
        default = await client.read_resource("postgres://public/users/sample")
        with pytest.raises(MCPError, match="1 to 100"):
            await client.read_resource("postgres://public/users/sample?rows=1000")
        with pytest.raises(MCPError, match=r"no table public\.nope"):
            await client.read_resource("postgres://public/nope/sample")
    assert templates == {"postgres://{schema}/{table}", "postgres://{schema}/{table}/sample{?rows}"}
    assert schema.contents[0].text.startswith("table billing.invoices (~3000 rows)")
    assert schema.contents[0].meta["mcp_hub/provenance"]["resource"] == "postgres://default/billing/invoices"
    rows = json.loads(sample.contents[0].text)
    assert rows["columns"] == ["id", "user_id", "amount", "card_number", "issued_on"]
    assert len(rows["rows"]) == 2 and rows["truncated"] is True
    assert len(json.loads(default.contents[0].text)["rows"]) == 10


async def test_several_instances_add_an_instance_variable(shop_hub: HubFactory, shop_db: object) -> None:
    env = {"MCP_HUB_POSTGRES__INSTANCES__ADMIN__DSN": shop_db.superuser_dsn}  # type: ignore[attr-defined]
    async with Client(shop_hub(env)) as client:
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        admin = await client.read_resource("postgres://public/users?instance=admin")
    assert "postgres://{schema}/{table}{?instance}" in templates
    assert "postgres://{schema}/{table}/sample{?rows,instance}" in templates
    assert admin.contents[0].meta["mcp_hub/provenance"]["instance"] == "admin"
