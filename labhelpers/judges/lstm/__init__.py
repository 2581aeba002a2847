"""Lab 02's judges: how each exercise's inputs are drawn and its probe's data decided.

Imported by `grading.Exercise.judging` in a learner's kernel or in the grader's process; the
sandbox of `grade` hides this package from the kernel."""

from labhelpers.grading import judging
from labhelpers.judges.lstm import distance_judges, judges

_NO_PATH = ("the tape found no path from L to some of the states (their gradient is None): compute every "
            "step and L inside the `with tf.GradientTape()` block, each step from the state the previous "
            "one returned.")
_NO_PATH_HINTS = {"None values not supported": _NO_PATH, "Attempt to convert a value (None)": _NO_PATH}

judging("2.1", draw=judges.draw_bptt, judge=judges.bptt, hints=_NO_PATH_HINTS)
judging("2.1b", draw=judges.draw_bptt, judge=distance_judges.weight_gradient_by_distance, hints=_NO_PATH_HINTS)
judging("2.2", draw=judges.draw_clip, judge=judges.clip)
judging("2.4", draw=judges.draw_lstm, judge=judges.my_lstm_cell)
