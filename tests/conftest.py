"""Shared fixtures: keep every test's progress records out of the home folder."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def progress_file(tmp_path, monkeypatch):
    """A fresh progress file per test."""
    path = tmp_path / "progress.json"
    monkeypatch.setenv("SEQLAB_PROGRESS", str(path))
    return path
