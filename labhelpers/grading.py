"""The check framework: every exercise is checked by a probe and a judge, kept in two places.

What may run in a learner's kernel declares each exercise with its probe (labhelpers/probes/<lab>.py):

    lab = Lab("01")

    def probe(answer, inputs):          # runs the learner's code on the inputs, returns plain data
        return {"y": answer(inputs["x"])}

    check_answer = lab.exercise("1.2", probe=probe)

What decides registers, for the same exercise, how its inputs are drawn and how its data is judged
(labhelpers/judges/<lab>/, the lab's `judges` package):

    def draw(rng):                      # the inputs: plain data drawn from a NumPy Generator
        return {"x": rng.normal(size=(3, 4))}

    def judge(inputs, data):            # decides from the data alone; raises CheckFailed
        ...
        return "matches ..."            # what was verified, for the PASS line

    judging("1.2", draw=draw, judge=judge)

`check_answer(answer)` is what a notebook calls. In a learner's notebook the probe and the judge
both run in the kernel (the judges package is imported on the first check): one PASS line, or one
CheckFailed (expected, found, hint), recorded in the progress file. Under `python -m labhelpers grade`
the kernel runs only the probe, on inputs the grader drew from a seed the kernel never sees, and hands
back its data as a file in the sandbox (`SEQLAB_PROBE_DIR`); the grader's own process judges it. The
sandbox hides the judges package, so nothing in the kernel can import, walk to or read a judge, a
reference or a mistake simulator: a probe module never imports one.

Probe data travels as `pack`/`unpack` archives (JSON plus NumPy arrays, never pickle), in both
modes, so a judge sees the same data in a notebook and in the grader. Results travel as `Result`
records. This module knows nothing of any particular lab.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import sys
import tempfile
import time
import traceback
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from labhelpers import backends, delegation
from labhelpers import exercises as registry

LABS: dict[str, "Lab"] = {}

PASSED, FAILED, NOT_TRIED = "passed", "failed", "not tried"
PROBE_DIR_ENV = "SEQLAB_PROBE_DIR"  # set by the grader in a sandboxed kernel: probe only, no verdict
MAX_PACKED_BYTES = 64 * 2**20  # a probe's data larger than this, packed or unpacked, is refused
MAX_TREE_BYTES = 4 * 2**20  # and so is its JSON (all but its arrays) over this: JSON costs up to 20 times its size

# Exceptions whose cause is well known get a hint of their own.
_PRODUCT = "was used where a matrix product (`keras.ops.matmul` or `@`) was meant"
_BROADCAST = f"shapes that do not broadcast often mean `*` (elementwise) {_PRODUCT}."
_MISFIT = ("the two sides of a matrix product do not fit: check the shapes of your weight matrices and whether one "
           "needs transposing.")
_TRACED = ("under `jax.jit` or `jax.grad` values are traced, not numbers: `float()`, `.item()`, "
           "`np.asarray` or a Python `if` on a tensor cannot read them; compute with `keras.ops` instead.")
_SCALAR = "a gradient is taken of one number: reduce the loss to a scalar (a mean or a sum) first."
_KNOWN_MISTAKES = {  # words of an error message (TensorFlow's, JAX's or PyTorch's) -> a hint
    "add_weights": "the Keras method is `self.add_weight` (singular).",
    "kreas": "the module is spelled `keras`.",
    "Incompatible shapes": f"a shape mismatch inside a product often means `*` (elementwise) {_PRODUCT}.",
    "Dimensions must be equal": f"a shape mismatch inside a product often means `*` (elementwise) {_PRODUCT}, "
    "or a weight matrix is transposed.",
    "could not be broadcast": _BROADCAST,
    "must match the size of tensor": _BROADCAST,
    "incompatible shapes for broadcasting": _BROADCAST,
    "Matrix size-incompatible": _MISFIT,
    "cannot be multiplied": _MISFIT,
    "Expected size for first two dimensions of batch2 tensor": _MISFIT,
    "dot_general requires contracting dimensions": _MISFIT,
    "traced array": _TRACED,
    "tracer value": _TRACED,
    "does not require grad": "the loss lost its connection to the weights: a `.detach()`, NumPy, or "
    "`torch.no_grad()` on the way cuts the graph that `backward()` follows.",
    "requires grad": "a tensor that needs a gradient cannot become NumPy or be changed in place: keep "
    "the computation in `keras.ops` (and use `.detach()` only for what you print).",
    "scalar-output": _SCALAR,
    "scalar outputs": _SCALAR,
}


class CheckFailed(AssertionError):
    """A wrong answer: what was expected, what was found, and a hint. Never the solution."""

    def __init__(self, problem, *, expected=None, found=None, hint=None):
        self.problem, self.expected, self.found, self.hint = problem, expected, found, hint
        self.exercise = None
        self.credit, self.credited = 0.0, []  # partial credit: the share of the points earned, and for what
        super().__init__(problem)

    def __str__(self):
        parts = [f"Exercise {self.exercise}: {self.problem}" if self.exercise else self.problem]
        if self.expected is not None:
            parts.append(f"Expected: {self.expected}.")
        if self.found is not None:
            parts.append(f"Found: {self.found}.")
        if self.hint:
            parts.append(f"Hint: {self.hint}")
        return " ".join(parts)

    def message(self) -> str:
        """The message without the exercise label (the gradebook has a column for that)."""
        exercise, self.exercise = self.exercise, None
        try:
            return str(self)
        finally:
            self.exercise = exercise

    def _render_traceback_(self):
        """What IPython shows instead of a traceback: one box, nothing of labhelpers' source."""
        title = f"Exercise {self.exercise}: " if self.exercise else ""
        lines = [f"{type(self).__name__}: {title}{self.problem}"]
        for label, value in (("Expected", self.expected), ("Found", self.found), ("Hint", self.hint)):
            if value is not None:
                lines.append(f"  {label + ':':9} {value}")
        return lines


