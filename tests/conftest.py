"""Shared fixtures: keep every test's progress records out of the home folder."""

import os
import re

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def progress_file(tmp_path, monkeypatch):
    """A fresh progress file per test."""
    path = tmp_path / "progress.json"
    monkeypatch.setenv("SEQLAB_PROGRESS", str(path))
    return path


@pytest.fixture
def rejected():
    """rejected(check, answer, exercise) -> the CheckFailed message; fails if the check accepts."""
    from labhelpers.grading import CheckFailed

    def run(check, answer, exercise):
        with pytest.raises(CheckFailed, match=rf"^Exercise {re.escape(exercise)} ") as failure:
            check(answer)
        return str(failure.value)

    return run
