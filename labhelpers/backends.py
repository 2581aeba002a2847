"""Which Keras backend runs the labs: TensorFlow (the default), JAX or PyTorch, all through Keras 3.

The one setting is KERAS_BACKEND, which Keras reads when it is first imported. `make lab BACKEND=torch`
(or `KERAS_BACKEND=torch python -m labhelpers lab`) installs that backend and starts JupyterLab with
it; `python -m labhelpers setup --backend torch` (or `make setup BACKEND=torch`; `all` for the three)
only installs. A TensorFlow learner installs nothing more than the course's dependencies: JAX and
PyTorch are extras, pinned exactly in EXTRAS (a torch range that admits a newer release than the one
tested downloads another build: on Linux, PyPI's torch wheels pull gigabytes of CUDA libraries).
The first cell of a lab prints `banner()`.

Where a notebook records its backend: the notebook metadata `{"seqlab": {"backend": "jax"}}`, which
`python -m labhelpers release` writes into each backend's student notebooks (`mark`). It names the
backend the notebook's backend cells are written for, so it is the one its kernel must run: the
grader reads it (`of_notebook`; none means TensorFlow, as in every notebook written before the
backends) and starts the sandboxed kernel with KERAS_BACKEND set to it. A kernel cannot change its
notebook's metadata, so neither the banner nor an environment variable could record it.

Only the standard library is imported at module level: labhelpers/install.py uses this module in a
bare Python before anything is installed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys

BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT = "tensorflow"
ENV = "KERAS_BACKEND"
# What each backend needs beyond the course's own dependencies (pyproject.toml, which has TensorFlow).
EXTRAS = {"tensorflow": (), "jax": ("jax==0.10.2", "jaxlib==0.10.2"), "torch": ("torch==2.13.0",)}
TITLES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}
METADATA = "seqlab"  # notebook.metadata["seqlab"]["backend"]


def requested(environ=os.environ) -> str:
    """The backend KERAS_BACKEND asks for (tensorflow when unset), as written (maybe not one of BACKENDS)."""
    return environ.get(ENV, "").strip() or DEFAULT


def choose(backend: str | None) -> tuple[str, ...]:
    """The backends `setup --backend` installs: one name, `all`, or None for KERAS_BACKEND's.
    Raises ValueError naming the choices for anything else."""
    name = backend or requested()
    if name == "all":
        return BACKENDS
    if name not in BACKENDS:
        raise ValueError(f"seqlab runs on Keras' {', '.join(BACKENDS)} backends (or `all` to install the three); "
                         f"not on {name!r}" + ("" if backend else f" (from {ENV})"))
    return (name,)


def installed(backend: str) -> bool:
    """Whether the backend's package can be imported here (without importing it)."""
    importlib.invalidate_caches()
    return importlib.util.find_spec(backend) is not None


def name() -> str:
    """The backend Keras runs on in this process (imports Keras)."""
    import keras

    return keras.backend.backend()


def unrolls_eager_loops() -> bool:
    """Whether the checks unroll the Keras RNN layers they call outside a compiled step: on JAX, where such a
    layer traces and compiles its loop (a lax.scan) anew at every call, seconds each time; unrolled over the
    checks' few steps it runs op by op, the same operations in the same order, each compiled once per shape.
    (A jitted step, as in 3.5, keeps its loop: it is compiled once, and compiles faster as a loop.)"""
    return name() == "jax"


def device(backend: str) -> str:
    """CPU or GPU (TPU on JAX): where Keras on `backend` puts tensors by default."""
    if backend == "tensorflow":
        import tensorflow as tf

        return "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    if backend == "jax":
        import jax

        return jax.default_backend().upper()
    if backend == "torch":
        import torch

        return "GPU" if torch.cuda.is_available() or torch.backends.mps.is_available() else "CPU"
    return "CPU"


def banner() -> str:
    """One line for a lab's first cell: 'Keras 3.15.1 on TensorFlow 2.21.0, CPU'."""
    import keras

    backend = keras.backend.backend()
    version = getattr(sys.modules.get(backend), "__version__", "")
    return f"Keras {keras.__version__} on {TITLES.get(backend, backend)} {version}".rstrip() + f", {device(backend)}"


