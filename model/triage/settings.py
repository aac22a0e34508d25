"""`[triage]` in the hub's TOML file (or `MCP_HUB_TRIAGE__*`), then flags.

[triage]
slack_channels = ["#triage"]   # the only channels a digest may go to (the Slack connector's
                               # post_channels must allow them too)
digest_channel = "#triage"     # where the digest goes when --slack-channel is not given
max_issues = 10                # unlabelled issues triaged per run
lang = "en"                    # en | ja
approve = false                # true: label and post without asking (the webhook service needs it)
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mcp_hub.config import HubConfig, describe_validation_error
from mcp_hub.errors import ConfigError, PolicyDenied


class TriageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slack_channels: list[str] = Field(default_factory=list)
    digest_channel: str = ""
    max_issues: int = Field(default=10, ge=1, le=100)
    lang: Literal["en", "ja"] = "en"
    approve: bool = False

    @field_validator("slack_channels", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def channel(self, requested: str | None) -> str | None:
        """The digest's channel (`requested` or the configured one), checked against `slack_channels`."""
        channel = (requested or self.digest_channel).strip()
        if not channel:
            return None
        allowed = {c.strip().lstrip("#").casefold() for c in self.slack_channels}
        if channel.lstrip("#").casefold() not in allowed:
            listed = ", ".join(self.slack_channels) or "none"
            raise PolicyDenied(
                f"Slack channel {channel} is not in [triage] slack_channels (allowed: {listed}); "
                "add it there to post digests to it"
            )
        return channel


def take_triage_settings(config: HubConfig) -> TriageSettings:
    try:
        return TriageSettings.model_validate(config.services.get("triage", {}))
    except ValidationError as exc:
        raise ConfigError(f"[triage]: {describe_validation_error(exc)}") from None
