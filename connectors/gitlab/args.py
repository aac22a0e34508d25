"""Argument types shared by the tools (each description costs tokens in every session: few and short).

Optional strings default to "" (meaning "not given") rather than None: a nullable
type costs an `anyOf` in every tool's schema.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

ProjectArg = Annotated[str, Field(description="group/name or numeric id", max_length=400)]
RefArg = Annotated[str, Field(description="branch, tag or sha; default branch if empty", max_length=250)]
Cursor = Annotated[str, Field(max_length=4000)]
Iid = Annotated[int, Field(ge=1)]
MaxTokens = Annotated[int, Field(description="token budget of this page", ge=500, le=60_000)]
Body = Annotated[str, Field(min_length=1, max_length=60_000)]
Labels = Annotated[tuple[Annotated[str, Field(max_length=255)], ...], Field(max_length=50)]
Users = Annotated[tuple[Annotated[str, Field(max_length=255)], ...], Field(description="usernames", max_length=50)]
