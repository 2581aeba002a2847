"""Every lab on every other backend it is written for (JAX, PyTorch): the solution notebook runs top to
bottom in quick mode, as `KERAS_BACKEND=jax pytest --nbval-lax solutions/` runs it, and the mutation
tables' rows written for that backend are rejected and accepted as on TensorFlow. Keras reads the
backend once per process, so each runs in a subprocess. TensorFlow's runs are the suite's own
(`pytest solutions --nbval-lax`, tests/test_mutations.py); the student notebooks of every backend are
tests/test_student_notebooks.py's."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labhelpers import backends
from labhelpers.release import lab_backends

ROOT = Path(__file__).resolve().parent.parent
OTHERS = [b for b in backends.BACKENDS if b != backends.DEFAULT]
RUNS = [(backend, path) for path in sorted((ROOT / "solutions").glob("*.ipynb"))
        for backend in lab_backends(nbformat.read(path, as_version=4)) if backend in OTHERS]
# `make test` runs these beside the suite (`-m beside_suite`), the two sharing the two cores, except the runs
# named here, which go with the suite so that both parts take about as long (bench/test_times.py prints them).
WITH_SUITE = {"jax-01_rnn_from_scratch", "torch"}


def lane(*values, name: str):
    """A parameter of a backend run, marked to run beside the suite unless WITH_SUITE names it."""
    return pytest.param(*values, id=name, marks=() if name in WITH_SUITE else pytest.mark.beside_suite)


def pytest_on(backend: str, *arguments: str, timeout: int,
              extra_env: dict | None = None) -> subprocess.CompletedProcess:
    """pytest in a subprocess whose Keras runs on `backend`, in quick mode, with `extra_env` set too."""
    if not backends.installed(backend):
        pytest.skip(f"{backend} is not installed: `python -m labhelpers setup --backend {backend}`")
    env = {**os.environ, backends.ENV: backend, "LAB_QUICK": "1", **(extra_env or {})}
    if backend == "torch":
        env.setdefault("OMP_NUM_THREADS", "1")  # beside the suite on two cores, PyTorch's threads would fight it
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("backend, path", [lane(b, p, name=f"{b}-{p.stem}") for b, p in RUNS])
def test_the_solution_runs_on_the_backend(backend, path):
    done = pytest_on(backend, "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=900",
                     str(path.relative_to(ROOT)), timeout=3000)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


# The JAX table calls the checks eagerly, so XLA compiles thousands of one-operation programs (a slice at
# each step, an add per shape), each once. With LLVM's optimisation off they compile in half the time: the
# table took 454 s instead of 548 s here. Their results may differ in the last bit, far below the checks'
# tolerances; the solutions' runs, the student notebooks and the grader keep XLA's default (it trains
# faster, and the notebooks' figures were measured with it).
QUICK_COMPILES = {"jax": {"XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} --xla_backend_optimization_level=0".strip()}}


@pytest.mark.parametrize("backend", [lane(b, name=b) for b in OTHERS])
def test_the_mutation_tables_hold_on_the_backend(backend):
    done = pytest_on(backend, "tests/test_mutations.py", timeout=3000, extra_env=QUICK_COMPILES.get(backend))
    assert done.returncode in (0, 5), done.stdout[-6000:] + done.stderr[-2000:]  # 5: no row for it yet
