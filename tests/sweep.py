"""The seed sweep's core, shared by tests/test_seed_sweep.py (a few seeds) and bench/seed_sweep.py (many).

A grading seed is drawn as the grader draws it (`Exercise.inputs(seed)`) and judged as the grader
judges it (`Exercise.verdict(inputs, Exercise.collect(answers, inputs))`, see gradebook.Run). The
answers are the rows of the mutation tables (tests/mutations/) and each solution notebook's own
answer, taken from solutions/ by `solution_answers`.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import hashlib
import io
import symtable
from pathlib import Path

import numpy as np

from labhelpers import grading

ROOT = Path(__file__).resolve().parent.parent


def seeds(exercise_id: str, count: int, start: int = 0) -> list[int]:
    """`count` grading seeds for one exercise: 64-bit, as gradebook.Settings.seed makes them."""
    return [int.from_bytes(hashlib.sha256(f"seed sweep/{exercise_id}/{k}".encode()).digest()[:8], "big")
            for k in range(start, start + count)]


def seeded(rows, count: int, learner: bool = False):
    """(row, seed) pairs: the i-th row of each exercise on the i-th of its seeds, in turn. The seeds are
    `count` grading seeds, after None (the learner's own check, `learner_seed`) where `learner` is set."""
    cycle: dict[str, list] = {}
    for row in rows:
        if row.exercise not in cycle:
            cycle[row.exercise] = [None] * learner + seeds(row.exercise, count)
        turn = cycle[row.exercise]
        yield row, turn[0]
        turn.append(turn.pop(0))


@functools.lru_cache(maxsize=None)
def _drawn(exercise_id: str, seed: int) -> bytes:
    """`Exercise.inputs(seed)` before its unpacking, kept: a sweep judges many rows on each seed."""
    return grading.pack(grading.find_exercise(exercise_id).judging().draw(np.random.default_rng(seed)))


def failure(exercise_id: str, answers: tuple, seed: int) -> grading.CheckFailed | None:
    """The grader's verdict on `answers` for the inputs of `seed`: its CheckFailed, or None if it passes.

    The inputs are what `Exercise.inputs(seed)` gives, fresh for each call; the verdict is `Exercise.verdict`."""
    exercise = grading.find_exercise(exercise_id)
    inputs = grading.unpack(_drawn(exercise_id, seed))
    return exercise.verdict(inputs, exercise.collect(answers, inputs))[1]


# ---------------------------------------------------------------- the solutions' own answers
def _cells(notebook: Path) -> list[str]:
    """The source of each code cell of the running backend's view (its backend cells without their
    marker, the others' left out); a cell with IPython magics is left out (empty)."""
    import keras
    import nbformat

    from labhelpers.release import backend_view

    sources = []
    for cell in backend_view(nbformat.read(notebook, as_version=4), keras.backend.backend()).cells:
        if cell.cell_type != "code":
            continue
        try:
            ast.parse(cell.source)
            sources.append(cell.source)
        except SyntaxError:
            sources.append("")
    return sources


def _provides(source: str) -> set[str]:
    """The names a cell binds at module level (assigned, defined or imported)."""
    return {s.get_name() for s in symtable.symtable(source, "cell", "exec").get_symbols()
            if s.is_assigned() or s.is_imported() or s.is_namespace()}


def _needs(source: str) -> set[str]:
    """The module-level names a cell reads, at its top level or inside its functions and classes."""
    top = symtable.symtable(source, "cell", "exec")
    names = {s.get_name() for s in top.get_symbols() if s.is_referenced() and not s.is_assigned()
             and not s.is_imported() and not s.is_namespace()}
    tables = list(top.get_children())
    while tables:
        table = tables.pop()
        tables += table.get_children()
        names |= {s.get_name() for s in table.get_symbols() if s.is_global() and s.is_referenced()}
    return names - set(dir(builtins))


def _check_calls(source: str) -> list[ast.Call]:
    """`<module>.check_<name>(...)` calls at the top level of a cell."""
    return [node.value for node in ast.parse(source).body if isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr.startswith("check_")]


def solution_answers(notebook: Path) -> dict:
    """{exercise id: a function returning the check's arguments} for one solution notebook.

    Runs the notebook's imports, the cells that only define functions and classes, and the cells that
    bind the module-level names the exercises' cells and check calls read (e.g. Lab 03's char2idx),
    with what those read in turn; nothing else (no training).
    """
    cells = _cells(notebook)
    trees = [ast.parse(source) for source in cells]
    calls = [(i, call) for i, source in enumerate(cells) for call in _check_calls(source)]
    pure = {i for i, tree in enumerate(trees) if tree.body and all(
        isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)) for node in tree.body)}
    imports = [node for tree in trees for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    imported = _provides(ast.unparse(ast.Module(body=imports, type_ignores=[])))
    chosen = set(pure)
    wanted = {name for _, call in calls for name in _needs(ast.unparse(call))}
    wanted |= {name for i in pure if "### BEGIN SOLUTION" in cells[i] for name in _needs(cells[i])}
    last = max(i for i, _ in calls)
    while True:
        missing = wanted - imported - {name for i in chosen for name in _provides(cells[i])}
        providers = {max((i for i in range(last) if name in _provides(cells[i])), default=None) for name in missing}
        new = providers - chosen - {None}
        if not new:
            break
        chosen |= new
        wanted |= {name for i in new for name in _needs(cells[i])}
    namespace: dict = {"__name__": "solution"}
    with contextlib.redirect_stdout(io.StringIO()):  # what the cells print (Lab 03 prints its data)
        exec(compile(ast.Module(body=imports, type_ignores=[]), str(notebook), "exec"), namespace)
        for i in sorted(chosen):
            exec(compile(trees[i], f"{notebook} cell {i}", "exec"), namespace)
    answers = {}
    for _, call in calls:
        check = eval(compile(ast.Expression(call.func), str(notebook), "eval"), namespace)
        arguments = [compile(ast.Expression(arg), str(notebook), "eval") for arg in call.args]
        answers[check.exercise.id] = (
            lambda arguments=arguments: tuple(eval(argument, namespace) for argument in arguments))
    return answers


def all_solution_answers() -> dict:
    """{exercise id: the solution notebook's answer, as a row's `answer`} for every lab."""
    answers = {}
    for notebook in sorted((ROOT / "solutions").glob("*.ipynb")):
        answers.update(solution_answers(notebook))
    return answers
