"""Where the course is published, and the links that open it where learners already work.

THE setting: `GITHUB_REPO` and `BRANCH` below, the GitHub repository that holds this course and
its branch. Everything else is derived from them:
- the "Open in Colab" badge that `python -m labhelpers release` writes into the first markdown
  cell of every notebook (student notebooks link to notebooks/, solutions to solutions/);
- the default install source of the Colab setup cell (`release` writes it into that cell; the
  environment variable SEQLAB_INSTALL_SOURCE overrides it at run time: a Git URL, a wheel's
  URL or path, or a name on a package index);
- the Binder links of the README (tests/test_links.py checks they match);
- `python -m labhelpers links --hub URL`, whose --repo and --branch default to these.
Change them, run `python -m labhelpers release`, and commit solutions/, notebooks/ and README.md.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

GITHUB_REPO = "your-org/seqlab"  # owner/name on GitHub: set it to where you publish the course
BRANCH = "main"

INSTALL_SOURCE_ENV = "SEQLAB_INSTALL_SOURCE"
SETUP_CELL_ID = "colab-setup"  # the id of the setup cell that `release` writes into each notebook
COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE_IMAGE = "https://mybinder.org/badge_logo.svg"
BADGE_LINE = re.compile(r"^\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)[ \t]*\n?", re.M)


def github_url(repo: str = GITHUB_REPO) -> str:
    return f"https://github.com/{repo}"


def default_install_source(repo: str = GITHUB_REPO, branch: str = BRANCH) -> str:
    """What pip installs in Colab when SEQLAB_INSTALL_SOURCE is not set: the course at `branch`."""
    return f"git+{github_url(repo)}@{branch}"


def colab_url(path: str, repo: str = GITHUB_REPO, branch: str = BRANCH) -> str:
    """Colab's URL for a notebook of the repository (`path` relative to its root, e.g. notebooks/01_x.ipynb)."""
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/{quote(path)}"


def colab_badge(path: str, repo: str = GITHUB_REPO, branch: str = BRANCH) -> str:
    return f"[![Open In Colab]({COLAB_BADGE_IMAGE})]({colab_url(path, repo, branch)})"


def binder_url(repo: str = GITHUB_REPO, branch: str = BRANCH, path: str | None = None) -> str:
    """mybinder.org's URL for the repository, opening JupyterLab on `path` (default: notebooks/)."""
    return f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath={quote('lab/tree/' + (path or 'notebooks'), safe='')}"


def binder_badge(repo: str = GITHUB_REPO, branch: str = BRANCH) -> str:
    return f"[![Binder]({BINDER_BADGE_IMAGE})]({binder_url(repo, branch)})"


def nbgitpuller_link(hub: str, repo_url: str, branch: str, notebook: str) -> str:
    """The link that makes a JupyterHub clone (or update) the repository and open `notebook` in JupyterLab.

    nbgitpuller's standard form: {hub}/hub/user-redirect/git-pull?repo=...&branch=...&urlpath=..., where
    urlpath is lab/tree/<the clone's folder, the repository's name>/<notebook>.
    """
    folder = repo_url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    query = urlencode({"repo": repo_url, "branch": branch, "urlpath": f"lab/tree/{folder}/{notebook}"},
                      quote_via=quote, safe="")
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def with_badge(markdown: str, path: str, repo: str = GITHUB_REPO, branch: str = BRANCH) -> str:
    """The first markdown cell with its Colab badge: on the line after its title, replacing an older badge."""
    text = BADGE_LINE.sub("", markdown)
    lines = text.split("\n")
    title = next((i for i, line in enumerate(lines) if line.startswith("#")), -1)
    rest = lines[title + 1:]
    while rest and not rest[0].strip():
        rest = rest[1:]
    return "\n".join([*lines[: title + 1], "", colab_badge(path, repo, branch), "", *rest])


SETUP_CELL = '''# Colab only: install the course's package and the tunes (a minute, once per runtime).
# Anywhere else this cell does nothing. SEQLAB_INSTALL_SOURCE overrides where the package comes from.
import os
import sys

if "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ:
    import importlib.util
    import subprocess

    if importlib.util.find_spec("labhelpers") is None:
        source = os.environ.get("{env}", "{source}")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", source], check=True)
        importlib.invalidate_caches()
    from labhelpers import install

    install.colab_runtime()'''


def setup_cell_source(repo: str = GITHUB_REPO, branch: str = BRANCH) -> str:
    """The source of the setup cell that `release` puts before a notebook's first code cell."""
    return SETUP_CELL.replace("{env}", INSTALL_SOURCE_ENV).replace("{source}", default_install_source(repo, branch))


def with_platform_cells(notebook, path: str, repo: str = GITHUB_REPO, branch: str = BRANCH):
    """A copy of `notebook` with the Colab badge in its first markdown cell and the setup cell (id
    SETUP_CELL_ID) as its first code cell; `path` is the notebook's path in the repository."""
    import copy

    from nbformat.v4 import new_code_cell

    notebook = copy.deepcopy(notebook)
    cells = notebook.cells
    first_markdown = next((c for c in cells if c.cell_type == "markdown"), None)
    if first_markdown is not None:
        first_markdown.source = with_badge(first_markdown.source, path, repo, branch)
    source = setup_cell_source(repo, branch)
    setup = next((c for c in cells if c.get("id") == SETUP_CELL_ID), None)
    if setup is None:
        setup = new_code_cell(source, id=SETUP_CELL_ID)
        cells.insert(next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells)), setup)
    setup.source = source
    return notebook
