"""The tune view's Python side: the payload the browser receives, the error path, the HTML fallback,
the "rendering..." status sent before the work; its JavaScript in headless Chromium (where installed);
and (where node is installed) abcjs' reading of training tunes against our own."""

import html
import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from labhelpers import abctext, music, notation, tunes

TUNE = "X:1\nT:Test Reel\nM:C\nL:1/8\nK:D Major\n|:dAFA DFAd|fdcd FAdf|gfge fefd|edcB A4:|"
BROKEN = "X:1\nT:Broken\nK:D\nzz((((|||]]]"


def test_payload_of_a_valid_tune():
    data = notation.payload(TUNE)
    assert data["valid"] and data["problem"] == "" and data["title"] == "Test Reel"
    assert data["verdict"] == "valid ABC, 29 notes; 5 bar lines, D major (2#)"
    assert data["wav"][:4] == b"RIFF" and len(data["wav"]) > 44 + tunes.SAMPLE_RATE
    assert data["onsets"] == sorted(data["onsets"]) and len(data["onsets"]) == 29
    assert data["onsets"][:3] == [0.0, 0.25, 0.5]


def test_payload_of_invalid_abc_names_the_problem_and_has_no_sound():
    data = notation.payload(BROKEN)
    assert not data["valid"] and data["wav"] == b"" and data["onsets"] == []
    assert data["problem"] == "header field(s) M:, L: missing"
    assert data["verdict"] == "not valid ABC: it cannot be played"


def test_a_failing_synthesiser_is_reported_not_raised(monkeypatch):
    def broken(*args):
        raise RuntimeError("no sound today")

    monkeypatch.setattr(tunes, "synthesize", broken)
    data = notation.payload(TUNE)
    assert data["problem"] == "the sound could not be made (RuntimeError: no sound today)" and data["wav"] == b""


def test_the_view_sends_the_payload_and_abcjs():
    view = notation.show(TUNE)
    state = view.get_state()
    assert state["abc"] == TUNE and state["valid"] and state["wav"][:4] == b"RIFF"
    assert len(state["onsets"]) == 29
    assert "abcjs_basic v6.7.2" in state["_esm"] and "export default { render }" in state["_esm"]
    view.update(BROKEN)
    assert view.abc == BROKEN and view.problem and view.wav == b"" and view.rendered == {}


def test_rendering_is_announced_before_the_work_and_cleared_after(monkeypatch):
    """The browser gets busy="rendering..." on its own, before the payload is computed; then the tune
    and busy="" together."""
    view = notation.TuneView()
    sent, computing = [], []
    send_state = view.send_state

    def record(key=None):
        sent.append((set(key) if isinstance(key, (set, list)) else {key}, view.busy))
        return send_state(key)

    def payload(abc):
        computing.append(list(sent))
        return real_payload(abc)

    real_payload = notation.payload
    monkeypatch.setattr(view, "send_state", record)
    monkeypatch.setattr(notation, "payload", payload)
    view.update(TUNE)
    assert computing == [[({"busy"}, "rendering the tune...")]], "busy is sent alone, before the work"
    assert sent[-1][1] == "" and {"busy", "abc", "valid", "verdict", "wav"} <= sent[-1][0]
    assert view.busy == "" and view.valid


def test_mime_bundle_has_the_widget_and_an_html_fallback(monkeypatch):
    monkeypatch.setattr(notation, "_library_sent", False)
    first = notation.show(TUNE)._repr_mimebundle_()[0]
    second = notation.show(BROKEN)._repr_mimebundle_()[0]
    assert "application/vnd.jupyter.widget-view+json" in first
    assert "abcjs_basic v6.7.2" in first["text/html"], "the first view carries abcjs"
    assert "abcjs_basic v6.7.2" not in second["text/html"], "and only the first"
    assert "ABCJS.renderAbc" in second["text/html"]
    assert "Problems: header field(s) M:, L: missing" in second["text/html"]


def test_instructor_html_engraves_the_tune_with_no_network(tmp_path):
    """`release --bundle`'s instructor page carries the notation that abcjs draws in the page."""
    import nbformat

    from labhelpers import release

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"from labhelpers import notation\nnotation.show({TUNE!r})")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "03_tune.ipynb")
    [page] = release._executed_solutions_html(tmp_path, tmp_path / "html", timeout=300)
    html = page.read_text()
    assert '<div class="seqlab-tune">' in html and "valid ABC, 29 notes" in html


def test_html_fallback_cannot_be_closed_by_the_tune(monkeypatch):
    monkeypatch.setattr(notation, "_library_sent", True)
    html = notation.static_html("X:1\nT:</script><b>x\nK:D\nabc", "<caption>")
    assert html.count("</script>") == 1 and html.endswith("</script>")
    assert "<pre>X:1\nT:&lt;/script&gt;&lt;b&gt;x" in html and "<b>&lt;caption&gt;</b>" in html


