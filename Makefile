# seqlab: `make lab` to learn, `make test` to check the course. See README.md.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.seqlab-installed
NB     ?= notebooks
PORT   ?= 8888
DIR    ?= submissions
OUT    ?= grades.csv
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup lab test check release bench status grade clean

setup: $(STAMP)

# Idempotent: reinstalls only when pyproject.toml or the install script changed.
$(STAMP): pyproject.toml tools/install-mitdeeplearning.sh tools/install-sandbox.sh
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "seqlab needs Python 3.10 to 3.12"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e .
	tools/install-mitdeeplearning.sh $(PY)
	tools/install-sandbox.sh
	@touch $(STAMP)
	@echo "seqlab is installed in $(VENV)"

# JupyterLab on notebooks/, printing its URL; --allow-root only where it runs as root (containers).
lab: setup
	$(VENV)/bin/jupyter lab --no-browser --ServerApp.root_dir=notebooks --ServerApp.port=$(PORT) \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

test: setup
	LAB_QUICK=1 SEQLAB_PROGRESS=$(CURDIR)/.seqlab/test-progress.json \
	  $(PY) -m pytest tests solutions --nbval-lax --nbval-current-env --nbval-cell-timeout=900 -v -rs --durations=15

check: setup
	@LAB_QUICK=1 $(PY) -m pytest $(NB) --nbval-lax --nbval-current-env --nbval-cell-timeout=900 -q --tb=no -p no:warnings; \
	  status=$$?; $(PY) -m labhelpers status; exit $$status

status: setup
	@$(PY) -m labhelpers status

release: setup
	$(PY) -m labhelpers release
	$(PY) -m labhelpers release --check

# Grades DIR/<student>/*.ipynb. Student code runs in a bubblewrap sandbox (tools/install-sandbox.sh).
grade: setup
	$(PY) -m labhelpers grade $(DIR) --out $(OUT)

bench: setup
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf dist .seqlab .pytest_cache
