"""The review bot on a fixed large synthetic pull request: model calls, tokens, and coverage.

Runs the GitHub fake and a reviewing fake model (which counts prompt and answer
tokens with the DeepSeek tokenizer, as a real server's `usage` does) on
127.0.0.1, and reviews one pull request of 40 source files (6,000 changed
lines) plus a lockfile, vendored and generated files, at several diff budgets.
Then the incremental re-review: the review is posted, one commit changing one
file is pushed, and a re-run reviews only that commit; against a full re-review
of the same head (both in the same run).

    python bench/review.py
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fakes live with the tests

from model.client import ClientOptions, ModelClient
from model.endpoint import resolve_endpoint
from model.hub import open_hub
from model.profiles import get_profile
from model.review.engine import ReviewOptions, diff_budget
from model.review.report import ReviewReport
from model.review.workflow import PostOptions, run_review
from tests.connectors.github.fake_app import FakeGithub
from tests.model.review.conftest import MODEL, github_hub
from tests.model.review.fake_reviewer import FakeReviewer
from tests.model.review.seed import add_pull, big_change, push, url
from tests.support.http_server import serve_in_thread

PROFILE = "r1-distill-qwen-14b"


def synthetic_pull() -> dict[str, bytes | None]:
    files = big_change(files=40, lines=150)
    files["package-lock.json"] = "".join(f'  "dep{n}": "1.0.{n}",\n' for n in range(2000)).encode()
    files["vendor/lib/big.js"] = "".join(f"var v{n} = {n};\n" for n in range(500)).encode()
    files["dist/app.min.js"] = b"var a=1;" * 200 + b"\n"
    return files


async def one(api: str, model_url: str, number: int, budget: int | None) -> tuple[ReviewReport, float]:
    client = ModelClient(resolve_endpoint("vllm", model_url, env={}), ClientOptions(attempts=1))
    options = ReviewOptions(model=MODEL, budget_tokens=budget, max_calls=1000, use_bandit=False)
    started = time.perf_counter()
    async with client, open_hub(github_hub(api, writes=False)) as session:
        report = await run_review(session, client, get_profile(PROFILE), url(number), options)
    return report, time.perf_counter() - started


async def rereview(api: str, model_url: str, number: int, github: FakeGithub) -> dict[str, object]:
    """Post the review, push one commit (one file), then an incremental and a full re-review of the new head."""
    client = ModelClient(resolve_endpoint("vllm", model_url, env={}), ClientOptions(attempts=1))
    options = ReviewOptions(model=MODEL, max_calls=1000, use_bandit=False)
    profile = get_profile(PROFILE)
    out: dict[str, object] = {}
    async with client, open_hub(github_hub(api, writes=True)) as session:
        first = await run_review(session, client, profile, url(number), options, posting=PostOptions(post=True))
        out["first_review"] = {"model_calls": first.usage.calls, "prompt_tokens": first.usage.prompt_tokens}
        body = "".join(f"def extra_{n}(value):\n    return value == None\n" for n in range(5)).encode()
        push(github, "bench", {"src/mod00.py": body + b"# one new commit\n"}, "One new commit")
        for name, incremental in (("incremental", True), ("full", False)):
            opts = ReviewOptions(model=MODEL, max_calls=1000, use_bandit=False, incremental=incremental)
            started = time.perf_counter()
            posting = PostOptions(post=incremental)  # the incremental run posts (as CI would); the full one reads
            report = await run_review(session, client, profile, url(number), opts, posting=posting)
            inc = report.increment
            out[name] = {
                "model_calls": report.usage.calls,
                "prompt_tokens": report.usage.prompt_tokens,
                "completion_tokens": report.usage.completion_tokens,
                "files_reviewed": len(report.coverage.files_reviewed),
                "lines_reviewed": report.coverage.lines_reviewed,
                "reviewed": report.reviewed,
                "scope": (f"commits {inc.since[:12]}..{inc.head[:12]}" if inc and inc.incremental else "whole change"),
                "findings": len(report.findings),
                "still_open_from_earlier": len(report.carried),
                "seconds": round(time.perf_counter() - started, 2),
            }
    full, inc = out["full"], out["incremental"]
    assert isinstance(full, dict) and isinstance(inc, dict)
    out["incremental_vs_full"] = {
        "model_calls": round(inc["model_calls"] / full["model_calls"], 4),
        "prompt_tokens": round(inc["prompt_tokens"] / full["prompt_tokens"], 4),
    }
    return out


def main() -> None:
    logging.disable(logging.INFO)
    github, reviewer = FakeGithub(), FakeReviewer()
    number = add_pull(github, synthetic_pull(), branch="bench", title="Large synthetic change")
    rows = []
    with serve_in_thread(github.app) as gh, serve_in_thread(reviewer.app) as model:
        default = diff_budget(get_profile(PROFILE))
        for budget in (default, 4000, 1500):
            reviewer.reset()
            report, seconds = anyio.run(one, gh + "/api/v3", model + "/v1", number, budget)
            reviewable = sum(
                f.changed for f in report.change.files if f.path not in dict(report.coverage.files_skipped)
            )
            rows.append(
                {
                    "budget_tokens": budget,
                    "model_calls": report.usage.calls,
                    "prompt_tokens": report.usage.prompt_tokens,
                    "completion_tokens": report.usage.completion_tokens,
                    "changed_lines": report.coverage.lines_total,
                    "reviewable_lines": reviewable,
                    "lines_reviewed": report.coverage.lines_reviewed,
                    "share_of_changed_lines": round(report.coverage.share, 4),
                    "share_of_reviewable_lines": round(report.coverage.lines_reviewed / reviewable, 4),
                    "files_skipped": len(report.coverage.files_skipped),
                    "findings": len(report.findings),
                    "reviewed": report.reviewed,
                    "seconds": round(seconds, 2),
                }
            )
        again = anyio.run(rereview, gh + "/api/v3", model + "/v1", number, github)
    print(json.dumps({"profile": PROFILE, "files": len(synthetic_pull()), "runs": rows, "rereview": again}, indent=2))


if __name__ == "__main__":
    main()
