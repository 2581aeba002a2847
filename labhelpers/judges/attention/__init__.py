"""Lab 05's judges: how each exercise's inputs are drawn and its probe's data decided.

Imported by `grading.Exercise.judging` in a learner's kernel or in the grader's process; the
sandbox of `grade` hides this package from the kernel."""

from labhelpers.grading import judging
from labhelpers.judges.attention import greedy_judges, judges, luong_judges

judging("5.2", draw=judges.draw_decoder_inputs, judge=judges.decoder_inputs)
judging("5.3", draw=greedy_judges.draw_greedy, judge=greedy_judges.greedy)
judging("5.4", draw=judges.draw_attention, judge=judges.attention)
judging("5.5", draw=luong_judges.draw_luong, judge=luong_judges.luong)
