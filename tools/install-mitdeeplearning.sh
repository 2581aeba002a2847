#!/usr/bin/env bash
# Install mitdeeplearning 0.7.5 for its data (irish.abc) and its lab1 batch checks only.
#
# Why this script exists (keep the workaround here and in labhelpers/mitdl.py, nowhere else):
# - 0.7.5 is an sdist whose setup.py imports pkg_resources, so it does not build with
#   setuptools >= 70: we build it without isolation against setuptools<70.
# - its install_requires pull torch, transformers, datasets, peft, openai, opik and gym
#   (gigabytes the course never uses): we install it with --no-deps.
# - `import mitdeeplearning` imports cv2, h5py, torch, openai and datasets: labhelpers/mitdl.py
#   loads the files it needs without running the package's __init__.
# Usage: tools/install-mitdeeplearning.sh [PYTHON]   (default: python3 on PATH)
set -euo pipefail
python="${1:-python3}"
if "$python" -c "import importlib.util as u, sys; sys.exit(u.find_spec('mitdeeplearning') is None)"; then
  exit 0  # already installed
fi
"$python" -m pip install --quiet "setuptools<70" wheel
"$python" -m pip install --quiet --no-deps --no-build-isolation "mitdeeplearning==0.7.5"
