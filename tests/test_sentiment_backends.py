"""Lab 04 on each Keras backend: the solution's own cells, as that backend's student notebook has them
(release.backend_view), and the lab's text tools read the same words on every backend (the n-gram counts
NgramSets takes from TextVectorization's int output, the ids `predict` reads, the baseline blind to order).

The lab has no backend cells: its models are Keras layers trained by `fit`, its data tf.data pipelines that
`fit` reads on every backend. What differs by backend is below the notebook (how TextVectorization hands
its output over, JAX's compilation), and this is the quick test of it; the whole notebook runs per backend
under nbval, every check included (the suite's own run on TensorFlow, tests/test_backend_runs.py on JAX and
PyTorch). Each backend runs this file as a script in a subprocess with
KERAS_BACKEND set (Keras reads it once, at import), which prints one JSON report.
"""

import ast
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labhelpers import backends

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "04_sentiment.ipynb"
CELLS = ("import os", "QUICK =", "def make_vectorizer(", "def build_lstm_classifier(",
         "def build_bidirectional_classifier(", "def train_with_early_stopping(", "def evaluate_predictions(",
         "def log_count_ratios(")
DEFINITIONS = (ast.Import, ast.ImportFrom, ast.Assign, ast.FunctionDef, ast.ClassDef)


def solution_cells(backend: str) -> list[str]:
    from labhelpers.release import backend_view

    view = backend_view(nbformat.read(SOLUTION, as_version=4), backend, SOLUTION.name)
    return [c.source for c in view.cells if c.cell_type == "code" and c.source.startswith(CELLS)]


def _digest(*arrays) -> str:
    import numpy as np

    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def on_this_backend() -> dict:
    """What the tests check, on the backend KERAS_BACKEND names (run in a subprocess)."""
    os.environ["LAB_QUICK"] = "1"

    import keras
    import numpy as np

    namespace: dict = {}
    for source in solution_cells(keras.backend.backend()):  # imports, parameters and definitions only
        kept = [node for node in ast.parse(source).body if isinstance(node, DEFINITIONS)]
        exec(compile(ast.Module(body=kept, type_ignores=[]), SOLUTION.name, "exec"), namespace)  # noqa: S102
    ns = type("Cells", (), namespace)
    from labhelpers import ngrams, sentiment

    report = {"backend": keras.backend.backend()}

    # the same words, ids and n-gram counts on every backend (texts with accents and emoji among them)
    texts = sentiment.load_reviews("rotten_tomatoes")["train"].texts[:1500]
    sets = ngrams.NgramSets(texts, max_tokens=20_000)
    counts = sets.counts(texts)
    report["ngram vocabulary"] = _digest(np.asarray(sets.vocabulary, dtype=str))
    report["ngram counts"] = _digest(counts.indptr, counts.indices, counts.data)
    report["ratios"] = _digest(np.round(ns.log_count_ratios(counts, sentiment.load_reviews("rotten_tomatoes")
                                                             ["train"].labels[:1500]), 10))
    vectorizer = ns.make_vectorizer(texts, 2_000, 20)
    odd = ["très bien, génial 😍", "A moving, beautifully acted film.", "", "great " * 50]
    report["vocabulary"] = _digest(np.asarray(vectorizer.get_vocabulary(), dtype=str))
    report["ids"] = keras.ops.convert_to_numpy(vectorizer(sentiment.as_str(odd))).tolist()

    # the baseline is blind to order on this backend too; a model gives NumPy back through the lab's tools
    keras.utils.set_random_seed(0)
    baseline = sentiment.build_average_baseline(2_000, 8)
    scores = sentiment.score_texts(baseline, vectorizer, ["not bad, it is good", "not good, it is bad"])
    report["baseline gap"] = float(abs(scores[0] - scores[1]))
    report["predict"] = [sentiment.predict(text, vectorizer, baseline).probability is None for text in odd]
    return report


@pytest.fixture(scope="module")
def reports():
    """on_this_backend()'s report from a subprocess per backend the solution declares (and is installed here)."""
    from labhelpers.release import lab_backends

    found = {}
    for backend in lab_backends(nbformat.read(SOLUTION, as_version=4)):
        if not backends.installed(backend):
            continue
        env = {**os.environ, backends.ENV: backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        if backend == "torch":
            env.setdefault("OMP_NUM_THREADS", "1")
        done = subprocess.run([sys.executable, __file__], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=1500)
        assert done.returncode == 0, (backend, done.stderr[-3000:])
        found[backend] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_the_solution_is_written_for_the_three_backends():
    from labhelpers.release import lab_backends

    assert lab_backends(nbformat.read(SOLUTION, as_version=4)) == backends.BACKENDS


def test_every_backend_reads_the_same_words_and_counts(reports):
    if backends.DEFAULT not in reports or len(reports) < 2:
        pytest.skip("one backend installed: nothing to compare")
    reference = reports[backends.DEFAULT]
    for backend, report in reports.items():
        assert report["backend"] == backend
        for key in ("ngram vocabulary", "ngram counts", "ratios", "vocabulary", "ids", "predict"):
            assert report[key] == reference[key], (backend, key)


def test_the_baseline_is_blind_to_order_on_every_backend(reports):
    for backend, report in reports.items():
        assert report["baseline gap"] < 1e-4, (backend, report["baseline gap"])
        assert report["predict"] == [True, False, True, False], (backend, report["predict"])


if __name__ == "__main__":  # the subprocess of `reports`, on the backend KERAS_BACKEND names
    print(json.dumps(on_this_backend()))
