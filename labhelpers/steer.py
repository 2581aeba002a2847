"""Steer the sampler: a temperature slider, a seed text and a "generate" button over a TuneView.

Each click samples one text with `generate(start_string, length, temperature)`, keeps its first
tune, and shows its notation and sound, whether it is valid ABC (`tunes.check_abc`, through the
view), its nearest training tune, and how long the click took. A click takes seconds, so the status
line and the view say what is under way before the work starts. Errors (a seed with unknown characters, a broken model) are shown in the
panel; they never reach the kernel.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import ipywidgets as widgets

from labhelpers import notation, tunes
from labhelpers.music import first_song


class SamplerPanel(widgets.VBox):
    """Controls, a status line and a TuneView; `click()` does what the button does."""

    def __init__(self, generate: Callable[[str, int, float], str], training_songs: list[str],
                 start: str = "X:", length: int = 600, temperature: float = 0.8):
        self.generate = generate
        self.index = tunes.NoveltyIndex(training_songs)
        label = {"description_width": "90px"}  # room for "temperature"
        self.temperature = widgets.FloatSlider(temperature, min=0.1, max=2.0, step=0.05, description="temperature",
                                               readout_format=".2f", style=label)
        self.start = widgets.Textarea(start, description="seed text", layout=widgets.Layout(width="420px"))
        self.length = widgets.IntSlider(length, min=100, max=1500, step=50, description="characters", style=label)
        self.button = widgets.Button(description="generate", button_style="primary", icon="music")
        self.status = widgets.HTML()
        self.view = notation.TuneView()
        self.button.on_click(lambda _: self.click())
        controls = widgets.HBox([widgets.VBox([self.temperature, self.length, self.button]), self.start])
        super().__init__([controls, self.status, self.view])

    def click(self) -> dict:
        """Sample and show one tune; returns what was shown and how long it took (seconds)."""
        began = time.perf_counter()
        self.button.disabled = True
        self.status.value = (f"<i>sampling {self.length.value} characters at temperature "
                             f"{self.temperature.value:.2f}...</i>")
        self.view.busy = "sampling a new tune..."
        try:
            text = self.generate(self.start.value, self.length.value, self.temperature.value)
        except Exception as error:  # a seed with unseen characters, a broken model: say so, keep the kernel
            self.status.value = f"<b>Could not sample:</b> {type(error).__name__}: {str(error)[:200]}"
            self.view.busy = ""
            return {"error": f"{type(error).__name__}: {error}"}
        finally:
            self.button.disabled = False
        sampled = time.perf_counter()
        song, _ = first_song(text)
        self.view.update(song)
        nearest = self.index.report(song)
        result = {"song": song, "valid": self.view.valid, "nearest": nearest,
                  "sample_seconds": sampled - began, "seconds": time.perf_counter() - began}
        self.status.value = status_line(result, self.temperature.value)
        return result


def status_line(result: dict, temperature: float) -> str:
    """One line: validity, nearest training tune, and timing."""
    nearest = result["nearest"]
    copy = (f"nearest training tune <i>{nearest['nearest_title']}</i>: {nearest['seen_ngrams']:.0%} of its 8-character "
            f"runs occur in training tunes, longest shared run {nearest['longest_common']} characters"
            if nearest["nearest"] is not None else "no 8-character run in common with any training tune")
    verdict = "valid ABC" if result["valid"] else "not valid ABC"
    return (f"temperature {temperature:.2f}: <b>{verdict}</b>; {copy}. Sampled in {result['sample_seconds']:.1f} s, "
            f"shown in {result['seconds']:.1f} s.")
