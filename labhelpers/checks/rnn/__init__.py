"""Lab 01's exercises: each check is a probe (probes.py) and a judge (judges.py, word_judges.py)."""

from labhelpers.checks.rnn import judges, probes, word_judges
from labhelpers.grading import Lab

lab = Lab("01")

check_rnn_step = lab.exercise("1.2", draw=judges.draw_step, probe=probes.rnn_step, judge=judges.rnn_step,
                              hints=judges.STEP_HINTS)
check_my_rnn_cell = lab.exercise("1.3", draw=judges.draw_cell, probe=probes.my_rnn_cell, judge=judges.my_rnn_cell,
                                 hints=judges.CELL_HINTS)
check_unrolled_loss = lab.exercise("1.4", draw=judges.draw_loss, probe=probes.unrolled_loss,
                                   judge=judges.unrolled_loss)
check_build_vocabulary = lab.exercise("1.5a", draw=word_judges.draw_vocabulary, probe=probes.build_vocabulary,
                                      judge=word_judges.build_vocabulary)
check_one_hot = lab.exercise("1.5b", draw=word_judges.draw_one_hot, probe=probes.one_hot, judge=word_judges.one_hot)
check_next_word_model = lab.exercise("1.7", draw=word_judges.draw_model, probe=probes.next_word_model,
                                     judge=word_judges.next_word_model, hints=judges.CELL_HINTS)
