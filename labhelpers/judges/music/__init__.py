"""Lab 03's judges: how each exercise's inputs are drawn and its probe's data decided.

Imported by `grading.Exercise.judging` in a learner's kernel or in the grader's process; the
sandbox of `grade` hides this package from the kernel."""

from labhelpers.grading import judging
from labhelpers.judges.music import judges, model_judges, sampling_judges, step_judges

judging("3.1", draw=judges.draw_vectorize, judge=judges.vectorize_string)
judging("3.2", draw=judges.draw_batches, judge=judges.get_batch, hints=judges.BATCH_HINTS)
judging("3.3", draw=model_judges.draw_model, judge=model_judges.build_model, hints=model_judges.MODEL_HINTS)
judging("3.4", draw=judges.draw_loss, judge=judges.compute_loss, hints=judges.LOSS_HINTS)
judging("3.5", draw=model_judges.draw_train_step, judge=model_judges.train_step,
        hints=model_judges.TRAIN_STEP_HINTS)
judging("3.6a", draw=step_judges.draw_sampling_step, judge=step_judges.sampling_step)
judging("3.6", draw=sampling_judges.draw_generate, judge=sampling_judges.generate_text, hints=sampling_judges.STEP_HINTS)
