"""Running one job: the review or triage workflow as a library, against an in-process hub (caller `agent`).

Each job gets a fresh hub built from the service's configuration (policy, provenance and audit apply as
for any agent run) and shares the service's model client (whose calls feed the backpressure).
Reviews are posted (the hub must allow writes); triage labels and posts only with `[triage] approve = true`.
Comment commands (`model.webhook.answer`) also need the forge's answer on write access: the hub of a job
has the opt-in toolsets `collaborators` (GitHub) and `members` (GitLab) on, beside the configured ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mcp_hub.config import HubConfig
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import build_server, hub_policy
from model.client import ModelClient
from model.hub import AGENT_CALLER, open_hub
from model.profiles import Profile
from model.review.engine import ReviewOptions
from model.review.hubcalls import first_hub_error
from model.review.workflow import PostOptions, run_review
from model.triage.repo import RepoRef
from model.triage.settings import TriageSettings
from model.triage.workflow import TriageOptions, run_triage
from model.webhook.answer import CommandRunner
from model.webhook.jobs import Job

#: Toolsets a job's hub adds to the configured ones: where write access is asked of the forge.
ACCESS_TOOLSETS = ("collaborators", "members")


@dataclass
class JobRunner:
    config: HubConfig
    registry: Registry
    client: ModelClient
    profile: Profile
    served_name: str
    triage: TriageSettings
    verdict_log: Path | None = None
    max_calls: int = 24

    async def __call__(self, job: Job) -> str:
        toolsets = [*self.config.hub.toolsets, *ACCESS_TOOLSETS]
        policy = hub_policy(self.config, toolsets=toolsets)
        server = build_server(self.config, registry=self.registry, caller=Caller(AGENT_CALLER, "memory", policy))
        try:
            async with open_hub(server) as session:
                if job.kind == "command":
                    commands = CommandRunner(
                        self.client, self.profile, self.served_name, self.verdict_log, self.max_calls
                    )
                    return await commands(session, job)
                if job.kind == "review":
                    options = ReviewOptions(model=self.served_name, max_calls=self.max_calls)
                    posting = PostOptions(post=True, verdict_log=self.verdict_log)
                    report = await run_review(session, self.client, self.profile, job.url, options, posting=posting)
                    p = report.posted
                    posted = (p.skipped_reason or f"{p.new} new comment(s), {p.outdated} outdated") if p else "-"
                    why = report.coverage.not_reviewed_reason()
                    verb = f"NOT reviewed ({why})" if why else "reviewed"
                    return f"{verb} {report.change.head_sha[:12]}: {len(report.findings)} finding(s); {posted}"
                t = self.triage
                options_t = TriageOptions(
                    numbers=[job.number],
                    apply=t.approve,
                    approve=t.approve,
                    digest_channel=t.channel(None),
                    lang=t.lang,
                    model=self.served_name,
                    verdict_log=self.verdict_log,
                )
                result = await run_triage(session, self.client, self.profile, RepoRef(job.forge, job.repo), options_t)
                done = result.issues[0] if result.issues else None
                if done is None:
                    return "triaged: nothing to do"
                labels = ", ".join(done.labels) or "none"
                return f"triaged: labels {labels} ({done.labels_outcome}); digest {result.digest_outcome}"
        except BaseExceptionGroup as group:
            raise first_hub_error(group) or group from None
