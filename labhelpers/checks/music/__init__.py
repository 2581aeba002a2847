"""Lab 03's exercises: each check is a probe (probes.py) and a judge (judges.py, model_judges.py,
step_judges.py, sampling_judges.py)."""

from labhelpers.checks.music import judges, model_judges, probes, sampling_judges, step_judges
from labhelpers.grading import Lab

lab = Lab("03")

check_vectorize_string = lab.exercise("3.1", draw=judges.draw_vectorize, probe=probes.vectorize_string,
                                      judge=judges.vectorize_string)
check_get_batch = lab.exercise("3.2", draw=judges.draw_batches, probe=probes.get_batch, judge=judges.get_batch,
                               hints=judges.BATCH_HINTS)
check_build_model = lab.exercise("3.3", draw=model_judges.draw_model, probe=probes.build_model,
                                 judge=model_judges.build_model, hints=model_judges.MODEL_HINTS)
check_compute_loss = lab.exercise("3.4", draw=judges.draw_loss, probe=probes.compute_loss, judge=judges.compute_loss)
check_train_step = lab.exercise("3.5", draw=model_judges.draw_train_step, probe=probes.train_step,
                                judge=model_judges.train_step)
check_sampling_step = lab.exercise("3.6a", draw=step_judges.draw_sampling_step, probe=probes.sampling_step,
                                   judge=step_judges.sampling_step)
check_generate_text = lab.exercise("3.6", draw=sampling_judges.draw_generate, probe=probes.generate_text,
                                   judge=sampling_judges.generate_text, hints=sampling_judges.STEP_HINTS)