class NotAttempted(CheckFailed):
    """The learner's code still raises the NotImplementedError stub."""


@dataclass
class Result:
    """The structured record of one check: what the progress file, `status` and `grade` keep."""

    lab: str
    exercise: str
    name: str
    status: str  # PASSED, FAILED or NOT_TRIED
    message: str  # what was verified, or the failure message without the exercise label
    score: float | None = None  # the share of the exercise's points earned: 1 passed, 0 failed, between: partial

    def __post_init__(self):
        if self.score is None:
            self.score = 1.0 if self.status == PASSED else 0.0

    @property
    def label(self) -> str:
        return f"{self.exercise} {self.name}"

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- plain data across the channel


def plain(value, depth: int = 0):
    """The learner's value as plain data: numbers, strings, lists, dicts and NumPy arrays.

    Tensors and Keras variables become arrays; anything else becomes a description
    {"__object__": "TypeName: repr"} that a judge can report as what it found.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if depth > 8:
        return {"__object__": "nested too deeply"}
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, np.ndarray) or hasattr(value, "numpy") or hasattr(value, "__array__"):
        try:
            array = backends.to_numpy(value)
        except Exception:  # a learner's object that claims to be an array and is not
            array = None
        if array is not None and array.dtype != object:
            return array
    return {"__object__": f"{type(value).__name__}: {shorten(repr(value), 120)}"}


def _encode(value, arrays: dict):
    if isinstance(value, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, dict):
        return {k: _encode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    return value


def _decode(value, arrays):
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return arrays[value["__array__"]]
        return {k: _decode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    return value


def pack(tree) -> bytes:
    """Plain data as bytes: an .npz holding the arrays and the JSON of the rest (no pickle)."""
    arrays: dict[str, np.ndarray] = {}
    document = json.dumps(_encode(plain(tree), arrays)).encode()
    buffer = io.BytesIO()
    np.savez(buffer, __tree__=np.frombuffer(document, dtype=np.uint8), **arrays)
    return buffer.getvalue()


def unpack(data: bytes):
    """The plain data `pack` wrote, read member by member within limits; ValueError for anything else.

    The JSON tree is read first, then only the arrays it refers to, each once its declared size and its
    header (no pickled objects, a shape that fits that size) are checked. An archive with any other
    member, or over MAX_PACKED_BYTES packed or unpacked, is refused before its arrays are read.
    """
    if len(data) > MAX_PACKED_BYTES:
        raise ValueError(f"probe data of {len(data)} bytes is over the {MAX_PACKED_BYTES} limit")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            tree = json.loads(_member(archive, "__tree__", MAX_TREE_BYTES).tobytes().decode())
            keys = _array_keys(tree)
            _check_members(archive, {"__tree__", *keys})
            arrays = {key: _member(archive, key, MAX_PACKED_BYTES) for key in keys}
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
        raise ValueError(f"the probe data is not a readable archive ({type(error).__name__})") from None
    return _decode(tree, arrays)


def _array_keys(tree) -> set[str]:
    """The names of the arrays a packed tree refers to."""
    keys, stack = set(), [tree]
    while stack:
        value = stack.pop()
        if isinstance(value, dict) and set(value) == {"__array__"}:
            if not isinstance(value["__array__"], str):
                raise ValueError("the probe data refers to an array by something that is not a name")
            keys.add(value["__array__"])
        elif isinstance(value, (dict, list)):
            stack.extend(value.values() if isinstance(value, dict) else value)
    return keys


def _check_members(archive: zipfile.ZipFile, keys: set[str]) -> None:
    """Refuse an archive whose members are not exactly the given arrays, or larger than allowed unpacked."""
    names = archive.namelist()
    extra = sorted(set(names) - {f"{key}.npy" for key in keys})
    if extra or len(names) != len(set(names)):
        raise ValueError(f"the probe data holds members it does not use: {shorten(', '.join(extra), 80)}")
    unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > MAX_PACKED_BYTES:
        raise ValueError(f"probe data of {unpacked} bytes unpacked is over the {MAX_PACKED_BYTES} limit")


def _member(archive: zipfile.ZipFile, key: str, limit: int) -> np.ndarray:
    """One array of the archive, read once its declared size and its .npy header are checked."""
    name = shorten(f"{key}.npy", 80)
    try:
        info = archive.getinfo(f"{key}.npy")
    except KeyError:
        raise ValueError(f"the probe data has no member {name}") from None
    if info.file_size > limit:
        raise ValueError(f"{name} of {info.file_size} bytes is over the {limit} limit")
    with archive.open(info) as member:
        size = _data_size(member)
        if size is None or member.tell() + size != info.file_size:
            raise ValueError(f"{name} is not a .npy array of plain data that fits its size")
    with archive.open(info) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _data_size(member) -> int | None:
    """How many bytes of data a .npy header announces; None for a header that is not one of plain data."""
    headers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    try:
        shape, _, dtype = headers[np.lib.format.read_magic(member)](member)
    except (ValueError, KeyError):
        return None
    return None if dtype.hasobject else math.prod(shape) * dtype.itemsize


def write_atomically(path: Path, data: bytes) -> None:
    path = Path(path)
    with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)


# ---------------------------------------------------------------- the learner's exceptions


def _is_learner_frame(filename: str) -> bool:
    """True for code a learner wrote: a notebook cell, or a .py file outside Python and labhelpers."""
    if "ipykernel_" in filename or filename.startswith("<ipython-input"):
        return True
    if not os.path.isabs(filename) or not filename.endswith(".py") or "__autograph_generated" in filename:
        return False  # <frozen ...>, numpy's mtrand.pyx, TensorFlow's rewrite of a compiled function
    path = os.path.realpath(filename)
    libraries = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(__file__).resolve().parent)}
    return not ("site-packages" in path or "dist-packages" in path
                or any(path.startswith(os.path.realpath(root) + os.sep) for root in libraries))


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # Keras colours its error messages


def shorten(text: str, limit: int = 300) -> str:
    """Text on one line, without terminal colours, cut to `limit` characters."""
    text = " ".join(ANSI_ESCAPE.sub("", str(text)).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def error_record(error: BaseException) -> dict:
    """An exception from the learner's code as plain data: its type, message and the learner's line."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if _is_learner_frame(f.filename)]
    where = ""
    if frames:
        frame = frames[-1]
        in_cell = "ipykernel_" in frame.filename or frame.filename.startswith("<ipython-input")
        place = "your cell" if in_cell else os.path.basename(frame.filename)
        where = f"in `{frame.name}` at line {frame.lineno} of {place}"
    return {"type": type(error).__name__, "message": shorten(error, 400), "where": where,
            "stub": isinstance(error, NotImplementedError) and _raised_by_learner(error)}


