"""`[webhook]` in the hub's TOML file (or `MCP_HUB_WEBHOOK__*`), then flags.

[webhook]
host = "127.0.0.1"
port = 8090
store = "sqlite:///var/lib/mcp-hub/webhook.db"   # or postgresql://…, redis://…
# store_file = "/run/secrets/mcp-hub-webhook/store_url"   # the same, from a file (a DSN with a password)
github_secret_file = "/run/secrets/github-webhook"
gitlab_token_file = "/run/secrets/gitlab-webhook"
concurrency = 2            # jobs at once in this process
lease_s = 600              # a job whose worker stops renewing is taken over after this
max_body_bytes = 1048576   # larger deliveries get 413
delivery_ttl_s = 604800    # delivery ids remembered this long (replays rejected)
done_ttl_s = 2592000       # finished jobs remembered this long, then pruned
review = true              # review opened/updated PRs and MRs (posting needs MCP_HUB_ALLOW_WRITES=1)
triage = true              # triage new issues ([triage] approve = true to label and post)
commands = true            # answer /review and /ask in PR/MR comments from people with write access
slow_call_s = 120          # a model call slower than this starts backpressure
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mcp_hub.config import HubConfig, describe_validation_error
from mcp_hub.errors import ConfigError
from mcp_hub.secret import Secret
from model.webhook.store import DONE_TTL_S


class WebhookSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=0, le=65535)
    #: A URL, or (`store_file`) a Secret: a PostgreSQL or Redis URL often carries a password.
    store: str | Secret = "sqlite:///mcp-hub-webhook.db"
    prefix: str = Field(default="mcp_hub_webhook", pattern=r"^[a-z_][a-z0-9_]{0,40}$")
    github_secret: Secret | None = None
    gitlab_token: Secret | None = None
    concurrency: int = Field(default=2, ge=1, le=64)
    lease_s: float = Field(default=600, ge=1)
    poll_s: float = Field(default=1.0, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=50)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    delivery_ttl_s: float = Field(default=7 * 86400, ge=60)
    #: Finished jobs are remembered this long (a redelivery answers "done"), then pruned; after that a
    #: delivery for the same head runs again and the review's hidden markers keep it from posting twice.
    done_ttl_s: float = Field(default=DONE_TTL_S, ge=60)
    review: bool = True
    triage: bool = True
    commands: bool = True
    slow_call_s: float = Field(default=120, gt=0)
    backoff_max_s: float = Field(default=300, gt=0)


def store_url(settings: WebhookSettings) -> str:
    """The store's URL, read from its file when given as `store_file`."""
    return settings.store.get_secret_value() if isinstance(settings.store, Secret) else settings.store


def take_webhook_settings(config: HubConfig) -> WebhookSettings:
    try:
        return WebhookSettings.model_validate(config.services.get("webhook", {}))
    except ValidationError as exc:
        raise ConfigError(f"[webhook]: {describe_validation_error(exc)}") from None
