"""No module a learner can import hands out an exercise's answer (issue: answer keys are grader-only)."""

import importlib
import pkgutil

import pytest

import labhelpers

ANSWER_KEYS = {"reference_step", "lstm_numpy", "reference_get_batch", "reference_attention",
               "reference_classifier", "reference_vectorizer", "reference_unrolled_loss"}


def learner_modules():
    names = []
    for module in pkgutil.walk_packages(labhelpers.__path__, "labhelpers."):
        names.append(module.name)
    return sorted(names)


@pytest.mark.parametrize("name", learner_modules())
def test_no_answer_key_in(name):
    module = importlib.import_module(name)
    assert not ANSWER_KEYS & set(vars(module)), f"{name} exposes {sorted(ANSWER_KEYS & set(vars(module)))}"


@pytest.mark.parametrize("name", [name for name in learner_modules() if not name.startswith(("labhelpers.judges", "labhelpers.probes"))])
def test_no_exercise_answer_under_its_own_name_in(name):
    """Outside the probes and judges, no module defines a function an exercise asks for (ngrams takes r from 4.6)."""
    from labhelpers.exercises import LABS

    asked = {function for _, exercises in LABS.values() for function in exercises.values()}
    module = importlib.import_module(name)
    assert not asked & set(vars(module)), f"{name} defines {sorted(asked & set(vars(module)))}"


def test_the_music_sampler_runs_the_learners_step():
    """Lab 03's ModelStep and Sampler take the learner's sampling_step (3.6a) and have none of their own."""
    import inspect

    from labhelpers import music

    for tool in (music.ModelStep, music.Sampler):
        assert inspect.signature(tool).parameters["sampling_step"].default is inspect.Parameter.empty
