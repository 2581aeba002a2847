"""Lab 04's judges: how each exercise's inputs are drawn and its probe's data decided.

Imported by `grading.Exercise.judging` in a learner's kernel or in the grader's process; the
sandbox of `grade` hides this package from the kernel."""

from labhelpers.grading import judging
from labhelpers.judges.sentiment import judges, model_judges, ratio_judges, training_judges

judging("4.1", draw=judges.draw_vectorizer, judge=judges.make_vectorizer)
judging("4.2", draw=model_judges.draw_lstm_classifier, judge=model_judges.lstm_classifier)
judging("4.3", draw=model_judges.draw_bidirectional_classifier, judge=model_judges.bidirectional_classifier)
judging("4.4", draw=training_judges.draw_training, judge=training_judges.training)
judging("4.5", draw=judges.draw_evaluation, judge=judges.evaluation)
judging("4.6", draw=ratio_judges.draw_log_count_ratios, judge=ratio_judges.log_count_ratios)
