"""The project's labels, and labels added through gitlab_update_issue (add_labels keeps the others)."""

from __future__ import annotations

import pytest

from tests.connectors.gitlab.conftest import Fake, Make, call

pytestmark = pytest.mark.anyio
APP = "acme/app"


async def test_list_labels(make_hub: Make, fake: Fake) -> None:
    listed = await call(make_hub(), "gitlab_list_labels", {"project": APP})
    assert not listed.is_error, listed.content[0].text
    data = listed.structured_content
    assert [x["name"] for x in data["labels"]] == ["bug", "feature", "docs", "needs-info"]
    assert data["labels"][0]["description"] == "Something is broken" and data["labels"][2]["description"] is None
    assert data["next_cursor"] is None
    assert listed.meta["mcp_hub/provenance"]["resource"] == "gitlab://acme/app/labels"
    assert ("GET", "/api/v4/projects/1/labels") in fake.state.requests


async def test_labels_page(make_hub: Make, fake: Fake) -> None:
    fake.state.projects[1].labels = [{"name": f"area-{i:03d}", "description": None} for i in range(130)]
    first = (await call(make_hub(), "gitlab_list_labels", {"project": APP})).structured_content
    rest = (
        await call(make_hub(), "gitlab_list_labels", {"project": APP, "cursor": first["next_cursor"]})
    ).structured_content
    names = [x["name"] for x in first["labels"] + rest["labels"]]
    assert len(first["labels"]) == 100 and names == [f"area-{i:03d}" for i in range(130)]
    assert rest["next_cursor"] is None


async def test_add_labels_keeps_the_others(make_hub: Make, fake: Fake) -> None:
    done = await call(make_hub(writes=True), "gitlab_update_issue", {"project": APP, "iid": 3, "add_labels": ["docs"]})
    assert not done.is_error
    assert fake.state.projects[1].issues[3]["labels"] == ["bug", "docs"]


async def test_list_labels_bad_input(make_hub: Make, fake: Fake) -> None:
    missing = await call(make_hub(), "gitlab_list_labels", {"project": "acme/nope"})
    assert missing.is_error and missing.meta["mcp_hub/error"] == "not_found", missing.content[0].text
    bad_cursor = await call(make_hub(), "gitlab_list_labels", {"project": APP, "cursor": "not-a-cursor"})
    assert bad_cursor.is_error and bad_cursor.meta["mcp_hub/error"] == "invalid_input", bad_cursor.content[0].text
    assert "cursor" in bad_cursor.content[0].text
