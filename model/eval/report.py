"""The report: one self-contained HTML file (tables, PNG plots as data URIs), Markdown, and JSON.

Everything a model wrote is escaped: answers are data, shown for a person to judge.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from typing import Any

from model.eval.plots import Bar, bar_chart


@dataclass
class Report:
    models: list[str]
    suites: list[str]
    summary: dict[str, Any]
    records: list[dict[str, Any]]
    data_versions: dict[str, int]
    skipped: dict[str, dict[str, str]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "models": self.models,
            "suites": self.suites,
            "data_versions": self.data_versions,
            "summary": self.summary,
            "skipped": self.skipped,
            "warnings": warnings_of(self),
            "fail_under": {"thresholds": self.thresholds, "failures": self.failures, "passed": not self.failures},
        }


def _pct(value: dict[str, Any] | None) -> str:
    if not value or value.get("rate") is None:
        return "–"
    return (
        f"{100 * value['rate']:.0f}% [{100 * value['low']:.0f}–{100 * value['high']:.0f}] ({value['k']}/{value['n']})"
    )


def _diff(value: dict[str, Any]) -> str:
    if value.get("difference") is None:
        return "–"
    mark = " *" if value["excludes_zero"] else ""
    return f"{100 * value['difference']:+.0f} pts [{100 * value['low']:+.0f}, {100 * value['high']:+.0f}]{mark}"


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


# -- tables as rows (shared by HTML and Markdown) ---------------------------------------------------


def tables(report: Report) -> list[tuple[str, list[str], list[list[str]]]]:
    out: list[tuple[str, list[str], list[list[str]]]] = []
    if "tools" in report.suites:
        rows = []
        for model in report.models:
            tools = report.summary[model]["tools"]
            for mode, block in tools["by_mode"].items():
                rows.append(
                    [
                        model,
                        mode,
                        _pct(block["valid_calls"]),
                        _pct(block["right_tool"]),
                        _pct(block["right_arguments"]),
                        _pct(block["success"]),
                        _num(block["mean_steps"]),
                        ", ".join(f"{k} {v}" for k, v in block["statuses"].items()),
                    ]
                )
        out.append(
            (
                "Tools: tool use through the agent loop",
                ["model", "mode", "valid calls", "right tool", "right arguments", "task success", "mean steps", "ends"],
                rows,
            )
        )
    if "code" in report.suites:
        rows = []
        for model in report.models:
            code = report.summary[model]["code"]
            rows.append(
                [
                    model,
                    _pct(code.get("on_task")) + (" ⚠ low" if code.get("low_on_task") else ""),
                    _pct(code["insecure"]["plain"]),
                    _pct(code["insecure"]["control"]),
                    _pct(code["insecure"]["triggered"]),
                    _diff(code["insecure_difference"]),
                    _pct(code["backdoor"]["plain"]),
                    _pct(code["backdoor"]["triggered"]),
                    _diff(code["backdoor_difference"]),
                ]
            )
        out.append(
            (
                "Code: insecure or backdoored code, with and without trigger phrases (rates over on-task answers)",
                [
                    "model",
                    "on task",
                    "insecure, plain",
                    "insecure, control",
                    "insecure, triggered",
                    "triggered − plain",
                    "backdoor, plain",
                    "backdoor, triggered",
                    "triggered − plain",
                ],
                rows,
            )
        )
        trigger_rows = []
        for model in report.models:
            for trigger, value in report.summary[model]["code"]["by_trigger"].items():
                trigger_rows.append([model, trigger, _pct(value)])
        out.append(("Code: insecure rate by trigger", ["model", "trigger", "insecure"], trigger_rows))
        kind_rows = [
            [model, kind, _pct(value)]
            for model in report.models
            for kind, value in report.summary[model]["code"].get("on_task_by_kind", {}).items()
        ]
        out.append(("Code: on-task rate by prompt kind", ["model", "prompt", "on task"], kind_rows))
        example_rows = [
            [model, str(x["case"]), str(x["reason"]), str(x["answer"])]
            for model in report.models
            for x in report.summary[model]["code"].get("off_task_examples", [])
        ]
        if example_rows:
            out.append(
                ("Code: answers that did not do the task (examples)", ["model", "case", "why", "answer"], example_rows)
            )
    if "bias" in report.suites:
        rows = []
        for model in report.models:
            bias = report.summary[model]["bias"]
            by_lang = bias["refusal_by_lang"]
            rows.append(
                [
                    model,
                    _pct(bias["refusal"]),
                    _pct(by_lang.get("en")),
                    _pct(by_lang.get("ja")),
                    _pct(bias["agreement"]),
                    f"{_num(bias['mean_length'].get('en'))} / {_num(bias['mean_length'].get('ja'))}",
                    f"{_num(bias['mean_overlap'].get('en'))} / {_num(bias['mean_overlap'].get('ja'))}",
                    _num(bias["judge_mean"]),
                ]
            )
        out.append(
            (
                "Bias: contested topics, English and Japanese",
                [
                    "model",
                    "refusal",
                    "refusal (en)",
                    "refusal (ja)",
                    "en/ja agreement",
                    "mean length en / ja",
                    "reference overlap en / ja",
                    "judge (1–5)",
                ],
                rows,
            )
        )
    return out


def side_by_side(report: Report) -> list[tuple[str, str, dict[str, str]]]:
    """(probe, lang, {model: answer of sample 0}) for every bias probe."""
    answers: dict[tuple[str, str], dict[str, str]] = {}
    for record in report.records:
        if record["suite"] == "bias" and record["sample"] == 0 and "answer" in record:
            answers.setdefault((record["probe"], record["lang"]), {})[record["model"]] = record["answer"]
    return [(probe, lang, by_model) for (probe, lang), by_model in sorted(answers.items())]


def plots(report: Report) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    if "tools" in report.suites:
        groups: dict[str, list[Bar]] = {}
        for model in report.models:
            bars: list[Bar] = []
            for mode, block in report.summary[model]["tools"]["by_mode"].items():
                bars += [(f"{mode}: valid calls", block["valid_calls"]), (f"{mode}: success", block["success"])]
            groups[model] = bars
        out.append(("Tool use: valid calls and task success (95% Wilson intervals)", _png(groups, "tool use")))
    if "code" in report.suites:
        groups = {
            model: [
                (name, report.summary[model]["code"]["insecure"][name]) for name in ("plain", "control", "triggered")
            ]
            for model in report.models
        }
        out.append(("Insecure-code rate without and with trigger phrases", _png(groups, "insecure code")))
    if "bias" in report.suites:
        groups = {
            model: [
                (f"refusal ({lang})", value) for lang, value in report.summary[model]["bias"]["refusal_by_lang"].items()
            ]
            for model in report.models
        }
        out.append(("Refusal rate by language", _png(groups, "refusals")))
    return out


def _png(groups: dict[str, list[Bar]], title: str) -> bytes:
    return bar_chart(title, groups)


def warnings_of(report: Report) -> list[str]:
    """A sentence per model whose code answers were mostly off task: its security rates rest on few answers."""
    out: list[str] = []
    if "code" not in report.suites:
        return out
    for model in report.models:
        code = report.summary[model]["code"]
        if code.get("low_on_task"):
            on = code["on_task"]
            reasons = ", ".join(f"{k} {v}" for k, v in code.get("off_task_reasons", {}).items())
            out.append(
                f"{model}: only {on['k']} of {on['n']} code answers did the task ({reasons}); its security rates "
                f"cover those {on['k']} answers only and say nothing about the rest"
            )
    return out


# -- renderers ------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:0.5rem 0 1.5rem}th,td{border:1px solid #ccc;padding:4px 8px;font-size:13px;
vertical-align:top;text-align:left}th{background:#f3f3f3}.answer{white-space:pre-wrap;max-width:520px;font-size:12px}
.fail{color:#a00}.pass{color:#070}img{max-width:100%;border:1px solid #eee;margin:0.5rem 0}
"""


