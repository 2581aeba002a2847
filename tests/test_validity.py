"""Lab 03's one validity rule (tunes.check_abc): the panel's verdict, the tune view, the critic's count
and 3.7's count agree on valid and invalid tunes, a tune with no K: line and one whose K: names no key
included; and a valid tune's caption never says that it has no key."""

from pathlib import Path

import nbformat
import pytest

from labhelpers import critic, music, notation, steer, tunes

TRAINING = music.split_songs(music.load_songs())[0]
HEAD = "X:1\nT:Case\nM:6/8\nL:1/8\n"
CASES = {  # name -> (tune, valid, the reason when invalid)
    "a training tune": (TRAINING[7], True, "ok"),
    "a generated-like jig": (HEAD + "K:G\n|:GAB dBG|c2e dBG|ABc BAG|FGA D3:|", True, "ok"),
    "no K: line": (HEAD + "|:GAB dBG|c2e dBG|ABc BAG|FGA D3:|", False, "header field(s) K: missing"),
    "a K: that names no key": (HEAD + "K:Hwobble\n|:GAB dBG|c2e dBG|ABc BAG|FGA D3:|", False,
                               "K:Hwobble names no key"),
    "no M: or L:": ("X:1\nT:Case\nK:D\n|:GAB dBG|c2e dBG|", False, "header field(s) M:, L: missing"),
    "too few notes": (HEAD + "K:D\nGAB|", False, "only 3 notes"),
}


def panel_verdict(song: str) -> tuple[bool, str]:
    """What a click of the 3.8 panel shows for a sampler that writes `song`: its verdict, its status line."""
    panel = steer.SamplerPanel(lambda start, length, temperature: song, TRAINING[:40])
    result = panel.click()
    return result["valid"], panel.status.value


@pytest.mark.parametrize("name", CASES)
def test_the_panel_the_view_and_the_rule_agree(name):
    song, valid, reason = CASES[name]
    verdict = tunes.check_abc(song)
    assert (verdict.valid, verdict.reason) == (valid, reason)
    shown, status = panel_verdict(song)
    assert shown is valid and ("<b>valid ABC</b>" in status) is valid and ("<b>not valid ABC</b>" in status) is not valid
    view = notation.show(song)
    assert view.valid is valid and view.verdict.startswith("valid ABC" if valid else "not valid ABC")
    assert "no key" not in view.verdict, "a valid tune has a key; an invalid one gives its reason"
    assert view.problem == ("" if valid else reason)


def test_the_critic_counts_what_3_7_counts():
    songs = [song for song, _, _ in CASES.values()]
    counted_as_in_3_7 = sum(tunes.check_abc(song).valid for song in songs)  # 3.7's expression
    report = critic.compare(songs, TRAINING, draws=3)
    assert report.generated.invalid == len(songs) - counted_as_in_3_7 == 4
    assert report.summary().startswith(f"4 of {len(songs)} tunes are not valid ABC.")


def test_the_rule_is_stated_once_and_the_notebook_states_it():
    """The rule in words (tunes.RULE) is the one 3.7 prints in bold."""
    notebook = nbformat.read(Path(__file__).parents[1] / "solutions" / "03_music_generation.ipynb", 4)
    [section] = [cell.source for cell in notebook.cells if cell.source.startswith("## 3.7")]
    plain = section.replace("`", "").replace("**", "").replace("\n", " ")
    assert tunes.RULE.replace("a tune is valid", "A tune is valid") in plain
