"""What a learner sees first: no red text on a fresh kernel, and a failed check as one clear box."""

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labhelpers.report import executed_cells

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "solutions").glob("*.ipynb")) + sorted((ROOT / "notebooks").rglob("*.ipynb"))  # each backend
IMPORTS_LABHELPERS = re.compile(r"^\s*(from|import) labhelpers\b", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def learner_env() -> dict:
    """A learner's environment: none of the log settings the test suite itself makes."""
    return {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}


def run_cells(cells, folder: Path) -> list:
    notebook = new_notebook(cells=cells)
    return [cell for _, cell in executed_cells(notebook, learner_env(), folder, timeout=300)]


def red_outputs(cells) -> list[str]:
    """What a notebook shows in red: stderr streams and errors."""
    return [o.get("text") or f"{o.ename}: {o.evalue}" for cell in cells for o in cell.outputs
            if o.output_type == "error" or o.get("name") == "stderr"]


def up_to_labhelpers(path: Path) -> list:
    cells = nbformat.read(path, as_version=4).cells
    last = next(i for i, c in enumerate(cells) if c.cell_type == "code" and IMPORTS_LABHELPERS.search(c.source))
    return cells[: last + 1]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_first_cells_write_nothing_to_stderr(path):
    assert red_outputs(run_cells(up_to_labhelpers(path), path.parent)) == []


def test_tensorflow_started_late_still_shows_its_warnings_and_errors(tmp_path):
    """Only absl's early INFO lines are dropped: a C-level warning written while TensorFlow loads is kept."""
    cells = run_cells([new_code_cell("import labhelpers, os\nfrom labhelpers import startup_noise_dropped\n"
                                     "with startup_noise_dropped():\n"
                                     "    os.write(2, b'I0000 00:00:12.5   7 port.cc:1] info\\n')\n"
                                     "    os.write(2, b'E0000 00:00:12.5   7 port.cc:2] a real error\\n')\n"
                                     "    os.write(2, b'my own message\\n')")], tmp_path)
    assert "".join(red_outputs(cells)) == "E0000 00:00:12.5   7 port.cc:2] a real error\nmy own message\n"


def test_a_lookup_of_tensorflow_leaves_its_quiet_start_armed():
    """PyTorch asks importlib.util.find_spec("tensorflow") without importing it; the import after still starts quietly."""
    code = ("import importlib.util, labhelpers\nassert importlib.util.find_spec('tensorflow')\n"
            "import tensorflow as tf\ntf.constant(1)")
    run = subprocess.run([sys.executable, "-c", code], env=learner_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stderr == ""


def traceback_text(cell) -> str:
    (error,) = [o for o in cell.outputs if o.output_type == "error"]
    return ANSI.sub("", "\n".join(error.traceback))


def test_a_failed_check_renders_as_one_box_without_labhelpers_source(tmp_path):
    wrong = "def rnn_step(x, h, W_xh, W_hh, W_hy, b):\n    h = W_hh @ h + W_xh @ x + b\n    return W_hy @ h, h\n"
    broken = "def rnn_step(x, h, W_xh, W_hh, W_hy, b):\n    return undefined_name\n"
    cells = run_cells([new_code_cell("from labhelpers import rnn"),
                       new_code_cell(wrong + "rnn.check_rnn_step(rnn_step)"),
                       new_code_cell(broken + "rnn.check_rnn_step(rnn_step)")], tmp_path)
    for cell in cells[1:]:
        shown = traceback_text(cell)
        assert "labhelpers" not in shown and "raise " not in shown and "File " not in shown, shown
        assert "Exercise 1.2 rnn_step" in shown and "Hint:" in shown, shown
    wrong_answer = traceback_text(cells[1])
    assert all(word in wrong_answer for word in ("Expected:", "Found:", "tanh")), wrong_answer
    broken_answer = traceback_text(cells[2])
    assert "NameError" in broken_answer and "undefined_name" in broken_answer and "line 2 of your cell" in broken_answer


@pytest.mark.parametrize("driver", [False, True])
def test_the_cuinit_error_is_dropped_only_where_no_nvidia_driver_is_installed(monkeypatch, driver):
    import labhelpers

    monkeypatch.setattr(labhelpers.os.path, "exists", lambda path: driver and path == "/proc/driver/nvidia")
    line = "E0000 00:00:1795981842.909943    6049 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n"
    assert labhelpers._noise(line) is not driver
    assert not labhelpers._noise("E0000 00:00:1795981842.909943    6049 other.cc:52] failed call to cuInit: x\n")


def test_onednn_fallback_notice_is_dropped_and_other_errors_kept():
    import labhelpers

    notice = ("E0000 00:00:1795994855.007180   14413 util.cc:131] oneDNN supports DT_BOOL only on platforms with "
              "AVX-512. Falling back to the default Eigen-based implementation if present.\n")
    assert labhelpers._noise(notice)
    assert not labhelpers._noise("E0000 00:00:1795994855.007180   14413 util.cc:131] oneDNN failed to run op\n")


@pytest.mark.skipif(os.path.exists("/proc/driver/nvidia"), reason="the notice is met at start only without a driver")
def test_masked_lstm_and_integer_ops_write_nothing_to_stderr_after_the_start():
    """The notice oneDNN prints at the first integer or boolean op (Labs 03 to 05) comes, dropped, at start."""
    code = ("import labhelpers, keras, numpy as np, tensorflow as tf\n"
            "model = keras.Sequential([keras.layers.Embedding(10, 4, mask_zero=True), keras.layers.LSTM(4)])\n"
            "model.predict(np.array([[1, 2, 0]]), verbose=0)\n"
            "tf.function(tf.transpose)(tf.zeros((2, 3), tf.int32))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert run.returncode == 0 and run.stderr == "", run.stderr
