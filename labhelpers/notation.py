"""Tunes as sheet music you can play, in the notebook and offline.

`show(abc)` returns a TuneView: abcjs (vendored in labhelpers/static, MIT licence, so nothing is
fetched) engraves the tune, a play button plays the course's own synthesised WAV
(labhelpers/tunes.py), and the note being played is highlighted. Its verdict is `tunes.check_abc`,
the lab's one validity rule. While the kernel works on a new tune, `busy` says so above the dimmed old
one. It is an anywidget, so one file of JavaScript works in JupyterLab, Notebook 7 and VS Code.
Invalid ABC shows its problems above whatever abcjs could draw; nothing here raises into the
learner's kernel. Exported HTML (nbconvert) has no widget state, so the view also carries an HTML
fallback that engraves the notation with the same abcjs, inlined once per kernel.
"""

from __future__ import annotations

import html
import json
import uuid
from functools import cache
from pathlib import Path

import anywidget
import traitlets

from labhelpers import abctext, tunes

STATIC = Path(__file__).with_name("static")
LIBRARY = "abcjs-basic-min.js"
# abcjs ships as UMD: given `module`, it stores itself in module.exports instead of a global.
MODULE_WRAPPER = ("const ABCJS = (() => {{ const module = {{ exports: {{}} }}; const exports = module.exports;\n"
                  "{}\nreturn module.exports; }})();\n")
CSS = """
.seqlab-tune { font-family: sans-serif; max-width: 980px; }
.seqlab-head { margin: 4px 0; }
.seqlab-problems { background: #fff7e0; border-left: 4px solid #d99a00; padding: 4px 8px; margin: 4px 0;
                   font-size: 90%; white-space: pre-wrap; }
.seqlab-controls { display: flex; gap: 8px; align-items: center; margin: 4px 0; }
.seqlab-controls audio { height: 32px; }
.seqlab-play { padding: 4px 12px; cursor: pointer; }
.seqlab-status { color: #1e40af; font-style: italic; margin: 4px 0; }
.seqlab-busy .seqlab-paper, .seqlab-busy .seqlab-controls, .seqlab-busy .seqlab-problems { opacity: 0.35; }
"""


@cache
def library() -> str:
    """The vendored abcjs, as text."""
    return (STATIC / LIBRARY).read_text()


@cache
def module_source() -> str:
    """The widget's ES module: abcjs, wrapped, then the view."""
    return MODULE_WRAPPER.format(library()) + (STATIC / "tune_view.js").read_text()


def describe(abc: str) -> str:
    """What the reader sees in the ABC: bars and key signature, to compare with the engraving."""
    tune = abctext.read(abc)
    if tune.key is None:
        return "no key (K:) found"
    sign = "#" if tune.key.fifths > 0 else "b"
    signature = f"{abs(tune.key.fifths)}{sign}" if tune.key.fifths else "no sharps or flats"
    return f"{len(tune.bar_lines)} bar lines, {tune.key.name} ({signature})"


def payload(abc: str) -> dict:
    """Everything the view receives: the ABC, title, validity, verdict, problem, WAV bytes, note onsets."""
    verdict = tunes.check_abc(abc)
    data = {"abc": abc, "title": tunes.title(abc), "valid": verdict.valid, "verdict": "", "problem": "",
            "wav": b"", "onsets": []}
    if not verdict.valid:
        data["verdict"] = "not valid ABC: it cannot be played"
        data["problem"] = verdict.reason
        return data
    try:
        events = tunes.note_onsets(abc)
        data["wav"] = tunes.wav_bytes(tunes.synthesize(tunes.notes_of(abc)))
        data["onsets"] = [start for start, _ in events]
    except Exception as error:  # music21 read it once; a second reading should not fail, but never break the kernel
        data["problem"] = f"the sound could not be made ({type(error).__name__}: {str(error)[:80]})"
    data["verdict"] = f"valid ABC, {verdict.notes} notes; {describe(abc)}"
    return data


class TuneView(anywidget.AnyWidget):
    """A tune as notation with a play button; set `abc` (via `update`) to show another."""

    _esm = traitlets.Unicode(module_source()).tag(sync=True)
    _css = traitlets.Unicode(CSS).tag(sync=True)
    abc = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    valid = traitlets.Bool(False).tag(sync=True)
    verdict = traitlets.Unicode("").tag(sync=True)
    problem = traitlets.Unicode("").tag(sync=True)
    wav = traitlets.Bytes(b"").tag(sync=True)
    onsets = traitlets.List(traitlets.Float()).tag(sync=True)
    rendered = traitlets.Dict().tag(sync=True)  # written by the browser: bars, notes, fifths, warnings
    busy = traitlets.Unicode("").tag(sync=True)  # what is under way ("" when idle), shown over the dimmed tune

    def update(self, abc: str) -> None:
        """Show another tune; "rendering..." shows (sent at once) while its sound and notes are made."""
        self.busy = "rendering the tune..."
        data = payload(abc)
        with self.hold_sync():
            self.set_trait("rendered", {})
            for name, value in data.items():
                setattr(self, name, value)
            self.busy = ""

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle:
            bundle[0]["text/html"] = static_html(self.abc, f"{self.title}: {self.verdict}", self.problem)
        return bundle


_library_sent = False


def static_html(abc: str, caption: str, problem: str = "") -> str:
    """The notation for exported HTML: the ABC engraved by abcjs in the page, or shown as text."""
    global _library_sent
    target = f"seqlab-{uuid.uuid4().hex}"
    library_tag = "" if _library_sent else f"<style>{CSS}</style><script>{library()}</script>\n"
    _library_sent = True
    note = f'<div class="seqlab-problems">Problems: {html.escape(problem)}</div>' if problem else ""
    return (f'{library_tag}<div class="seqlab-tune"><div><b>{html.escape(caption)}</b></div>{note}'
            f'<div id="{target}"><pre>{html.escape(abc)}</pre></div></div>\n'
            f"<script>if (window.ABCJS) ABCJS.renderAbc({json.dumps(target)}, {_script_safe(abc)}, "
            '{responsive: "resize"});</script>')


def _script_safe(text: str) -> str:
    """A JSON string literal that cannot close the <script> it sits in."""
    return json.dumps(text).replace("</", "<\\/")


def show(abc: str) -> TuneView:
    """A tune, from the training set or generated, as notation with a play button."""
    view = TuneView()
    view.update(abc)
    return view
