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
