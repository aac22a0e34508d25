"""Credentials: real JWT signing and token exchange against the fake, scopes, delegation, failures."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.connectors.gdrive.conftest import ALICE, SA_EMAIL, Seeded
from tests.connectors.gdrive.fake_state import FakeGoogle

pytestmark = pytest.mark.anyio
Call = Callable[..., Any]
READ_ONLY = "https://www.googleapis.com/auth/drive.readonly https://www.googleapis.com/auth/spreadsheets.readonly"


async def test_service_account_with_delegation_signs_a_jwt(
    call: Call, files: Seeded, fake: FakeGoogle, rsa_key: tuple[bytes, bytes]
) -> None:
    result = await call("gdrive_get_file", {"file_id": files.design})
    assert not result.is_error
    [exchange] = fake.token_requests
    assert exchange["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(exchange["assertion"], rsa_key[1], algorithms=["RS256"], options={"verify_aud": False})
    assert claims["iss"] == SA_EMAIL and claims["sub"] == ALICE and claims["scope"] == READ_ONLY
    authorization = fake.tokens[next(iter(fake.tokens))]
    assert authorization.email == ALICE


async def test_write_scopes_only_when_allowed(
    call: Call, files: Seeded, fake: FakeGoogle, rsa_key: tuple[bytes, bytes]
) -> None:
    await call("gdrive_get_file", {"file_id": files.design}, writes=True)
    claims = jwt.decode(
        fake.token_requests[-1]["assertion"], rsa_key[1], algorithms=["RS256"], options={"verify_aud": False}
    )
    assert claims["scope"].split() == [
        "https://www.googleapis.com/auth/drive",
        "https://www.googleapis.com/auth/spreadsheets.readonly",
    ]


async def test_service_account_without_delegation_acts_as_itself(call: Call, fake: FakeGoogle) -> None:
    own = fake.add_file("SA notes", "text/plain", owner=SA_EMAIL, content=b"mine")
    env = {"MCP_HUB_GDRIVE__SUBJECT": "", "MCP_HUB_GDRIVE__DOMAIN": "example.com"}
    found = await call("gdrive_search_files", {"query": "notes"}, env=env)
    assert [f["id"] for f in found.structured_content["files"]] == [own]
    assert "sub" not in jwt.decode(fake.token_requests[-1]["assertion"], options={"verify_signature": False})
    missing = await call("gdrive_read_file", {"file_id": found.structured_content["files"][0]["id"] + "x"}, env=env)
    assert f"share it with {SA_EMAIL}" in missing.content[0].text


async def test_authorized_user_file(call: Call, files: Seeded, fake: FakeGoogle, tmp_path: Path, base_url: str) -> None:
    fake.refresh_tokens["1//refresh-abc"] = ("client-1.apps.googleusercontent.com", "client-secret-xyz", ALICE)
    path = tmp_path / "user.json"
    path.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "client-1.apps.googleusercontent.com",
                "client_secret": "client-secret-xyz",
                "refresh_token": "1//refresh-abc",
                "token_uri": f"{base_url}/token",
            }
        )
    )
    result = await call(
        "gdrive_get_file",
        {"file_id": files.design},
        env={
            "GOOGLE_APPLICATION_CREDENTIALS": str(path),
            "MCP_HUB_GDRIVE__SUBJECT": "",
            "MCP_HUB_GDRIVE__DOMAIN": "example.com",
            "MCP_HUB_GDRIVE__TOKEN_URI": f"{base_url}/token",  # google-auth ignores a token_uri in the file
        },
    )
    assert not result.is_error, result.content
    assert fake.token_requests[-1]["grant_type"] == "refresh_token"
    assert fake.token_requests[-1]["refresh_token"] == "1//refresh-abc"


async def test_rejected_key_is_an_auth_error_without_secrets(
    call: Call, files: Seeded, fake: FakeGoogle, key_file: Path
) -> None:
    fake.service_accounts[SA_EMAIL] = ("0123456789abcdef", b"not the key")
    result = await call("gdrive_get_file", {"file_id": files.design})
    text = result.content[0].text
    assert result.is_error and result.meta["mcp_hub/error"] == "auth"
    assert "could not obtain a Google access token (invalid_grant)" in text and "domain-wide delegation" in text
    private_key = json.loads(key_file.read_text())["private_key"]
    assert private_key[40:80] not in text and "ya29" not in text


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        ("{not json", "not valid JSON"),
        ('{"type": "external_account"}', "unsupported Google credentials type 'external_account'"),
        ('{"type": "service_account", "client_email": "x@y.z"}', "incomplete"),
    ],
)
async def test_unusable_credentials_are_explained(call: Call, tmp_path: Path, content: str, phrase: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = await call("gdrive_search_files", {"query": "x"}, env={"GOOGLE_APPLICATION_CREDENTIALS": str(path)})
    assert result.is_error and result.meta["mcp_hub/error"] == "auth" and phrase in result.content[0].text


async def test_missing_credentials_file(call: Call) -> None:
    result = await call(
        "gdrive_search_files", {"query": "x"}, env={"GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent.json"}
    )
    assert result.is_error and "cannot read the credentials file /nonexistent.json" in result.content[0].text


async def test_credentials_file_is_reread_when_rotated(
    call: Call, files: Seeded, key_file: Path, tmp_path: Path
) -> None:
    rotating = tmp_path / "rotating.json"
    rotating.write_text(key_file.read_text())
    env = {"GOOGLE_APPLICATION_CREDENTIALS": "", "MCP_HUB_GDRIVE__CREDENTIALS_FILE": str(rotating)}
    assert not (await call("gdrive_get_file", {"file_id": files.design}, env=env)).is_error
    rotating.write_text('{"type": "service_account"}')  # same hub: the new content is used
    broken = await call("gdrive_get_file", {"file_id": files.design}, env=env)
    assert broken.is_error and "incomplete" in broken.content[0].text
    rotating.write_text(key_file.read_text())
    assert not (await call("gdrive_get_file", {"file_id": files.design}, env=env)).is_error


async def test_config_check_warns_without_a_domain(make_hub: Callable[..., Any]) -> None:
    without = make_hub({"MCP_HUB_GDRIVE__SUBJECT": ""}).connectors[0]
    with_subject = make_hub().connectors[0]
    assert "no domain set" in (await without.diagnose())[0]
    assert await with_subject.diagnose() == []
