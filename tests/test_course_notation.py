"""One symbol, one meaning (NOTATION.md): every solution notebook's formulas are scanned for the table's
symbols used with another meaning.

A rule is one row: the symbol's pattern (searched in the $...$ and $$...$$ formulas of markdown cells), the
labs where it may stand as it is, what it means in the course, and optionally the words around it (the
formula and 80 characters either side) that make a use wrong (`near`) or right (`unless`). A rule fires
on a match in a lab outside `allowed`; in a lab inside `allowed`, only where `unless` is given and absent.
Each row carries a bad snippet it must flag and a good one it must leave alone, so no rule is idle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LABS = ("01", "02", "03", "04", "05")
MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.S)
WINDOW = 80
BARE = r"(?<![\w\\])"  # not inside a word or a TeX command


@dataclass
class Rule:
    symbol: str  # as NOTATION.md writes it
    pattern: str
    allowed: tuple[str, ...]  # labs where it may stand
    meaning: str  # what the symbol means in the course
    bad: tuple[str, str]  # (lab, markdown) that breaks the rule
    good: tuple[str, str]  # (lab, markdown) that keeps it
    near: str | None = None  # fires only with these words around it
    unless: str | None = None  # in an allowed lab, fires unless these words are around it


RULES = [
    Rule(r"\tau", r"\\tau\b", (), "the sampling temperature, never a threshold (the clipping threshold is θ)",
         bad=("02", r"clip the gradient when $\lVert g\rVert > \tau$"),
         good=("03", r"sample from $p \propto \exp(\hat y / \tau)$"), near=r"clip|threshold"),
    Rule(r"W_{hy}", r"W_\{hz\}", ("02",), "the output layer is W_hy, b_y",
         bad=("03", r"the logits $W_{hz} h_t + b_z$"),
         good=("02", r"then $z_t = \sigma(W_{xz} x_t + W_{hz} h_{t-1} + b_z)$"),
         unless=r"gate|GRU|z_t\s*="),
    Rule(r"b_y", BARE + r"b_(z|\{z\})(?!\w)", ("02",), "the output layer's bias is b_y",
         bad=("01", r"the readout $\hat y_t = W_{hy} h_t + b_z$"), good=("02", r"the GRU's update gate bias $b_z$"),
         unless=r"gate|GRU|z_t\s*="),
    Rule(r"W_o", BARE + r"W_(o|\{o\})(?!\w)", ("02",), "W_o is the LSTM's output gate only; the output layer is W_hy",
         bad=("04", r"the classifier $p = \sigma(W_o h_T)$"),
         good=("02", r"the output gate $o_t = \sigma(W_o x_t + U_o h_{t-1})$"),
         unless=r"gate"),
    Rule(r"a_t", BARE + r"a_(t|\{t\})(?!\w)", (), "a_t is the attention context; the LSTM's pre-activations are u_t",
         bad=("02", r"the pre-activations $a_t = W x_t + U h_{t-1} + b$"),
         good=("05", r"the context $a_t = \sum_i \alpha_{t,i} h_i$"),
         near=r"pre-?activation|W\s*x_t\s*\+\s*U"),
    Rule("d", BARE + r"d(?!\w)(?!\s*\\?[A-Za-z])", ("02",),
         "d is a time distance (Lab 02); sizes are d_x, d_h, d_e, d_k",
         bad=("01", r"a matrix $E$ of shape $(\lvert\mathcal V\rvert, d)$"),
         good=("01", r"shape $(\lvert\mathcal V\rvert, d_e)$")),
    Rule(r"\nu^+", BARE + r"[pq](?!\w)", ("01", "02", "03", "05"),
         "Naive Bayes' smoothed counts are ν⁺ and ν⁻; p is a probability", near=r"count",
         bad=("04", r"the smoothed counts $p = \alpha + \sum_n f_n$ and $q$"),
         good=("04", r"the smoothed counts $\nu^+ = \alpha + \sum_n f_n$")),
    Rule(r"\mathcal V", BARE + r"(?<!\\mathcal )(?<!\\mathcal\{)V(?!\w)", ("05",),
         "the vocabulary is \\mathcal V and its size |\\mathcal V|; V is attention's values (Lab 05)",
         bad=("01", r"a one-hot vector of length $V$"),
         good=("01", r"a one-hot vector of length $\lvert\mathcal V\rvert$")),
    Rule(r"\mathcal V", BARE + r"(?<!\\mathcal )(?<!\\mathcal\{)V(?!\w)", (), "the vocabulary is \\mathcal V, never V",
         bad=("05", r"logits over the vocabulary, $V$ of them"),
         good=("05", r"$\mathrm{softmax}(Q K^\top) V$ weighs the values"),
         near=r"vocab"),
    Rule(r"z_t", BARE + r"z(_t|_\{t\})?(?!\w)", (), "z_t is the GRU's update gate; logits are \\hat y_t", near=r"logit",
         bad=("03", r"the logits $z_t$ divided by the temperature"), good=("02", r"the update gate $z_t$")),
]


def formulas(source: str):
    """(formula, its surroundings) for each $...$ or $$...$$ of a markdown text."""
    for match in MATH.finditer(source):
        start, end = match.span()
        yield match.group(1) or match.group(2), source[max(0, start - WINDOW):end + WINDOW]


def violations(lab: str, markdown: str, rules=RULES) -> list[str]:
    """What breaks the rules in one lab's markdown: the rule's meaning and the formula."""
    found = []
    for formula, around in formulas(markdown):
        for rule in rules:
            match = re.search(rule.pattern, formula)
            if not match:
                continue
            if rule.near and not re.search(rule.near, around, re.I):
                continue
            if lab in rule.allowed and not (rule.unless and not re.search(rule.unless, around, re.I)):
                continue
            shown = " ".join(formula[max(0, match.start() - 30):match.end() + 30].split())
            found.append(f"{match.group(0)} in ...{shown}...: {rule.meaning}")
    return found


def markdown_of(path: Path) -> str:
    return "\n\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.symbol}: {r.meaning[:40]}")
def test_each_rule_fires_on_its_bad_snippet_and_not_on_its_good_one(rule):
    assert violations(*rule.bad, rules=[rule]), rule.bad
    assert not violations(*rule.good, rules=[rule]), rule.good


def test_every_rule_stands_for_a_symbol_of_the_notation_table():
    table = (ROOT / "NOTATION.md").read_text()
    symbols = {s for row in re.findall(r"^\|(.+?)\|", table, re.M) for s in re.findall(r"\$([^$]+)\$", row)}
    for rule in RULES:
        assert any(rule.symbol in symbol for symbol in symbols), f"{rule.symbol} is not in NOTATION.md's tables"


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("0*.ipynb")), ids=lambda p: p.name)
def test_each_lab_uses_the_course_notation(path):
    lab = path.name[:2]
    assert lab in LABS
    found = violations(lab, markdown_of(path))
    assert not found, f"{path.name} uses symbols of NOTATION.md with another meaning:\n" + "\n".join(found)
