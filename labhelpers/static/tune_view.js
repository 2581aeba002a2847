// The tune view of Lab 03 (an anywidget): abcjs engraves the ABC, an audio element plays the
// course's own synthesised WAV, and the note being played is highlighted. While the kernel works on
// a new tune, `busy` says so above the dimmed old one. ABCJS is defined above this file by
// labhelpers/notation.py, which prepends the vendored abcjs library.

function noteElements(tune) {
  // Sounding notes in the order of the ABC, as Python's onsets list them (rests and graces left out).
  const notes = [];
  for (const line of tune.lines || [])
    for (const staff of line.staff || [])
      for (const voice of staff.voices || [])
        for (const el of voice)
          if (el.el_type === "note" && !el.rest && el.abselem) notes.push(el.abselem);
  return notes;
}

function countBars(tune) {
  let bars = 0;
  for (const line of tune.lines || [])
    for (const staff of line.staff || [])
      for (const voice of staff.voices || [])
        bars += voice.filter((el) => el.el_type === "bar" && el.type !== "bar_invisible").length;
  return bars;
}

function plainText(html) {
  const div = document.createElement("div");
  div.innerHTML = html;
  return div.textContent;
}

function render({ model, el }) {
  el.classList.add("seqlab-tune");
  el.innerHTML = `<div class="seqlab-status"></div><div class="seqlab-head"></div><div class="seqlab-problems"></div>
    <div class="seqlab-controls"><button class="seqlab-play" type="button">&#9654; play</button>
    <audio controls preload="auto"></audio></div><div class="seqlab-paper"></div>`;
  const [status, head, problems, controls, paper] = el.children;
  const button = controls.querySelector("button");
  const audio = controls.querySelector("audio");
  let notes = [], lit = -1, url = null, frame = null;

  function light(index) {
    if (index === lit) return;
    if (lit >= 0 && notes[lit]) notes[lit].unhighlight(undefined, "currentColor");
    if (index >= 0 && notes[index]) notes[index].highlight(undefined, "#dc6b00");
    lit = index;
  }

  function follow() {
    // The last note whose onset has passed is the one sounding.
    const onsets = model.get("onsets"), now = audio.currentTime;
    let index = -1;
    while (index + 1 < onsets.length && onsets[index + 1] <= now) index++;
    light(index);
    frame = audio.paused ? null : requestAnimationFrame(follow);
  }

  function draw() {
    const abc = model.get("abc");
    head.textContent = model.get("verdict");
    let tune = null, found = [];
    paper.innerHTML = "";
    try {
      tune = ABCJS.renderAbc(paper, abc, { add_classes: true, responsive: "resize", paddingleft: 0 })[0];
    } catch (error) {
      found.push("abcjs could not draw it: " + error);
    }
    if (tune && tune.warnings) found = found.concat(tune.warnings.map(plainText));
    if (model.get("problem")) found.unshift(model.get("problem"));
    // A valid tune (tunes.check_abc) may still get remarks from abcjs; they do not make it invalid.
    const label = model.get("valid") ? "Remarks while drawing (the tune is valid): " : "Problems: ";
    problems.textContent = found.length ? label + found.join(" | ") : "";
    problems.style.display = found.length ? "block" : "none";
    notes = tune ? noteElements(tune) : [];
    lit = -1;
    const signature = tune ? tune.getKeySignature() : { accidentals: [] };
    const accidentals = signature.accidentals || [];
    const fifths = accidentals.length * (accidentals.length && accidentals[0].acc === "flat" ? -1 : 1);
    const rendered = { bars: tune ? countBars(tune) : 0, notes: notes.length, fifths: fifths,
                       warnings: found.length, svg: paper.querySelectorAll("svg").length };
    el.dataset.rendered = JSON.stringify(rendered);  // for tools/notation_shot.py
    model.set("rendered", rendered);
    model.save_changes();
  }

  function showBusy() {
    const message = model.get("busy");
    status.textContent = message ? "\u23F3 " + message : "";
    status.style.display = message ? "block" : "none";
    el.classList.toggle("seqlab-busy", Boolean(message));
  }

  function load() {
    if (url) URL.revokeObjectURL(url);
    const wav = model.get("wav");
    const playable = wav && wav.byteLength > 44;
    controls.style.display = playable ? "flex" : "none";
    url = playable ? URL.createObjectURL(new Blob([wav], { type: "audio/wav" })) : null;
    if (url) audio.src = url;
  }

  button.addEventListener("click", () => (audio.paused ? audio.play() : audio.pause()));
  audio.addEventListener("play", () => { button.innerHTML = "&#10074;&#10074; pause"; follow(); });
  audio.addEventListener("pause", () => { button.innerHTML = "&#9654; play"; if (frame) cancelAnimationFrame(frame); });
  audio.addEventListener("seeked", follow);
  audio.addEventListener("ended", () => light(-1));
  for (const name of ["abc", "valid", "verdict", "problem"]) model.on("change:" + name, draw);
  model.on("change:wav", load);
  model.on("change:busy", showBusy);
  showBusy();
  draw();
  load();
  return () => { if (url) URL.revokeObjectURL(url); if (frame) cancelAnimationFrame(frame); };
}

export default { render };
