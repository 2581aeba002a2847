"""Lab 01's exercises: each check is a probe (probes.py) and a judge (judges.py)."""

from labhelpers.checks.rnn import judges, probes
from labhelpers.grading import Lab

lab = Lab("01")

check_rnn_step = lab.exercise("1.2", draw=judges.draw_step, probe=probes.rnn_step, judge=judges.rnn_step)