def test_describe_counts_bar_lines_and_key():
    assert notation.describe(TUNE) == "5 bar lines, D major (2#)"
    assert notation.describe("X:1\nK:Gm\nG2 B2|d4|") == "2 bar lines, G minor (2b)"
    assert notation.describe("X:1\nT:no key\nabc") == "no key (K:) found"


ABCJS_READS = """
const ABCJS = require(process.argv[1]);
const tunes = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(tunes.map((abc) => {
  const tune = ABCJS.parseOnly(abc)[0];
  let bars = 0;
  for (const line of tune.lines) for (const staff of line.staff || []) for (const voice of staff.voices)
    bars += voice.filter((el) => el.el_type === "bar" && el.type !== "bar_invisible").length;
  const acc = tune.getKeySignature().accidentals || [];
  return [bars, acc.length * (acc.length && acc[0].acc === "flat" ? -1 : 1)];
})));
"""


@pytest.mark.skipif(not shutil.which("node"), reason="node is not installed")
def test_abcjs_reads_training_tunes_as_we_do():
    """The notation shows as many bar lines and the same key signature as the ABC says."""
    songs = music.load_songs()
    run = subprocess.run(["node", "-e", ABCJS_READS, str(notation.STATIC / notation.LIBRARY)],
                         input=json.dumps(songs), capture_output=True, text=True, timeout=120, check=True)
    theirs = json.loads(run.stdout)
    ours = [[len(t.bar_lines), t.key.fifths] for t in map(abctext.read, songs)]
    agree = np.mean([a == b for a, b in zip(theirs, ours)])
    assert agree == 1.0, [(s.splitlines()[1], a, b) for s, a, b in zip(songs, theirs, ours) if a != b][:5]


VIEW_PROBE = r"""
function fakeModel(state) {
  const handlers = {};
  return {get: (name) => state[name], set: (name, value) => { state[name] = value; }, save_changes: () => {},
          on: (event, fn) => { (handlers[event] = handlers[event] || []).push(fn); },
          change: (name, value) => { state[name] = value; for (const fn of handlers["change:" + name] || []) fn(); }};
}
const look = (el) => ({status: el.querySelector(".seqlab-status").textContent,
  statusShown: getComputedStyle(el.querySelector(".seqlab-status")).display !== "none",
  paperOpacity: getComputedStyle(el.querySelector(".seqlab-paper")).opacity,
  head: el.querySelector(".seqlab-head").textContent, problems: el.querySelector(".seqlab-problems").textContent});
const out = [];
for (const state of STATES) {
  const el = document.createElement("div");
  document.body.appendChild(el);
  const model = fakeModel({...state, wav: new DataView(new ArrayBuffer(0)), onsets: [], busy: ""});
  render({model, el});
  const steps = [look(el)];
  model.change("busy", "rendering the tune...");
  steps.push(look(el));
  model.change("busy", "");
  steps.push(look(el));
  out.push(steps);
}
document.getElementById("out").textContent = JSON.stringify(out);
"""


def run_view_in_chromium(tmp_path, states: list[dict]) -> list:
    """tune_view.js rendered with a stand-in model in headless Chromium; what it shows at each step."""
    source = notation.module_source() + "\nconst STATES = " + json.dumps(states) + ";\n" + VIEW_PROBE
    page = tmp_path / "view.html"
    page.write_text(f"<html><head><style>{notation.CSS}</style></head><body><pre id='out'>not run</pre>"
                    f"<script type='module'>{source}</script></body></html>")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    run = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'c'}",
                          "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    found = re.search(r"<pre id=\"out\">(.*?)</pre>", run.stdout, re.S)
    assert found and found[1] != "not run", run.stdout[-2000:] + run.stderr[-2000:]
    return json.loads(html.unescape(found[1]))


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")), reason="no chromium")
def test_the_view_shows_busy_over_a_dimmed_tune_and_labels_remarks_of_a_valid_tune(tmp_path):
    remarked = "X:1\nT:t\nM:C\nL:1/8\nK:D\nABcd efga|!wobble!abcd efga|"  # valid; abcjs knows no !wobble!
    payloads = [notation.payload(abc) for abc in (TUNE, BROKEN, remarked)]
    valid_steps, broken_steps, remarked_steps = run_view_in_chromium(
        tmp_path, [{k: data[k] for k in ("abc", "valid", "verdict", "problem")} for data in payloads])
    idle, busy, done = valid_steps
    assert not idle["statusShown"] and idle["paperOpacity"] == "1" and idle["head"] == payloads[0]["verdict"]
    assert busy["statusShown"] and "rendering the tune..." in busy["status"] and float(busy["paperOpacity"]) < 0.5
    assert done == idle
    assert broken_steps[0]["problems"].startswith("Problems: header field(s) M:, L: missing")
    assert payloads[2]["valid"] and remarked_steps[0]["head"].startswith("valid ABC")
    assert remarked_steps[0]["problems"].startswith("Remarks while drawing (the tune is valid): Music Line:6:11: "
                                                    "Unknown decoration: wobble"), remarked_steps[0]["problems"]
