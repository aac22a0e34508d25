"""Who these credentials act as: bots use it to tell their own notes from look-alikes posted by others."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from connectors.gitlab.args import ProjectArg
from connectors.gitlab.base import GitlabBase
from connectors.gitlab.models import Account, MemberAccess
from mcp_hub.connector import ToolOutput, tool


class AccountTools(GitlabBase):
    @tool(toolset="context", description="The user these credentials act as.")
    async def get_authenticated_user(self) -> ToolOutput[Account]:
        from connectors.gitlab.client import get_json

        user, target = await self.sent(lambda gl: get_json(gl, "/user"), what="the token's user")
        uid = user.get("id")
        account = Account(
            username=str(user.get("username") or ""),
            id=uid if isinstance(uid, int) else None,
            name=user.get("name"),
            bot=bool(user.get("bot")),
        )
        # A login is shown on everything the account writes: public, so reading it taints no flow.
        return ToolOutput(account, self.provenance(target, visibility="public"))

    @tool(
        toolset="members",
        description="A project member's access level, inherited included (30 Developer, 40 Maintainer, 50 Owner).",
    )
    async def get_member_access(
        self, project: ProjectArg, user_id: Annotated[int, Field(ge=1)]
    ) -> ToolOutput[MemberAccess]:
        from connectors.gitlab.client import get_json

        info = await self.project(project)
        # GitLab answers 404 for a user who is no member (a NotFound here).
        member, target = await self.sent(
            lambda gl: get_json(gl, f"/projects/{info.id}/members/all/{user_id}"),
            what=f"member {user_id} of {info.path}",
        )
        out = MemberAccess(
            user_id=user_id,
            username=str(member.get("username") or ""),
            access_level=int(member.get("access_level") or 0),
        )
        return ToolOutput(out, self.provenance(target))
