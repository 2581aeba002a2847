"""Bounds on what a submission can do to `grade` itself: names, files, probe data, scans, errors.

No submission may stop or poison the batch or blow up the grader's memory: every name is escaped
data in the reports, every file is checked for type and size before it is read, probe archives are
read member by member within limits, every scan of student text is linear, and anything that
breaks the grader on one notebook breaks only that notebook's row. These tests call the functions
directly; one grades a real (tiny) class in the sandbox.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import socket
import stat
import threading
import time
import tracemalloc
import urllib.parse
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from labhelpers import gradebook, grading, submissions
from labhelpers.gradebook import GRADED, GRADER_ERROR, UNKNOWN_LAB, escape, unescape
from labhelpers.grading import FAILED, PASSED
from labhelpers.submissions import EMPTY, INVALID, LINKED, NOT_A_FILE, TOO_LARGE, UNREADABLE
from test_gradebook import RIGHT, answered, grade, write_course

FORMULA = '=HYPERLINK("http://x","y")'
ODD_NAMES = ["ann", "Zoë", os.fsdecode(b"Ren\xe9e"), os.fsdecode(b"\xff\xfe"), "a\tb\nc\rd", "\x1b[31mred",
             "100%", "%41", FORMULA, "+1", "-x", "@me", "line\u2028break", "\u202eevil", "日本"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def peak_bytes(function, *args):
    """(what function returned or raised, the most memory Python allocated while it ran)."""
    tracemalloc.start()
    try:
        try:
            outcome = function(*args)
        except Exception as error:  # the test decides whether raising was right
            outcome = error
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def within(seconds: float, function, *args):
    """What function returns, run in a thread that must finish within `seconds` (it must not block)."""
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(function(*args)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{function.__name__} blocked"
    return outcome[0]


def sparse(path: Path, size: int) -> Path:
    """A file of `size` NUL bytes that takes no disk."""
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


# ---------------------------------------------------------------- 1. names are data


def test_escape_is_printable_and_unescape_undoes_it():
    for name in ODD_NAMES:
        escaped = escape(name)
        escaped.encode("utf-8")  # strict: no surrogate left
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u202e" for c in escaped), name
        assert unescape(escaped) == name
    assert [escape(n) for n in ("ann", "Zoë", "日本", FORMULA)] == ["ann", "Zoë", "日本", FORMULA]
    assert escape(os.fsdecode(b"Ren\xe9e")) == "Ren%E9e" and escape("100%") == "100%25"


def test_every_file_name_survives_escaping():
    rng = random.Random(4711)
    for _ in range(3000):
        raw = bytes(rng.choice(b"a%\xc3\xa9\xe9\xff\x1b\n\xe2\x80\xa8\xae\x00") for _ in range(rng.randint(1, 8)))
        name = os.fsdecode(raw.replace(b"\x00", b"0"))
        assert os.fsencode(unescape(escape(name))) == os.fsencode(name)


def odd_rows() -> list[gradebook.Row]:
    results = {"7.1 double": gradebook.Result(PASSED, "=cmd|' /C calc'!A0"),
               "7.2 Counter": gradebook.Result(FAILED, "found " + os.fsdecode(b"\xe9") + "\x00")}
    rows = [gradebook.Row(name, name + ".ipynb", "97_tiny", GRADED, dict(results), [f"note on {name}"], seconds=1.5)
            for name in ODD_NAMES]
    rows.append(gradebook.Row(FORMULA, "=1+1.ipynb", status=GRADER_ERROR, notes=["-1", "@x", "\tx", "+x"]))
    return rows


def test_csv_keeps_every_row_whatever_the_names(tmp_path):
    rows = odd_rows()
    gradebook.write_csv(rows, tmp_path / "g.csv")
    lines = list(csv.DictReader((tmp_path / "g.csv").open(encoding="utf-8", newline="")))
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows):
        assert unescape(line["student"].removeprefix("'")) == row.student
        assert unescape(line["notebook"].removeprefix("'")) == row.notebook
        assert float(line["seconds"]) == row.seconds and float(line["score"]) == row.score


def test_no_csv_cell_is_a_formula_and_numbers_stay_numbers(tmp_path):
    gradebook.write_csv(odd_rows(), tmp_path / "g.csv")
    table = list(csv.reader((tmp_path / "g.csv").open(encoding="utf-8", newline="")))
    assert all(not cell.startswith(FORMULA_START) for line in table for cell in line)
    header, *lines = table
    assert "'" + FORMULA in [line[0] for line in lines] and "'=1+1.ipynb" in [line[1] for line in lines]
    numeric = [header.index(column) for column in ("score", "passed", "exercises", "seconds")]
    assert all(float(line[i]) >= 0 and not line[i].startswith("'") for line in lines for i in numeric)


def test_summaries_are_written_for_every_name(tmp_path):
    rows = odd_rows()
    written = gradebook.write_summaries(rows, tmp_path / "summaries")
    assert len(written) == len({row.student for row in rows}) == len(list((tmp_path / "summaries").iterdir()))
    students = {unescape(urllib.parse.unquote(path.stem)) for path in written}
    assert students == {row.student for row in rows}
    renee = gradebook.student_summary(os.fsdecode(b"Ren\xe9e"), [rows[2]])
    assert "Ren%E9e" in renee and "%00" in renee
    for path in written:
        text = path.read_bytes().decode("utf-8")  # strict
        assert not any(ord(c) < 32 and c != "\n" for c in text)


def test_a_folder_named_like_a_formula_is_graded_and_written_as_text(tmp_path):
    course = write_course(tmp_path / "course")
    labs = {lab.name: lab for lab in submissions.load_labs(course / "solutions")}
    folder = tmp_path / "in"
    notebook = nbformat.writes(answered(labs, RIGHT))
    (folder / FORMULA).mkdir(parents=True)  # folders =HYPERLINK("http: / x","y"): the student is the first
    (folder / FORMULA / "=1+1.ipynb").write_text(notebook)
    undecodable = os.path.join(os.fsencode(folder), b"ren\xe9e")
    os.mkdir(undecodable)
    with open(os.path.join(undecodable, b"97_tiny\xff.ipynb"), "w") as handle:
        handle.write(notebook)
    rows, _ = grade(course, folder, jobs=2)
    assert [(row.status, row.passed) for row in rows] == [(GRADED, 2), (GRADED, 2)], [row.notes for row in rows]
    gradebook.write_csv(rows, tmp_path / "g.csv")
    lines = list(csv.DictReader((tmp_path / "g.csv").open(encoding="utf-8", newline="")))
    assert {(line["student"], line["notebook"]) for line in lines} == {
        ("'" + FORMULA.split("/")[0], "'=1+1.ipynb"), ("ren%E9e", "97_tiny%FF.ipynb")}
    assert len(gradebook.write_summaries(rows, tmp_path / "summaries")) == 2


# ---------------------------------------------------------------- 2. files are bounded before they are read


def special_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """A notebook name for every kind of file that is not one, and the status it must get."""
    folder.mkdir(parents=True, exist_ok=True)
    kinds = {"pipe": (folder / "01_rnn_from_scratch.ipynb", NOT_A_FILE), "folder": (folder / "b.ipynb", NOT_A_FILE),
             "socket": (folder / "c.ipynb", NOT_A_FILE), "link": (folder / "d.ipynb", LINKED),
             "dangling link": (folder / "e.ipynb", LINKED), "large": (folder / "f.ipynb", TOO_LARGE)}
    os.mkfifo(kinds["pipe"][0])
    kinds["folder"][0].mkdir()
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(kinds["socket"][0]))
    listener.close()
    (folder / "secret").write_text("grader-secret-4711")
    kinds["link"][0].symlink_to(folder / "secret")
    kinds["dangling link"][0].symlink_to(folder / "nowhere")
    sparse(kinds["large"][0], submissions.MAX_NOTEBOOK_BYTES + 1)
    if os.geteuid() == 0:  # only root makes device nodes; never opened, so a nodev mount is fine
        os.mknod(folder / "g.ipynb", stat.S_IFCHR | 0o600, os.makedev(1, 3))
        kinds["device"] = (folder / "g.ipynb", NOT_A_FILE)
    return kinds


def test_read_notebook_refuses_what_is_not_a_small_regular_file(tmp_path):
    for kind, (path, status) in special_files(tmp_path).items():
        notebook, found, note = within(5, submissions.read_notebook, path)
        assert notebook is None and found == status and note, kind
        assert "grader-secret" not in note


@pytest.mark.parametrize("size", [256 * 2**20, 1536 * 2**20])
def test_an_oversized_file_is_not_read(tmp_path, size):
    path = sparse(tmp_path / "01_rnn_from_scratch.ipynb", size)
    (notebook, status, note), peak = peak_bytes(submissions.read_notebook, path)
    assert (notebook, status) == (None, TOO_LARGE) and "64 MiB" in note
    assert peak < 2**20


def test_a_file_under_the_cap_costs_a_few_times_its_size_and_is_not_quoted(tmp_path):
    path = sparse(tmp_path / "x.ipynb", 8 * 2**20)
    (notebook, status, note), peak = peak_bytes(submissions.read_notebook, path)
    assert (notebook, status) == (None, INVALID) and "\x00" not in note and len(note) < 100
    assert peak < 3 * 8 * 2**20


def test_read_notebook_drops_outputs_and_refuses_odd_json(tmp_path):
    notebook = new_notebook(cells=[new_code_cell("x = 1", outputs=[nbformat.v4.new_output(
        "stream", name="stdout", text="y" * 10_000)])])
    (tmp_path / "a.ipynb").write_text(nbformat.writes(notebook))
    read, _, _ = submissions.read_notebook(tmp_path / "a.ipynb")
    assert read.cells[0].source == "x = 1" and read.cells[0].outputs == []
    for content, status in [("[1]", INVALID), ('{"nbformat": 4, "cells": ["x"]}', INVALID),
                            ('{"nbformat": 4, "nbformat_minor": 5, "cells": [{"cell_type": "code", "source": 7}]}',
                             INVALID), ("[" * 100_000, INVALID), ("  \n", EMPTY),
                            ('{"cells": [' + "{}," * submissions.MAX_JSON_VALUES + "{}]}", TOO_LARGE)]:
        (tmp_path / "b.ipynb").write_text(content)
        assert submissions.read_notebook(tmp_path / "b.ipynb")[:2] == (None, status), content[:40]


def test_find_submissions_lists_odd_entries_and_follows_no_link(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    for name in ("ann/lab/a.ipynb", "bo.ipynb", "ann/.ipynb_checkpoints/a-checkpoint.ipynb", "gus/lab/g.ipynb",
                 "outside/secret.ipynb"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("{}")
    special_files(folder / "fred")
    (folder / "eve").symlink_to(folder / "outside")
    undecodable = os.path.join(os.fsencode(folder), b"\xe9l\xe8ve")
    os.mkdir(undecodable)
    open(os.path.join(undecodable, b"\xff.ipynb"), "w").close()
    scandir = os.scandir

    def unreadable_gus(path):
        if os.fspath(path).endswith("gus"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", unreadable_gus)
    found = {(student, str(path.relative_to(folder))) for student, path in submissions.find_submissions(folder)}
    fred = {("fred", f"fred/{name}") for name in ("01_rnn_from_scratch.ipynb", "b.ipynb", "c.ipynb", "d.ipynb",
                                                  "e.ipynb", "f.ipynb")}
    fred |= {("fred", "fred/g.ipynb")} if os.geteuid() == 0 else set()
    eleve = os.fsdecode(b"\xe9l\xe8ve")
    assert found == {("ann", "ann/lab/a.ipynb"), ("bo", "bo.ipynb"), ("eve", "eve"), ("gus", "gus"),
                     ("outside", "outside/secret.ipynb"), (eleve, eleve + os.fsdecode(b"/\xff.ipynb")), *fred}
    assert submissions.read_notebook(folder / "gus")[1] == UNREADABLE
    assert submissions.read_notebook(folder / "eve")[1] == LINKED


def test_every_refused_file_gets_its_own_row(tmp_path):
    kinds = special_files(tmp_path / "in" / "fred")
    (tmp_path / "solutions").mkdir()
    settings = gradebook.Settings(use_sandbox=False, jobs=2)
    rows = within(30, gradebook.grade_folder, tmp_path / "in", tmp_path / "solutions", settings, None)
    statuses = {row.notebook: row.status for row in rows}
    assert statuses == {path.name: status for path, status in kinds.values()}


# ---------------------------------------------------------------- 3. probe data, member by member


def npz(members: dict[str, bytes], tree=None) -> bytes:
    """An archive like `pack` writes, with members given as raw .npy bytes (after the tree)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if tree is not None:
            archive.writestr("__tree__.npy", npy(np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8)))
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def with_extra_member(data: bytes, size: int) -> bytes:
    """`data` with a member of `size` NUL bytes that compresses to about size / 1000."""
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("extra.npy", "w", force_zip64=True) as member:
            for _ in range(size // 2**20):
                member.write(bytes(2**20))
    return buffer.getvalue()


def test_unpack_round_trips_what_probes_hand_back():
    tree = {"a": np.asfortranarray(np.arange(12.0).reshape(3, 4)), "b": np.array(["x", "yz"]), "c": np.float32(2),
            "d": [np.zeros((0, 3)), np.array(True), {"e": np.arange(3, dtype="int8")}], "f": "text", "g": None}
    back = grading.unpack(grading.pack(tree))
    assert np.array_equal(back["a"], tree["a"]) and back["b"].tolist() == ["x", "yz"] and back["c"] == 2.0
    assert back["d"][0].shape == (0, 3) and back["d"][1] == True and back["d"][2]["e"].dtype == np.int8  # noqa: E712
    assert back["a"].flags.writeable and (back["f"], back["g"]) == ("text", None)


def test_an_extra_member_is_refused_before_it_is_read():
    data = with_extra_member(grading.pack({"found": np.arange(3)}), 256 * 2**20)
    assert len(data) < 2 * 2**20
    error, peak = peak_bytes(grading.unpack, data)
    assert isinstance(error, ValueError) and "extra.npy" in str(error)
    assert peak < 4 * 2**20


@pytest.mark.parametrize("members, tree, problem", [
    ({}, None, "__tree__"),  # no tree
    ({}, {"x": {"__array__": "a0"}}, "a0"),  # a member it refers to is missing
    ({"a0.npy": npy(np.zeros(2)), "a1.npy": npy(np.zeros(2))}, {"x": {"__array__": "a0"}}, "a1"),  # one too many
    ({"a0.npy": npy(np.zeros(2))[:-8]}, {"x": {"__array__": "a0"}}, "a0"),  # shorter than its header says
    ({"a0.npy": npy(np.zeros(2)).replace(b"(2,)", b"(9999999999,)")}, {"x": {"__array__": "a0"}}, "a0"),
    ({"a0.npy": npy(np.zeros(2)).replace(b"'<f8'", b"'|O' ")}, {"x": {"__array__": "a0"}}, "a0"),  # pickled objects
    ({"a0.npy": b"not an array"}, {"x": {"__array__": "a0"}}, "a0"),
    ({}, {"x": {"__array__": ["a0"]}}, "array"),
])
def test_unpack_refuses_a_forged_archive(members, tree, problem):
    with pytest.raises(ValueError, match=problem):
        grading.unpack(npz(members, tree))


def test_unpack_checks_sizes_before_reading(monkeypatch):
    monkeypatch.setattr(grading, "MAX_PACKED_BYTES", 2**20)
    big = npz({"a0.npy": npy(np.zeros(2**18))}, {"x": {"__array__": "a0"}})
    assert len(big) < 2**20
    with pytest.raises(ValueError, match="over"):
        grading.unpack(big)
    with pytest.raises(ValueError, match="over"):
        grading.unpack(npz({}, ["x" * 100] * (grading.MAX_TREE_BYTES // 100)))


# ---------------------------------------------------------------- 4. scans of student text are linear

PATHOLOGICAL = {
    "newlines": "\n" * 2**20,
    "spaces": " " * 2**20,
    "blank lines": " \t\n" * (2**20 // 3),
    "import": "import " + " " * 2**20 + "x",
    "from": "from a" + " " * 2**20 + "\n",
    "from and newlines": "from \n" * (2**20 // 6),
    "one word": "a" * 2**20,
    "check": "check_" + "a" * 2**20,
    "dots": "a." * 2**19,
    "calls": "x.check_a" * (2**20 // 9),
    "hashes": "#" * 2**20,
    "headings": "# Exercise 1.1" + " " * 2**20,
    "heading lines": "#\n" * 2**19,
    "escapes": "\x1b[" + "1;" * 2**19,
    "open": "open" * 2**18,
}


@pytest.mark.parametrize("kind", PATHOLOGICAL)
def test_every_scan_of_student_text_is_linear(kind):
    text = PATHOLOGICAL[kind]
    notebook = new_notebook(cells=[new_markdown_cell(text), new_code_cell(text)])
    scans = {"imports": lambda: submissions.imported_modules(notebook),
             "flags": lambda: submissions.review_flags({"7.1 double": text}),
             "check calls": lambda: list(submissions.CHECK_CALL.finditer(text)),
             "headings": lambda: submissions.exercise_context(notebook),
             "messages": lambda: grading.shorten(text)}
    for name, scan in scans.items():
        start = time.perf_counter()
        scan()
        seconds = time.perf_counter() - start
        assert seconds < 0.5, f"{name} took {seconds:.2f} s on {kind}"


# ---------------------------------------------------------------- 5. a broken row stays one row


def test_an_exception_on_one_notebook_is_that_rows_grader_error(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    for student in ("ann", "bo", "cy"):
        (folder / student).mkdir(parents=True)
        cells = [new_code_cell(f"print('{student}')")]
        (folder / student / "a.ipynb").write_text(nbformat.writes(new_notebook(cells=cells)))
    (tmp_path / "solutions").mkdir()
    identify = submissions.identify

    def identify_but_not_bo(submission, filename, labs):
        if "bo" in submission.cells[0].source:
            raise KeyError("grader-secret-4711 " * 1000)
        return identify(submission, filename, labs)

    monkeypatch.setattr(gradebook, "identify", identify_but_not_bo)
    rows = gradebook.grade_folder(folder, tmp_path / "solutions", gradebook.Settings(use_sandbox=False, jobs=2),
                                  progress=None)
    assert [(row.student, row.status) for row in rows] == [("ann", UNKNOWN_LAB), ("bo", GRADER_ERROR),
                                                           ("cy", UNKNOWN_LAB)]
    note = " ".join(rows[1].notes)
    assert "KeyError in labhelpers.gradebook._grade_into" in note and "grader-secret" not in note and len(note) < 200


def test_a_row_that_cannot_be_written_is_written_escaped(tmp_path):
    class Unwritable(gradebook.Row):
        @property
        def passed(self):
            raise RuntimeError("grader-secret-4711")

    rows = [gradebook.Row("ann", "a.ipynb"), Unwritable(os.fsdecode(b"b\xe9"), "=b.ipynb", notes=["x"]),
            gradebook.Row("cy", "c.ipynb")]
    gradebook.write_csv(rows, tmp_path / "g.csv")
    lines = list(csv.DictReader((tmp_path / "g.csv").open(encoding="utf-8", newline="")))
    assert [line["student"] for line in lines] == ["ann", "b%E9", "cy"]
    assert lines[1]["notebook"] == "'=b.ipynb" and lines[1]["status"] == GRADER_ERROR
    assert "RuntimeError" in lines[1]["notes"] and "grader-secret" not in lines[1]["notes"]
    written = gradebook.write_summaries(rows, tmp_path / "summaries")
    assert len(written) == 3 and "RuntimeError" in written[1].read_text(encoding="utf-8")


def test_progress_lines_print_any_name(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    open(os.path.join(os.fsencode(folder), b"\xe9\x1b[2J.ipynb"), "w").close()
    (tmp_path / "solutions").mkdir()
    printed = []
    rows = gradebook.grade_folder(folder, tmp_path / "solutions", gradebook.Settings(use_sandbox=False),
                                  progress=printed.append)
    assert rows[0].status == EMPTY and "%E9%1B[2J" in printed[-1]
    printed[-1].encode("utf-8")


# ---------------------------------------------------------------- 6. probe data handed back


def test_probe_folder_takes_only_a_small_regular_file(tmp_path):
    probes = gradebook.ProbeFolder(tmp_path, None)
    os.mkfifo(probes.out / "1.1.out")
    assert within(5, probes.take, "1.1") is None
    sparse(probes.out / "1.2.out", grading.MAX_PACKED_BYTES + 1)
    assert peak_bytes(probes.take, "1.2") == (None, pytest.approx(0, abs=2**20))
    (probes.out / "1.3.out").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere").write_bytes(b"data")
    assert probes.take("1.3") is None
    (probes.out / "1.4.out").write_bytes(b"data")
    assert probes.take("1.4") == b"data"
