"""Extract `vllm serve`'s flags and parser names from a vLLM wheel, without installing it.

    pip download vllm==0.33.0 --no-deps -d /tmp/vllm
    python tests/model/data/extract_vllm_flags.py /tmp/vllm/vllm-0.33.0-*.whl > tests/model/data/vllm_flags.json

Reads the source text only (AST): `add_argument(...)` calls in
`vllm/engine/arg_utils.py` and the frontend's CLI module (flags spelled out as
string literals), the fields of the frontend's argument dataclasses (each field
`x_y` becomes `--x-y`), and the names registered in the tool-parser and
reasoning-parser tables and the `TokenizerMode` literal.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import zipfile

ARG_FILES = ("vllm/engine/arg_utils.py", "vllm/entrypoints/openai/cli_args.py", "vllm/entrypoints/common/cli_args.py")
FRONTEND_CLASSES = ("BaseFrontendArgs", "FrontendArgs")
TABLES = {
    "tool_call_parsers": ("vllm/tool_parsers/__init__.py", "_TOOL_PARSERS_TO_REGISTER"),
    "reasoning_parsers": ("vllm/reasoning/__init__.py", "_REASONING_PARSERS_TO_REGISTER"),
}


def flags_in(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("-"):
                    found.add(arg.value)
        if isinstance(node, ast.ClassDef) and node.name in FRONTEND_CLASSES:
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    found.add("--" + item.target.id.replace("_", "-"))
    return found


def table_keys(tree: ast.AST, name: str) -> list[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets) and isinstance(node.value, ast.Dict):
                return sorted(k.value for k in node.value.keys if isinstance(k, ast.Constant))
    return []


def literal_values(tree: ast.AST, name: str) -> list[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return sorted(
                n.value for n in ast.walk(node.value) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            )
    return []


def main(wheel: str) -> dict[str, object]:
    version = re.search(r"vllm-([^-]+)-", wheel)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())

        def parse(path: str) -> ast.AST:
            return ast.parse(archive.read(path).decode())

        flags: set[str] = set()
        for path in ARG_FILES:
            if path in names:
                flags |= flags_in(parse(path))
        out: dict[str, object] = {"vllm_version": version.group(1) if version else "unknown"}
        out["flags"] = sorted(flags)
        for key, (path, table) in TABLES.items():
            out[key] = table_keys(parse(path), table) if path in names else []
        out["tokenizer_modes"] = literal_values(parse("vllm/config/model.py"), "TokenizerMode")
    return out


if __name__ == "__main__":
    json.dump(main(sys.argv[1]), sys.stdout, indent=1)
    sys.stdout.write("\n")
