"""Shared fixtures: keep every test's progress records out of the home folder."""

import os
import re

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_configure(config):
    config.addinivalue_line("markers", "sweep: a few grading seeds of the seed sweep (bench/seed_sweep.py runs it "
                            "in full); `-m 'not sweep'` leaves them out")
    config.addinivalue_line("markers", "beside_suite: `make test` runs it beside the suite, on the other core "
                            "(tests/test_backend_runs.py)")


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


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The tiny two-lab course of test_gradebook.py, written once per test module."""
    from test_gradebook import write_course

    return write_course(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="module")
def labs(course):
    """The tiny course's labs, by name."""
    from labhelpers import submissions

    return {lab.name: lab for lab in submissions.load_labs(course / "solutions")}
