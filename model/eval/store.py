"""The results file: one JSON line per finished sample, keyed by model + suite + case + sample.

A re-run with the same file skips the keys already there, so an interrupted
evaluation resumes where it stopped. A line cut short by a crash is ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def key_of(model: str, suite: str, case: str, sample: int) -> str:
    return f"{model}\x1f{suite}\x1f{case}\x1f{sample}"


class ResultsStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[dict[str, Any]] = []
        self._keys: set[str] = set()
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and {"model", "suite", "case", "sample"} <= record.keys():
                    self._add(record)

    def _add(self, record: dict[str, Any]) -> None:
        key = key_of(record["model"], record["suite"], record["case"], record["sample"])
        if key not in self._keys:
            self._keys.add(key)
            self.records.append(record)

    def done(self, model: str, suite: str, case: str, sample: int) -> bool:
        return key_of(model, suite, case, sample) in self._keys

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._add(record)

    def of(self, model: str, suite: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["model"] == model and r["suite"] == suite]
