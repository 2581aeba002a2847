"""The corpus critic and the ABC reader under it: near zero for the corpus against itself, large for
shuffled characters, every tune read (valid or not), a bootstrap floor that is what chance gives,
garbage meters in one bar, in well under a second for 100 tunes."""

import random
import time
from fractions import Fraction

import pytest

from labhelpers import abctext, critic, music

F = Fraction


@pytest.fixture(scope="module")
def corpus():
    train, _ = music.split_songs(music.load_songs())
    return train


def shuffled(text: str, rng: random.Random) -> str:
    return "".join(rng.sample(text, len(text)))


def shuffled_body(abc: str, rng: random.Random) -> str:
    """The header kept, the notes' characters shuffled."""
    head, _, body = abc.partition("\nK:")
    key_line, _, notes = body.partition("\n")
    return f"{head}\nK:{key_line}\n{shuffled(notes, rng)}"


# ---------------------------------------------------------------- the reader
@pytest.mark.parametrize("value, name, fifths", [
    ("D", "D major", 2), ("D Major", "D major", 2), ("Ador", "A dorian", 1), ("Emin", "E minor", 1),
    ("Em", "E minor", 1), ("Bb", "Bb major", -2), ("F#m", "F# minor", 3), ("G mix", "G mixolydian", 0),
    ("Edor", "E dorian", 2), ("C", "C major", 0)])
def test_keys_and_their_signatures(value, name, fifths):
    key = abctext.parse_key(value)
    assert (key.name, key.fifths) == (name, fifths)


@pytest.mark.parametrize("value", ["none", "HP", "", "xyz", "D wobble"])
def test_no_key(value):
    assert abctext.parse_key(value) is None


def test_pitches_follow_key_signature_and_bar_accidentals():
    tune = abctext.read("X:1\nM:4/4\nL:1/8\nK:D\nF =F F c'|F ^^G _B, z|]")
    assert tune.pitches == [66, 65, 65, 85, 66, 69, 58]
    assert tune.bar_lines == ["|", "|]"] and tune.measures == 2


def test_durations_with_lengths_broken_rhythm_and_triplets():
    tune = abctext.read("X:1\nM:4/4\nL:1/8\nK:C\nA2 B/ c3/2 d// e>f g<a (3Bcd [CEG]|")
    assert tune.durations == [F(1, 4), F(1, 16), F(3, 16), F(1, 32), F(3, 16), F(1, 16), F(1, 16), F(3, 16),
                              F(1, 12), F(1, 12), F(1, 12), F(1, 8)]
    assert tune.pitches[-1] == 60, "a chord counts as its first note"


def test_repeat_structure():
    assert critic.structure(["|:", "|", ":|", "|:", "|", ":|"]) == "AABB"
    assert critic.structure(["|", "|", ":|", "|", "||", "|", "|]"]) == "AABC"
    assert critic.structure(["|", "|"]) == "one part, no repeats"


