"""The class report: how each exercise went, the most common mistakes, and what to review.

    python -m labhelpers report grades.csv --out report/

Reads grades.jsonl (beside grades.csv; it holds every message) and writes report.md, overview.png
and report.html (self-contained: styles inline, the plot embedded as base64, nothing fetched).
Mistakes are grouped by the judge's problem sentence (the message before "Expected:", "Found:" and
"Hint:") with numbers, quoted values and the learner's own error text stripped; each group shows one
example message with every student's and notebook's name removed.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from labhelpers.gradebook import NOT_REACHED, Row, _registry_position, escape, printable
from labhelpers.grading import FAILED, NOT_TRIED, PASSED

STATUSES = (PASSED, FAILED, NOT_TRIED, NOT_REACHED)
COLOURS = {PASSED: "#2e7d32", FAILED: "#c62828", NOT_TRIED: "#9e9e9e", NOT_REACHED: "#f9a825"}
TOP_MISTAKES = 10
PARTS = re.compile(r"\s(?:Expected|Found|Hint):\s|\sPartial credit for\s")
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
RAISED = re.compile(r"\braised (\w+(?:Error|Exception|Interrupt|Exit)?)\b:?.*$")
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w])")


@dataclass
class ExerciseStats:
    label: str
    counts: Counter = field(default_factory=Counter)
    partial: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def share(self, status: str) -> float:
        return self.counts[status] / self.total if self.total else 0.0


@dataclass
class Mistake:
    exercise: str
    problem: str  # the normalised problem sentence
    count: int
    example: str  # one message, anonymised


def problem_sentence(message: str) -> str:
    """The judge's problem, without numbers, quoted values or the learner's own error text."""
    problem = PARTS.split(" " + message, maxsplit=1)[0].strip()
    problem = RAISED.sub(lambda m: f"raised {m.group(1)}", problem)
    problem = QUOTED.sub("'…'", problem)
    return NUMBER.sub("#", problem).strip()


def anonymise(message: str, names: list[str]) -> str:
    """A message with every student's and notebook's name, and the text of the learner's own exception,
    taken out (the judge's Expected, Found and Hint are kept)."""
    problem = PARTS.split(" " + message, maxsplit=1)[0].strip()
    message = RAISED.sub(lambda m: f"raised {m.group(1)}: …", problem) + message[len(problem):]
    for name in sorted(names, key=len, reverse=True):
        if len(name) > 2:
            message = message.replace(name, "<student>")
    return message


def analyse(rows: list[Row]) -> tuple[list[ExerciseStats], list[Mistake], list[Row]]:
    """(each exercise's counts, the most common mistakes, the notebooks flagged for review)."""
    stats: dict[str, ExerciseStats] = {}
    groups: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        for label, result in row.results.items():
            entry = stats.setdefault(label, ExerciseStats(label))
            entry.counts[result.status] += 1
            entry.partial += result.status != PASSED and result.score > 0
            if result.status == FAILED and result.message:
                groups.setdefault((label, problem_sentence(result.message)), []).append(result.message)
    names = [n for row in rows for n in (row.student, escape(row.student), row.notebook, escape(row.notebook),
                                         row.notebook.removesuffix(".ipynb"))]
    mistakes = [Mistake(label, problem, len(messages), anonymise(messages[0], names))
                for (label, problem), messages in groups.items()]
    mistakes.sort(key=lambda m: (-m.count, _registry_position(m.exercise), m.problem))
    review = [row for row in rows if any(note.startswith("review:") for note in row.notes)]
    ordered = sorted(stats.values(), key=lambda s: _registry_position(s.label))
    return ordered, mistakes[:TOP_MISTAKES], review


def plot(stats: list[ExerciseStats], mistakes: list[Mistake]) -> bytes:
    """A PNG: the share of each status per exercise, and the most common mistakes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    height = max(3.0, 0.35 * len(stats) + 1.2) + max(2.0, 0.35 * len(mistakes) + 1.2)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, height), gridspec_kw={
        "height_ratios": [max(3.0, 0.35 * len(stats) + 1.2), max(2.0, 0.35 * len(mistakes) + 1.2)]})
    labels = [s.label for s in stats][::-1]
    left = [0.0] * len(labels)
    for status in STATUSES:
        shares = [100 * s.share(status) for s in stats][::-1]
        top.barh(labels, shares, left=left, color=COLOURS[status], label=status)
        left = [a + b for a, b in zip(left, shares)]
    top.set_xlim(0, 100)
    top.set_xlabel("share of graded notebooks (%)")
    top.set_title("How each exercise went")
    top.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=8, ncols=4, frameon=False)
    if mistakes:
        names = [_short(f"{m.exercise}: {m.problem}", 70) for m in mistakes][::-1]
        bottom.barh(names, [m.count for m in mistakes][::-1], color=COLOURS[FAILED])
        bottom.tick_params(axis="y", labelsize=8)
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.set_xlabel("notebooks (count)")
    bottom.set_title("Most common mistakes")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _md(text) -> str:
    return " ".join(printable(text).split()).replace("|", "\\|")


def headline(rows: list[Row]) -> str:
    """How many notebooks and students, and the notebooks' statuses."""
    statuses = Counter(row.status for row in rows)
    return (f"{len(rows)} notebooks of {len({r.student for r in rows})} students: "
            + ", ".join(f"{count} {status}" for status, count in statuses.most_common()) + ".")


def markdown(rows: list[Row], stats, mistakes, review) -> str:
    lines = ["# Class report", "", _md(headline(rows)), "",
             "## Exercises", "",
             "| exercise | notebooks | passed | failed | not tried | not reached | partial credit |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {_md(s.label)} | {s.total} | " + " | ".join(_percent(s.share(st)) for st in STATUSES)
              + f" | {s.partial} |" for s in stats]
    lines += ["", "![How each exercise went, and the most common mistakes](overview.png)"]
    lines += ["", "## Most common mistakes", "", "| exercise | mistake | notebooks | example |", "|---|---|---|---|"]
    lines += [f"| {_md(m.exercise)} | {_md(m.problem)} | {m.count} | {_md(m.example)} |" for m in mistakes]
    lines += ["", "## Flagged for review", ""]
    lines += [f"- {_md(escape(r.student))} / {_md(escape(r.notebook))}: "
              + "; ".join(_md(n) for n in r.notes if n.startswith("review:")) for r in review] or ["None."]
    return "\n".join(lines) + "\n"


STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;
vertical-align:top;font-size:.9em}th{background:#f3f3f3}td.n{text-align:right}img{max-width:100%}
.bar{display:flex;height:.8em;width:12em}.bar span{display:block;height:100%}"""


def page(rows: list[Row], stats, mistakes, review, png: bytes) -> str:
    e = lambda text: html.escape(printable(text))  # noqa: E731
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Class report</title>"
             f"<style>{STYLE}</style></head><body><h1>Class report</h1>",
             f"<p>{e(headline(rows))}</p>",
             "<h2>Exercises</h2><table><tr><th>exercise</th><th>notebooks</th>"
             + "".join(f"<th>{e(s)}</th>" for s in STATUSES) + "<th>partial credit</th><th></th></tr>"]
    for s in stats:
        bar = "".join(f"<span style='width:{100 * s.share(st):.1f}%;background:{COLOURS[st]}'></span>"
                      for st in STATUSES)
        parts.append(f"<tr><td>{e(s.label)}</td><td class='n'>{s.total}</td>"
                     + "".join(f"<td class='n'>{_percent(s.share(st))}</td>" for st in STATUSES)
                     + f"<td class='n'>{s.partial}</td><td><div class='bar'>{bar}</div></td></tr>")
    parts.append("</table><img alt='How each exercise went, and the most common mistakes' "
                 f"src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
    parts.append("<h2>Most common mistakes</h2><table><tr><th>exercise</th><th>mistake</th>"
                 "<th>notebooks</th><th>example message</th></tr>")
    parts += [f"<tr><td>{e(m.exercise)}</td><td>{e(m.problem)}</td><td class='n'>{m.count}</td>"
              f"<td>{e(m.example)}</td></tr>"
              for m in mistakes]
    parts.append("</table><h2>Flagged for review</h2>")
    parts.append("<ul>" + "".join(f"<li>{e(escape(r.student))} / {e(escape(r.notebook))}: "
                                  + e("; ".join(n for n in r.notes if n.startswith("review:"))) + "</li>"
                                  for r in review) + "</ul>" if review else "<p>None.</p>")
    return "\n".join(parts) + "</body></html>\n"


def write_report(rows: list[Row], out: Path) -> list[Path]:
    """report.md, overview.png and report.html in `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stats, mistakes, review = analyse(rows)
    png = plot(stats, mistakes)
    (out / "overview.png").write_bytes(png)
    (out / "report.md").write_text(markdown(rows, stats, mistakes, review), encoding="utf-8")
    (out / "report.html").write_text(page(rows, stats, mistakes, review, png), encoding="utf-8")
    return [out / "report.md", out / "overview.png", out / "report.html"]
