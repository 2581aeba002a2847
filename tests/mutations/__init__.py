"""Mutation tables: wrong and right answers to every exercise, written as students write them.

Each lab has a module here (`tests/mutations/<module>.py`, e.g. rnn.py) that defines

    WRONG = [Wrong("1.2", "tanh is missing", lambda: (rnn_step_without_tanh,), r"tanh"), ...]
    RIGHT = [Right("1.2", "looped over rows", lambda: (rnn_step_rows,)), ...]

`answer` is a function returning the arguments to pass to the exercise's check function
(`args(...)` builds one for fixed arguments; a check builds its own instances from a class).
`names` is a regular expression that the rejection message must match (searched, case-insensitive): it says which property failed
or which mistake it was; None when the check cannot single the mistake out (the message must
still say what differs; such rows count as rejected but not named).

Rows marked `after_diagnosis=True` (under the comment "# written after diagnosis.py: tests its
generality") were written once the judges' generic diagnosis (labhelpers/judges/diagnosis.py) was in
place, without looking at what it names: their named share measures how far diagnosis from
properties reaches beyond the mistakes anyone listed. `after_diagnosis(...)` marks a list of rows.

Rows run on TensorFlow unless `backends` names others: answers written with keras.ops run on every
backend (`on_every_backend(...)`, EVERY_BACKEND); backend-specific mistakes (a missing zero_grad, jax.grad
of a non-scalar) name their own backend. tests/test_mutations.py runs the rows of the backend its process
runs on; tests/test_backend_mutations.py runs it once per backend.

tests/test_mutations.py runs every row; bench/check_mutations.py prints, per exercise, wrong
rejected / total, right accepted / total and named / rejected, and the same for the rows written
after diagnosis.py on a line of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

MODULES = ["rnn", "lstm", "music", "sentiment", "attention"]


@dataclass
class Wrong:
    exercise: str  # "1.2"
    mistake: str  # what the student got wrong, in a few words
    answer: Callable[[], tuple]  # the arguments for the check function
    names: str | None  # regex the rejection message must match; None if it cannot be singled out
    after_diagnosis: bool = False  # written after labhelpers/judges/diagnosis.py, to test how general it is
    backends: tuple[str, ...] = ("tensorflow",)  # the Keras backends the answer is written for


@dataclass
class Right:
    exercise: str
    style: str  # how this right answer differs from the others
    answer: Callable[[], tuple]
    backends: tuple[str, ...] = ("tensorflow",)


EVERY_BACKEND = ("tensorflow", "jax", "torch")


def on_every_backend(*rows):
    """The rows, marked as written for every backend (keras.ops, no framework's own API)."""
    for row in rows:
        row.backends = EVERY_BACKEND
    return list(rows)


def after_diagnosis(*rows: Wrong) -> list[Wrong]:
    """The rows, marked as written after diagnosis.py (see the module docstring)."""
    for row in rows:
        row.after_diagnosis = True
    return list(rows)


def args(*answer):
    """An `answer` for a row: the check's arguments, the same objects on each call."""
    return lambda: answer


def tables(backend: str | None = None):
    """(WRONG, RIGHT) of every lab whose table exists; with `backend`, only the rows written for it."""
    import importlib

    wrong, right = [], []
    for module in MODULES:
        try:
            table = importlib.import_module(f"mutations.{module}")
        except ModuleNotFoundError as error:
            if error.name != f"mutations.{module}":
                raise
            continue
        wrong += [row for row in table.WRONG if backend is None or backend in row.backends]
        right += [row for row in table.RIGHT if backend is None or backend in row.backends]
    return wrong, right
