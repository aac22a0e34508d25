"""Bar charts with Wilson error bars, as PNG bytes (matplotlib, Agg backend, imported lazily)."""

from __future__ import annotations

import io
from typing import Any

#: One bar: (label, {"rate", "low", "high"} as in `stats.Rate.to_json`).
Bar = tuple[str, dict[str, Any]]


def bar_chart(title: str, groups: dict[str, list[Bar]], ylabel: str = "rate") -> bytes:
    """Grouped bars (one group per model), each with its 95% interval; empty rates are drawn as 0 without a bar."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    labels = sorted({label for bars in groups.values() for label, _ in bars}, key=_order(groups))
    width = 0.8 / max(len(groups), 1)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(labels) + 2), 3.2), dpi=100)
    try:
        for index, (model, bars) in enumerate(groups.items()):
            by_label = dict(bars)
            xs, heights, lows, highs = [], [], [], []
            for position, label in enumerate(labels):
                value = by_label.get(label, {})
                if value.get("rate") is None:
                    continue
                xs.append(position + (index - (len(groups) - 1) / 2) * width)
                heights.append(value["rate"])
                lows.append(value["rate"] - value["low"])
                highs.append(value["high"] - value["rate"])
            ax.bar(xs, heights, width, yerr=[lows, highs], capsize=3, label=model)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
        if len(groups) > 1:
            ax.legend(fontsize=7)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(fig)


def _order(groups: dict[str, list[Bar]]) -> Any:
    first: dict[str, int] = {}
    for bars in groups.values():
        for label, _ in bars:
            first.setdefault(label, len(first))
    return lambda label: first[label]
