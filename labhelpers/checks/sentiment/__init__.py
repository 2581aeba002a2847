"""Lab 04's exercises: each check is a probe (probes.py) and a judge (judges.py for 4.1 and 4.5,
model_judges.py for 4.2 and 4.3, training_judges.py for 4.4, ratio_judges.py for 4.6)."""

from labhelpers.checks.sentiment import judges, model_judges, probes, ratio_judges, training_judges
from labhelpers.grading import Lab

lab = Lab("04")

check_make_vectorizer = lab.exercise("4.1", draw=judges.draw_vectorizer, probe=probes.make_vectorizer,
                                     judge=judges.make_vectorizer)
check_build_lstm_classifier = lab.exercise("4.2", draw=model_judges.draw_lstm_classifier, probe=probes.classifier,
                                           judge=model_judges.lstm_classifier)
check_build_bidirectional_classifier = lab.exercise(
    "4.3", draw=model_judges.draw_bidirectional_classifier, probe=probes.classifier,
    judge=model_judges.bidirectional_classifier)
check_train_with_early_stopping = lab.exercise("4.4", draw=training_judges.draw_training,
                                               probe=probes.train_with_early_stopping, judge=training_judges.training)
check_evaluate_predictions = lab.exercise("4.5", draw=judges.draw_evaluation, probe=probes.evaluate_predictions,
                                          judge=judges.evaluation)
check_log_count_ratios = lab.exercise("4.6", draw=ratio_judges.draw_log_count_ratios, probe=probes.log_count_ratios,
                                      judge=ratio_judges.log_count_ratios)
