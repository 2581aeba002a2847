"""Lab 01, RNN from scratch: its corpus, its tokenizer, its pictures, and the checks its notebook calls.

The checks themselves live in labhelpers/probes/rnn.py (what runs with your code) and
labhelpers/judges/rnn/ (what decides).
"""

from __future__ import annotations

import re

from labhelpers.probes.rnn import (  # noqa: F401 (the notebook calls rnn.check_...)
    check_build_vocabulary,
    check_my_rnn_cell,
    check_next_word_model,
    check_one_hot,
    check_rnn_step,
    check_unrolled_loss,
)

TOKEN = re.compile(r"[a-z']+")

# A small corpus for next-word prediction: the pet decides how the sentence ends, so the
# model has to remember a word three steps back ("cat ... for a" -> "walk").
CORPUS = [
    "this morning i took my cat for a walk",
    "this evening i took my dog for a run",
    "yesterday she took her cat for a walk",
    "yesterday he took his dog for a run",
    "every day we take our cat for a walk",
    "every day they take their dog for a run",
    "this morning i fed my cat and my dog",
    "the cat likes a slow walk in the park",
    "the dog likes a fast run in the park",
    "my cat sleeps all afternoon",
    "my dog barks at the mailman",
    "i took my cat to the vet this morning",
    "she took her dog to the beach this evening",
]


def tokenize(sentence: str) -> list[str]:
    """Lower-case words of a sentence, punctuation dropped."""
    return TOKEN.findall(sentence.lower())


# ---------------------------------------------------------------- pictures
def draw_unrolled(ax=None, steps: int = 4):
    """The RNN unrolled through time, with the symbols of the formulas: x_t, h_t, y-hat_t, L_t, W's."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(2.3 * steps + 1.5, 4.6))[1]
    box = dict(boxstyle="round,pad=0.35", fc="#dbeafe", ec="#1e40af")
    arrow = dict(arrowstyle="->", color="#334155", lw=1.3)
    for t in range(steps):
        x0, name = 2.2 * t, f"{t + 1}" if t < steps - 1 else "T"
        ax.annotate("", (x0, 1.55), (x0, 0.55), arrowprops=arrow)
        ax.annotate("", (x0, 3.0), (x0, 2.15), arrowprops=arrow)
        ax.annotate("", (x0, 4.0), (x0, 3.4), arrowprops=arrow)
        ax.text(x0, 0.35, f"$x_{{{name}}}$", ha="center", fontsize=13)
        ax.text(x0, 1.85, f"$h_{{{name}}}$", ha="center", va="center", fontsize=13, bbox=box)
        ax.text(x0, 3.2, f"$\\hat y_{{{name}}}$", ha="center", va="center", fontsize=13)
        ax.text(x0, 4.2, f"$L_{{{name}}}$", ha="center", fontsize=12, color="#b91c1c")
        ax.text(x0 + 0.1, 1.0, "$W_{xh}$", fontsize=10, color="#1e40af")
        ax.text(x0 + 0.1, 2.5, "$W_{hy}$", fontsize=10, color="#1e40af")
        if t < steps - 1:
            ax.annotate("", (x0 + 1.75, 1.85), (x0 + 0.45, 1.85), arrowprops=arrow)
            ax.text(x0 + 1.1, 2.0, "$W_{hh}$", ha="center", fontsize=10, color="#1e40af")
    ax.text(-1.4, 1.85, "$h_0 = 0$", va="center", fontsize=11)
    ax.annotate("", (-0.45, 1.85), (-0.6, 1.85), arrowprops=arrow)
    ax.text(1.1 * (steps - 1), 4.9, r"$L = \sum_t L_t$" + "  (the same $W_{xh}, W_{hh}, W_{hy}$ at every step)",
            ha="center", fontsize=12, color="#b91c1c")
    ax.set_xlim(-1.6, 2.2 * steps - 1.2)
    ax.set_ylim(0, 5.3)
    ax.set_title("An RNN unrolled through time: one cell, applied at every step")
    ax.axis("off")
    return ax


def draw_sequence_problems():
    """Many-to-one, one-to-many and many-to-many, drawn as unrolled chains."""
    import matplotlib.pyplot as plt

    patterns = {
        "many-to-one\n(review -> sentiment)": ([1, 1, 1, 1], [0, 0, 0, 1]),
        "one-to-many\n(image -> caption)": ([1, 0, 0, 0], [1, 1, 1, 1]),
        "many-to-many\n(sentence -> translation)": ([1, 1, 1, 0, 0], [0, 0, 0, 1, 1]),
    }
    fig, axes = plt.subplots(1, 3, figsize=(13, 3))
    for ax, (title, (inputs, outputs)) in zip(axes, patterns.items()):
        for t, (has_in, has_out) in enumerate(zip(inputs, outputs)):
            ax.add_patch(plt.Rectangle((t - 0.3, 0.8), 0.6, 0.6, fc="#dbeafe", ec="#1e40af"))
            if t:
                ax.annotate("", (t - 0.3, 1.1), (t - 0.7, 1.1), arrowprops=dict(arrowstyle="->"))
            if has_in:
                ax.add_patch(plt.Rectangle((t - 0.2, 0.0), 0.4, 0.4, fc="#fde68a", ec="#92400e"))
                ax.annotate("", (t, 0.8), (t, 0.4), arrowprops=dict(arrowstyle="->"))
            if has_out:
                ax.add_patch(plt.Rectangle((t - 0.2, 1.8), 0.4, 0.4, fc="#bbf7d0", ec="#166534"))
                ax.annotate("", (t, 1.8), (t, 1.4), arrowprops=dict(arrowstyle="->"))
        ax.set_xlim(-0.6, len(inputs) - 0.4)
        ax.set_ylim(-0.1, 2.3)
        ax.set_title(title)
        ax.axis("off")
    fig.suptitle("Sequence problems: inputs (yellow) -> RNN steps (blue) -> outputs (green)")
    fig.tight_layout()
    return fig