def _raised_by_learner(error: BaseException) -> bool:
    """Whether the learner's code raised it (a stub, also inside tf.function), not a library: JAX and
    TensorFlow raise NotImplementedError too, for an operation a backend cannot do."""
    frames = traceback.extract_tb(error.__traceback__)
    return not frames or "__autograph_generated" in frames[-1].filename or _is_learner_frame(frames[-1].filename)


def describe_error(record: dict, hints: dict[str, str] | None = None) -> CheckFailed:
    """The CheckFailed for an exception the learner's code raised (an `error_record`).

    The hint is the first of the exercise's `hints`, then of the common mistakes, whose key is in the message.
    """
    where = f" {record['where']}" if record.get("where") else ""
    if record.get("stub"):
        return NotAttempted(
            f"not done yet: your code{where} still raises NotImplementedError.",
            hint="replace the `raise NotImplementedError(...)` line with your answer, run "
            "that cell, then run this check again.",
        )
    message = shorten(record.get("message", ""))
    known = [*(hints or {}).items(), *_KNOWN_MISTAKES.items()]
    hint = next((h for key, h in known if key in message), None)
    return CheckFailed(
        f"your code{where} raised {record.get('type', 'an error')}: {message}",
        hint=hint or "run your cell on a small input by hand to reproduce the error, fix it, "
        "then run the check again.",
    )