def to_numpy(value):
    """A NumPy array of any backend's tensor or a Keras variable, wherever it lies (GPU) and whatever
    gradient it carries; anything else through np.asarray."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return value
    module = type(value).__module__.split(".")[0]
    if module == "keras" and hasattr(value, "value"):  # a keras.Variable: its backend tensor
        return to_numpy(value.value)
    if module == "torch":
        return np.asarray(value.detach().cpu().numpy())
    if module == "tensorflow":
        if hasattr(value, "indices") and hasattr(value, "dense_shape"):  # IndexedSlices: an Embedding's gradient
            import tensorflow as tf

            value = tf.convert_to_tensor(value)
        return np.asarray(value.numpy())  # a scalar's .numpy() is a NumPy scalar, a string's bytes
    return np.asarray(value)  # JAX arrays, NumPy scalars, lists


def of_notebook(notebook) -> str:
    """The backend a notebook records (its metadata `seqlab.backend`), tensorflow when it records none.
    What it returns comes from the notebook: check it is one of BACKENDS before using it."""
    metadata = notebook.get("metadata") if isinstance(notebook, dict) else None
    entry = metadata.get(METADATA) if isinstance(metadata, dict) else None
    recorded = entry.get("backend") if isinstance(entry, dict) else None
    return recorded if isinstance(recorded, str) and recorded else DEFAULT


def mark(notebook, backend: str) -> None:
    """Record in a notebook's metadata the backend its backend cells are written for (release)."""
    if backend not in BACKENDS:
        raise ValueError(f"not a course backend: {backend!r}")
    notebook.metadata.setdefault(METADATA, {})["backend"] = backend


# ---------------------------------------------------------------- backend cells
# A solution notebook is one source for the three backends. A cell whose code must differ by backend
# (a gradient, a compiled step) is a backend cell: its first line names the backends it is written for,
# `%%backend jax` (code; several names allowed) or `<!-- backend: jax -->` (markdown). Run top to bottom,
# the solution runs each backend cell only on its own backends (the `%%backend` cell magic, registered
# when labhelpers is imported in IPython); `release` writes each backend's student notebooks with only
# its own backend cells, without their first line.
CELL_MAGIC = "backend"
_CODE_MARKER = "%%" + CELL_MAGIC
_MARKDOWN_MARKER = re.compile(r"^<!--\s*backend:\s*([\w ]+?)\s*-->\s*$")


def cell_backends(cell) -> tuple[str, ...] | None:
    """The backends a backend cell is written for, or None for a cell of every backend.
    Raises ValueError for a marker naming no backend or one the course does not have."""
    first = cell.get("source", "").split("\n", 1)[0].strip()
    if cell.get("cell_type") == "code" and (first == _CODE_MARKER or first.startswith(_CODE_MARKER + " ")):
        names = tuple(first[len(_CODE_MARKER):].split())
    elif cell.get("cell_type") == "markdown" and _MARKDOWN_MARKER.match(first):
        names = tuple(_MARKDOWN_MARKER.match(first).group(1).split())
    else:
        return None
    unknown = [n for n in names if n not in BACKENDS]
    if not names or unknown:
        raise ValueError(f"a backend cell names {', '.join(unknown) or 'no backend'}; "
                         f"the course's backends are {', '.join(BACKENDS)}: {first!r}")
    return names


def without_marker(source: str) -> str:
    """A backend cell's source without its first line (the marker)."""
    return source.split("\n", 1)[1] if "\n" in source else ""


def _backend_cell(line: str, cell: str):
    """%%backend NAME...: run the cell only where Keras runs on one of NAME...; elsewhere say so."""
    from IPython import get_ipython

    names = cell_backends({"cell_type": "code", "source": f"{_CODE_MARKER} {line}"})
    running = name()
    if running not in names:
        print(f"(a {' / '.join(TITLES[n] for n in names)} cell: Keras runs on {TITLES.get(running, running)} here, "
              "so it is skipped)")
        return
    get_ipython().run_cell(cell, store_history=False).raise_error()


def register_cell_magic() -> None:
    """Make %%backend available in the running IPython kernel (nothing outside IPython)."""
    shell = sys.modules.get("IPython")
    shell = shell.get_ipython() if shell is not None else None
    if shell is not None:
        shell.register_magic_function(_backend_cell, magic_kind="cell", magic_name=CELL_MAGIC)
