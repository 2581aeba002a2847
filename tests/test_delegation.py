"""Delegation to the library function an exercise asks to write is seen by what runs, not by its name."""

import sys

import numpy as np
import pytest
import tensorflow as tf

from labhelpers import delegation, grading, submissions
from labhelpers.grading import CheckFailed

SHORTCUT = ("tensorflow.clip_by_global_norm",)


def learner_file(filename: str) -> bool:
    return filename == __file__


def gradients():
    return [tf.constant(np.ones((2, 2), "float32")), tf.constant(np.ones(3, "float32"))]


@pytest.mark.parametrize("call", [
    lambda g: tf.clip_by_global_norm(g, 1.0),
    lambda g: tf.compat.v1.clip_by_global_norm(g, 1.0),
    lambda g: getattr(tf, "clip_" + "by_global_norm")(g, 1.0),
    lambda g: sys.modules["tensorflow"].__dict__["clip_by_global_norm"](g, 1.0),
], ids=["plain", "compat.v1", "getattr string", "module dict"])
def test_every_way_to_reach_the_shortcut_is_seen(call):
    with delegation.watch(SHORTCUT, learner_file) as called:
        call(gradients())
    assert called == {"tensorflow.clip_by_global_norm"}


def test_a_call_from_outside_the_learners_code_is_not_counted():
    with delegation.watch(SHORTCUT, lambda filename: False) as called:
        tf.clip_by_global_norm(gradients(), 1.0)
    assert called == set()


def test_the_same_computation_written_by_hand_is_not_counted():
    with delegation.watch(SHORTCUT, learner_file) as called:
        values = gradients()
        norm = tf.sqrt(sum(tf.reduce_sum(g * g) for g in values))
        [g * tf.minimum(1.0, 1.0 / norm) for g in values]
    assert called == set()


def test_switching_the_watch_off_is_seen():
    with delegation.watch(SHORTCUT, learner_file) as called:
        sys.settrace(None)
        tf.clip_by_global_norm(gradients(), 1.0)
    assert called == {"sys.settrace"}


def test_a_check_fails_a_delegating_answer_with_one_message():
    check = grading.find_exercise("2.2").check

    def clip_gradients(gradients, max_norm):
        present = [g for g in gradients if g is not None]
        clipped = iter(tf.compat.v1.clip_by_global_norm(present, max_norm)[0])
        return [None if g is None else next(clipped) for g in gradients]

    with pytest.raises(CheckFailed, match=r"to be written by hand, but your code called `tf\.clip_by_global_norm`"):
        check(clip_gradients)


def test_the_grader_flags_a_named_shortcut_and_turned_off_tracing():
    own = {"2.2 clip_gradients": SHORTCUT}
    flags = submissions.review_flags({"2.2 clip_gradients": "from tensorflow import clip_by_global_norm as c\n"
                                                            "sys.settrace(None)"}, own)
    assert any("names tensorflow.clip_by_global_norm" in flag for flag in flags)
    assert any("tracing or profiling" in flag for flag in flags)
    assert submissions.review_flags({"2.2 clip_gradients": "# unlike clip_by_global_norm, by hand\nx = 1"}, own) == []
