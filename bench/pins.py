"""What the definition gate (`PinnedGate`: canonical hash, poisoning scan, lock file) costs a listing.

The federation passes every listing through the gate, the cached one included while the hub starts,
so this is start-up time. server-everything's 13 tools as it lists them (`tests/data/federation/`),
and 8 renamed copies of them (104 tools), judged against the hub's own catalog's names: a first
listing (scan, pin on first use, record what was seen) and a relisting (unchanged definitions),
medians of interleaved runs beside `AdmitAll` (the gate with no opinion) as the baseline.

    PYTHONPATH=$PWD python bench/pins.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

from mcp_types import Tool

from mcp_hub.federation.gate import AdmitAll
from mcp_hub.federation.pins import PinnedGate
from tests.support.catalog import full_catalog

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "federation" / "real_servers.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    logging.disable(logging.WARNING)  # each withheld tool logs a line; not what is measured
    native = [t.name for t in full_catalog()]
    tools = [Tool.model_validate(t) for t in json.loads(DATA.read_text("utf-8"))["everything"]["tools"]]
    many = [t.model_copy(update={"name": f"{t.name}-{i}"}) for i in range(8) for t in tools]
    for label, batch in ((f"{len(tools)} tools", tools), (f"{len(many)} tools", many)):
        first: list[float] = []
        again: list[float] = []
        baseline: list[float] = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as directory:
                gate = PinnedGate(Path(directory), tofu={"everything"}, catalog=lambda: native)
                start = time.perf_counter()
                gate.admit("everything", batch)
                first.append(time.perf_counter() - start)
                start = time.perf_counter()
                gate.admit("everything", batch)
                again.append(time.perf_counter() - start)
            start = time.perf_counter()
            AdmitAll().admit("everything", batch)
            baseline.append(time.perf_counter() - start)
        print(
            f"{label}: first listing {statistics.median(first) * 1000:.1f} ms, "
            f"relisting {statistics.median(again) * 1000:.2f} ms, "
            f"AdmitAll {statistics.median(baseline) * 1000:.3f} ms (medians of {runs})"
        )


if __name__ == "__main__":
    main()
