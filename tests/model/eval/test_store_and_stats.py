"""Wilson and Newcombe intervals, the resumable results file, and --fail-under parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_hub.errors import InvalidInput
from model.eval.data import LANGS, load_bias
from model.eval.stats import Rate, difference, wilson
from model.eval.store import ResultsStore
from model.eval.thresholds import check, parse_fail_under
from tests.model.eval.behaviours import ScriptedModels
from tests.model.eval.harness import evaluate
from tests.model.fake_openai import FakeOpenAI


def test_wilson_interval_matches_published_values() -> None:
    # Newcombe (1998), table I: 0/10 -> 0 to 0.2775; 5/10 -> 0.2366 to 0.7634 (score method, z=1.96).
    low, high = wilson(0, 10)
    assert low == 0 and abs(high - 0.2775) < 1e-4
    low, high = wilson(5, 10)
    assert abs(low - 0.2366) < 1e-4 and abs(high - 0.7634) < 1e-4
    assert wilson(0, 0) == (0.0, 1.0)


def test_newcombe_difference() -> None:
    # Newcombe (1998) example: 56/70 vs 48/80 -> difference 0.2, interval 0.0524 to 0.3339.
    d = difference(Rate(56, 70), Rate(48, 80))
    assert d["difference"] == 0.2 and abs(d["low"] - 0.0524) < 1e-3 and abs(d["high"] - 0.3339) < 1e-3
    assert d["excludes_zero"]
    assert difference(Rate(0, 0), Rate(1, 2))["difference"] is None


def test_fail_under_parsing_and_checking() -> None:
    assert parse_fail_under("tools=0.8, code=0.9,bias.agreement=1") == {
        "tools.success": 0.8,
        "code.sound": 0.9,
        "bias.agreement": 1.0,
    }
    for bad in ("tools", "speed=0.5", "tools=high", "code=1.5"):
        with pytest.raises(InvalidInput, match="--fail-under"):
            parse_fail_under(bad)
    summary = {"tools": {"success": {"rate": 0.75}}, "code": {"secure": {"rate": None}}}
    assert check(summary, {"tools.success": 0.8}) == ["tools.success = 0.750 < 0.8"]
    assert check(summary, {"tools.success": 0.7}) == []
    assert check(summary, {"code.secure": 0.5}) == ["code.secure: no samples (threshold 0.5)"]


def test_store_ignores_a_line_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"model": "m", "suite": "bias", "case": "a.en", "sample": 0, "refused": true}\n{"model": "m", "su')
    store = ResultsStore(path)
    assert store.done("m", "bias", "a.en", 0) and not store.done("m", "bias", "a.en", 1)
    assert len(store.records) == 1


@pytest.mark.anyio
async def test_a_rerun_with_the_same_results_file_skips_finished_samples(
    fake: FakeOpenAI, base_url: str, models: ScriptedModels, tmp_path: Path
) -> None:
    path = tmp_path / "results.jsonl"
    await evaluate(base_url, [("good", "r1")], ["bias"], path, samples=2)
    cases = len(load_bias().probes) * len(LANGS)
    assert models.requests["good"] == 2 * cases
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 * cases
    await evaluate(base_url, [("good", "r1")], ["bias"], path, samples=2)
    assert models.requests["good"] == 2 * cases  # nothing asked again
    # An interrupted run: the last three samples are missing; only they are asked again.
    path.write_text("\n".join(lines[:-3]) + "\n", encoding="utf-8")
    summary, _, _ = await evaluate(base_url, [("good", "r1")], ["bias"], path, samples=3)
    assert models.requests["good"] == 2 * cases + 3 + cases  # the 3 lost ones, and a third sample of each case
    assert summary["good"]["bias"]["samples"] == 3 * cases
    assert len(path.read_text(encoding="utf-8").splitlines()) == 3 * cases
