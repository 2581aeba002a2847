# seqlab: `make lab` to learn, `make test` to check the course. See README.md.
# setup, lab, check and status are the learner's targets, in bundle/Makefile (each one a
# `python -m labhelpers ...` command); the course adds the grader's sandbox to setup.
SETUP_SCRIPTS := tools/install-sandbox.sh
include bundle/Makefile
DIR    ?= submissions
OUT    ?= grades.csv

.PHONY: test release bench grade site clean

# CI installs the three Keras backends (about 2 minutes more), so tests/test_backends.py runs on each.
test: BACKEND = all
test: setup
	LAB_QUICK=1 SEQLAB_PROGRESS=$(CURDIR)/.seqlab/test-progress.json \
	  $(PY) -m pytest tests solutions --nbval-lax --nbval-current-env --nbval-cell-timeout=900 -v -rs --durations=15

release: setup
	$(PY) -m labhelpers release
	$(PY) -m labhelpers release --check

# Grades DIR/<student>/*.ipynb. Student code runs in a bubblewrap sandbox (tools/install-sandbox.sh).
grade: setup
	$(PY) -m labhelpers grade $(DIR) --out $(OUT)

# The course website: the solutions executed (quick mode; SITE_FLAGS=--full for the real runs) and
# shown as their student views, built by Jupyter Book in .venv-site into dist/site/_build/html.
site: setup
	$(PY) -m labhelpers site $(SITE_FLAGS)

bench: setup
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf dist .seqlab .pytest_cache .venv-site
