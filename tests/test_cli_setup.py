"""`python -m labhelpers setup | lab | check | status` without make, on any system's paths."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labhelpers import install

ROOT = Path(__file__).resolve().parent.parent


def test_venv_python_on_windows_and_elsewhere(tmp_path):
    assert install.venv_python(tmp_path) == (tmp_path / "Scripts" / "python.exe" if os.name == "nt"
                                             else tmp_path / "bin" / "python")
    (tmp_path / "Scripts").mkdir()
    (tmp_path / "Scripts" / "python.exe").touch()
    assert install.venv_python(tmp_path) == tmp_path / "Scripts" / "python.exe"


def test_lab_command_serves_notebooks_without_a_browser(tmp_path):
    command = install.lab_command("py", tmp_path, 9000)
    assert command[:4] == ["py", "-m", "jupyterlab", "--no-browser"]
    assert f"--ServerApp.root_dir={tmp_path / 'notebooks'}" in command and "--ServerApp.port=9000" in command
    assert ("--allow-root" in command) == (hasattr(os, "geteuid") and os.geteuid() == 0)


def test_lab_command_opens_the_backends_own_notebooks(tmp_path):
    """notebooks/jax/ for a JAX learner where release wrote it; notebooks/ for TensorFlow, or without it."""
    (tmp_path / "notebooks" / "jax").mkdir(parents=True)
    assert f"--ServerApp.root_dir={tmp_path / 'notebooks' / 'jax'}" in install.lab_command("py", tmp_path, 1, "jax")
    assert f"--ServerApp.root_dir={tmp_path / 'notebooks'}" in install.lab_command("py", tmp_path, 1, "torch")
    assert f"--ServerApp.root_dir={tmp_path / 'notebooks'}" in install.lab_command("py", tmp_path, 1, "tensorflow")


def test_setup_refuses_a_folder_without_the_course(tmp_path, capsys):
    assert install.setup(tmp_path) == 2
    assert "no pyproject.toml" in capsys.readouterr().err


def test_setup_here_installs_once_then_only_checks(tmp_path, monkeypatch):
    """The stamp in the environment holds what the install came from; the same files install nothing."""
    course = tmp_path / "course"
    (course / "labhelpers").mkdir(parents=True)
    (course / "pyproject.toml").write_text("[project]\nname = 'seqlab'\n")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "env"))
    (tmp_path / "env").mkdir()
    calls = []
    monkeypatch.setattr(install, "pip", lambda python, *args, **kw: calls.append(args))
    monkeypatch.setattr(install, "install_mitdeeplearning", lambda python, quiet=True: calls.append("mitdl"))
    monkeypatch.setattr(install, "has_module", lambda python, module: True)
    monkeypatch.setattr(install, "installed_version", lambda name: "0.1.0")
    assert install.setup_here(course) is True
    assert calls == [("install", "--quiet", "-e", str(course)), "mitdl"]
    assert install.setup_here(course) is False and len(calls) == 2
    (course / "pyproject.toml").write_text("[project]\nname = 'seqlab'\nversion = '2'\n")
    assert install.setup_here(course, deps=False) is True
    assert calls[-2] == ("install", "--quiet", "--no-deps", "-e", str(course))


def fake_installed_course(tmp_path, monkeypatch, calls: list, backends_here: set) -> Path:
    """A course whose install is current in a fake environment; pip records its calls and the constraints."""
    course = tmp_path / "course"
    course.mkdir()
    (course / "pyproject.toml").write_text("[project]\nname = 'seqlab'\n")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "env"))
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / install.STAMP).write_text(install.fingerprint(course) + "\n")
    monkeypatch.setattr(install, "has_module", lambda python, module: True)
    monkeypatch.setattr(install, "installed_version", {"tensorflow": "2.21.0", "seqlab": "0.1.0"}.get)
    monkeypatch.setattr(install.backends, "installed", lambda name: name in backends_here)

    def pip(python, *args, **kw):
        constraints = Path(args[args.index("-c") + 1]).read_text() if "-c" in args else ""
        calls.append((args, constraints))
        backends_here.update(name for name, pins in install.backends.EXTRAS.items() if set(pins) & set(args))

    monkeypatch.setattr(install, "pip", pip)
    return course


def test_setup_here_adds_a_missing_backend_once_keeping_tensorflow(tmp_path, monkeypatch):
    calls, here = [], {"tensorflow"}
    course = fake_installed_course(tmp_path, monkeypatch, calls, here)
    assert install.setup_here(course, backend_names=("tensorflow",)) is False and calls == []
    assert install.setup_here(course, backend_names=("torch",)) is True
    assert calls == [(("install", "--quiet", "-c", calls[0][0][3], "torch==2.13.0"), "tensorflow==2.21.0\n")]
    assert install.setup_here(course, backend_names=install.backends.BACKENDS) is True  # jax only: torch is there
    assert calls[1][0][4:] == install.backends.EXTRAS["jax"]
    assert install.setup_here(course, backend_names=install.backends.BACKENDS) is False and len(calls) == 2


def test_setup_takes_keras_backend_and_refuses_one_the_course_has_not(tmp_path, monkeypatch, capsys):
    calls = []
    course = fake_installed_course(tmp_path, monkeypatch, calls, {"tensorflow"})
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert install.setup(course, here=True) == 0 and calls[0][0][-2:] == ("jax==0.10.2", "jaxlib==0.10.2")
    assert "with Keras' jax backend" in capsys.readouterr().out
    monkeypatch.setenv("KERAS_BACKEND", "numpy")
    assert install.setup(course, here=True) == 2 and len(calls) == 1
    assert "not on 'numpy' (from KERAS_BACKEND)" in capsys.readouterr().err


def test_setup_hands_the_backend_to_the_course_venv(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").touch()
    python = install.venv_python(tmp_path / ".venv")
    python.parent.mkdir(parents=True)
    python.touch()
    commands = []
    monkeypatch.setattr(install.subprocess, "call", lambda command, cwd: commands.append(command) or 0)
    assert install.setup(tmp_path, backend="all") == 0
    assert commands == [[str(python), "-m", "labhelpers", "setup", "--backend", "all"]]


def make_prints(tmp_path, target: str, *variables: str, env=None) -> str:
    """What `make TARGET VARIABLES` runs (-n), or a recipe of our own (`show-backend`) prints."""
    extra = tmp_path / "show.mk"
    extra.write_text("show-backend:\n\t@echo KERAS_BACKEND=$$KERAS_BACKEND BACKEND=$(BACKEND)\n")
    environment = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"} | (env or {})
    flags = [] if target == "show-backend" else ["-n"]
    done = subprocess.run(["make", *flags, "-f", "Makefile", "-f", str(extra), target, *variables], cwd=ROOT,
                          env=environment, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_backend_installs_and_exports_it(tmp_path):
    """`make lab BACKEND=torch`: setup --backend torch, and JupyterLab's kernels get KERAS_BACKEND=torch."""
    assert "labhelpers setup --backend torch" in make_prints(tmp_path, "setup", "BACKEND=torch")
    assert "labhelpers setup --backend jax" in make_prints(tmp_path, "lab", "BACKEND=jax")
    assert "KERAS_BACKEND=torch BACKEND=torch" in make_prints(tmp_path, "show-backend", "BACKEND=torch")
    assert "KERAS_BACKEND=jax BACKEND=jax" in make_prints(tmp_path, "show-backend", env={"KERAS_BACKEND": "jax"})
    assert "KERAS_BACKEND= BACKEND=all" in make_prints(tmp_path, "show-backend", "BACKEND=all")


