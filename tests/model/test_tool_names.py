"""Every tool name the `model` package calls exists in the hub's full catalog.

A renamed or removed tool would otherwise surface only when a review or a
triage run reaches that call against a real forge.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from model import vocab
from tests.support.catalog import full_catalog

MODEL = Path(__file__).resolve().parents[2] / "model"
TOOL_NAME = re.compile(r"(?:github|gitlab|slack|gdrive|postgres|review)_[a-z0-9_]+")
#: Strings of the tool-name shape that are not tool names (settings fields and keys).
NOT_TOOLS = frozenset({"slack_channels"})
#: `f"{self.prefix}_list_issues"`: the forge-neutral callers (triage) put the forge in front.
FORGES = ("github", "gitlab")


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Call) and ast.unparse(node.func) == "vocab.tool" and len(node.args) == 2:
        # `vocab.tool(forge, "list_{change}_files")`: both forges, or the one named
        forge, template = node.args
        if isinstance(template, ast.Constant) and isinstance(template.value, str):
            named = forge.value if isinstance(forge, ast.Constant) and forge.value in FORGES else None
            return [vocab.tool(f, template.value) for f in ([named] if named else FORGES)]
    if isinstance(node, ast.JoinedStr) and len(node.values) == 2:
        head, tail = node.values
        if (
            isinstance(head, ast.FormattedValue)
            and ast.unparse(head.value).endswith(("prefix", "forge"))
            and isinstance(tail, ast.Constant)
            and isinstance(tail.value, str)
            and tail.value.startswith("_")
        ):
            return [forge + tail.value for forge in FORGES]
    return []


def names_in_model_code() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(MODEL.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for text in _strings(node):
                if TOOL_NAME.fullmatch(text):
                    found.setdefault(text, []).append(f"{path.relative_to(MODEL.parent)}:{getattr(node, 'lineno', 0)}")
    return {name: where for name, where in found.items() if name not in NOT_TOOLS}


def test_every_tool_the_model_package_calls_exists() -> None:
    used = names_in_model_code()
    # the scan sees direct calls and the forge-neutral ones (an f-string prefix, `vocab.tool`)
    assert {"github_get_pull_request", "gitlab_get_merge_request", "gitlab_list_labels"} <= used.keys()
    assert {"github_list_pull_request_files", "gitlab_list_merge_request_files", "gitlab_list_branches"} <= used.keys()
    catalog = {tool.name for tool in full_catalog()}
    missing = {name: where for name, where in used.items() if name not in catalog}
    assert not missing, f"model/ calls tools the catalog does not have: {missing}"


def test_the_vocabulary_names_tools_and_arguments_both_forges_have() -> None:
    """`model.vocab`'s words are the catalog's: mirrored tools exist on both forges, with its argument names."""
    tools = {tool.name: tool.input_schema.get("properties", {}) for tool in full_catalog()}
    for forge in FORGES:
        for template in ("get_{change}", "list_{change}_files", "create_{change}_review", "list_branches"):
            name = vocab.tool(forge, template)
            assert name in tools, name
            assert vocab.REPO_ARG[forge] in tools[name], name
        assert vocab.NUMBER_ARG[forge] in tools[vocab.tool(forge, "list_{change}_files")]
        # the concept-level arguments are spelled the same on both forges
        assert {"max_tokens", "cursor"} <= tools[vocab.tool(forge, "list_{change}_files")].keys()
        assert {"limit", "cursor"} <= tools[f"{forge}_list_issues"].keys()
        assert "tail_lines" in tools[f"{forge}_get_job_log"]
