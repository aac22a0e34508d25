"""The agent's model settings: `[model]` in the hub's TOML file or `MCP_HUB_MODEL__*` variables, then flags.

    [model]                      # MCP_HUB_MODEL__BACKEND=vllm …
    backend = "vllm"             # vllm | azure | ollama | llamacpp | custom
    base_url = "http://127.0.0.1:8000/v1"
    profile = "r1-ja-14b"        # a profile name or a Hugging Face id
    name = ""                    # the served model name (default: the profile's HF id)
    api_key_file = "/run/secrets/model-key"   # only for this endpoint
    approve = ["github_add_issue_comment"]          # tool globs approved without asking
    wait_for_approval = false    # true: writes needing a person wait in the approvals queue (hub.state_url)
    verdict_log = "/var/log/mcp-hub/agent.jsonl"
    max_tokens = 16384           # the answer's token limit per call, reasoning included (default: the profile's)
    thinking_budget = 8192       # vLLM thinking_token_budget (needs --reasoning-config on the server)

The `[model]` section is taken out of the hub's configuration before the hub is
built (the hub's registry would reject it as an unknown connector).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mcp_hub.config import HubConfig, describe_validation_error
from mcp_hub.errors import ConfigError
from mcp_hub.secret import Secret


class ModelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    backend: str = "vllm"
    base_url: str | None = None
    profile: str = "r1-distill-qwen-14b"
    name: str = ""
    api_key: Secret | None = None
    approve: list[str] = Field(default_factory=list)
    wait_for_approval: bool = False
    verdict_log: Path | None = None
    max_steps: int = Field(default=12, ge=1, le=200)
    max_tokens: int | None = Field(default=None, ge=256, le=1_000_000)
    thinking_budget: int | None = Field(default=None, ge=128, le=1_000_000)

    @field_validator("approve", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


def take_model_settings(config: HubConfig) -> ModelSettings:
    """Validate the `[model]` section of `config`."""
    raw = config.model
    try:
        return ModelSettings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"[model]: {describe_validation_error(exc)}") from None
