"""The grading core: PASS lines, failure messages, learner errors, progress and status."""

import json

import pytest

from labhelpers import grading
from labhelpers.grading import CheckFailed, Lab, NotAttempted


@pytest.fixture
def demo_lab(monkeypatch):
    monkeypatch.setattr(grading, "LABS", {})
    lab = Lab("98", "Demo")

    @lab.check("9.1", "square", hints={"cubed": "square, do not cube."})
    def check_square(square):
        found = square(3)
        if found != 9:
            raise CheckFailed("square(3) is wrong", expected="9", found=found, hint="multiply x by itself.")
        return "square(3) == 9"

    return lab, check_square


def test_pass_prints_one_line_and_records(demo_lab, capsys, progress_file):
    _, check = demo_lab
    assert check(lambda x: x * x) is None
    assert capsys.readouterr().out == "PASS 9.1 square: square(3) == 9\n"
    assert json.loads(progress_file.read_text())["98"]["9.1"]["status"] == grading.PASSED


def test_wrong_answer_names_exercise_expected_found_and_hint(demo_lab, progress_file):
    _, check = demo_lab
    with pytest.raises(CheckFailed) as failure:
        check(lambda x: x + x)
    message = str(failure.value)
    assert message == "Exercise 9.1 square: square(3) is wrong Expected: 9. Found: 6. Hint: multiply x by itself."
    assert isinstance(failure.value, AssertionError) and failure.value.__cause__ is None
    assert json.loads(progress_file.read_text())["98"]["9.1"]["status"] == grading.FAILED


def test_exception_in_learner_code_is_reported_with_its_line(demo_lab):
    _, check = demo_lab

    def square(x):
        return x.add_weights

    with pytest.raises(CheckFailed) as failure:
        check(square)
    message = str(failure.value)
    assert "raised AttributeError" in message and "in `square` at line" in message
    assert "add_weight` (singular)" in message
    assert "Traceback" not in message


def test_lab_specific_hint(demo_lab):
    _, check = demo_lab

    def square(x):
        raise ValueError("you cubed it")

    with pytest.raises(CheckFailed, match="square, do not cube"):
        check(square)


def test_stub_counts_as_not_tried(demo_lab, progress_file):
    _, check = demo_lab

    def square(x):
        raise NotImplementedError("Exercise 9.1: replace this line with your code")

    with pytest.raises(NotAttempted, match="not done yet"):
        check(square)
    assert json.loads(progress_file.read_text())["98"]["9.1"]["status"] == grading.NOT_TRIED


def test_long_error_messages_are_shortened(demo_lab):
    _, check = demo_lab

    def square(x):
        raise RuntimeError("graph " * 500)

    with pytest.raises(CheckFailed) as failure:
        check(square)
    assert len(str(failure.value)) < 600


def test_unwritable_progress_file_does_not_fail_a_check(demo_lab, monkeypatch, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("SEQLAB_PROGRESS", str(blocker / "progress.json"))
    _, check = demo_lab
    check(lambda x: x * x)
    assert "PASS" in capsys.readouterr().out


def test_status_table_lists_every_exercise(demo_lab):
    lab, check = demo_lab
    lab.check("9.2", "cube")(lambda: "ok")
    check(lambda x: x * x)
    rows = grading.status_rows(grading.LABS, grading.load_progress())
    assert [(r[1], r[2]) for r in rows] == [("9.1 square", "passed"), ("9.2 cube", "not tried")]
    table = grading.format_table(("lab", "exercise", "status", "last run"), rows)
    assert "98 Demo" in table and "not tried" in table


def test_matching_mistake():
    mistakes = {"doubled": [2.0, 4.0], "negated": [-1.0, -2.0]}
    assert grading.matching_mistake([-1.0, -2.0], mistakes) == "negated"
    assert grading.matching_mistake([1.0, 2.0], mistakes) is None
    assert grading.matching_mistake([1.0], mistakes) is None
