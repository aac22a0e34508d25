"""Credentials and HTTP transport for the Google client (imported lazily: it loads google-auth).

A service-account key (optionally impersonating `subject` through domain-wide
delegation) or an authorized-user file is read from the settings; the token
exchange goes to the `token_uri` the JSON names. Scopes are read-only unless
the instance allows writes. httplib2 is not thread-safe, so each worker thread
gets its own `AuthorizedHttp` around one shared credentials object
(`connectors.gdrive.transport`, which puts the request guard around it).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.gdrive.settings import GdriveSettings
from mcp_hub.errors import AuthError

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

READ_SCOPES = (
    "https://www.googleapis.com/auth/drive.readonly",
    "https://www.googleapis.com/auth/spreadsheets.readonly",
)
WRITE_SCOPES = (
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/spreadsheets.readonly",
)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the hub acts as: shown in permission errors ("share the file with …")."""

    credentials: Credentials
    email: str | None
    kind: str  # "service_account" | "authorized_user"


def credentials_json(settings: GdriveSettings) -> str:
    """The JSON text of the credentials (re-read when a file-backed secret changes)."""
    if settings.credentials is not None:
        return settings.credentials.get_secret_value()
    assert settings.credentials_path
    try:
        return Path(settings.credentials_path).read_text(encoding="utf-8")
    except OSError as exc:
        raise AuthError(
            f"cannot read the credentials file {settings.credentials_path} ({exc.strerror}): "
            "check GOOGLE_APPLICATION_CREDENTIALS"
        ) from None


def load_identity(settings: GdriveSettings, text: str) -> Identity:
    from google.oauth2 import credentials as user_credentials
    from google.oauth2 import service_account

    scopes = list(WRITE_SCOPES if settings.allow_writes else READ_SCOPES)
    try:
        info: Any = json.loads(text)
    except ValueError:
        raise AuthError("the Google credentials are not valid JSON: use a service-account key file") from None
    kind = info.get("type") if isinstance(info, dict) else None
    try:
        if kind == "service_account":
            sa = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=scopes, subject=settings.subject
            )
            if settings.token_uri:
                sa = sa.with_token_uri(settings.token_uri)
            return Identity(sa, info.get("client_email"), "service_account")
        if kind == "authorized_user":
            user = user_credentials.Credentials.from_authorized_user_info(info, scopes=scopes)  # type: ignore[no-untyped-call]
            if settings.token_uri:  # google-auth ignores a token_uri in the file on purpose; only config may move it
                user = user.with_token_uri(settings.token_uri)
            return Identity(user, info.get("account") or None, "authorized_user")
    except (ValueError, KeyError) as exc:
        field = exc.args[0] if isinstance(exc, KeyError) else "a required field"
        raise AuthError(f"the Google {kind} credentials are incomplete (missing {field})") from None
    raise AuthError(
        f"unsupported Google credentials type {kind!r}: use a service-account key or an authorized-user file"
    )


def make_http(settings: GdriveSettings) -> Any:
    """An httplib2 client with the instance's timeout, CA bundle and proxy (default: HTTPS_PROXY/NO_PROXY)."""
    import httplib2  # type: ignore[import-untyped]

    ca_certs = settings.ca_bundle or os.environ.get("SSL_CERT_FILE") or os.environ.get("REQUESTS_CA_BUNDLE") or None
    proxy: Any = httplib2.proxy_info_from_environment
    if settings.proxy is not None:
        proxy = httplib2.proxy_info_from_url(settings.proxy.get_secret_value())
    return httplib2.Http(timeout=settings.timeout_s, ca_certs=ca_certs, proxy_info=proxy)


def authorized_http(settings: GdriveSettings, credentials: Credentials) -> Any:
    """A `google_auth_httplib2.AuthorizedHttp` (adds the token; refreshes it through its inner `Http`)."""
    import google_auth_httplib2  # type: ignore[import-untyped]

    return google_auth_httplib2.AuthorizedHttp(credentials, http=make_http(settings))