def _delegation_failure(exercise: "Exercise", called: list[str]) -> CheckFailed:
    names = ", ".join(f"`{path.replace('tensorflow.', 'tf.')}`" for path in called)
    return CheckFailed(f"{exercise.name} is to be written by hand, but your code called {names}",
                       expected="the computation written out with tensor operations",
                       found=f"a call of {names} (under whatever name it was reached)",
                       hint="write the steps yourself; the library function is a good way to test your "
                       "answer afterwards, in a cell of its own.")


class LearnerError(Exception):
    """Raised by `attempt` inside a probe: the learner's code failed; carries its error record."""

    def __init__(self, record: dict):
        super().__init__(record.get("message", ""))
        self.record = record


def attempt(function, *args, **kwargs):
    """Call the learner's code from a probe; an exception it raises stops the probe as a LearnerError.

    Use it where the probe itself also calls library code, so that an error in the probe's own
    plumbing is not blamed on the learner.
    """
    try:
        return function(*args, **kwargs)
    except Exception as error:
        raise LearnerError(error_record(error)) from None


def errors_in(data) -> dict | None:
    """The error record a probe's data carries at its top level, if any."""
    return data.get("__error__") if isinstance(data, dict) else None


# ---------------------------------------------------------------- judges' helpers


def shown(value, limit: int = 120) -> str:
    """A probe's value in a few words, for a message's `found`: a learner's object by its type,
    an array by its shape and dtype, a list by its length, anything else by its short repr."""
    if isinstance(value, dict) and set(value) == {"__object__"}:
        return value["__object__"]
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} ({value.dtype})"
    if isinstance(value, list):
        return f"a list or tuple of {len(value)} items"
    if value is None:
        return "None (nothing returned)"
    return shorten(f"{type(value).__name__} {value!r}", limit)


def found_as_array(value, what: str, expected: str, hint: str, dtype="float64") -> np.ndarray:
    """A judged value as an array, or a CheckFailed saying what was expected and what came back."""
    if isinstance(value, dict) and "__object__" in value:
        raise CheckFailed(f"{what} is not an array", expected=expected, found=value["__object__"], hint=hint)
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what} is not an array of numbers", expected=expected,
                          found=shorten(repr(value), 120), hint=hint) from None


def matching_mistake(found, mistakes: dict, atol: float = 1e-4):
    """The name of the first wrong variant whose value `found` equals (within atol), else None.

    `mistakes` maps a description of a common wrong answer to what that answer computes.
    """
    found = np.asarray(found, dtype="float64")
    for name, wrong in mistakes.items():
        wrong = np.asarray(wrong, dtype="float64")
        if wrong.shape == found.shape and np.allclose(found, wrong, atol=atol, rtol=1e-3):
            return name
    return None


def credit_parts(failure: CheckFailed, parts: dict[str, Callable[[], object]]) -> CheckFailed:
    """`failure`, given the share of the points that the exercise's independent `parts` earn.

    For a judge whose answer has properties that are right or wrong independently of each other (two
    results computed separately): `parts` maps what a part is ("the accuracy") to a function that raises
    CheckFailed when that part is wrong. The failure's message, and so the learner's box, is unchanged;
    the gradebook gives `credit` of the points and says for which parts.
    """
    credited = []
    for what, part in parts.items():
        try:
            part()
        except Exception:  # a part that fails, or cannot be judged, earns nothing
            continue
        credited.append(what)
    failure.credit = round(len(credited) / len(parts), 6) if parts and len(credited) < len(parts) else 0.0
    failure.credited = credited if failure.credit else []
    return failure