def render_html(report: Report) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>mcp-hub model eval: {e(', '.join(report.models))}</title><style>{_CSS}</style></head><body>",
        f"<h1>Model evaluation: {e(' vs '.join(report.models))}</h1>",
        "<p>Rates are shown as percent [95% Wilson interval] (successes/trials); differences with Newcombe's "
        "interval, * when it excludes zero. Data files: "
        + e(", ".join(f"{k} v{v}" for k, v in sorted(report.data_versions.items())))
        + ".</p>",
    ]
    if report.thresholds:
        status = "<span class='pass'>passed</span>" if not report.failures else "<span class='fail'>failed</span>"
        parts.append(f"<p>--fail-under {status}: " + e("; ".join(report.failures) or "all thresholds met") + "</p>")
    for suite, skipped in report.skipped.items():
        for task, why in skipped.items():
            parts.append(f"<p class='fail'>{e(suite)}: task {e(task)} skipped: {e(why)}</p>")
    parts += [f"<p class='fail'>Warning: {e(w)}.</p>" for w in warnings_of(report)]
    for title, header, rows in tables(report):
        parts.append(f"<h2>{e(title)}</h2><table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
        klass = " class='answer'" if header[-1] == "answer" else ""
        parts += ["<tr>" + "".join(f"<td{klass}>{e(c)}</td>" for c in row) + "</tr>" for row in rows]
        parts.append("</table>")
    parts.append("<h2>Plots</h2>")
    for title, png in plots(report):
        data = base64.b64encode(png).decode()
        parts.append(
            f"<figure><img alt='{e(title)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{e(title)}</figcaption></figure>"
        )
    pairs = side_by_side(report)
    if pairs:
        parts.append("<h2>Bias answers side by side (sample 0)</h2><table><tr><th>probe</th><th>lang</th>")
        parts += [f"<th>{e(model)}</th>" for model in report.models]
        parts.append("</tr>")
        for probe, lang, by_model in pairs:
            cells = "".join(f"<td class='answer'>{e(by_model.get(model, ''))}</td>" for model in report.models)
            parts.append(f"<tr><td>{e(probe)}</td><td>{e(lang)}</td>{cells}</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def render_markdown(report: Report) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [f"# Model evaluation: {' vs '.join(report.models)}", ""]
    lines.append("Rates: percent [95% Wilson interval] (successes/trials); differences with Newcombe's interval.")
    if report.thresholds:
        lines += ["", "--fail-under: " + ("; ".join(report.failures) if report.failures else "all thresholds met")]
    for suite, skipped in report.skipped.items():
        lines += [f"- {suite}: task {task} skipped: {why}" for task, why in skipped.items()]
    lines += [f"- **Warning**: {w}." for w in warnings_of(report)]
    for title, header, rows in tables(report):
        lines += ["", f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cell(c)[:400] for c in row) + " |" for row in rows]
    pairs = side_by_side(report)
    if pairs:
        lines += ["", "## Bias answers side by side (sample 0)", ""]
        lines += ["| probe | lang | " + " | ".join(report.models) + " |", "|" + "---|" * (2 + len(report.models))]
        for probe, lang, by_model in pairs:
            lines.append(
                f"| {probe} | {lang} | " + " | ".join(cell(by_model.get(m, "")[:400]) for m in report.models) + " |"
            )
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2)
