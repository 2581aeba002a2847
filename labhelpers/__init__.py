"""seqlab's helpers: the grading core, one module per lab, and the instructor tools.

Notebooks import the lab they serve, e.g. `from labhelpers import rnn`.
"""

__version__ = "0.1.0"