# ---------------------------------------------------------------- exercises and labs


def learner_seed(exercise_id: str) -> int:
    """The fixed seed of a learner's own check: the same inputs, and so the same messages, each run."""
    return zlib.crc32(exercise_id.encode())


@dataclass
class Judge:
    """What decides one exercise: how its inputs are drawn and how its probe's data is judged."""

    draw: Callable[[np.random.Generator], dict]
    decide: Callable[[dict, dict], str]
    hints: dict[str, str] = field(default_factory=dict)


JUDGES: dict[str, Judge] = {}  # by exercise id; filled by importing a lab's judges package


def judging(exercise_id: str, *, draw, judge, hints=None) -> None:
    """Register the judge of an exercise (called by a lab's judges package, never by a probe module)."""
    JUDGES[exercise_id] = Judge(draw, judge, dict(hints or {}))


@dataclass
class Exercise:
    """One exercise as a kernel sees it: its probe, and where its judge is found when judging here."""

    lab: "Lab"
    id: str
    name: str
    probe: Callable[..., dict]
    own_work: tuple[str, ...] = ()  # library functions that compute what the learner must write by hand

    def judging(self) -> Judge:
        """This exercise's judge, imported from the lab's judges package on first use."""
        if self.id not in JUDGES:
            import importlib

            importlib.import_module(self.lab.judges)
        return JUDGES[self.id]

    @property
    def label(self) -> str:
        return f"{self.id} {self.name}"

    def inputs(self, seed: int) -> dict:
        """The plain inputs for one run of the probe, drawn from `seed`."""
        return unpack(pack(self.judging().draw(np.random.default_rng(seed))))

    def collect(self, answers: tuple, inputs: dict) -> bytes:
        """Run the probe on the learner's answers: its data, or the learner's error, packed."""
        __tracebackhide__ = True  # noqa: F841
        try:
            with delegation.watch(self.own_work, _is_learner_frame) as delegated:
                data = self.probe(*answers, inputs)
            if delegated and isinstance(data, dict):
                data["__delegated__"] = sorted(delegated)
        except LearnerError as error:
            data = {"__error__": error.record}
        except Exception as error:  # the learner's code raised while the probe called it
            data = {"__error__": error_record(error)}
        try:
            return pack(data)
        except (TypeError, ValueError) as error:  # a learner's value that is not plain data
            return pack({"__error__": {"type": "TypeError", "where": "", "stub": False,
                                       "message": f"the check could not read what your code returned: {error}"}})

    def decide(self, inputs: dict, packed: bytes) -> Result:
        """Judge packed probe data. Never raises: any problem becomes a failed Result."""
        return self._result(*self.verdict(inputs, packed))

    def _result(self, verified: str, failure: CheckFailed | None) -> Result:
        if failure is None:
            return Result(self.lab.number, self.id, self.name, PASSED, verified)
        status = NOT_TRIED if isinstance(failure, NotAttempted) else FAILED
        message = failure.message()
        if failure.credit > 0:
            message += f" Partial credit for {' and '.join(failure.credited)}."
        return Result(self.lab.number, self.id, self.name, status, message, score=failure.credit)

    def verdict(self, inputs: dict, packed: bytes) -> tuple[str, CheckFailed | None]:
        """(what was verified, None) when the data passes, else ("", the labelled CheckFailed)."""
        try:
            data = unpack(packed)
            error = errors_in(data)
            judge = self.judging()
            if error:
                raise describe_error(error, judge.hints)
            if isinstance(data, dict) and data.get("__delegated__"):
                raise _delegation_failure(self, data["__delegated__"])
            return str(judge.decide(inputs, data)), None
        except CheckFailed as failed:
            failure = failed
        except Exception as error:  # data the judge could not read: report it, never crash
            failure = CheckFailed("the check could not make sense of what your code returned",
                                  found=f"{type(error).__name__}: {shorten(error, 200)}",
                                  hint="compare the type and shape of what you return with the "
                                  "exercise's description.")
        failure.exercise = self.label
        return "", failure

    def check(self, *answers):
        """What a notebook's check cell calls: judge here, or hand the data to the grader."""
        __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
        probe_dir = os.environ.get(PROBE_DIR_ENV)
        if probe_dir:
            return self._probe_for_grader(Path(probe_dir), answers)
        inputs = self.inputs(learner_seed(self.id))
        verified, failure = self.verdict(inputs, self.collect(answers, inputs))
        record(self._result(verified, failure))
        if failure is None:
            print(f"PASS {self.label}: {verified}")
            return None
        raise failure from None

    def _probe_for_grader(self, folder: Path, answers: tuple) -> None:
        """Under `grade`: read the grader's inputs, write the probe's data, decide nothing."""
        source = folder / f"{self.id}.in"
        if not source.exists():
            print(f"{self.label}: no inputs from the grader")
            return
        write_atomically(folder / "out" / f"{self.id}.out", self.collect(answers, unpack(source.read_bytes())))
        print(f"{self.label}: answer collected for grading")


