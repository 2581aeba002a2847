"""What decides: every lab's judges, one subpackage per lab.

A lab's probes (labhelpers/probes/<lab>.py) run with the learner's code, in the learner's kernel or
in the sandbox of `grade`, and only collect plain data from calling it on the inputs they are given.
The judges here draw those inputs and decide, from the probe's data alone, pass or fail and the
message; each subpackage's `__init__.py` registers them with `grading.judging`. Under `grade` they
run in the grader's process only: the sandbox hides this folder, so no kernel can import, walk to or
read a judge, a reference or an answer key. Nothing under labhelpers/probes/ imports from here.

A judge compares with independent references (Keras' own layers with the same weights, NumPy
formulas of properties, shapes) and never trusts what a probe reports about itself when the data
could have been made up: it passes only values that the learner's code computed on the drawn inputs.
"""
