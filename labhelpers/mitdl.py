"""Reach into the mitdeeplearning package without running its __init__.

`import mitdeeplearning` imports cv2, h5py, torch, openai and datasets, none of which the
course installs (see labhelpers/install.py for why). We only need its data files
and its `lab1` module, so we locate the package and load `lab1.py` on its own.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

INSTALL_HINT = "run `python -m labhelpers setup` (or `make setup`; in Colab, the notebook's first code cell)."


def package_dir() -> Path:
    """The installed mitdeeplearning folder, found without importing the package."""
    spec = importlib.util.find_spec("mitdeeplearning")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"mitdeeplearning is not installed: {INSTALL_HINT}")
    return Path(list(spec.submodule_search_locations)[0])


def data_file(name: str) -> Path:
    """A file from mitdeeplearning's data folder, e.g. data_file('irish.abc')."""
    return package_dir() / "data" / name


@lru_cache(maxsize=None)
def lab1():
    """mitdeeplearning.lab1 (its song helpers and get_batch tests), loaded on its own."""
    spec = importlib.util.spec_from_file_location("mitdeeplearning_lab1", package_dir() / "lab1.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
