"""The check framework: one PASS line or one clear CheckFailed per exercise.

A lab module declares its exercises with a `Lab` and writes one check per exercise:

    lab = Lab("01", "RNN from scratch")

    @lab.check("1.3", "MyRNNCell")
    def check_my_rnn_cell(cell_class):
        ...                                   # raise CheckFailed(...) on a wrong answer
        return "matches keras SimpleRNN ..."  # what was verified, for the PASS line

The decorator prints the PASS line, turns any exception from the learner's code into a
one-paragraph CheckFailed, and records every result in the progress file. This module
knows nothing of any particular lab.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

LABS: dict[str, "Lab"] = {}

PASSED, FAILED, NOT_TRIED = "passed", "failed", "not tried"

# Exceptions whose cause is well known get a hint of their own.
_KNOWN_MISTAKES = {
    "add_weights": "the Keras method is `self.add_weight` (singular).",
    "kreas": "the module is spelled `keras`.",
    "Incompatible shapes": "a shape mismatch inside a product often means `*` (elementwise) "
    "was used where a matrix product (`tf.matmul` or `@`) was meant.",
    "Dimensions must be equal": "a shape mismatch inside a product often means `*` "
    "(elementwise) was used where a matrix product (`tf.matmul` or `@`) was meant, or a "
    "weight matrix is transposed.",
    "could not be broadcast": "shapes that do not broadcast often mean `*` (elementwise) was used "
    "where a matrix product (`@` or `tf.matmul`) was meant.",
    "Matrix size-incompatible": "the two sides of a matrix product do not fit: check the "
    "shapes of your weight matrices and whether one needs transposing.",
}


class CheckFailed(AssertionError):
    """A wrong answer: what was expected, what was found, and a hint. Never the solution."""

    def __init__(self, problem, *, expected=None, found=None, hint=None):
        self.problem, self.expected, self.found, self.hint = problem, expected, found, hint
        self.exercise = None
        super().__init__(problem)

    def __str__(self):
        parts = [f"Exercise {self.exercise}: {self.problem}" if self.exercise else self.problem]
        if self.expected is not None:
            parts.append(f"Expected: {self.expected}.")
        if self.found is not None:
            parts.append(f"Found: {self.found}.")
        if self.hint:
            parts.append(f"Hint: {self.hint}")
        return " ".join(parts)


class NotAttempted(CheckFailed):
    """The learner's code still raises the NotImplementedError stub."""


def _is_learner_frame(filename: str) -> bool:
    """True for code a learner wrote: a notebook cell or a file outside the libraries."""
    path = os.path.abspath(filename)
    if "ipykernel_" in path or filename.startswith("<ipython-input"):
        return True
    library_roots = [os.path.dirname(os.__file__), str(Path(__file__).parent)]
    return not (
        "site-packages" in path
        or "dist-packages" in path
        or filename.startswith("<")
        or any(path.startswith(root) for root in library_roots)
    )


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_learner_error(error: BaseException, hints: dict[str, str] | None = None) -> CheckFailed:
    """Turn an exception raised while running the learner's code into a CheckFailed.

    `hints` maps a fragment of an error message to a hint, on top of the common ones.
    """
    frames = [f for f in traceback.extract_tb(error.__traceback__) if _is_learner_frame(f.filename)]
    where = f" in `{frames[-1].name}` at line {frames[-1].lineno} of your cell" if frames else ""
    name = type(error).__name__
    if isinstance(error, NotImplementedError):
        return NotAttempted(
            f"not done yet: your code{where} still raises NotImplementedError.",
            hint="replace the `raise NotImplementedError(...)` line with your answer, run "
            "that cell, then run this check again.",
        )
    message = _short(error)
    known = {**_KNOWN_MISTAKES, **(hints or {})}
    hint = next((h for key, h in known.items() if key in message), None)
    return CheckFailed(
        f"your code{where} raised {name}: {message}",
        hint=hint or "run your cell on a small input by hand to reproduce the error, fix it, "
        "then run the check again.",
    )


@dataclass
class Lab:
    """A lab's exercises and the checks that grade them."""

    number: str
    title: str
    exercises: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        LABS[self.number] = self

    def check(self, exercise_id: str, name: str, hints: dict[str, str] | None = None):
        """Decorate a check function for one exercise; `hints` as in describe_learner_error."""
        self.exercises[exercise_id] = name
        label = f"{exercise_id} {name}"

        def decorate(check_fn):
            @functools.wraps(check_fn)
            def run_check(*args, **kwargs):
                __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
                try:
                    verified = check_fn(*args, **kwargs)
                except CheckFailed as failure:
                    failed = failure
                except Exception as error:  # the learner's code raised
                    failed = describe_learner_error(error, hints)
                else:
                    record(self, exercise_id, PASSED, verified)
                    print(f"PASS {label}: {verified}")
                    return None
                failed.exercise = label
                status = NOT_TRIED if isinstance(failed, NotAttempted) else FAILED
                record(self, exercise_id, status, str(failed))
                raise failed from None

            return run_check

        return decorate


def progress_path() -> Path:
    """Where results are kept: $SEQLAB_PROGRESS, else ~/.seqlab/progress.json."""
    default = Path.home() / ".seqlab" / "progress.json"
    return Path(os.environ.get("SEQLAB_PROGRESS", default))


def load_progress(path: Path | None = None) -> dict:
    path = path or progress_path()
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def record(lab: Lab, exercise_id: str, status: str, detail: str) -> None:
    """Store one result; a progress file that cannot be written never fails a check."""
    path = progress_path()
    progress = load_progress(path)
    entry = {"status": status, "detail": _short(detail, 500), "last_run": time.strftime("%Y-%m-%d %H:%M")}
    progress.setdefault(lab.number, {})[exercise_id] = entry
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
            json.dump(progress, tmp, indent=1, sort_keys=True)
        os.replace(tmp.name, path)
    except OSError as error:
        print(f"(progress not saved to {path}: {error})", file=sys.stderr)


def status_rows(labs: dict[str, Lab], progress: dict) -> list[tuple[str, str, str, str]]:
    """(lab, exercise, status, last run) for every declared exercise."""
    rows = []
    for number in sorted(labs):
        lab = labs[number]
        for exercise_id, name in lab.exercises.items():
            entry = progress.get(number, {}).get(exercise_id, {})
            rows.append(
                (f"{number} {lab.title}", f"{exercise_id} {name}",
                 entry.get("status", NOT_TRIED), entry.get("last_run", "-"))
            )
    return rows


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda row: "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *map(line, rows)])


def matching_mistake(found, mistakes: dict, atol: float = 1e-4):
    """The name of the first wrong variant whose value `found` equals (within atol), else None.

    `mistakes` maps a description of a common wrong answer to what that answer computes.
    """
    import numpy as np

    found = np.asarray(found, dtype="float64")
    for name, wrong in mistakes.items():
        wrong = np.asarray(wrong, dtype="float64")
        if wrong.shape == found.shape and np.allclose(found, wrong, atol=atol, rtol=1e-3):
            return name
    return None
