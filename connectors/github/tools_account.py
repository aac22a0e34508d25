"""Who these credentials act as: bots use it to tell their own comments from look-alikes posted by others."""

from __future__ import annotations

from connectors.github.base import GithubBase
from connectors.github.models import Account
from mcp_hub.connector import ToolOutput, tool


class AccountTools(GithubBase):
    @tool(toolset="context", description="The account these credentials act as (for an App: its bot).")
    async def get_authenticated_user(self) -> ToolOutput[Account]:
        account = Account.model_validate(await self.client.account())
        # A login is shown on everything the account writes: public, so reading it taints no flow.
        return ToolOutput(account, self.provenance("user", "public"))
