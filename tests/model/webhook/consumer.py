"""A queue consumer in its own process (for the test that two processes never take the same job).

    python -m tests.model.webhook.consumer STORE_URL PREFIX WORKER OUT_FILE

Claims until the queue is empty, appending each claimed key to OUT_FILE before finishing it.
"""

from __future__ import annotations

import sys

import anyio

from model.webhook.store import open_store


async def main(url: str, prefix: str, worker: str, out: str) -> None:
    store = open_store(url, prefix=prefix)
    await store.open()
    try:
        with open(out, "a", encoding="utf-8") as handle:
            while True:
                job = await store.claim(worker, 30)
                if job is None:
                    if (await store.counts())["queued"] == 0:
                        return
                    await anyio.sleep(0.01)
                    continue
                handle.write(job.key + "\n")
                handle.flush()
                await anyio.sleep(0.005)  # some work, so the two processes interleave
                await store.finish(job.key, worker, f"done by {worker}")
    finally:
        await store.close()


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:5])
