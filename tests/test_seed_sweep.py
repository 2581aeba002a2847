"""Checks that hold on every seed, in small: the right answers of the mutation tables and each solution's own
answer, judged as the grader judges them (`Exercise.inputs(seed)`, then `Exercise.verdict`) on grading seeds,
besides the learner's fixed seed on which tests/test_mutations.py judges them.

Each exercise gets SEEDS grading seeds: the solution's answer is judged on all of them, and each right row on
one of them in turn (row i on seed i mod SEEDS). The wrong rows take their turn on these seeds in
tests/test_mutations.py, once each. bench/seed_sweep.py runs the full sweep: every row on 50 seeds or more.
"""

import functools

import keras
import pytest

import sweep
from labhelpers.exercises import LABS
from mutations import Right, tables

SEEDS = 3
_, RIGHT = tables(keras.backend.backend())  # the rows written for this backend
EXERCISES = [exercise for _, names in LABS.values() for exercise in names]


@functools.cache
def solutions() -> dict:
    """The solution notebooks' answers, by exercise (their cells run once, when a test first asks)."""
    return sweep.all_solution_answers()

pytestmark = pytest.mark.sweep


@pytest.mark.parametrize("row, seed", list(sweep.seeded(RIGHT, SEEDS)), ids=lambda v: f"{v.exercise}-{v.style}"
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
