"""Where the model is served and how to authenticate there.

Backends, chosen by `backend` (or `MCP_HUB_MODEL__BACKEND`):

| backend  | default base URL              | key, when not given explicitly                              |
|----------|-------------------------------|-------------------------------------------------------------|
| vllm     | http://127.0.0.1:8000/v1      | `VLLM_API_KEY` (what `vllm serve --api-key` expects)        |
| azure    | (required) …/openai/v1        | `AZURE_OPENAI_API_KEY` as `api-key`, or an Entra token      |
|          |                               | (`AZURE_OPENAI_AD_TOKEN`) as `Authorization: Bearer`        |
| ollama   | http://127.0.0.1:11434/v1     | none                                                        |
| llamacpp | http://127.0.0.1:8080/v1      | `LLAMA_API_KEY` (`llama-server --api-key`)                  |
| custom   | (required)                    | none: only an `api_key` configured for this endpoint        |

A key read from a provider's variable goes only to that provider: the Azure key
only to Azure hosts, and a custom endpoint never receives any provider's key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from mcp_hub.errors import ConfigError
from mcp_hub.secret import Secret, secret_from_env

Backend = Literal["vllm", "azure", "ollama", "llamacpp", "custom"]
BACKENDS: tuple[Backend, ...] = ("vllm", "azure", "ollama", "llamacpp", "custom")

DEFAULT_BASE_URLS: dict[Backend, str] = {
    "vllm": "http://127.0.0.1:8000/v1",
    "ollama": "http://127.0.0.1:11434/v1",
    "llamacpp": "http://127.0.0.1:8080/v1",
}
KEY_VARIABLES: dict[Backend, str] = {
    "vllm": "VLLM_API_KEY",
    "azure": "AZURE_OPENAI_API_KEY",
    "llamacpp": "LLAMA_API_KEY",
}
AZURE_TOKEN_VARIABLE = "AZURE_OPENAI_AD_TOKEN"  # noqa: S105 - a variable name
AZURE_HOST_SUFFIXES = (".openai.azure.com", ".services.ai.azure.com", ".cognitiveservices.azure.com")


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible base URL and the headers that authenticate there."""

    backend: Backend
    base_url: str
    api_key: Secret | None = None
    #: Azure: send the key as `Authorization: Bearer` (an Entra token) instead of `api-key`.
    bearer: bool = True

    def headers(self) -> dict[str, str]:
        if self.api_key is None:
            return {}
        value = self.api_key.get_secret_value()
        if self.backend == "azure" and not self.bearer:
            return {"api-key": value}
        return {"Authorization": f"Bearer {value}"}

    def secrets(self) -> list[str]:
        return [self.api_key.get_secret_value()] if self.api_key is not None else []


def is_azure_host(base_url: str) -> bool:
    host = (urlsplit(base_url).hostname or "").lower()
    return host.endswith(AZURE_HOST_SUFFIXES)


def resolve_endpoint(
    backend: str = "vllm",
    base_url: str | None = None,
    api_key: Secret | str | None = None,
    env: Mapping[str, str] | None = None,
) -> Endpoint:
    """The endpoint for `backend`, with the key it may receive and nothing more."""
    env = os.environ if env is None else env
    if backend not in BACKENDS:
        raise ConfigError(f"unknown model backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    kind: Backend = backend  # type: ignore[assignment,unused-ignore]
    url = (base_url or DEFAULT_BASE_URLS.get(kind) or "").rstrip("/")
    if not url:
        raise ConfigError(f"the {kind} backend needs a base URL (--base-url or MCP_HUB_MODEL__BASE_URL)")
    if urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError("the model base URL must start with http:// or https://")
    if api_key is not None:
        key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        return Endpoint(kind, url, key, bearer=kind != "azure")
    if kind == "azure":
        if not is_azure_host(url):
            # A proxy or private endpoint in front of Azure: only an explicitly configured key goes there.
            return Endpoint(kind, url, None)
        token = secret_from_env(dict(env), AZURE_TOKEN_VARIABLE)
        if token is not None:
            return Endpoint(kind, url, token, bearer=True)
        return Endpoint(kind, url, secret_from_env(dict(env), KEY_VARIABLES["azure"]), bearer=False)
    variable = KEY_VARIABLES.get(kind)
    return Endpoint(kind, url, secret_from_env(dict(env), variable) if variable else None)
