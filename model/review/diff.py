"""The change under review: files with their hunks, new-side line numbers, and what to skip.

Patches come from the forges' tools without `---`/`+++` headers (GitHub's files API, GitLab's
changes API): hunks only. Each line keeps its new-side number (added and context lines), which
is what a finding targets and what both forges accept for an inline comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")

LOCKFILES = {
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "uv.lock",
    "Pipfile.lock",
    "Cargo.lock",
    "Gemfile.lock",
    "go.sum",
    "composer.lock",
    "mix.lock",
    "packages.lock.json",
}
GENERATED = ("*.min.js", "*.min.css", "*.map", "*_pb2.py", "*_pb2_grpc.py", "*.pb.go", "*.generated.*", "*.snap")
GENERATED_DIRS = ("dist", "build", "generated", "__generated__", "gen")
VENDORED_DIRS = ("vendor", "third_party", "node_modules", "external")
SOURCE_SUFFIXES = {
    ".py", ".go", ".js", ".jsx", ".ts", ".tsx", ".rs", ".java", ".kt", ".c", ".h", ".cc", ".cpp", ".hpp",
    ".rb", ".php", ".cs", ".swift", ".scala", ".sh", ".sql", ".m", ".lua", ".ex", ".exs",
}  # fmt: skip
DOC_SUFFIXES = {".md", ".rst", ".txt", ".adoc"}


@dataclass
class Line:
    kind: str  # "+", "-" or " "
    text: str
    new: int | None  # new-side line number (None for removed lines)


@dataclass
class Hunk:
    header: str
    lines: list[Line] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(1 for line in self.lines if line.kind != " ")


@dataclass
class FileDiff:
    path: str
    status: str = "modified"
    patch: str | None = None
    additions: int = 0
    deletions: int = 0
    previous_path: str | None = None
    hunks: list[Hunk] = field(default_factory=list)
    #: Why the file is not reviewed ("lockfile", "generated", "vendored", "binary or too large", …), or None.
    skip: str | None = None

    def __post_init__(self) -> None:
        if self.patch is not None and not self.hunks:
            self.hunks = parse_hunks(self.patch)
        if self.patch is not None and not (self.additions or self.deletions):
            self.additions = sum(1 for h in self.hunks for line in h.lines if line.kind == "+")
            self.deletions = sum(1 for h in self.hunks for line in h.lines if line.kind == "-")

    @property
    def changed(self) -> int:
        return self.additions + self.deletions

    def new_lines(self) -> dict[int, str]:
        """New-side lines shown in the diff (added and context): where a comment may go."""
        return {line.new: line.text for h in self.hunks for line in h.lines if line.new is not None}

    def added(self) -> list[tuple[int, str]]:
        return [(line.new, line.text) for h in self.hunks for line in h.lines if line.kind == "+" and line.new]


def parse_hunks(patch: str) -> list[Hunk]:
    hunks: list[Hunk] = []
    new = 0
    for raw in patch.split("\n"):
        match = _HUNK.match(raw)
        if match:
            hunks.append(Hunk(raw))
            new = int(match.group(3))
            continue
        if not hunks or raw.startswith("\\"):  # "\ No newline at end of file"
            continue
        kind = raw[:1] if raw[:1] in ("+", "-") else " "
        if raw.startswith(("+++ ", "--- ")) and not hunks[-1].lines:
            continue
        text = raw[1:] if raw[:1] in ("+", "-", " ") else raw
        if kind == "-":
            hunks[-1].lines.append(Line("-", text, None))
        else:
            hunks[-1].lines.append(Line(kind, text, new))
            new += 1
    # A trailing empty context line is an artefact of the final newline.
    for hunk in hunks:
        while hunk.lines and hunk.lines[-1].kind == " " and hunk.lines[-1].text == "":
            hunk.lines.pop()
    return hunks


def skip_reason(file: FileDiff, skip_globs: tuple[str, ...] = ()) -> str | None:
    path = PurePosixPath(file.path)
    parts = path.parts[:-1]
    if any(fnmatchcase(file.path, glob) for glob in skip_globs):
        return "skipped by the repository's settings"
    if path.name in LOCKFILES:
        return "lockfile"
    if any(part in VENDORED_DIRS for part in parts):
        return "vendored"
    if any(fnmatchcase(path.name, glob) for glob in GENERATED) or any(part in GENERATED_DIRS for part in parts):
        return "generated"
    if file.status in ("removed", "deleted"):
        return "deleted"
    if file.patch is None or not file.hunks:
        return "binary or too large for a patch"
    if not any(line.kind == "+" for h in file.hunks for line in h.lines):
        return "only deletions"
    return None


def importance(file: FileDiff) -> tuple[int, int, str]:
    """Sort key: source first, then build/CI/config, tests, docs; bigger changes first within a rank."""
    path = PurePosixPath(file.path)
    suffix = path.suffix.lower()
    is_test = "test" in file.path.lower()
    if suffix in SOURCE_SUFFIXES and not is_test:
        rank = 0
    elif suffix in (".yml", ".yaml", ".toml", ".json", ".cfg", ".ini") or path.name in ("Dockerfile", "Makefile"):
        rank = 1
    elif is_test:
        rank = 2
    elif suffix in DOC_SUFFIXES:
        rank = 4
    else:
        rank = 3
    return (rank, -file.changed, file.path)


def order_files(files: list[FileDiff], skip_globs: tuple[str, ...] = ()) -> tuple[list[FileDiff], list[FileDiff]]:
    """(files to review in order of importance, skipped files with their reason)."""
    review: list[FileDiff] = []
    skipped: list[FileDiff] = []
    for file in files:
        file.skip = skip_reason(file, skip_globs)
        (skipped if file.skip else review).append(file)
    review.sort(key=importance)
    skipped.sort(key=lambda f: f.path)
    return review, skipped
