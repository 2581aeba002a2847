"""Which library functions the learner's code called, whatever name it reached them by.

Where an exercise says "write it yourself" (the recurrence, the loop of the unrolled loss, clipping,
the LSTM's gates, attention), calling the library function that computes the same thing is not the
exercise done. A name-based check misses `tf.compat.v1.clip_by_global_norm`, an alias, or
`getattr(tf, "clip_" + "by_global_norm")`; what they all run is the same code object. `watch`
records, while a probe runs, every call of a watched function's code made from the learner's code
(a frame of the learner's higher in the stack), so the probe's own use of the library is not counted.
It is a global trace function that sees call events only (no line, return or C events), which costs
a check about a quarter of its time; a learner's code that switches it off is recorded too.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import sys
import threading

STACK_DEPTH = 40  # frames looked at above a watched call for a learner's frame


def resolve(path: str):
    """The object a dotted path names ("tensorflow.clip_by_global_norm", "keras.layers.LSTMCell.call")."""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:]:
            target = getattr(target, name)
        return target
    raise ImportError(path)


def code_of(function):
    """The code object a (decorated) function finally runs, or None for one written in C."""
    function = inspect.unwrap(getattr(function, "python_function", function))
    while hasattr(function, "__wrapped__"):
        function = function.__wrapped__
    return getattr(getattr(function, "__func__", function), "__code__", None)


def _called_from_learner(frame, is_learner) -> bool:
    frame = frame.f_back
    for _ in range(STACK_DEPTH):
        if frame is None:
            return False
        if is_learner(frame.f_code.co_filename):
            return True
        frame = frame.f_back
    return False


@contextlib.contextmanager
def watch(paths: tuple[str, ...], is_learner):
    """Record, into the yielded set, each path in `paths` whose function the learner's code called."""
    called: set[str] = set()
    codes = {}
    for path in paths:
        try:
            code = code_of(resolve(path))
        except (ImportError, AttributeError):  # this library version lacks it: nothing to watch
            continue
        if code is not None:
            codes[code] = path
    if not codes:
        yield called
        return

    def trace(frame, event, _arg):  # called at each Python call only: it returns no local tracer
        if frame.f_code in codes and _called_from_learner(frame, is_learner):
            called.add(codes[frame.f_code])

    previous, previous_threads = sys.gettrace(), threading.gettrace()
    sys.settrace(trace)
    threading.settrace(trace)
    try:
        yield called
    finally:
        if sys.gettrace() is not trace:  # the learner's code switched the watch off
            called.add("sys.settrace")
        sys.settrace(previous)
        threading.settrace(previous_threads)
