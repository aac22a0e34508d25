"""Hunks packed into model calls under a token budget, and what each call covers.

A chunk holds whole hunks (in file order, files in order of importance) while they
fit; a hunk larger than a whole chunk is split by lines. Each line is shown with
its new-side number so the model can name the line a finding is about.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mcp_hub.tokens import count_tokens
from model.review.diff import FileDiff, Hunk, Line

#: Tokens of the per-file heading in a chunk.
FILE_HEADING = 12


@dataclass
class Piece:
    """Some lines of one hunk of one file."""

    file: FileDiff
    header: str
    lines: list[Line]

    @property
    def changed(self) -> int:
        return sum(1 for line in self.lines if line.kind != " ")


@dataclass
class Chunk:
    pieces: list[Piece] = field(default_factory=list)
    tokens: int = 0

    @property
    def paths(self) -> list[str]:
        return list(dict.fromkeys(p.file.path for p in self.pieces))

    @property
    def changed(self) -> int:
        return sum(p.changed for p in self.pieces)

    def render(self) -> str:
        out: list[str] = []
        current: str | None = None
        for piece in self.pieces:
            if piece.file.path != current:
                current = piece.file.path
                status = piece.file.status
                renamed = f" (renamed from {piece.file.previous_path})" if piece.file.previous_path else ""
                out.append(f"### {current} [{status}]{renamed}")
            out.append(piece.header)
            out.extend(render_line(line) for line in piece.lines)
        return "\n".join(out)


def render_line(line: Line) -> str:
    number = f"{line.new:>5}" if line.new is not None else "     "
    return f"{number} {line.kind}{line.text}"


def _cost(lines: list[Line]) -> int:
    return count_tokens("\n".join(render_line(line) for line in lines)) + 1


def pack(files: list[FileDiff], budget: int) -> list[Chunk]:
    """Chunks of at most `budget` tokens of diff (a single line longer than that is cut off by the model server)."""
    chunks: list[Chunk] = [Chunk()]
    for file in files:
        heading_paid = False
        for hunk in file.hunks:
            for piece, cost in _pieces(file, hunk, budget - FILE_HEADING):
                current = chunks[-1]
                extra = 0 if (heading_paid and current.pieces and current.pieces[-1].file is file) else FILE_HEADING
                if current.pieces and current.tokens + cost + extra > budget:
                    current = Chunk()
                    chunks.append(current)
                    extra = FILE_HEADING
                current.pieces.append(piece)
                current.tokens += cost + extra
                heading_paid = True
    return [c for c in chunks if c.pieces]


def _pieces(file: FileDiff, hunk: Hunk, budget: int) -> list[tuple[Piece, int]]:
    header_cost = count_tokens(hunk.header) + 1
    whole = _cost(hunk.lines) + header_cost
    if whole <= budget:
        return [(Piece(file, hunk.header, hunk.lines), whole)]
    out: list[tuple[Piece, int]] = []
    lines: list[Line] = []
    spent = header_cost
    for line in hunk.lines:
        cost = _cost([line])
        if lines and spent + cost > budget:
            out.append((Piece(file, hunk.header + " (continued)" if out else hunk.header, lines), spent))
            lines, spent = [], header_cost
        lines.append(line)
        spent += cost
    if lines:
        out.append((Piece(file, hunk.header + " (continued)" if out else hunk.header, lines), spent))
    return out
