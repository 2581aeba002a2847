"""The grading core: probe and judge, packed data, PASS lines, failure messages, learner errors, progress."""

import json

import numpy as np
import pytest

from labhelpers import grading
from labhelpers.grading import CheckFailed, Lab, NotAttempted


def _judge_square(inputs, data):
    x, found = inputs["x"], data["found"]
    if found != x * x:
        raise CheckFailed(f"square({x}) is wrong", expected=str(x * x), found=grading.shown(found), hint="multiply x by itself.")
    return f"square({x}) == {x * x}"


@pytest.fixture
def demo_lab(monkeypatch):
    monkeypatch.setattr(grading, "LABS", {})
    monkeypatch.setattr(grading, "JUDGES", {})
    lab = Lab("98", "Demo", judges=__name__)
    check = lab.exercise("9.1", name="square", probe=lambda square, inputs: {"found": square(inputs["x"])})
    grading.judging("9.1", draw=lambda rng: {"x": int(rng.integers(2, 50))}, judge=_judge_square,
                    hints={"cubed": "square, do not cube."})
    return lab, check


def test_pass_prints_one_line_and_records(demo_lab, capsys, progress_file):
    _, check = demo_lab
    assert check(lambda x: x * x) is None
    out = capsys.readouterr().out
    assert out.startswith("PASS 9.1 square: square(") and out.count("\n") == 1
    assert json.loads(progress_file.read_text())["98"]["9.1"]["status"] == grading.PASSED


def test_wrong_answer_names_exercise_expected_found_and_hint(demo_lab, progress_file):
    _, check = demo_lab
    with pytest.raises(CheckFailed) as failure:
        check(lambda x: x + x)
    message = str(failure.value)
    assert message.startswith("Exercise 9.1 square: square(") and "Hint: multiply x by itself." in message
    assert isinstance(failure.value, AssertionError) and failure.value.__cause__ is None
    entry = json.loads(progress_file.read_text())["98"]["9.1"]
    assert entry["status"] == grading.FAILED and entry["detail"].startswith("square(")


def test_failed_check_renders_as_one_box_without_source(demo_lab):
    _, check = demo_lab
    with pytest.raises(CheckFailed) as failure:
        check(lambda x: x + x)
    lines = failure.value._render_traceback_()
    assert lines[0].startswith("CheckFailed: Exercise 9.1 square: ")
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["Expected", "Found", "Hint"]
    assert not any("grading.py" in line or "raise" in line for line in lines)


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


def test_library_frames_are_not_the_learners_line(demo_lab):
    """MIT's get_batch calls RandomState.choice: its error must not point at 'line 969 of your cell'."""
    _, check = demo_lab

    def square(x):
        return np.random.RandomState(0).choice(0, x)

    with pytest.raises(CheckFailed) as failure:
        check(square)
    assert "in `square` at line" in str(failure.value) and "mtrand" not in str(failure.value)


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


def test_a_value_the_judge_cannot_read_is_reported_not_crashed(demo_lab):
    _, check = demo_lab
    with pytest.raises(CheckFailed) as failure:
        check(lambda x: object())
    assert "Found: object: <object object at" in str(failure.value)


def test_judge_that_trips_on_the_data_gives_a_message(monkeypatch):
    monkeypatch.setattr(grading, "LABS", {})
    monkeypatch.setattr(grading, "JUDGES", {})
    check = Lab("98", "Demo", judges=__name__).exercise("9.1", name="first",
                                                         probe=lambda answer, inputs: {"found": answer()})
    grading.judging("9.1", draw=lambda rng: {}, judge=lambda inputs, data: data["found"][0] + 1)
    with pytest.raises(CheckFailed, match="could not make sense of what your code returned"):
        check(lambda: 3)


