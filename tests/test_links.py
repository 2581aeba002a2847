"""JupyterHub (nbgitpuller) and Binder links, and the README's badges, from the one setting."""

import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from labhelpers import exercises, platform_links

ROOT = Path(__file__).resolve().parent.parent
LABS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


def links(*args) -> list[str]:
    done = subprocess.run([sys.executable, "-m", "labhelpers", "links", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout.splitlines()


def test_links_prints_one_nbgitpuller_link_per_lab_and_binders():
    printed = links("--hub", "https://hub.example.edu", "--repo", "https://github.com/ORG/REPO")
    assert len(printed) == len(LABS) + 1 and len(LABS) == len(exercises.LABS)
    for line, name in zip(printed, LABS):
        label, url = line.split(": ", 1)
        assert label == f"{name[:2]} {exercises.LABS[name[:2]][0]}"
        assert url == ("https://hub.example.edu/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2FORG%2FREPO"
                       f"&branch=main&urlpath=lab%2Ftree%2FREPO%2Fnotebooks%2F{name}")
        parts = urlsplit(url)
        assert parts.path == "/hub/user-redirect/git-pull"
        assert parse_qs(parts.query) == {"repo": ["https://github.com/ORG/REPO"], "branch": ["main"],
                                         "urlpath": [f"lab/tree/REPO/notebooks/{name}"]}
    assert printed[-1] == "Binder (no hub needed): https://mybinder.org/v2/gh/ORG/REPO/main?urlpath=lab%2Ftree%2Fnotebooks"


def test_links_take_a_branch_a_trailing_slash_and_a_git_suffix():
    (first, *_) = links("--hub", "https://hub.example.edu/", "--repo", "https://gitlab.example.edu/me/course.git",
                        "--branch", "spring 2026")
    query = parse_qs(urlsplit(first.split(": ", 1)[1]).query)
    assert first.split(": ", 1)[1].startswith("https://hub.example.edu/hub/user-redirect/git-pull?")
    assert query == {"repo": ["https://gitlab.example.edu/me/course.git"], "branch": ["spring 2026"],
                     "urlpath": [f"lab/tree/course/notebooks/{LABS[0]}"]}
    assert not any(line.startswith("Binder") for line in links("--hub", "h", "--repo", "https://gitlab.example.edu/x"))


def test_links_default_to_the_course_setting():
    printed = links("--hub", "https://hub.example.edu")
    assert f"repo={platform_links.github_url().replace(':', '%3A').replace('/', '%2F')}&branch={platform_links.BRANCH}" \
        in printed[0]


def test_readme_has_the_binder_and_colab_badges_of_the_setting():
    readme = (ROOT / "README.md").read_text()
    assert platform_links.binder_badge() in readme
    assert platform_links.colab_url("notebooks/01_rnn_from_scratch.ipynb") in readme
    first_screen = readme.split("## For instructors and contributors")[0]
    for command in ("make lab", "make check", "make status", "python -m labhelpers setup",
                    "python -m labhelpers lab", "python -m labhelpers check", "python -m labhelpers status"):
        assert command in first_screen, command
    assert "make test" not in first_screen and "make test" in readme
