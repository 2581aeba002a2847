"""Lab 01's judges: how each exercise's inputs are drawn and its probe's data decided.

Imported by `grading.Exercise.judging` in a learner's kernel or in the grader's process; the
sandbox of `grade` hides this package from the kernel."""

from labhelpers.grading import judging
from labhelpers.judges.rnn import judges, word_judges

judging("1.2", draw=judges.draw_step, judge=judges.rnn_step, hints=judges.STEP_HINTS)
judging("1.3", draw=judges.draw_cell, judge=judges.my_rnn_cell, hints=judges.CELL_HINTS)
judging("1.4", draw=judges.draw_loss, judge=judges.unrolled_loss, hints=judges.LOSS_HINTS)
judging("1.5a", draw=word_judges.draw_vocabulary, judge=word_judges.build_vocabulary)
judging("1.5b", draw=word_judges.draw_one_hot, judge=word_judges.one_hot)
judging("1.7", draw=word_judges.draw_model, judge=word_judges.next_word_model, hints=judges.CELL_HINTS)
