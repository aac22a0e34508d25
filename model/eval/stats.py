"""Proportions with Wilson score intervals, and the Newcombe interval of a difference of two."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of k successes in n trials (0..1 when n is 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Rate:
    k: int
    n: int

    @property
    def value(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.k, self.n)

    def to_json(self) -> dict[str, Any]:
        low, high = self.interval
        return {"k": self.k, "n": self.n, "rate": self.value, "low": round(low, 4), "high": round(high, 4)}


def rate(flags: list[bool]) -> Rate:
    return Rate(sum(1 for f in flags if f), len(flags))


def difference(a: Rate, b: Rate) -> dict[str, Any]:
    """a − b with Newcombe's hybrid score interval (method 10), from the two Wilson intervals."""
    if not a.n or not b.n:
        return {"difference": None, "low": None, "high": None, "excludes_zero": False}
    pa, pb = a.k / a.n, b.k / b.n
    la, ua = a.interval
    lb, ub = b.interval
    d = pa - pb
    low = d - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2)
    high = d + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
    return {
        "difference": round(d, 4),
        "low": round(low, 4),
        "high": round(high, 4),
        "excludes_zero": low > 0 or high < 0,
    }
