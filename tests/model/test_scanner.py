"""The write scanner against a corpus of clean and malicious diffs (tests/data/scanner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.scanner import scan_diff, scan_write

CORPUS = Path(__file__).parents[1] / "data" / "scanner"
EXPECTED = {k: v for k, v in json.loads((CORPUS / "expected.json").read_text()).items() if not k.startswith("_")}
CLEAN = sorted(p.relative_to(CORPUS).as_posix() for p in (CORPUS / "clean").glob("*.diff"))
MALICIOUS = sorted(p.relative_to(CORPUS).as_posix() for p in (CORPUS / "malicious").glob("*.diff"))


def test_corpus_is_complete() -> None:
    assert len(CLEAN) >= 10 and len(MALICIOUS) >= 14
    assert set(MALICIOUS) == set(EXPECTED)


@pytest.mark.parametrize("name", CLEAN)
def test_clean_diffs_pass(name: str) -> None:
    verdict = scan_diff((CORPUS / name).read_text())
    assert verdict.action == "allow", verdict.summary()


@pytest.mark.parametrize("name", MALICIOUS)
def test_planted_backdoors_are_caught(name: str) -> None:
    verdict = scan_diff((CORPUS / name).read_text())
    want = EXPECTED[name]
    assert verdict.action == want["action"], verdict.summary()
    assert want["rule"] in {f.rule for f in verdict.findings}


def test_detection_and_false_alarm_rates() -> None:
    """Rates over the corpus, as reported: every malicious diff flagged, no clean one."""
    flagged = sum(scan_diff((CORPUS / n).read_text()).action != "allow" for n in MALICIOUS)
    false_alarms = sum(scan_diff((CORPUS / n).read_text()).action != "allow" for n in CLEAN)
    assert (flagged / len(MALICIOUS), false_alarms / len(CLEAN)) == (1.0, 0.0)


def test_write_arguments_files_and_suggestions() -> None:
    files = {"files": [{"path": "ok.py", "content": "x = 1\n"}, {"path": "bad.py", "content": "eval(input())\n"}]}
    verdict = scan_write(files)
    assert verdict.action == "block" and verdict.findings[0].path == "bad.py"
    review = {"path": "a.py", "body": "```suggestion\nsubprocess.run(cmd, shell=True)\n```"}
    assert scan_write(review).action in ("review", "block")
    prose = scan_write({"repo": "a/b", "number": 1, "body": "Thanks! I'll evaluate (eval) this tomorrow."})
    assert prose.action == "allow" and not prose.scanned_code
    leak = scan_write({"body": "token ghp_R4nd0mT0k3nV4lu3Th4tL00ksR34l1234567"})
    assert leak.action == "block"
