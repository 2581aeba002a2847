"""Lab 02's exercises: each check is a probe (probes.py) and a judge (judges.py; 2.1b's in distance_judges.py)."""

from labhelpers.checks.lstm import distance_judges, judges, probes
from labhelpers.grading import Lab

lab = Lab("02")

_NO_PATH = ("the tape found no path from L to some of the states (their gradient is None): compute every "
            "step and L inside the `with tf.GradientTape()` block, each step from the state the previous "
            "one returned.")

check_hidden_state_gradients = lab.exercise(
    "2.1", draw=judges.draw_bptt, probe=probes.unrolled_answer, judge=judges.bptt,
    hints={"None values not supported": _NO_PATH, "Attempt to convert a value (None)": _NO_PATH})
check_weight_gradient_by_distance = lab.exercise(
    "2.1b", draw=judges.draw_bptt, probe=probes.unrolled_answer, judge=distance_judges.weight_gradient_by_distance,
    hints={"None values not supported": _NO_PATH, "Attempt to convert a value (None)": _NO_PATH})
check_clip_gradients = lab.exercise("2.2", draw=judges.draw_clip, probe=probes.clip_gradients, judge=judges.clip)
check_my_lstm_cell = lab.exercise("2.4", draw=judges.draw_lstm, probe=probes.my_lstm_cell, judge=judges.my_lstm_cell)