def test_reads_everything_and_never_raises():
    rng = random.Random(3)
    alphabet = "X:TMLK|[]()\"!{}^_=,'/<>0123456789abcdefgABCDEFGz \n"
    for _ in range(300):
        critic.features("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200))))
    tune = abctext.read("X:1\nK:D\nabc¤¤def")
    assert tune.skipped == 2 and len(tune.pitches) == 6


# ---------------------------------------------------------------- distances
def test_total_variation():
    assert critic.total_variation({"a": 1.0}, {"a": 1.0}) == 0
    assert critic.total_variation({"a": 1.0}, {"b": 1.0}) == 1
    assert critic.total_variation({"a": 0.5, "b": 0.5}, {"a": 1.0}) == pytest.approx(0.5)
    assert critic.total_variation({}, {"a": 1.0}) == 1


def test_the_corpus_split_in_half_is_near_itself(corpus):
    report = critic.compare(corpus[::2], corpus[1::2])
    distances = report.distances
    assert max(distances.values()) < 0.15, distances
    assert sum(distances.values()) / len(distances) < 0.06, distances


def test_shuffled_characters_are_far(corpus):
    rng = random.Random(1)
    report = critic.compare([shuffled(song, rng) for song in corpus[1::2]], corpus[::2])
    assert min(report.distances.values()) > 0.9, report.distances
    assert report.generated.invalid == len(corpus[1::2])
    assert all(report.beyond_floor().values())


def test_shuffled_notes_under_a_real_header_are_far_where_order_matters(corpus):
    """Shuffling keeps the letters (pitch classes) but breaks melody, bars and repeats."""
    rng = random.Random(2)
    report = critic.compare([shuffled_body(song, rng) for song in corpus[1::2]], corpus[::2])
    distances = report.distances
    assert distances["pitch_class"] < 0.1 and distances["meter"] < 0.1, distances
    assert distances["interval"] > 0.3 and distances["structure"] > 0.5 and distances["bars"] > 0.2, distances


def test_summary_names_what_is_off(corpus):
    jigs = [song for song in corpus if critic.features(song)[0]["meter"] == "6/8"][:12]
    report = critic.compare(jigs, corpus)
    summary = report.summary()
    share = sum(critic.features(song)[0]["meter"] == "6/8" for song in corpus) / len(corpus)
    meter, floor = report.distances["meter"], report.floor["meter"]
    assert f"Off in meter (M:) (TV {meter:.2f}, floor {floor}): 6/8 in 100% of its tunes, the corpus {share:.0%}" \
        in summary
    assert summary.startswith("All 12 tunes are valid ABC.")
    table = report.table()
    assert table.loc["meter (M:)", "largest gap"] == "6/8" and len(table) == len(critic.FEATURES)
    assert table.loc["meter (M:)", "floor (12 tunes)"] == str(floor)


def test_invalid_tunes_are_counted_by_the_lab_rule(corpus):
    report = critic.compare(corpus[:8] + ["X:1\nT:no key\nabc", "", "K:D\n|||"], corpus)
    assert report.generated.invalid == 3
    assert report.summary().startswith("3 of 11 tunes are not valid ABC.")


# ---------------------------------------------------------------- the floor
def test_the_floor_is_what_random_corpus_tunes_score(corpus):
    """Random draws of the corpus land within the floor nearly always; the floor is above zero and
    shrinks as the sample grows (the distance between samples of 20 or 100 tunes is never 0)."""
    small, large = critic.floor(corpus, 20), critic.floor(corpus, 400)
    assert all(small[name].mean > large[name].mean for name in critic.FEATURES if name != "unit"), (small, large)
    assert small["key"].mean > 0.2 and small["key"].sd > 0.01
    rng = random.Random(5)
    beyond = [critic.compare(rng.sample(corpus, 20), corpus, draws=20).beyond_floor() for _ in range(10)]
    share = sum(sum(b.values()) for b in beyond) / (10 * len(critic.FEATURES))
    assert share < 0.1, f"{share:.0%} of random draws' distances lie beyond the floor"


def test_the_floor_draws_the_size_compared(corpus):
    report = critic.compare(corpus[:66], corpus, draws=5)
    assert {(f.tunes, f.draws) for f in report.floor.values()} == {(66, 5)}
    assert report.floor == critic.floor(corpus, 66, draws=5), "one seed, one floor"


def test_side_by_side_puts_each_floor_after_the_first_report_of_its_size(corpus):
    reports = {"a": critic.compare(corpus[:30], corpus, 3), "b": critic.compare(corpus[30:50], corpus, 3),
               "c": critic.compare(corpus[50:70], corpus, 3)}
    table = critic.side_by_side(reports)
    assert list(table.columns) == ["a", "floor, 30 tunes", "b", "floor, 20 tunes", "c"]
    assert table.loc["meter (M:)", "b"] == round(reports["b"].distances["meter"], 3)
    assert table.loc["key (K:)", "floor, 20 tunes"] == str(reports["b"].floor["key"])


# ---------------------------------------------------------------- unreadable values
@pytest.mark.parametrize("value, label", [("6/8", "6/8"), ("C", "4/4"), ("C|", "2/2"), (" 3/4 ", "3/4"),
                                          (None, "none"), ("4/4|:abc", "other/unreadable"), ("", "other/unreadable"),
                                          ("6/", "other/unreadable"), ("0/8", "other/unreadable")])
def test_meters_that_cannot_be_read_share_one_label(value, label):
    assert critic.fraction_field(value) == label


def test_a_hundred_tunes_take_well_under_a_second(corpus):
    rng = random.Random(4)
    tunes = corpus[:50] + [shuffled(song, rng) for song in corpus[50:100]]
    start = time.perf_counter()
    critic.compare(tunes, corpus[100:200])
    assert time.perf_counter() - start < 1.0


def test_plot_draws_one_panel_per_feature(corpus):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    garbage = "X:1\nT:g\nM:3/4|:ab|\nL:1/8\nK:D\nabc|"
    fig = critic.compare(corpus[:20] + [garbage], corpus[20:60]).plot()
    assert len(fig.axes) == 5 and all(ax.get_title() for ax in fig.axes)
    meters = [tick.get_text() for tick in fig.axes[0].get_xticklabels()]
    assert "other/unreadable" in meters and not any("|:" in meter for meter in meters), meters
    plt.close(fig)
