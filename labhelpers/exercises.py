"""Every lab's exercises, by number: the one list that `status`, the checks and the grader share.

It imports nothing heavy, so `python -m labhelpers status` prints its table without starting
TensorFlow. tests/test_exercises.py asserts that it equals the `### Exercise N.M: name`
headings of the solution notebooks and the exercises the lab modules declare.
"""

LABS: dict[str, tuple[str, dict[str, str]]] = {
    "01": ("RNN from scratch", {
        "1.2": "rnn_step",
        "1.3": "MyRNNCell",
        "1.4": "unrolled_loss",
        "1.5a": "build_vocabulary",
        "1.5b": "one_hot",
        "1.7": "build_next_word_model",
    }),
    "02": ("BPTT and LSTM", {
        "2.1": "hidden_state_gradients",
        "2.1b": "weight_gradient_by_distance",
        "2.2": "clip_gradients",
        "2.4": "MyLSTMCell",
    }),
    "03": ("Music generation", {
        "3.1": "vectorize_string",
        "3.2": "get_batch",
        "3.3": "build_model",
        "3.4": "compute_loss",
        "3.5": "train_step",
        "3.6a": "sampling_step",
        "3.6": "generate_text",
    }),
    "04": ("Sentiment", {
        "4.1": "make_vectorizer",
        "4.2": "build_lstm_classifier",
        "4.3": "build_bidirectional_classifier",
        "4.4": "train_with_early_stopping",
        "4.5": "evaluate_predictions",
        "4.6": "log_count_ratios",
    }),
    "05": ("Attention", {
        "5.2": "make_decoder_inputs",
        "5.3": "greedy_decode",
        "5.4": "scaled_dot_product_attention",
        "5.5": "LuongAttention",
    }),
}


# What each exercise is worth (points), by exercise number: grades.csv, nbgrader's cell metadata,
# Gradescope's results and the LMS exports all read it. An exercise not listed is worth DEFAULT_POINTS.
POINTS: dict[str, float] = {
    "1.2": 2, "1.3": 3, "1.4": 2, "1.5a": 1, "1.5b": 1, "1.7": 2,
    "2.1": 2, "2.1b": 2, "2.2": 2, "2.4": 4,
    "3.1": 1, "3.2": 2, "3.3": 2, "3.4": 1, "3.5": 3, "3.6a": 2, "3.6": 2,
    "4.1": 1, "4.2": 2, "4.3": 2, "4.4": 2, "4.5": 2, "4.6": 2,
    "5.2": 1, "5.3": 3, "5.4": 3, "5.5": 3,
}
DEFAULT_POINTS = 1.0


def points_of(exercise_id: str) -> float:
    """The points an exercise is worth ("1.3" or a label "1.3 MyRNNCell")."""
    return float(POINTS.get(exercise_id.split()[0], DEFAULT_POINTS))


# The learner module of each lab (labhelpers/<module>.py) , its probes (labhelpers/probes/<module>.py) and judges (labhelpers/judges/<module>/).
MODULES = {"01": "rnn", "02": "lstm", "03": "music", "04": "sentiment", "05": "attention"}


def lab_of(exercise_id: str) -> str:
    """The lab number an exercise belongs to ("1.5a" -> "01")."""
    return f"{int(exercise_id.split('.')[0]):02d}"
