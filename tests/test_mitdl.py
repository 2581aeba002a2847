"""mitdeeplearning is reachable for its data and lab1 checks, without its heavy imports."""

import subprocess
import sys

import numpy as np
import pytest

from labhelpers import mitdl


def test_tunes_file_is_there():
    text = mitdl.data_file("irish.abc").read_text()
    assert text.startswith("X:") and text.count("\nX:") > 800


def test_lab1_loads_without_torch_cv2_or_openai():
    code = ("import sys; from labhelpers import mitdl; mitdl.lab1(); "
            "print(sorted(m for m in ('torch', 'cv2', 'openai', 'datasets', 'mitdeeplearning') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_lab1_batch_checks_judge_a_batch_function():
    """The hook Lab 03 uses: mitdeeplearning's own three get_batch tests."""
    lab1 = mitdl.lab1()

    def shifted_batch(data, seq_length, batch_size):
        starts = np.random.choice(len(data) - seq_length - 1, batch_size)
        x = np.array([data[s:s + seq_length] for s in starts])
        y = np.array([data[s + 1:s + seq_length + 1] for s in starts])
        return x, y

    args = (np.arange(1000), 10, 4)
    assert lab1.test_batch_func_types(shifted_batch, args)
    assert lab1.test_batch_func_shapes(shifted_batch, args)
    assert lab1.test_batch_func_next_step(shifted_batch, args)
    with pytest.raises(AssertionError, match="x_{t} must equal y_{t-1}"):
        lab1.test_batch_func_next_step(lambda d, n, b: shifted_batch(d, n, b)[::-1], args)
