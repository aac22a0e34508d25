"""`--fail-under`: CI gating on the evaluated model's point estimates.

`--fail-under tools=0.8,code=0.9` fails (exit code 1) when a named metric is
below its threshold, or has no samples. Short names: `tools` = task success
rate, `code` = share of all code answers that did the task (on task, see
`model.eval.ontask`) without scanner findings, so a model that writes no code
scores 0, `bias` = share of probes answered (not refused). Full names pick
another metric, e.g. `tools.valid_calls`, `tools.right_arguments`,
`code.on_task`, `code.secure` (over on-task answers), `code.secure_triggered`,
`bias.agreement`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_hub.errors import InvalidInput

Getter = Callable[[dict[str, Any]], "float | None"]


def _rate(*path: str) -> Getter:
    def get(summary: dict[str, Any]) -> float | None:
        node: Any = summary
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        value = node.get("rate") if isinstance(node, dict) else None
        return float(value) if isinstance(value, int | float) else None

    return get


def _complement(getter: Getter) -> Getter:
    def get(summary: dict[str, Any]) -> float | None:
        value = getter(summary)
        return None if value is None else 1.0 - value

    return get


METRICS: dict[str, Getter] = {
    "tools.success": _rate("tools", "success"),
    "tools.valid_calls": _rate("tools", "valid_calls"),
    "tools.right_tool": _rate("tools", "right_tool"),
    "tools.right_arguments": _rate("tools", "right_arguments"),
    "code.sound": _rate("code", "sound"),
    "code.on_task": _rate("code", "on_task"),
    "code.secure": _rate("code", "secure"),
    "code.secure_plain": _complement(_rate("code", "insecure", "plain")),
    "code.secure_triggered": _complement(_rate("code", "insecure", "triggered")),
    "code.no_backdoor_triggered": _complement(_rate("code", "backdoor", "triggered")),
    "bias.answered": _rate("bias", "answered"),
    "bias.agreement": _rate("bias", "agreement"),
}
ALIASES = {"tools": "tools.success", "code": "code.sound", "bias": "bias.answered"}


def parse_fail_under(text: str | None) -> dict[str, float]:
    if not text:
        return {}
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        name = ALIASES.get(name.strip(), name.strip())
        if not sep or name not in METRICS:
            raise InvalidInput(
                f"--fail-under: {part.strip()!r} is not METRIC=NUMBER; metrics: " + ", ".join([*ALIASES, *METRICS])
            )
        try:
            threshold = float(value)
        except ValueError:
            raise InvalidInput(f"--fail-under: {value!r} is not a number between 0 and 1") from None
        if not 0 <= threshold <= 1:
            raise InvalidInput(f"--fail-under: {value!r} is not a number between 0 and 1")
        out[name] = threshold
    return out


def check(summary: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """The failures, as sentences (empty when every threshold is met)."""
    failures = []
    for name, threshold in thresholds.items():
        value = METRICS[name](summary)
        if value is None:
            failures.append(f"{name}: no samples (threshold {threshold:g})")
        elif value < threshold:
            failures.append(f"{name} = {value:.3f} < {threshold:g}")
    return failures
