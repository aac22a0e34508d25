"""`review_pull_request` and `review_publish_review` (and the prompt `review_pull_request`) for any MCP client.

A workflow registered like a connector (entry point `review = "model.review:MANIFEST"`),
so the core never imports the model. It calls back into the hub it runs in (no second hub:
the same connectors, caches and pools) through an in-process MCP client whose requests come
from caller `agent` (`model.app.AgentApp.in_running_hub`): the hub's policy narrowed to
`connectors`, its data boundary and its audit log (which shows the outer `review_*` call and,
nested under it, the agent's reads and writes).

    [review]                         # MCP_HUB_REVIEW__*
    base_url = "http://gpu-1:8000/v1"   # the self-hosted model (required)
    profile = "r1-distill-qwen-14b"
    approve_posting = false          # true: review_publish_review may post without asking

Both tools report progress per model call to clients that ask for it. Posting asks the
client's user after the review and before anything is posted (MCP elicitation, yes/no)
unless `approve_posting = true`; without an explicit yes nothing is posted. Handshake-era
clients are asked mid-call; 2026-07-28 clients get an `InputRequiredResult` and retry with
the answer, and the retry posts the review already made (no second model run), unless the
change was pushed to in between.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from model.app import AgentApp

from mcp_hub.calls import InputRequired, asks_by_input_required, current_context
from mcp_hub.connector import Connector, ConnectorSettings, ToolOutput, prompt, tool
from mcp_hub.errors import InvalidInput, PolicyDenied
from mcp_hub.provenance import Provenance
from mcp_hub.secret import Secret

log = logging.getLogger(__name__)

Url = Annotated[str, Field(min_length=10, max_length=500, description="pull/merge request URL")]
Lang = Literal["en", "ja"] | None


class ReviewSettings(ConnectorSettings):
    backend: Literal["vllm", "azure", "ollama", "llamacpp", "custom"] = "vllm"
    profile: str = "r1-distill-qwen-14b"
    served_name: str = ""
    api_key: Secret | None = None
    #: No longer used (the review calls the hub it runs in); accepted so that older configurations load.
    hub_config: str | None = None
    #: Connectors the review's agent may use.
    connectors: list[str] = Field(default_factory=lambda: ["github", "gitlab"])
    approve_posting: bool = False
    budget_tokens: int | None = Field(default=None, ge=500, le=100_000)
    max_calls: int = Field(default=24, ge=1, le=500)
    #: The answer's token limit per model call (reasoning included); None: the profile's.
    max_tokens: int | None = Field(default=None, ge=256, le=1_000_000)
    thinking_budget: int | None = Field(default=None, ge=128, le=1_000_000)
    #: Share of the reviewable lines a review must cover to count (1.0: all; below: "not reviewed").
    min_coverage: float = Field(default=1.0, ge=0.0, le=1.0)

    def missing(self) -> str | None:
        return None if self.base_url else "no model endpoint: set MCP_HUB_REVIEW__BASE_URL"


class ReviewResult(BaseModel):
    markdown: str
    findings: int
    worst: str | None = None
    reviewed: bool = Field(description="false: the run failed closed (too little reviewed, or the model failed)")
    coverage: float = Field(description="share of changed lines reviewed")
    model_calls: int
    posted: str | None = None


class DescribeResult(BaseModel):
    markdown: str
    described: bool = Field(description="false: the model failed to describe the change")
    risk: str | None = Field(default=None, description="low, medium or high")
    files: int
    model_calls: int


class ReviewWorkflow(Connector[ReviewSettings]):
    name: ClassVar[str] = "review"
    settings_model = ReviewSettings
    default_toolsets = frozenset({"review"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.settings.hub_config:
            log.warning(
                "[review] hub_config is no longer used: the review tools call the hub they run in (its "
                "configuration and policy, narrowed to [review] connectors); remove the key"
            )

    @tool(toolset="review", description="Review a GitHub PR or GitLab MR with the hub's self-hosted model.")
    async def pull_request(self, url: Url, lang: Lang = None) -> ToolOutput[ReviewResult]:
        return await self._review(url, lang, post=False)

    @tool(
        toolset="review",
        description="Describe a GitHub PR or GitLab MR: summary, walkthrough per file group, risk (nothing posted).",
    )
    async def describe_pull_request(self, url: Url, lang: Lang = None) -> ToolOutput[DescribeResult]:
        from model.review.describe_run import description_markdown, run_describe
        from model.review.engine import ReviewOptions

        self._check_url(url)
        s = self.settings
        app = self._app()
        options = ReviewOptions(budget_tokens=s.budget_tokens, **app.limits())
        async with app.client() as client, app.session() as session:
            described = await run_describe(session, client, app.profile, url, options, lang=lang)
        data = DescribeResult(
            markdown=description_markdown(described),
            described=described.described,
            risk=described.risk or None,
            files=len(described.change.files),
            model_calls=described.usage.calls,
        )
        return ToolOutput(data, self._provenance(described.change, "description"))

    @staticmethod
    def _check_url(url: str) -> None:
        from model.review.hubcalls import ReviewError
        from model.review.target import parse_target

        try:
            parse_target(url)
        except ReviewError as exc:
            raise InvalidInput(exc.message) from None

    @prompt(toolset="review", name="pull_request", description="Have the team's self-hosted model review a PR/MR.")
    async def pull_request_prompt(self, url: str, lang: str = "en") -> str:
        """The user message for clients that offer prompts (slash commands) rather than tools."""
        if not url.startswith(("http://", "https://")):
            raise InvalidInput("url must be the pull request's or merge request's http(s) URL")
        language = "Japanese" if lang == "ja" else "English"
        return (
            f"Review the change at {url}: call the review_pull_request tool with url={url!r} and lang={lang!r}, "
            f"then present its Markdown to me in {language}, most severe findings first, keeping its coverage "
            "footer. Do not post anything unless I ask; posting is review_publish_review."
        )

    @tool(
        toolset="review",
        description="Review a GitHub PR or GitLab MR and post it (new findings only).",
        read_only=False,
    )
    async def publish_review(self, url: Url, lang: Lang = None) -> ToolOutput[ReviewResult]:
        from model.review.consent import asker, cannot_ask

        if self.settings.approve_posting:
            return await self._review(url, lang, post=True)
        ctx = current_context()
        reason = cannot_ask(ctx)
        if reason is not None:
            raise PolicyDenied(
                f"posting a review needs the user's approval and this client cannot be asked ({reason}); "
                "nothing was reviewed or posted: set [review] approve_posting = true, "
                "or run review_pull_request and post the findings yourself"
            )
        if asks_by_input_required(ctx):
            return await self._review_then_ask(url, lang, ctx)
        return await self._review(url, lang, post=True, confirm=asker(ctx, url))

    async def _review_then_ask(self, url: str, lang: str | None, ctx: Any) -> ToolOutput[ReviewResult]:
        """MCP 2026-07-28: review, answer with the question; on the client's retry, post what was approved."""
        from model.review.consent import approval_request, require_yes
        from model.review.snapshot import freeze, thaw
        from model.review.workflow import PostOptions, post_approved

        if ctx.request_state is None:
            # Reviewed and something new to post: the question goes out with the review sealed in its
            # state. Nothing new: posting says so and nobody is asked.

            async def ask(report: Any) -> None:
                raise InputRequired(approval_request(url, report, freeze(report, url, lang)))

            return self._output(await self._run(url, lang, post=True, confirm=ask))
        report = thaw(ctx.request_state, url, lang)
        require_yes(ctx.input_responses)
        async with self._hub_session() as session:
            report = await post_approved(session, report, PostOptions(post=True))
        return self._output(report)

    async def _review(
        self, url: str, lang: str | None, *, post: bool, confirm: Callable[[Any], Awaitable[None]] | None = None
    ) -> ToolOutput[ReviewResult]:
        return self._output(await self._run(url, lang, post=post, confirm=confirm))

    async def _run(
        self, url: str, lang: str | None, *, post: bool, confirm: Callable[[Any], Awaitable[None]] | None = None
    ) -> Any:
        from model.review.engine import ReviewOptions
        from model.review.workflow import PostOptions, run_review

        self._check_url(url)
        s = self.settings
        app = self._app()
        options = ReviewOptions(
            budget_tokens=s.budget_tokens, max_calls=s.max_calls, min_coverage=s.min_coverage, **app.limits()
        )
        ctx = current_context()
        progress = ctx.report_progress if ctx is not None else None
        async with app.client() as client, app.session() as session:
            posting = PostOptions(post=post, confirm=confirm)
            return await run_review(
                session, client, app.profile, url, options, lang=lang, posting=posting, progress=progress
            )

    def _hub_session(self) -> AbstractAsyncContextManager[Any]:
        return self._app().session()

    def _app(self) -> AgentApp:
        """An agent over the hub this tool is being called in, as caller `agent`, on `connectors` only."""
        from model.app import AgentApp
        from model.settings import ModelSettings

        ctx = current_context()
        if ctx is None:
            raise PolicyDenied("the review tools run inside a hub's tool call")
        s = self.settings
        settings = ModelSettings(
            backend=s.backend,
            base_url=s.base_url,
            profile=s.profile,
            name=s.served_name,
            api_key=s.api_key,
            max_tokens=s.max_tokens,
            thinking_budget=s.thinking_budget,
        )
        return AgentApp.in_running_hub(ctx.mcp_server, settings, [c for c in s.connectors if c != self.name])

    def _output(self, report: Any) -> ToolOutput[ReviewResult]:
        from model.review.findings import SEVERITIES
        from model.review.render import report_markdown

        worst = report.worst()
        posted = None
        if report.posted is not None:
            p = report.posted
            posted = p.skipped_reason or f"{p.new} new, {p.already} already posted, {p.outdated} outdated"
        data = ReviewResult(
            markdown=report_markdown(report),
            findings=len(report.findings) + len(report.folded),
            worst=SEVERITIES[worst] if worst >= 0 else None,
            reviewed=report.reviewed,
            coverage=round(report.coverage.share, 4),
            model_calls=report.usage.calls,
            posted=posted,
        )
        return ToolOutput(data, self._provenance(report.change, "review"))

    @staticmethod
    def _provenance(change: Any, what: str) -> Provenance:
        target = change.target
        resource = f"{target.forge}://{target.repo}/{'pull' if target.forge == 'github' else 'merge_requests'}"
        visibility: Any = change.visibility if change.visibility in ("public", "internal") else "private"
        return Provenance(resource=f"{resource}/{target.number}/{what}", visibility=visibility)
