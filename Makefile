# seqlab: `make lab` to learn, `make test` to check the course. See README.md.
# setup, lab, check and status are the learner's targets, in bundle/Makefile.
SETUP_SCRIPTS := tools/install-mitdeeplearning.sh tools/install-sandbox.sh
include bundle/Makefile
DIR    ?= submissions
OUT    ?= grades.csv

.PHONY: test release bench grade clean

test: setup
	LAB_QUICK=1 SEQLAB_PROGRESS=$(CURDIR)/.seqlab/test-progress.json \
	  $(PY) -m pytest tests solutions --nbval-lax --nbval-current-env --nbval-cell-timeout=900 -v -rs --durations=15

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
