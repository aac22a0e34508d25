"""Likely duplicates, found deterministically before the model sees them: TF-IDF cosine over issue text.

The model is shown only these candidates and may confirm some of them with a reason; it cannot name
another issue (its answer is validated against this list).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_]{2,}", re.UNICODE)
_STOP_WORDS = (
    "the a an and or of to in on for is are was were be been it its this that with as at by from not no "
    "when if but can cannot do does did we you they he she my our your their there here have has "
    "had will would should could after before into out up so than then also just only"
)
_STOP = frozenset(_STOP_WORDS.split(" "))


def _stem(word: str) -> str:
    """A light suffix cut so "crashes", "crashed" and "crashing" meet "crash"."""
    for suffix in ("ing", "es", "ed", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def tokens(text: str) -> list[str]:
    return [_stem(w) for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in _STOP]


@dataclass(frozen=True)
class Candidate:
    number: int
    title: str
    score: float


def rank_similar(
    target: str, others: Iterable[tuple[int, str]], *, limit: int = 3, min_score: float = 0.15
) -> list[Candidate]:
    """The `limit` issues among `others` ((number, text)) most similar to `target`, best first."""
    docs = [(n, text, Counter(tokens(text))) for n, text in others]
    query = Counter(tokens(target))
    if not query or not docs:
        return []
    total = len(docs) + 1
    df: Counter[str] = Counter()
    for _, _, counts in docs:
        df.update(counts.keys())
    df.update(query.keys())

    def vector(counts: Counter[str]) -> dict[str, float]:
        return {w: (1 + math.log(c)) * math.log(1 + total / df[w]) for w, c in counts.items()}

    q = vector(query)
    q_norm = math.sqrt(sum(v * v for v in q.values()))
    scored = []
    for number, text, counts in docs:
        d = vector(counts)
        d_norm = math.sqrt(sum(v * v for v in d.values()))
        if not d_norm:
            continue
        score = sum(q[w] * d[w] for w in q.keys() & d.keys()) / (q_norm * d_norm)
        if score >= min_score:
            scored.append(Candidate(number, text.split("\n", 1)[0][:200], round(score, 3)))
    scored.sort(key=lambda c: (-c.score, c.number))
    return scored[:limit]
