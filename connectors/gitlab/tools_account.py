"""Who these credentials act as: bots use it to tell their own notes from look-alikes posted by others."""

from __future__ import annotations

from connectors.gitlab.base import GitlabBase
from connectors.gitlab.models import Account
from mcp_hub.connector import ToolOutput, tool


class AccountTools(GitlabBase):
    @tool(toolset="context", description="The user these credentials act as.")
    async def get_authenticated_user(self) -> ToolOutput[Account]:
        from connectors.gitlab.client import get_json

        user, target = await self.sent(lambda gl: get_json(gl, "/user"), what="the token's user")
        account = Account(username=str(user.get("username") or ""), name=user.get("name"), bot=bool(user.get("bot")))
        # A login is shown on everything the account writes: public, so reading it taints no flow.
        return ToolOutput(account, self.provenance(target, visibility="public"))
