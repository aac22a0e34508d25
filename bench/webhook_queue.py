"""The webhook queue on PostgreSQL: our store against procrastinate, on the same server in the same run.

    PYTHONPATH=$PWD python bench/webhook_queue.py [--jobs 1000] [--workers 4] [--rounds 3]

Each side gets a fresh database on the server at MCP_HUB_BENCH_DSN (default: 127.0.0.1:5432 as postgres),
dropped afterwards. Measured, per side: enqueue N jobs of distinct pull requests (one connection), then
claim + finish all of them with one worker, and again with W concurrent workers (each its own
connection). Procrastinate's jobs carry the same guarantees ours need: `lock` = the pull request (one job
at a time per PR) and `queueing_lock` = the pull request (one waiting job per PR); claiming is its
`fetch_job` for a registered worker, finishing its `finish_job` (status succeeded, row kept: our `done`).

procrastinate is not a dependency of mcp-hub: install it beside the hub to include it (`pip install
procrastinate`); without it only our store is measured.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

DSN = os.environ.get("MCP_HUB_BENCH_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")


@asynccontextmanager
async def database() -> AsyncIterator[str]:
    name = "mcp_hub_bench_" + secrets.token_hex(4)
    async with await psycopg.AsyncConnection.connect(DSN, autocommit=True) as admin:
        await admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(DSN, dbname=name)
    finally:
        async with await psycopg.AsyncConnection.connect(DSN, autocommit=True) as admin:
            await admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


async def timed(work: Callable[[], Awaitable[int]]) -> tuple[int, float]:
    started = time.perf_counter()
    done = await work()
    return done, time.perf_counter() - started


async def drain(workers: int, claim_finish: Callable[[int], Awaitable[bool]]) -> int:
    """`workers` loops of claim + finish until the queue is empty; jobs done."""
    done = 0

    async def loop(worker: int) -> None:
        nonlocal done
        while await claim_finish(worker):
            done += 1

    async with anyio.create_task_group() as tg:
        for worker in range(workers):
            tg.start_soon(loop, worker)
    return done


async def ours(jobs: int, workers: int, *, check: bool = True) -> dict[str, float]:
    from model.webhook import store_postgres
    from model.webhook.jobs import Job
    from model.webhook.store_postgres import PostgresStore

    store_postgres.CHECK_ON_CHECKOUT = check
    results: dict[str, float] = {}
    async with database() as dsn:
        store = PostgresStore(dsn, "bench", max_size=workers + 1)
        await store.open()
        try:
            for phase, count in (("1 worker", 1), (f"{workers} workers", workers)):

                async def enqueue(phase: str = phase) -> int:
                    for n in range(jobs):
                        job = Job("review", "github", f"acme/{phase[0]}", n, "a" * 40, f"https://x/{n}")
                        assert (await store.enqueue(job)).status == "queued"
                    return jobs

                async def claim_finish(worker: int) -> bool:
                    job = await store.claim(f"w{worker}", 600)
                    if job is None:
                        return False
                    await store.finish(job.key, f"w{worker}", "ok")
                    return True

                n, took = await timed(enqueue)
                results[f"enqueue ({phase} run)"] = n / took
                n, took = await timed(lambda count=count: drain(count, claim_finish))  # type: ignore[misc]
                assert n == jobs
                results[f"claim+finish, {phase}"] = n / took
        finally:
            await store.close()
    return results


async def procrastinate_side(jobs: int, workers: int) -> dict[str, float]:
    import procrastinate  # type: ignore[import-not-found,unused-ignore]
    from procrastinate.jobs import Status  # type: ignore[import-not-found,unused-ignore]

    results: dict[str, float] = {}
    async with database() as dsn:
        app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn, max_size=workers + 1))

        @app.task(name="review")  # type: ignore[untyped-decorator,unused-ignore]
        async def review(key: str) -> None:  # never run here: the bench drives the queue itself
            pass

        async with app.open_async():
            await app.schema_manager.apply_schema_async()
            manager = app.job_manager
            for phase, count in (("1 worker", 1), (f"{workers} workers", workers)):
                ids = [await manager.register_worker() for _ in range(count)]

                async def enqueue(phase: str = phase) -> int:
                    for n in range(jobs):
                        group = f"review:github:acme/{phase[0]}#{n}"
                        await review.configure(lock=group, queueing_lock=group).defer_async(key=group + "@" + "a" * 40)
                    return jobs

                async def claim_finish(worker: int, ids: list[int] = ids) -> bool:
                    job = await manager.fetch_job(queues=None, worker_id=ids[worker])
                    if job is None:
                        return False
                    await manager.finish_job(job, status=Status.SUCCEEDED, delete_job=False)
                    return True

                n, took = await timed(enqueue)
                results[f"enqueue ({phase} run)"] = n / took
                n, took = await timed(lambda count=count: drain(count, claim_finish))  # type: ignore[misc]
                assert n == jobs
                results[f"claim+finish, {phase}"] = n / took
    return results


async def main(jobs: int, workers: int, rounds: int) -> None:
    try:
        import procrastinate  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        have_procrastinate = False
        print("procrastinate is not installed: only our store is measured")
    else:
        have_procrastinate = True
    # The sides take turns, round after round, and each rate is the median of its rounds: a shared
    # machine's load then falls on all of them alike.
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "unchecked": [], "procrastinate": []}
    for _ in range(rounds):
        runs["ours"].append(await ours(jobs, workers))
        runs["unchecked"].append(await ours(jobs, workers, check=False))
        if have_procrastinate:
            runs["procrastinate"].append(await procrastinate_side(jobs, workers))
    mine, unchecked, theirs = (median_of(runs[side]) for side in ("ours", "unchecked", "procrastinate"))
    print(
        f"{jobs} jobs, median of {rounds} interleaved rounds; PostgreSQL {await server_version()},"
        f" procrastinate {version('procrastinate')}"
    )
    print(f"{'operation':32} {'ours (jobs/s)':>14} {'procrastinate':>14} {'ours / theirs':>14}")
    for op, rate in mine.items():
        other = theirs.get(op)
        ratio = f"{rate / other:.2f}x" if other else "-"
        print(f"{op:32} {rate:14.0f} {other or 0:14.0f} {ratio:>14}")
    print("our store without the pool's check on checkout (what surviving a restart costs):")
    for op, rate in mine.items():
        print(f"{op:32} {unchecked[op]:14.0f} jobs/s; with the check {rate / unchecked[op]:.2f}x of that")


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {op: statistics.median(run[op] for run in runs) for op in (runs[0] if runs else {})}


async def server_version() -> str:
    async with await psycopg.AsyncConnection.connect(DSN) as conn:
        row = await (await conn.execute("SHOW server_version")).fetchone()
        return str(row[0]) if row else "?"


def version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as v

    try:
        return v(dist)
    except PackageNotFoundError:
        return "not installed"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    anyio.run(main, args.jobs, args.workers, args.rounds)
