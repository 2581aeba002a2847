"""The checks of every lab, one subpackage per lab, each in three parts:

- `probes.py` runs with the learner's code (in the learner's kernel, sandboxed under `grade`) and
  only collects plain data from calling it on the inputs it is given;
- `judges.py` draws those inputs and decides, from the probe's data alone, pass or fail and the
  message; under `grade` it runs in the grader's process, never in the kernel;
- `__init__.py` ties them into the `check_...` functions that the lab's notebook calls.

A judge compares with independent references (Keras' own layers with the same weights, NumPy
formulas of properties, shapes) and never trusts what a probe reports about itself when the data
could have been made up: it passes only values that the learner's code computed on the drawn inputs.
"""
