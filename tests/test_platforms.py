"""The grading core's adapters (labhelpers/platforms/): points and partial credit, grades.jsonl and
totals.csv, nbgrader's cell metadata, the Gradescope autograder, LMS exports, the class report and
shards that merge into one gradebook.

A small class of the tiny course of tests/test_gradebook.py is graded once (in a module fixture) and
reused; the Gradescope autograder runs its `run_autograder` on an emulated /autograder.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
import yaml

from labhelpers import __main__ as cli
from labhelpers import backends, exercises, gradebook, grading, submissions
from labhelpers.grading import FAILED, NOT_TRIED, PASSED
from labhelpers.platforms import classreport, gradescope, lms, nbgrader, records, shards
from labhelpers.release import lab_backends

from test_gradebook import RIGHT, WRONG_COUNTER, WRONG_DOUBLE, answered

ROOT = Path(__file__).resolve().parent.parent
SECRET = b"one secret for every run of this module"
REVIEWED = "import os\nHOME = os.environ.get('HOME')\ndef double(x):\n    return x + x"
CLASS = {  # student -> {file: (lab, answers)}
    "ann": {"97_tiny.ipynb": ("97_tiny", RIGHT)},
    "bo": {"97_tiny.ipynb": ("97_tiny", {**RIGHT, 4: WRONG_DOUBLE})},
    "cy": {"97_tiny.ipynb": ("97_tiny", {}), "98_other.ipynb": ("98_other", {3: "def negate(x):\n    return -x"})},
    "dee": {"97_tiny.ipynb": ("97_tiny", {4: REVIEWED, 8: WRONG_COUNTER})},
    "eve": {"97_tiny.ipynb": ("97_tiny", {**RIGHT, 4: WRONG_DOUBLE})},
}


def open_to_all(path: Path) -> Path:
    """A temporary folder that an unprivileged kernel can pass through (pytest's are 0700)."""
    for folder in [path, *[p for p in path.rglob("*") if p.is_dir()]]:
        folder.chmod(0o755)
    return path


def settings(course, **kwargs):
    return gradebook.Settings(jobs=2, cell_timeout=5, notebook_timeout=30, secret=SECRET,
                              pythonpath=[str(course / "checks")], judges_path=[str(course / "judges")], **kwargs)


@pytest.fixture(scope="module")
def class_folder(labs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    for student, files in CLASS.items():
        for name, (lab, answers) in files.items():
            (folder / student).mkdir(exist_ok=True)
            nbformat.write(answered(labs, answers, lab), folder / student / name)
    return folder


@pytest.fixture(scope="module")
def graded(course, class_folder, tmp_path_factory):
    """The class graded once, and everything `grade` writes for it."""
    rows = gradebook.grade_folder(class_folder, course / "solutions", settings(course), progress=None)
    out = tmp_path_factory.mktemp("graded")
    records.write_all(rows, out / "grades.csv")
    return rows, out


def by_student(rows):
    return {(row.student, row.notebook): row for row in rows}


# ---------------------------------------------------------------- points and partial credit


def test_every_exercise_has_points_and_only_those():
    listed = {number for _, names in exercises.LABS.values() for number in names}
    assert set(exercises.POINTS) == listed
    assert all(points > 0 for points in exercises.POINTS.values())
    assert exercises.points_of("1.3 MyRNNCell") == 3 and exercises.points_of("7.1") == exercises.DEFAULT_POINTS


def test_rows_carry_points(graded):
    rows, _ = graded
    found = {key: (row.points, row.max_points) for key, row in by_student(rows).items()}
    assert found == {("ann", "97_tiny.ipynb"): (2, 2), ("bo", "97_tiny.ipynb"): (1, 2), ("cy", "97_tiny.ipynb"): (0, 2),
                     ("cy", "98_other.ipynb"): (1, 1), ("dee", "97_tiny.ipynb"): (1, 2),
                     ("eve", "97_tiny.ipynb"): (1, 2)}


def test_grades_csv_has_points_columns_and_totals_csv_one_line_per_student(graded):
    _, out = graded
    lines = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
    bo = next(line for line in lines if line["student"] == "bo")
    assert bo["7.1 double"] == FAILED and bo["points 7.1 double"] == "0.0" and bo["points 7.2 Counter"] == "1.0"
    assert bo["points"] == "1.0" and bo["max points"] == "2.0" and bo["score"] == "0.5"
    totals = list(csv.DictReader((out / "totals.csv").open(encoding="utf-8")))
    assert [t["student"] for t in totals] == ["ann", "bo", "cy", "dee", "eve"]
    cy = totals[2]
    assert (cy["97_tiny"], cy["98_other"], cy["points"], cy["max points"], cy["notebooks"]) == ("0.0", "1.0", "1.0",
                                                                                               "3.0", "2")
    assert totals[0]["percent"] == "66.7"  # ann handed in lab 97 only: 2 of the class's 3 points


def test_summaries_show_points(graded):
    _, out = graded
    summary = (out / "summaries" / "bo.md").read_text()
    assert "(1 of 2 points)" in summary and "| 7.1 double | failed | 0 / 1 |" in summary


def test_partial_credit_where_parts_are_independent():
    from labhelpers.judges.sentiment import judges

    inputs = judges.draw_evaluation(np.random.default_rng(1))

    def data(accuracy_right: bool, confusion_right: bool):
        returned = []
        for case in inputs["cases"]:
            p, labels = np.ravel(case["probabilities"]) > 0.5, case["labels"]
            confusion = np.array([[np.sum((labels == i) & (p == j)) for j in (0, 1)] for i in (0, 1)])
            accuracy = np.mean(p == labels)
            returned.append([accuracy if accuracy_right else 1 - accuracy,
                             confusion if confusion_right else confusion.T])
        return {"returned": returned}

    with pytest.raises(grading.CheckFailed) as caught:
        judges.evaluation(inputs, data(True, False))
    failure = caught.value
    assert failure.credit == 0.5 and failure.credited == ["the accuracy"]
    assert "transposed" in str(failure) and "Partial" not in str(failure)  # the learner's box is unchanged
    with pytest.raises(grading.CheckFailed) as caught:
        judges.evaluation(inputs, data(False, True))
    assert caught.value.credited == ["the confusion matrix"]
    with pytest.raises(grading.CheckFailed) as caught:
        judges.evaluation(inputs, data(False, False))
    assert caught.value.credit == 0.0
    exercise = grading.find_exercise("4.5")
    result = exercise.decide(inputs, grading.pack(data(True, False)))
    assert (result.status, result.score) == (FAILED, 0.5)
    assert result.message.endswith("Partial credit for the accuracy.")
    row = gradebook.Row("ann", "04.ipynb", "04_sentiment", results={
        "4.5 evaluate_predictions": gradebook.Result(result.status, result.message, result.score)})
    assert (row.points, row.max_points) == (1.0, 2.0)


def test_credit_parts_gives_nothing_when_every_part_passes_yet_the_check_fails():
    failure = grading.credit_parts(grading.CheckFailed("something else is wrong"), {"a": lambda: None})
    assert failure.credit == 0.0 and failure.credited == []


# ---------------------------------------------------------------- grades.jsonl and merging shards


def test_jsonl_holds_every_message_and_reads_back(graded, tmp_path):
    rows, out = graded
    again = records.read_jsonl(out / "grades.jsonl")
    assert [(r.student, r.notebook, r.status, r.points) for r in again] == \
           [(r.student, r.notebook, r.status, r.points) for r in rows]
    bo = by_student(again)[("bo", "97_tiny.ipynb")]
    assert "squared its input" in bo.results["7.1 double"].message
    records.write_all(again, tmp_path / "grades.csv")
    assert (tmp_path / "grades.csv").read_text() == (out / "grades.csv").read_text()
    assert (tmp_path / "summaries" / "bo.md").read_text() == (out / "summaries" / "bo.md").read_text()


def test_names_survive_the_jsonl_and_csv_falls_back(tmp_path):
    odd = "=Zo\u00eb\x1b%"
    row = gradebook.Row(odd, "=1+1.ipynb", "97_tiny", results={"7.1 double": gradebook.Result(PASSED, "ok")})
    records.write_jsonl([row], tmp_path / "g.jsonl")
    assert records.read_jsonl(tmp_path / "g.jsonl")[0].student == odd
    gradebook.write_csv([row], tmp_path / "only.csv")
    [back] = records.load(tmp_path / "only.csv")  # no JSONL beside it: statuses and points from the CSV
    assert (back.student, back.notebook, back.points) == (odd, "=1+1.ipynb", 1.0)


def test_shards_are_stable_and_keep_a_students_notebooks_together():
    assert shards.parse("2/8") == (2, 8)
    for bad in ("8/8", "-1/2", "x/2", "3"):
        with pytest.raises(ValueError):
            shards.parse(bad)
    assert shards.shard_of("ann", 7) == shards.shard_of("ann", 7)
    spread = {shards.shard_of(f"student{n}", 4) for n in range(40)}
    assert spread == {0, 1, 2, 3}


def test_shards_merge_into_the_gradebook_of_one_run(course, class_folder, graded, tmp_path):
    rows, out = graded
    parts = []
    for index in range(2):
        shard_rows = gradebook.grade_folder(class_folder, course / "solutions", settings(course), progress=None,
                                            only=shards.selector(index, 2))
        assert {shards.shard_of(r.student, 2) for r in shard_rows} <= {index}
        records.write_all(shard_rows, tmp_path / f"shard-{index}" / "grades.csv")
        parts.append(str(tmp_path / f"shard-{index}"))
    assert cli.main(["grade", "--merge", str(tmp_path / "merged" / "grades.csv"), *parts]) == 0

    def table(path):
        lines = list(csv.reader(path.open(encoding="utf-8")))
        column = lines[0].index("seconds")
        return [line[:column] + line[column + 1:] for line in lines]

    assert table(tmp_path / "merged" / "grades.csv") == table(out / "grades.csv")
    assert (tmp_path / "merged" / "totals.csv").read_text() == (out / "totals.csv").read_text()
    for summary in (out / "summaries").iterdir():
        assert (tmp_path / "merged" / "summaries" / summary.name).read_text() == summary.read_text()


def test_cli_grades_a_shard(course, tmp_path, capsys):
    folder = tmp_path / "in"
    for student in ("ann", "bo", "cy"):
        (folder / student).mkdir(parents=True)
        (folder / student / "97_tiny.ipynb").write_text("")  # empty: a row without a kernel
    mine = [s for s in ("ann", "bo", "cy") if shards.shard_of(s, 2) == 1]
    out = tmp_path / "shard-1" / "grades.csv"
    assert cli.main(["grade", str(folder), "--shard", "1/2", "--out", str(out),
                     "--solutions", str(course / "solutions")]) == 0
    assert [line["student"] for line in csv.DictReader(out.open())] == mine
    assert len(records.read_jsonl(out.with_suffix(".jsonl"))) == len(mine)


def test_kubernetes_manifest_runs_indexed_shards_then_a_merge():
    documents = [d for d in yaml.safe_load_all((ROOT / "tools" / "k8s" / "grade-indexed-job.yaml").read_text()) if d]
    jobs = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Job"}
    shard_job = next(job for job in jobs.values() if job["spec"].get("completionMode") == "Indexed")
    container = shard_job["spec"]["template"]["spec"]["containers"][0]
    script = " ".join(container.get("command", []) + container.get("args", []))
    assert "JOB_COMPLETION_INDEX" in script and "--shard" in script
    shards_env = {e["name"]: e["value"] for e in container["env"]}["SHARDS"]
    assert shards_env == str(shard_job["spec"]["completions"])  # --shard I/N with N = the number of pods
    merge = next(job for job in jobs.values() if job is not shard_job)["spec"]["template"]["spec"]
    merge_script = " ".join(merge["containers"][0].get("command", []) + merge["containers"][0].get("args", []))
    assert "--merge" in merge_script
    waits = merge["initContainers"][0]
    assert {e["name"]: e["value"] for e in waits["env"]}["SHARDS"] == shards_env
    assert "grades.jsonl" in " ".join(waits["args"])
    assert any(d["kind"] == "PersistentVolumeClaim" for d in documents)


# ---------------------------------------------------------------- LMS exports


def odd_class():
    results = {"7.1 double": gradebook.Result(PASSED, "ok"), "7.2 Counter": gradebook.Result(FAILED, "=HYPERLINK(x)")}
    return [gradebook.Row("ann", "97_tiny.ipynb", "97_tiny", results=dict(results)),
            gradebook.Row("ann", "copy.ipynb", "97_tiny", results={"7.1 double": gradebook.Result(FAILED, "no"),
                                                                   "7.2 Counter": gradebook.Result(FAILED, "no")}),
            gradebook.Row("=cmd", "97_tiny.ipynb", "97_tiny", results=dict(results)),
            gradebook.Row("bo", "98_other.ipynb", "98_other", results={"8.1 negate": gradebook.Result(PASSED, "ok")})]


def roster(tmp_path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text("student,name,id,sis_user_id,sis_login_id,section,email\n"
                    "ann,\"Lee, Ann\",101,S1,ann.lee,A,ann@example.edu\n"
                    "=cmd,@SUM(1),102,S2,x,A,cmd@example.edu\n"
                    "zed,Zed Zee,103,S3,zed,B,zed@example.edu\n", encoding="utf-8")
    return path


def read(path: Path) -> list[list[str]]:
    return list(csv.reader(path.open(encoding="utf-8", newline="")))


def test_canvas_export(tmp_path):
    out, unknown = lms.canvas(odd_class(), lms.read_roster(roster(tmp_path)), tmp_path / "canvas.csv")
    table = read(out)
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "97_tiny", "98_other"]
    assert table[1] == ["Points Possible", "", "", "", "", "2.0", "1.0"]
    lines = {line[1]: line for line in table[2:]}
    assert lines["101"] == ["Lee, Ann", "101", "S1", "ann.lee", "A", "1.0", "0.0"]  # the better of two notebooks
    assert lines["102"][0] == "'@SUM(1)"  # a name that a spreadsheet would run is neutralised
    assert lines["103"][5:] == ["0.0", "0.0"]  # on the roster, nothing handed in
    assert unknown == ["bo"] and lines[""][0] == "bo"
    assert all(not cell.startswith(("=", "+", "-", "@")) for line in table for cell in line)


def test_moodle_and_long_exports(tmp_path):
    rows, people = odd_class(), lms.read_roster(roster(tmp_path))
    out, _ = lms.moodle(rows, people, tmp_path / "moodle.csv")
    table = read(out)
    assert table[0] == ["email", "97_tiny", "98_other"] and ["ann@example.edu", "1.0", "0.0"] in table
    out = lms.long(rows, people, tmp_path / "long.csv")
    table = read(out)
    assert table[0] == ["student", "name", "id", "notebook", "lab", "exercise", "points", "max", "status", "message"]
    assert ["ann", "Lee, Ann", "101", "97_tiny.ipynb", "97_tiny", "7.2 Counter", "0.0", "1.0", FAILED,
            "'=HYPERLINK(x)"] in table


def test_cli_exports_from_grades_csv(graded, tmp_path, capsys):
    _, out = graded
    assert cli.main(["export", "--canvas", str(out / "grades.csv"), "--out", str(tmp_path / "c.csv")]) == 0
    assert read(tmp_path / "c.csv")[2][0] == "ann"
    assert cli.main(["export", "--long", str(out / "grades.csv"), "--out", str(tmp_path / "l.csv")]) == 0
    assert any("squared its input" in line[-1] for line in read(tmp_path / "l.csv"))


# ---------------------------------------------------------------- the class report


def test_problem_sentences_group_mistakes_without_numbers_or_names():
    one = "double(145) squared its input Expected: 290. Found: 21025. Hint: add x to itself."
    two = "double(9) squared its input Expected: 18. Found: 81. Hint: add x to itself."
    assert classreport.problem_sentence(one) == classreport.problem_sentence(two) == "double(#) squared its input"
    raised = "your code in `double` at line 2 of your cell raised ValueError: my secret 'text'"
    assert classreport.problem_sentence(raised) == "your code in `double` at line # of your cell raised ValueError"
    assert classreport.anonymise("ann wrote ann.ipynb", ["ann"]) == "<student> wrote <student>.ipynb"


def test_class_report(graded, tmp_path):
    _, out = graded
    assert cli.main(["report", str(out / "grades.csv"), "--out", str(tmp_path / "report")]) == 0
    md = (tmp_path / "report" / "report.md").read_text()
    assert "| 7.1 double | 5 | 40% | 40% | 20% | 0% | 0 |" in md
    assert "| 7.1 double | double(#) squared its input | 2 |" in md
    assert "dee / 97_tiny.ipynb: review: the code of 7.1 double touches" in md
    page = (tmp_path / "report" / "report.html").read_text()
    assert "data:image/png;base64," in page and "<script" not in page
    assert "src='http" not in page and 'src="http' not in page and "<link" not in page
    assert (tmp_path / "report" / "overview.png").read_bytes().startswith(b"\x89PNG")


def test_report_shares_per_exercise(graded):
    rows, _ = graded
    stats, mistakes, review = classreport.analyse(rows)
    double = next(s for s in stats if s.label == "7.1 double")
    assert (double.total, double.counts[PASSED], double.counts[FAILED], double.counts[NOT_TRIED]) == (5, 2, 2, 1)
    assert mistakes[0].count == 2 and "ann" not in mistakes[0].example
    assert [(r.student, r.notebook) for r in review] == [("dee", "97_tiny.ipynb")]


# ---------------------------------------------------------------- nbgrader's metadata


def test_nbgrader_metadata_on_every_lab(tmp_path):
    for path, backend in [(path, backend) for path in sorted((ROOT / "solutions").glob("*.ipynb"))
                          for backend in lab_backends(nbformat.read(path, as_version=4))]:
        notebook = nbgrader.nbgrader_notebook(path, backend)
        lab = submissions.load_lab(path, backend)
        assert backends.of_notebook(notebook) == backend
        assert not any(c.source.startswith("%%backend") for c in notebook.cells)
        metas = {i: c.metadata.get("nbgrader") for i, c in enumerate(notebook.cells)}
        assert all(meta is None for i, meta in metas.items() if notebook.cells[i].cell_type == "markdown")
        code = {i: meta for i, meta in metas.items() if notebook.cells[i].cell_type == "code"}
        assert all(meta and meta["schema_version"] == 3 and meta["grade_id"] for meta in code.values())
        ids = [meta["grade_id"] for meta in code.values()]
        assert len(ids) == len(set(ids))
        for exercise in lab.exercises:
            assert all(code[i]["solution"] and not code[i]["grade"] and not code[i]["locked"] for i in exercise.cells)
            check = code[exercise.check]
            assert check["grade"] and check["locked"] and not check["solution"]
            assert check["points"] == exercises.points_of(exercise.number)
        others = [meta for i, meta in code.items() if not meta["solution"] and not meta["grade"]]
        assert others and all(meta["locked"] and "points" not in meta for meta in others)
        assert sum(meta.get("points", 0) for meta in code.values()) == sum(
            exercises.points_of(e.number) for e in lab.exercises)


def test_release_nbgrader_cli(tmp_path, capsys):
    assert cli.main(["release", "--nbgrader", str(tmp_path / "source" / "lab01"), "--lab", "01"]) == 0
    assert [p.name for p in (tmp_path / "source" / "lab01").iterdir()] == ["01_rnn_from_scratch.ipynb"]
    assert cli.main(["release", "--nbgrader", str(tmp_path / "jax"), "--backend", "jax"]) == 0
    written = sorted(p.name for p in (tmp_path / "jax").iterdir())
    assert written == sorted(p.name for p in (ROOT / "notebooks" / "jax").glob("*.ipynb")) and written
    first = next(c for c in nbformat.read(tmp_path / "jax" / written[0], as_version=4).cells if c.cell_type == "code")
    assert 'os.environ["KERAS_BACKEND"] = "jax"' in first.source


# ---------------------------------------------------------------- Gradescope


@pytest.fixture(scope="module")
def autograder_zip(course, tmp_path_factory):
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    assert cli.main(["gradescope", "--lab", "97", "--out", str(out), "--solutions", str(course / "solutions"),
                     "--pythonpath", str(course / "checks"), "--judges-path", str(course / "judges"),
                     "--cell-timeout", "5", "--notebook-timeout", "30"]) == 0
    return out


def run_autograder(zip_path: Path, notebook, isolation="auto") -> tuple[dict, str]:
    """Unzip the autograder into an emulated /autograder, hand it `notebook`, run run_autograder."""
    root = Path(tempfile.mkdtemp(prefix="seqlab-autograder-"))
    try:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root / "source")
        (root / "submission").mkdir()
        nbformat.write(notebook, root / "submission" / "homework.ipynb")
        open_to_all(root)
        env = {**os.environ, "SEQLAB_AUTOGRADER_ROOT": str(root), "SEQLAB_PYTHON": sys.executable,
               "SEQLAB_ISOLATION": isolation}
        done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads((root / "results" / "results.json").read_text()), done.stdout
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_autograder_zip_layout(autograder_zip):
    names = zipfile.ZipFile(autograder_zip).namelist()
    assert {"setup.sh", "run_autograder", "seqlab/pyproject.toml", "seqlab/autograder.json",
            "seqlab/solutions/97_tiny.ipynb", "seqlab/labhelpers/gradebook.py"} <= set(names)
    assert not any(name.startswith("seqlab/solutions/98") for name in names)
    info = zipfile.ZipFile(autograder_zip).getinfo("run_autograder")
    assert (info.external_attr >> 16) & 0o111


def check_results(results: dict) -> None:
    """Gradescope's format: a score, and each test a name, score, max_score and output."""
    assert set(results) >= {"score", "execution_time", "output", "tests"}
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility"}
        assert 0 <= test["score"] <= test["max_score"]
    assert results["score"] == sum(test["score"] for test in results["tests"])


def test_gradescope_grades_a_right_and_a_wrong_submission(autograder_zip, labs):
    right, _ = run_autograder(autograder_zip, answered(labs, RIGHT))
    check_results(right)
    assert right["score"] == 2
    assert [t["name"] for t in right["tests"]] == ["97_tiny: 7.1 double", "97_tiny: 7.2 Counter"]
    assert right["output"].startswith("isolation: bubblewrap sandbox")
    wrong, _ = run_autograder(autograder_zip, answered(labs, {**RIGHT, 4: WRONG_DOUBLE}))
    check_results(wrong)
    assert wrong["score"] == 1 and wrong["tests"][0]["score"] == 0
    assert "squared its input" in wrong["tests"][0]["output"] and wrong["tests"][0]["status"] == "failed"


def test_gradescope_without_bubblewrap_runs_the_kernel_as_nobody(autograder_zip, labs):
    """The judges shipped in the zip are unreadable to the kernel: an answer that is right only when
    it cannot read them passes."""
    spy = ("from pathlib import Path\n"
           "def double(x):\n"
           "    for judge in Path('/').glob('tmp/seqlab-autograder-*/source/seqlab/extra/judges_path-0/*.py'):\n"
           "        return -1  # found (and so could read) a judge\n"
           "    return 2 * x")
    if gradescope.unprivileged.available():
        pytest.skip(gradescope.unprivileged.available())
    started = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                              sys.executable, "-c", "import ipykernel, labhelpers"], capture_output=True, cwd="/")
    if started.returncode:  # this Python lies in a folder that user nobody cannot read
        pytest.skip(f"user nobody cannot run {sys.executable}: {started.stderr.decode()[-200:]}")
    results, stdout = run_autograder(autograder_zip, answered(labs, {**RIGHT, 4: spy}), isolation="user")
    check_results(results)
    assert results["output"].startswith("isolation: WEAKER than the sandbox")
    assert results["score"] == 2, results
    assert "review: the code of 7.1 double touches" in stdout and "review:" not in results["output"]


def test_results_json_counts_the_best_notebook_and_lists_a_missing_lab(labs):
    rows = [gradebook.Row("s", "a.ipynb", "97_tiny", results={"7.1 double": gradebook.Result(PASSED, "ok"),
                                                               "7.2 Counter": gradebook.Result(FAILED, "no")}),
            gradebook.Row("s", "b.ipynb", "97_tiny", results={"7.1 double": gradebook.Result(FAILED, "no"),
                                                               "7.2 Counter": gradebook.Result(FAILED, "no")})]
    results = gradescope.results_json(rows, labs, ["97_tiny"], "isolation: test", 3.2)
    assert results["score"] == 1 and "not counted: b.ipynb" in results["output"]
    missing = gradescope.results_json([], labs, ["98_other"], "isolation: test", 1)
    assert missing["score"] == 0 and missing["tests"][0]["max_score"] == 1
    assert "the submission has no notebook of this lab" in missing["tests"][0]["output"]


def test_student_bundle_leaves_the_platforms_out():
    from labhelpers import release

    assert not any("platforms" in name for _, name in release._student_files(ROOT))
