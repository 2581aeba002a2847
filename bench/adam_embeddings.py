"""Why Lab 03's model writes more valid tunes after quick mode's 400 steps on TensorFlow than on JAX or PyTorch.

On TensorFlow an Embedding's gradient is an IndexedSlices, one row per occurrence, and Keras' Adam squares
it occurrence by occurrence, so the embeddings of frequent characters take larger steps
(tests/test_adam_embedding_steps.py). This bench trains Lab 03's model in quick mode four ways: on JAX, on
PyTorch, on TensorFlow as the lab does, and on TensorFlow with the gradient made dense before Adam sees it
(Adam's usual step, as on JAX and PyTorch). Then one sampler, TensorFlow's, writes 100 texts at the lab's
temperature from each set of weights, and the bench prints each model's held-out loss and how many of the
tunes are valid ABC (`tunes.check_abc`, the lab's rule). If the larger steps are the cause, the dense
TensorFlow run lands with JAX and PyTorch. About 15 minutes on a 2-core CPU.
"""

from __future__ import annotations

import os
import sys
import tempfile

import nbformat

from notebook_runs import SOLUTIONS, errors, execute, report_lines

NOTEBOOK = SOLUTIONS / "03_music_generation.ipynb"
TUNES = 100
SPARSE_GRADIENT = "grads = tape.gradient(loss, model.trainable_variables)"
DENSE_GRADIENT = "grads = [tf.convert_to_tensor(g) for g in tape.gradient(loss, model.trainable_variables)]"
SAMPLE_EVERY_MODEL = '''
for label, path in {weights!r}.items():
    model.load_weights(path)
    texts = music.Sampler(model, sampling_step, char2idx, idx2char).sample("X:", {tunes}, GENERATION_LENGTH,
                                                                          TEMPERATURE)
    valid = sum(tunes.check_abc(music.first_song(text)[0]).valid for text in texts)
    loss = music.evaluate(model, val_batches)
    print(f"{{label:<36}} held-out loss {{loss:.3f}}  valid tunes {{valid}} of {{len(texts)}}")
'''


def through_training(notebook, save_to: str, dense: bool = False, sample: dict | None = None) -> None:
    """Keep the lab up to its sampling step, save the trained weights, and sample the saved models if asked."""
    last = next(i for i, cell in enumerate(notebook.cells) if "def sampling_step" in cell.source)
    notebook.cells = notebook.cells[:last + 1]
    if dense:
        cell = next(c for c in notebook.cells
                    if c.source.startswith("%%backend tensorflow") and SPARSE_GRADIENT in c.source)
        cell.source = cell.source.replace(SPARSE_GRADIENT, DENSE_GRADIENT)
    notebook.cells.append(nbformat.v4.new_code_cell(f"model.save_weights({save_to!r})"))
    if sample:
        source = SAMPLE_EVERY_MODEL.format(weights=sample, tunes=TUNES)
        notebook.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": ["report"]}))


def main() -> int:
    folder = tempfile.mkdtemp()
    runs = [("jax", False, "JAX"), ("torch", False, "PyTorch"),
            ("tensorflow", True, "TensorFlow, gradient made dense"), ("tensorflow", False, "TensorFlow, as in the lab")]
    weights = {label: os.path.join(folder, f"{index}.weights.h5") for index, (_, _, label) in enumerate(runs)}
    failures = []
    for index, (backend, dense, label) in enumerate(runs):
        last = index == len(runs) - 1  # TensorFlow as in the lab, whose kernel then samples every model
        run = execute(NOTEBOOK, quick=True, backend=backend, edit=lambda nb: through_training(
            nb, weights[label], dense, weights if last else None))
        failures += [f"{label}: {line}" for line in errors(run.notebook)]
        print(f"trained {label:<36} {run.wall_s:5.0f} s", flush=True)
    print(f"Lab 03, quick mode (400 steps); {TUNES} texts per model at the lab's temperature, sampled on TensorFlow")
    print("\n".join(report_lines(run.notebook)))
    print("\n".join(failures) or "every cell ran")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
