"""The Postgres connector's monitoring tools: health, top queries, index advice.

A mixin of `PostgresConnector`, kept apart so each module stays small; the
connector supplies `pool()`, `settings` and `_provenance()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from connectors.postgres.models import HealthReport, IndexAdvice, TopQueries
from connectors.postgres.settings import PostgresSettings
from mcp_hub.connector import ToolOutput, tool
from mcp_hub.provenance import Provenance

if TYPE_CHECKING:
    from connectors.postgres.guard import Checked, Mode
    from connectors.postgres.names import Names


class HealthTools:
    settings: PostgresSettings

    async def pool(self) -> Any:
        raise NotImplementedError

    async def read_pool(self) -> Any:
        raise NotImplementedError

    def _provenance(self, resource: str) -> Provenance:
        raise NotImplementedError

    async def _names(self, *, refresh: bool = False) -> Names:
        """What the guard lets a read or plan name here: the server's catalog and allowed_functions."""
        from connectors.postgres.catalog import names_for

        return await names_for(await self.pool(), self.settings.allowed_functions, refresh=refresh)

    async def _inspect(self, sql: str, mode: Mode) -> Checked:
        """`guard.inspect` with this instance's names; a name the snapshot does not know reloads it once."""
        from connectors.postgres import guard

        try:
            return guard.inspect(sql, mode, await self._names())
        except guard.UnknownName:
            return guard.inspect(sql, mode, await self._names(refresh=True))

    @tool(
        toolset="monitor",
        description=(
            "Database health: connections, long-running and blocked queries, cache hit ratio, dead rows and "
            "vacuum age, unused and duplicate indexes, sequences near their limit."
        ),
    )
    async def health(
        self,
        check: Literal["all", "connections", "queries", "cache", "vacuum", "indexes", "sequences"] = "all",
        slow_s: Annotated[float, Field(description="Queries running longer are long-running.", ge=0, le=86400)] = 30,
    ) -> ToolOutput[HealthReport]:
        from connectors.postgres import health

        report = await health.check(await self.pool(), check, slow_s)
        return ToolOutput(report, self._provenance("health"))

    @tool(toolset="monitor", description="Slowest or most frequent queries from pg_stat_statements.")
    async def top_queries(
        self,
        order_by: Literal["total_time", "mean_time", "calls"] = "total_time",
        limit: Annotated[int, Field(ge=1, le=50)] = 10,
    ) -> ToolOutput[TopQueries]:
        from connectors.postgres import advice

        return ToolOutput(await advice.top_queries(await self.pool(), order_by, limit), self._provenance("top_queries"))

    @tool(
        toolset="monitor",
        description=(
            "Suggest indexes for a SELECT (or, without sql, the top queries), with the estimated plan cost "
            "before and after each (hypopg)."
        ),
    )
    async def advise_indexes(
        self,
        sql: Annotated[str | None, Field(description="One SELECT statement.", max_length=100_000)] = None,
        params: Annotated[
            list[str | int | float | bool | None] | None, Field(description="Values for $1, $2…", max_length=1000)
        ] = None,
    ) -> ToolOutput[IndexAdvice]:
        from connectors.postgres import advice

        plans = await self.read_pool()  # the statements are not the hub's: the reader plans them
        advised = await advice.advise(await self.pool(), sql, params, await self._names(), plans=plans)
        return ToolOutput(advised, self._provenance("advice"))