def test_unwritable_progress_file_does_not_fail_a_check(demo_lab, monkeypatch, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("SEQLAB_PROGRESS", str(blocker / "progress.json"))
    _, check = demo_lab
    check(lambda x: x * x)
    assert "PASS" in capsys.readouterr().out


def test_under_grade_the_kernel_only_probes(demo_lab, monkeypatch, tmp_path, capsys, progress_file):
    lab, check = demo_lab
    exercise = lab.exercises["9.1"]
    inputs = exercise.inputs(seed=12345)
    (tmp_path / "9.1.in").write_bytes(grading.pack(inputs))
    (tmp_path / "out").mkdir()
    monkeypatch.setenv(grading.PROBE_DIR_ENV, str(tmp_path))
    assert check(lambda x: x + x) is None  # no verdict in the kernel, even for a wrong answer
    assert "PASS" not in capsys.readouterr().out and not progress_file.exists()
    result = exercise.decide(inputs, (tmp_path / "out" / "9.1.out").read_bytes())
    assert result.status == grading.FAILED and result.message.startswith(f"square({inputs['x']}) is wrong")
    assert grading.unpack((tmp_path / "out" / "9.1.out").read_bytes()) == {"found": 2 * inputs["x"]}


def test_seeds_draw_different_inputs(demo_lab):
    lab, _ = demo_lab
    drawn = {lab.exercises["9.1"].inputs(seed)["x"] for seed in range(20)}
    assert len(drawn) > 5


def test_pack_round_trips_plain_data_and_refuses_pickle():
    tree = {"a": np.arange(6, dtype="float32").reshape(2, 3), "b": [1, 2.5, "x", None, True], "c": {"d": np.int64(3)}}
    back = grading.unpack(grading.pack(tree))
    assert back["a"].dtype == np.float32 and np.array_equal(back["a"], tree["a"])
    assert back["b"] == [1, 2.5, "x", None, True] and back["c"] == {"d": 3}
    import io
    buffer = io.BytesIO()
    np.savez(buffer, __tree__=np.array([object()], dtype=object))
    with pytest.raises(ValueError):
        grading.unpack(buffer.getvalue())


def test_plain_describes_what_it_cannot_carry():
    import tensorflow as tf

    assert isinstance(grading.plain(tf.constant([1.0, 2.0])), np.ndarray)
    assert grading.plain((1, [2, 3])) == [1, [2, 3]]
    assert grading.plain(object())["__object__"].startswith("object: <object")


def test_status_table_lists_every_exercise_of_the_registry(progress_file):
    labs = {"98": ("Demo", {"9.1": "square", "9.2": "cube"})}
    progress = {"98": {"9.1": {"status": "passed", "last_run": "now"}}}
    rows = grading.status_rows(progress, labs)
    assert [(r[1], r[2]) for r in rows] == [("9.1 square", "passed"), ("9.2 cube", "not tried")]
    table = grading.format_table(("lab", "exercise", "status", "last run"), rows)
    assert "98 Demo" in table and "not tried" in table


def test_matching_mistake():
    mistakes = {"doubled": [2.0, 4.0], "negated": [-1.0, -2.0]}
    assert grading.matching_mistake([-1.0, -2.0], mistakes) == "negated"
    assert grading.matching_mistake([1.0, 2.0], mistakes) is None
    assert grading.matching_mistake([1.0], mistakes) is None


# What each backend says (copied from TensorFlow 2.20, JAX 0.10 and PyTorch 2.13) -> the words its hint must hold.
BACKEND_ERRORS = [
    ("Matrix size-incompatible: In[0]: [2,3], In[1]: [4,5] [Op:MatMul]", "do not fit"),
    ("Incompatible shapes: [2,3] vs. [4,5] [Op:Mul]", "keras.ops.matmul"),
    ("dot_general requires contracting dimensions to have the same shape, got (3,) and (4,).", "do not fit"),
    ("mul got incompatible shapes for broadcasting: (2, 3), (4, 5).", "keras.ops.matmul"),
    ("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)", "do not fit"),
    ("Expected size for first two dimensions of batch2 tensor to be: [2, 5] but got: [2, 4].", "do not fit"),
    ("The size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 1", "keras.ops.matmul"),
    ("Abstract tracer value encountered where concrete value is expected: traced array with shape float32[]",
     "traced, not numbers"),
    ("The numpy.ndarray conversion method __array__() was called on traced array with shape float32[3]",
     "traced, not numbers"),
    ("Gradient only defined for scalar-output functions. Output had shape: (3,).", "to a scalar"),
    ("grad can be implicitly created only for scalar outputs", "to a scalar"),
    ("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.", "in place"),
    ("a leaf Variable that requires grad is being used in an in-place operation.", "in place"),
    ("element 0 of tensors does not require grad and does not have a grad_fn", "cuts the graph"),
]


@pytest.mark.parametrize("message, hint", BACKEND_ERRORS)
def test_each_backends_wording_of_a_common_mistake_gets_its_hint(message, hint):
    failure = grading.describe_error({"type": "RuntimeError", "message": message})
    assert hint in failure.hint and "run your cell on a small input" not in failure.hint


def test_an_unknown_error_gets_the_general_hint():
    failure = grading.describe_error({"type": "ValueError", "message": "something else"})
    assert "run your cell on a small input" in failure.hint
