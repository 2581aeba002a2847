# seqlab: `make lab` to learn, `make test` to check the course. See README.md.
# setup, lab, check and status are the learner's targets, in bundle/Makefile (each one a
# `python -m labhelpers ...` command); the course adds the grader's sandbox to setup.
SETUP_SCRIPTS := tools/install-sandbox.sh
include bundle/Makefile
DIR    ?= submissions
OUT    ?= grades.csv

.PHONY: test release bench grade site clean

# CI installs the three Keras backends (about 2 minutes more) and runs the labs on each: the JAX and
# PyTorch runs (tests/test_backend_runs.py: solutions, mutation tables) go beside the rest of the suite,
# their log printed after it, except the few that go with the suite to even out the two parts
# (`beside_suite`, WITH_SUITE in that file); the suite fails if either part fails. Each part's per-test times go to
# .seqlab/*.xml: `python bench/test_times.py` adds them up by file.
BACKEND_RUNS := tests/test_backend_runs.py
test: BACKEND = all
# JAX's persistent compilation cache, kept in .seqlab/: a Keras model's train step is a new jit function
# each time a check builds one, so only this cache, keyed on the compiled program, sees that the mutation
# tables compile the same small models again and again (the JAX table alone here: 633 s without, 548 s with).
test: export JAX_COMPILATION_CACHE_DIR = $(CURDIR)/.seqlab/jax-compilation-cache
test: export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS = 0
test: setup
	@mkdir -p .seqlab
	@LAB_QUICK=1 SEQLAB_PROGRESS=$(CURDIR)/.seqlab/backend-runs-progress.json \
	  $(PY) -m pytest $(BACKEND_RUNS) -m beside_suite -v -rs --durations=10 --junitxml=.seqlab/backend-runs.xml > .seqlab/backend-runs.log 2>&1 & others=$$!; \
	LAB_QUICK=1 SEQLAB_PROGRESS=$(CURDIR)/.seqlab/test-progress.json \
	  $(PY) -m pytest tests solutions -m "not beside_suite" --nbval-lax --nbval-current-env \
	  --nbval-cell-timeout=900 -v -rs --durations=15 --junitxml=.seqlab/suite.xml; suite=$$?; \
	wait $$others; runs=$$?; echo "== $(BACKEND_RUNS), run beside the suite (exit $$runs):"; \
	cat .seqlab/backend-runs.log; test $$suite -eq 0 && test $$runs -eq 0

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
