"""Per-repository review settings, from `.mcp-hub-review.toml` on the base branch (never the PR's head).

    skip = ["docs/generated/**", "*.sql"]   # globs of paths not to review
    severity_threshold = "medium"           # findings below are dropped
    language = "ja"                         # en | ja (the --lang flag wins)
    instructions = "We use Django 5; flag raw SQL."

    [[path_instructions]]                   # extra instructions for the files a glob matches
    path = "migrations/**"
    instructions = "Flag any migration that locks a large table or cannot be rolled back."

Read from the base branch so a pull request cannot switch its own review off (nor loosen it: a PR
that edits this file is reviewed under the base branch's version).
"""

from __future__ import annotations

import tomllib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mcp_hub.config import describe_validation_error

SETTINGS_PATH = ".mcp-hub-review.toml"


class PathInstructions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: A glob over the file's path (`*` also matches `/`, so `migrations/**` is everything below it).
    path: str = Field(min_length=1, max_length=300)
    instructions: str = Field(min_length=1, max_length=2000)


class RepoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skip: list[str] = Field(default_factory=list, max_length=200)
    severity_threshold: Literal["low", "medium", "high", "critical"] = "low"
    language: Literal["en", "ja"] | None = None
    instructions: str = Field(default="", max_length=4000)
    path_instructions: list[PathInstructions] = Field(default_factory=list, max_length=50)


def parse_settings(text: str | None) -> tuple[RepoSettings, str | None]:
    """The settings, and a warning when the file is unusable (the review then runs with defaults)."""
    if not text:
        return RepoSettings(), None
    try:
        return RepoSettings.model_validate(tomllib.loads(text)), None
    except tomllib.TOMLDecodeError as exc:
        return RepoSettings(), f"{SETTINGS_PATH} is not valid TOML ({exc}); defaults used"
    except ValidationError as exc:
        return RepoSettings(), f"{SETTINGS_PATH}: {describe_validation_error(exc)}; defaults used"
