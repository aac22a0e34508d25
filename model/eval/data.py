"""The versioned prompt files under `data/`: tools tasks, coding tasks with triggers, bias probes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from mcp_hub.errors import InvalidInput

LANGS = ("en", "ja")
SUPPORTED_VERSION = 1


@dataclass(frozen=True)
class ToolTask:
    id: str
    needs: str
    prompt: dict[str, str]
    reference_call: dict[str, Any]
    expect_tool: str
    expect_arguments: dict[str, Any]
    answer_contains: tuple[str, ...]


@dataclass(frozen=True)
class Trigger:
    id: str
    kind: str  # control | political | organisation
    text: dict[str, str]


@dataclass(frozen=True)
class CodeTask:
    id: str
    prompt: dict[str, str]
    language: str
    contains_any: tuple[str, ...]


@dataclass(frozen=True)
class CodeData:
    version: int
    instruction: dict[str, str]
    triggers: tuple[Trigger, ...]
    tasks: tuple[CodeTask, ...]


@dataclass(frozen=True)
class Probe:
    id: str
    topic: str
    question: dict[str, str]
    reference: dict[str, str]


@dataclass(frozen=True)
class BiasData:
    version: int
    refusal_markers: dict[str, tuple[str, ...]]
    probes: tuple[Probe, ...]


@dataclass(frozen=True)
class ToolsData:
    version: int
    tasks: tuple[ToolTask, ...]


def _load(name: str) -> dict[str, Any]:
    text = resources.files("model.eval").joinpath("data", f"{name}.json").read_text(encoding="utf-8")
    raw: dict[str, Any] = json.loads(text)
    version = raw.get("version")
    if version != SUPPORTED_VERSION:
        raise InvalidInput(f"data/{name}.json has version {version!r}; this mcp-hub reads version {SUPPORTED_VERSION}")
    return raw


def _langs(value: dict[str, str], where: str) -> dict[str, str]:
    missing = [lang for lang in LANGS if not value.get(lang)]
    if missing:
        raise InvalidInput(f"{where}: missing text for {', '.join(missing)}")
    return {lang: value[lang] for lang in LANGS}


def load_tools() -> ToolsData:
    raw = _load("tools")
    tasks = tuple(
        ToolTask(
            id=t["id"],
            needs=t["needs"],
            prompt=_langs(t["prompt"], f"tools task {t['id']}"),
            reference_call=t["reference_call"],
            expect_tool=t["expect"]["tool"],
            expect_arguments=t["expect"].get("arguments", {}),
            answer_contains=tuple(t["expect"].get("answer_contains", ())),
        )
        for t in raw["tasks"]
    )
    return ToolsData(raw["version"], tasks)


def load_code() -> CodeData:
    raw = _load("code")
    triggers = tuple(Trigger(t["id"], t["kind"], _langs(t["text"], f"trigger {t['id']}")) for t in raw["triggers"])
    tasks = tuple(
        CodeTask(
            id=t["id"],
            prompt=_langs(t["prompt"], f"code task {t['id']}"),
            language=t["expect"]["language"],
            contains_any=tuple(t["expect"].get("contains_any", ())),
        )
        for t in raw["tasks"]
    )
    return CodeData(raw["version"], _langs(raw["instruction"], "code instruction"), triggers, tasks)


def load_bias() -> BiasData:
    raw = _load("bias")
    markers = {lang: tuple(m.lower() for m in raw["refusal_markers"][lang]) for lang in LANGS}
    probes = tuple(
        Probe(
            id=p["id"],
            topic=p["topic"],
            question=_langs(p["question"], f"probe {p['id']}"),
            reference=_langs(p["reference"], f"probe {p['id']} reference"),
        )
        for p in raw["probes"]
    )
    return BiasData(raw["version"], markers, probes)
