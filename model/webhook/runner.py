"""Running one job: the review or triage workflow as a library, against an in-process hub (caller `agent`).

The service's `AgentApp` (`model.app`) built the hub once from its configuration; each job opens its own
session on it (a fresh flow guard; policy, provenance and audit apply as for any agent run) and shares the
service's model client (whose calls feed the backpressure).
Reviews are posted (the hub must allow writes); triage labels and posts only with `[triage] approve = true`,
or when the service waits for approvals (then each label and digest waits for a person, unless approved).

**Held writes** (`mcp-hub webhook --wait-for-approval`, `[model] wait_for_approval = true`): a write that
needs a person (the flow guard, the scanner, no approve glob) waits in the hub's approvals queue, inside the
job. The worker keeps renewing the job's lease while it waits (`Worker._renew`, every `lease_s / 3`), so no
other worker takes it over; the job holds one of the worker's `concurrency` slots until decided, and the
approval's expiry (`hub.approval_timeout_s`) bounds the wait. Approved, the waiting job makes the write, once;
denied or expired, the write is not made and the job finishes with an outcome that says so (the triage's
`not approved (queue-denied): … denied in the approvals queue by …`; a review's skipped post; a command's
`failed: answering … was not allowed`). A worker stopping cancels the wait (the approval is recorded
`cancelled`, the job handed back and later re-run with a new approval); a killed worker's approval stays
pending until it expires (its waiter is gone: approving it writes nothing) and the job is re-run when its
lease expires, with a new approval. A job never posts twice: only the waiter that was approved writes.
Comment commands (`model.webhook.answer`) also need the forge's answer on write access: the service's hub
has the opt-in toolsets `collaborators` (GitHub) and `members` (GitLab) on, beside the configured ones
(`ACCESS_TOOLSETS`, given to the factory).
"""

from __future__ import annotations

from dataclasses import dataclass

from model.app import AgentApp
from model.client import ModelClient
from model.review.engine import ReviewOptions
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
    app: AgentApp
    client: ModelClient
    triage: TriageSettings
    max_calls: int = 24

    async def __call__(self, job: Job) -> str:
        app = self.app
        async with app.session() as session:
            if job.kind == "command":
                commands = CommandRunner(self.client, app.profile, app.served_name, app.verdict_log, self.max_calls)
                return await commands(session, job)
            if job.kind == "review":
                options = ReviewOptions(max_calls=self.max_calls, **app.limits())
                posting = PostOptions(post=True, verdict_log=app.verdict_log)
                report = await run_review(session, self.client, app.profile, job.url, options, posting=posting)
                p = report.posted
                posted = (p.skipped_reason or f"{p.new} new comment(s), {p.outdated} outdated") if p else "-"
                why = report.coverage.not_reviewed_reason()
                verb = f"NOT reviewed ({why})" if why else "reviewed"
                return f"{verb} {report.change.head_sha[:12]}: {len(report.findings)} finding(s); {posted}"
            t = self.triage
            options_t = TriageOptions(
                numbers=[job.number],
                apply=t.approve or app.waits,  # waiting: unapproved writes wait for a person
                approve=t.approve,
                digest_channel=t.channel(None),
                lang=t.lang,
                verdict_log=app.verdict_log,
                **app.limits(),
            )
            result = await run_triage(session, self.client, app.profile, RepoRef(job.forge, job.repo), options_t)
            done = result.issues[0] if result.issues else None
            if done is None:
                return "triaged: nothing to do"
            labels = ", ".join(done.labels) or "none"
            return f"triaged: labels {labels} ({done.labels_outcome}); digest {result.digest_outcome}"
