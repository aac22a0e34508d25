"""Who these credentials act as: bots use it to tell their own comments from look-alikes posted by others."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from connectors.github.base import GithubBase
from connectors.github.models import Account, Permission
from connectors.github.tools_repos import RepoArg
from mcp_hub.connector import ToolOutput, tool
from mcp_hub.upstream import segments

#: A GitHub login (an App's bot ends in `[bot]`).
Username = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]*)(?:\[bot\])?$")]


class AccountTools(GithubBase):
    @tool(toolset="context", description="The account these credentials act as (for an App: its bot).")
    async def get_authenticated_user(self) -> ToolOutput[Account]:
        account = Account.model_validate(await self.client.account())
        # A login is shown on everything the account writes: public, so reading it taints no flow. An App's
        # bot is read from `GET /app` (a token's user from `/user`): the label names where it came from.
        settings = self.client.settings
        source = "app" if settings.token is None and not settings.bot_login else "user"
        return ToolOutput(account, self.provenance(source, "public"))

    @tool(
        toolset="collaborators",
        description="A user's permission on a repository (admin, write, read, none) and role (maintain, triage, ...).",
    )
    async def get_collaborator_permission(self, repo: RepoArg, username: Username) -> ToolOutput[Permission]:
        r = self.repo(repo)
        who = segments.segment(username, what="username")
        response = await self.client.request(
            "GET", f"{r.api}/collaborators/{who}/permission", what=f"{username}'s permission on {r.full}"
        )
        body = response.body
        user = body.get("user") or {}
        out = Permission(
            login=str(user.get("login") or username),
            permission=str(body.get("permission") or "none"),
            role_name=str(body.get("role_name") or ""),
        )
        return ToolOutput(out, await self.labels(response))
