"""A test module's measurements on one Keras backend: the module run as a script in a subprocess with
KERAS_BACKEND set (Keras reads the backend once per process), its last line of output read as JSON."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labhelpers import backends

ROOT = Path(__file__).resolve().parent.parent


def report_on(backend: str, script: str, timeout: int, **env: str) -> dict:
    """The JSON that `script` prints last when run on `backend`; the test is skipped where it is not installed."""
    if not backends.installed(backend):
        pytest.skip(f"Keras' {backend} backend is not installed here: `python -m labhelpers setup --backend {backend}`")
    done = subprocess.run([sys.executable, script], cwd=ROOT, env={**os.environ, backends.ENV: backend, **env},
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
