#!/usr/bin/env bash
# Install mitdeeplearning 0.7.5 (Lab 03's tunes and batch checks) into PYTHON's environment.
# The workaround (why it cannot be a plain dependency, and how it is built) lives in one place,
# labhelpers/install.py, which `python -m labhelpers setup` and Colab's setup cell also use; this
# script only calls it, for conda users and anyone used to it.
# Usage: tools/install-mitdeeplearning.sh [PYTHON]   (default: python3 on PATH)
set -euo pipefail
python="${1:-python3}"
cd "$(dirname "$0")/.."
exec "$python" -m labhelpers.install mitdeeplearning
