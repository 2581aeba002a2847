"""Screenshot Lab 03's sheet music in JupyterLab, offline, and check it against the ABC.

    .venv/bin/python tools/notation_shot.py notation.png [--fallback fallback.png]

Starts JupyterLab and headless Chromium (with tools/jupyterlab_shot.py), opens the student
notebook of Lab 03, runs it to its first `notation.show(...)` cell, waits for abcjs to engrave the
tune, presses the view's play button and, a second later, saves a PNG with the playing note lit.
It prints a JSON summary and exits 1 unless the engraving has as many bar lines and the same key
signature as our reader finds in the ABC, a note was highlighted while the audio played, and the page
loaded nothing from beyond this machine.
--fallback also opens the HTML that exported notebooks carry (notation.static_html) as a file,
with no server, and saves a second PNG once abcjs has drawn it there.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import jupyterlab_shot as shot

ROOT = shot.ROOT
sys.path.insert(0, str(ROOT))
NOTEBOOK = ROOT / "notebooks" / "03_music_generation.ipynb"
CELL = "notation.show(songs[0])"
HIGHLIGHT = "#dc6b00"  # the colour tune_view.js lights the playing note with

VIEW_JS = """(() => {
  const view = document.querySelector('.seqlab-tune[data-rendered]');
  if (!view) return null;
  const button = view.querySelector('.seqlab-play').getBoundingClientRect();
  return {rendered: JSON.parse(view.dataset.rendered), verdict: view.querySelector('.seqlab-head').textContent,
          button: [button.x + button.width / 2, button.y + button.height / 2]};
})()"""
EXTERNAL_JS = """performance.getEntriesByType('resource').map(e => e.name)
  .filter(url => !/^(data:|blob:|https?:\\/\\/(127\\.0\\.0\\.1|localhost)[:\\/])/.test(url))"""
PLAYING_JS = """(() => {
  const view = document.querySelector('.seqlab-tune[data-rendered]');
  const audio = view.querySelector('audio');
  return {seconds: audio.currentTime, paused: audio.paused,
          lit: view.querySelectorAll('[fill="%s"], [stroke="%s"]').length};
})()""" % (HIGHLIGHT, HIGHLIGHT)


def expected_reading() -> dict:
    """Bar lines and key signature of the notebook's first tune, as our ABC reader finds them."""
    from labhelpers import abctext, music

    tune = abctext.read(music.load_songs()[0])
    return {"bars": len(tune.bar_lines), "fifths": tune.key.fifths}


def click(page: shot.Page, x: float, y: float) -> None:
    for kind in ("mousePressed", "mouseReleased"):
        page.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)


def save(page: shot.Page, png: Path) -> None:
    png.write_bytes(base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"]))


def notebook_shot(png: Path, env: dict, timeout: float) -> dict:
    relative = NOTEBOOK.relative_to(ROOT).as_posix()
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="notation-shot-")))
        base, token = shot.start_lab(stack, scratch, ROOT, env)
        page = shot.open_page(stack, scratch, (1400, 1000))
        page.call("Page.navigate", url=f"{base}/lab?reset&token={token}")  # as jupyterlab_shot.shoot does
        shot.wait_for(lambda: page.evaluate(shot.APP_JS), 120, "JupyterLab in the browser")
        page.evaluate(shot.OPEN_JS % {"path": json.dumps(relative)})
        shot.wait_for(lambda: page.evaluate(shot.READY_JS), timeout, "the notebook's kernel")
        summary = page.evaluate(shot.RUN_JS % {"text": json.dumps(CELL), "run": "true"})
        view = shot.wait_for(lambda: page.evaluate(VIEW_JS), 60, "abcjs to engrave the tune")
        click(page, *view["button"])
        time.sleep(1.2)
        playing = page.evaluate(PLAYING_JS)
        save(page, png)
        external = page.evaluate(EXTERNAL_JS)
    return {"png": str(png), "cell": summary.get("cell"), "red": summary.get("red"), **view, "playing": playing,
            "fetched_from_outside": external}


def fallback_shot(png: Path) -> dict:
    """The exported-HTML fallback, opened as a file: abcjs must draw it with no server."""
    from labhelpers import music, notation, tunes

    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="notation-html-")))
        page_file = scratch / "tune.html"
        song = music.load_songs()[0]
        page_file.write_text(f"<html><body>{notation.static_html(song, tunes.title(song))}</body></html>")
        page = shot.open_page(stack, scratch, (1100, 700))
        page.call("Page.navigate", url=page_file.as_uri())
        svgs = shot.wait_for(lambda: page.evaluate("document.querySelectorAll('.seqlab-tune svg').length"), 30,
                             "abcjs in the exported HTML")
        save(page, png)
    return {"png": str(png), "svg": svgs}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("png", type=Path)
    parser.add_argument("--fallback", type=Path, help="also screenshot the exported-HTML fallback here")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for the kernel and the run")
    args = parser.parse_args(argv)
    summary = {"expected": expected_reading(),
               "jupyterlab": notebook_shot(args.png, shot.kernel_env(["TF_CPP_MIN_LOG_LEVEL=3"]), args.timeout)}
    if args.fallback:
        summary["fallback"] = fallback_shot(args.fallback)
    rendered, playing = summary["jupyterlab"]["rendered"], summary["jupyterlab"]["playing"]
    checks = {"bars match": rendered["bars"] == summary["expected"]["bars"],
              "key signature matches": rendered["fifths"] == summary["expected"]["fifths"],
              "a note lit while playing": playing["lit"] > 0 and playing["seconds"] > 0,
              "fallback drawn": not args.fallback or summary["fallback"]["svg"] > 0,
              "nothing fetched from outside": not summary["jupyterlab"]["fetched_from_outside"]}
    summary["checks"] = checks
    print(json.dumps(summary, indent=1))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
