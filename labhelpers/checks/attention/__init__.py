"""Lab 05's exercises: each check is a probe (probes.py) and a judge (judges.py; greedy_judges.py for 5.3,
luong_judges.py for 5.5)."""

from labhelpers.checks.attention import greedy_judges, judges, luong_judges, probes
from labhelpers.grading import Lab

lab = Lab("05")

check_make_decoder_inputs = lab.exercise("5.2", draw=judges.draw_decoder_inputs, probe=probes.decoder_inputs,
                                         judge=judges.decoder_inputs)
check_greedy_decode = lab.exercise("5.3", draw=greedy_judges.draw_greedy, probe=probes.greedy,
                                   judge=greedy_judges.greedy)
check_scaled_dot_product_attention = lab.exercise("5.4", draw=judges.draw_attention, probe=probes.attention,
                                                  judge=judges.attention)
check_luong_attention = lab.exercise("5.5", draw=luong_judges.draw_luong, probe=probes.luong,
                                     judge=luong_judges.luong)
