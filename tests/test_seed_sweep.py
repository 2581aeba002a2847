"""Checks that hold on every seed, in small: the rows of the mutation tables and each solution's own answer,
judged as the grader judges them (`Exercise.inputs(seed)`, then `Exercise.verdict`) on grading seeds,
not on the learner's fixed seed that tests/test_mutations.py uses.

Each exercise gets SEEDS grading seeds: the solution's answer is judged on all of them, and each row of the
tables on one of them in turn (row i on seed i mod SEEDS), so that this costs about what test_mutations
costs. bench/seed_sweep.py runs the full sweep: every row on 50 seeds or more.
"""

import functools

import keras
import pytest

import sweep
from labhelpers.exercises import LABS
from mutations import Right, tables

SEEDS = 3
WRONG, RIGHT = tables(keras.backend.backend())  # the rows written for this backend
EXERCISES = [exercise for _, names in LABS.values() for exercise in names]


@functools.cache
def solutions() -> dict:
    """The solution notebooks' answers, by exercise (their cells run once, when a test first asks)."""
    return sweep.all_solution_answers()

pytestmark = pytest.mark.sweep


def _seeded(rows):
    """(row, seed) pairs: the i-th row of an exercise on that exercise's seed i mod SEEDS."""
    seen: dict[str, int] = {}
    for row in rows:
        index = seen[row.exercise] = seen.get(row.exercise, -1) + 1
        yield row, sweep.seeds(row.exercise, SEEDS)[index % SEEDS]


@pytest.mark.parametrize("row, seed", list(_seeded(WRONG)), ids=lambda v: f"{v.exercise}-{v.mistake}"
                         if hasattr(v, "mistake") else str(v % 1000))
def test_wrong_answer_is_rejected_on_a_grading_seed(row, seed):
    assert sweep.failure(row.exercise, row.answer(), seed) is not None, f"accepted on seed {seed}"


@pytest.mark.parametrize("row, seed", list(_seeded(RIGHT)), ids=lambda v: f"{v.exercise}-{v.style}"
                         if isinstance(v, Right) else str(v % 1000))
def test_right_answer_passes_on_a_grading_seed(row, seed):
    failed = sweep.failure(row.exercise, row.answer(), seed)
    assert failed is None, f"seed {seed}: {failed}"


def test_the_solutions_answer_every_exercise():
    assert set(solutions()) == set(EXERCISES)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_the_solution_passes_on_grading_seeds(exercise):
    for seed in sweep.seeds(exercise, SEEDS):
        failed = sweep.failure(exercise, solutions()[exercise](), seed)
        assert failed is None, f"seed {seed}: {failed}"