@dataclass
class Lab:
    """A lab's exercises; their numbers and names come from `labhelpers.exercises`.

    `judges` names the package that registers the lab's judges (default `labhelpers.judges.<module>`).
    """

    number: str
    title: str | None = None
    judges: str | None = None
    exercises: dict[str, Exercise] = field(default_factory=dict)

    def __post_init__(self):
        if self.title is None:
            self.title = registry.LABS[self.number][0]
        if self.judges is None:
            self.judges = f"labhelpers.judges.{registry.MODULES[self.number]}"
        LABS[self.number] = self

    def exercise(self, exercise_id: str, *, probe, name: str | None = None, own_work=()):
        """Declare an exercise by its probe; returns the check function its notebook calls.

        `own_work`: dotted paths of library functions that compute what the exercise asks the learner
        to write; the learner's code calling one of them fails the exercise (delegation.py)."""
        declared = registry.LABS.get(self.number, ("", {}))[1]
        name = name or declared.get(exercise_id)
        if name is None:
            raise KeyError(f"exercise {exercise_id} is not in labhelpers/exercises.py for lab {self.number}")
        exercise = Exercise(self, exercise_id, name, probe, tuple(own_work))
        self.exercises[exercise_id] = exercise

        def check(*answers):
            __tracebackhide__ = True  # noqa: F841
            return exercise.check(*answers)

        check.__name__ = check.__qualname__ = f"check_{name}"
        check.__doc__ = f"Check exercise {exercise.label}: PASS, or a CheckFailed that says what to fix."
        check.exercise = exercise
        return check


def find_exercise(exercise_id: str) -> Exercise:
    """A declared exercise by its number, importing its lab's probes if needed."""
    import importlib

    lab = registry.lab_of(exercise_id)
    importlib.import_module(f"labhelpers.probes.{registry.MODULES[lab]}")
    return LABS[lab].exercises[exercise_id]


# ---------------------------------------------------------------- progress and status


def progress_path() -> Path:
    """Where results are kept: $SEQLAB_PROGRESS, else ~/.seqlab/progress.json."""
    default = Path.home() / ".seqlab" / "progress.json"
    return Path(os.environ.get("SEQLAB_PROGRESS", default))


def load_progress(path: Path | None = None) -> dict:
    path = path or progress_path()
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def record(result: Result) -> None:
    """Store one result; a progress file that cannot be written never fails a check."""
    path = progress_path()
    progress = load_progress(path)
    entry = {"status": result.status, "detail": shorten(result.message, 500),
             "last_run": time.strftime("%Y-%m-%d %H:%M")}
    progress.setdefault(result.lab, {})[result.exercise] = entry
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps(progress, indent=1, sort_keys=True).encode())
    except OSError as error:
        print(f"(progress not saved to {path}: {error})", file=sys.stderr)


def status_rows(progress: dict, labs: dict | None = None) -> list[tuple[str, str, str, str]]:
    """(lab, exercise, status, last run) for every exercise of `labhelpers.exercises`."""
    labs = registry.LABS if labs is None else labs
    rows = []
    for number in sorted(labs):
        title, names = labs[number]
        for exercise_id, name in names.items():
            entry = progress.get(number, {}).get(exercise_id, {})
            rows.append((f"{number} {title}", f"{exercise_id} {name}",
                         entry.get("status", NOT_TRIED), entry.get("last_run", "-")))
    return rows


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda row: "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *map(line, rows)])