def test_make_without_backend_installs_what_it_did_and_ci_installs_all_three(tmp_path):
    assert "--backend" not in make_prints(tmp_path, "setup") + make_prints(tmp_path, "lab")
    assert "--backend" not in make_prints(tmp_path, "setup", env={"KERAS_BACKEND": "tensorflow"})
    assert "labhelpers setup --backend all" in make_prints(tmp_path, "test")


def test_status_from_a_python_without_numpy_runs_in_the_course_venv(tmp_path):
    """`python -m labhelpers status` with a bare Python (no numpy) hands over to .venv's."""
    bare = tmp_path / "bare"
    subprocess.run([str(Path(sys.base_prefix) / "bin" / "python3"), "-m", "venv", "--without-pip", str(bare)],
                   check=True)
    done = subprocess.run([str(bare / "bin" / "python"), "-m", "labhelpers", "status"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "exercises pass" in done.stdout, done.stdout + done.stderr


def tracked_files(folder: Path) -> None:
    """A fresh clone of the working tree (committed or not, less what git ignores) in `folder`."""
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.splitlines()
    for name in names:
        if (ROOT / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, folder / name)


@pytest.mark.skipif(os.environ.get("SEQLAB_SETUP_TEST") != "1",
                    reason="installs the course into a fresh .venv (minutes): run with SEQLAB_SETUP_TEST=1 "
                           "pytest tests/test_cli_setup.py -s")
def test_setup_in_a_fresh_clone_then_lab_check_and_status_with_plain_python(tmp_path):
    clone = tmp_path / "seqlab"
    tracked_files(clone)
    python = str(Path(sys.base_prefix) / "bin" / "python3")  # a Python with nothing of the course installed
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["SEQLAB_PROGRESS"] = str(tmp_path / "progress.json")
    started = time.monotonic()
    first = subprocess.run([python, "-m", "labhelpers", "setup"], cwd=clone, env=env, capture_output=True,
                           text=True, timeout=1800)
    installed = time.monotonic() - started
    assert first.returncode == 0 and "seqlab is installed in" in first.stdout, first.stdout + first.stderr
    started = time.monotonic()
    second = subprocess.run([python, "-m", "labhelpers", "setup"], cwd=clone, env=env, capture_output=True,
                            text=True, timeout=300)
    print(f"\nsetup in a fresh clone: {installed:.0f} s; again: {time.monotonic() - started:.1f} s")
    assert second.returncode == 0 and "(nothing to do)" in second.stdout, second.stdout + second.stderr
    with subprocess.Popen([python, "-m", "labhelpers", "lab", "--port", "0"], cwd=clone, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as lab:
        try:
            printed = []
            for line in lab.stdout:
                printed.append(line)
                if "/lab?token=" in line:
                    break
            assert "/lab?token=" in printed[-1], "".join(printed[-20:])
        finally:
            lab.terminate()
    checked = subprocess.run([python, "-m", "labhelpers", "check", "notebooks/01_rnn_from_scratch.ipynb"],
                             cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    assert "01_rnn_from_scratch.ipynb: 0 of 6 exercises pass" in checked.stdout, checked.stdout + checked.stderr
    status = subprocess.run([python, "-m", "labhelpers", "status"], cwd=clone, env=env, capture_output=True,
                            text=True, timeout=120)
    assert status.returncode == 0 and "1.2 rnn_step" in status.stdout, status.stdout + status.stderr
