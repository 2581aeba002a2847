"""The sandbox a graded kernel runs in, attacked directly: what it can see and what it can fill.

Each test runs a small script in the sandbox exactly as `grade` starts a kernel (sandbox.command,
inside the kernel's cgroup where there is one), with limits shrunk so that hitting them is cheap,
and measures how far the attack got. Where a limit cannot be set on this host (no cgroup, not root),
the test says why and skips.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from labhelpers import cgroups, sandbox

pytestmark = pytest.mark.skipif(sandbox.unavailable_reason() is not None,
                                reason=f"no sandbox here: {sandbox.unavailable_reason()}")

MIB = 2**20
SMALL = sandbox.Limits(memory_bytes=512 * MIB, processes=64, file_bytes=64 * MIB, work_bytes=48 * MIB,
                       tmp_bytes=32 * MIB, shm_bytes=16 * MIB, channel_bytes=24 * MIB)


def run_inside(script: str, channel: Path, limits: sandbox.Limits = SMALL, readable=(), group=None,
               timeout: float = 120, prelude: str = "") -> dict:
    """Run a Python script (after `prelude`) in the sandbox; it prints one JSON line, returned here."""
    env = sandbox.kernel_env(sandbox.WORK, {"PYTHONPATH": os.pathsep.join(str(p) for p in readable)})
    code = prelude + textwrap.dedent(script)
    argv = sandbox.command(channel, [sys.executable, "-c", code], env, limits, readable)
    done = subprocess.run(group.wrap(argv) if group else argv, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result (exit {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(lines[-1])


FILL = """
import errno, json, os
def fill(path, limit_mib):
    written = 0
    try:
        with open(path, "wb") as handle:
            chunk = b"x" * 2**20
            while written < limit_mib * 2**20:
                handle.write(chunk); handle.flush(); written += len(chunk)
    except OSError as error:
        return written // 2**20, errno.errorcode.get(error.errno, str(error.errno))
    return written // 2**20, "no error"
"""


def test_a_folder_under_tmp_stays_visible(tmp_path):
    """/tmp is mounted before the binds: a course or virtualenv living under /tmp is still seen."""
    assert str(tmp_path).startswith("/tmp/")
    course = tmp_path / "course"
    course.mkdir()
    (course / "marker.txt").write_text("seen")
    channel = tmp_path / "channel"
    channel.mkdir()
    found = run_inside(f"""
        import json, sys
        print(json.dumps({{"marker": open({str(course / 'marker.txt')!r}).read(), "prefix": sys.prefix}}))
        """, channel, readable=[course])
    assert found == {"marker": "seen", "prefix": sys.prefix}
    order = sandbox.command(channel, ["true"], {}, SMALL, [course])
    assert order.index("/tmp") < min(i for i, arg in enumerate(order) if arg == "--ro-bind")


def test_every_tmpfs_and_the_root_are_bounded(tmp_path):
    channel = tmp_path / "channel"
    channel.mkdir()
    found = run_inside(f"""
        result = {{name: fill(path, 200) for name, path in
                  [("tmp", "/tmp/f"), ("shm", "/dev/shm/f"), ("work", "{sandbox.WORK}/f")]}}
        result["root"] = fill("/f", 1)
        result["dev"] = fill("/dev/f", 1)
        result["package"] = fill({str(sandbox.PACKAGE / 'f')!r}, 1)
        print(json.dumps(result))
        """, channel, prelude=FILL)
    assert found["tmp"] == [32, "ENOSPC"] and found["shm"] == [16, "ENOSPC"] and found["work"] == [48, "ENOSPC"]
    assert {found[name][1] for name in ("root", "dev", "package")} == {"EROFS"}


@pytest.mark.skipif(os.geteuid() != 0, reason="the channel folder is a bounded tmpfs only where the grader is root")
def test_the_channel_folder_is_bounded(tmp_path):
    channel = tmp_path / "channel"
    channel.mkdir()
    assert sandbox.mount_bounded(channel, SMALL.channel_bytes)
    try:
        found = run_inside(f"""
            print(json.dumps({{"fills": [fill("{channel}/f{{}}".format(i), 20) for i in range(3)]}}))
            """, channel, prelude=FILL)
    finally:
        sandbox.unmount(channel)
    assert sum(mib for mib, _ in found["fills"]) <= 24 and found["fills"][-1][1] == "ENOSPC"


def kernel_group(limits):
    group, how = cgroups.create(limits.processes, limits.group_memory_bytes)
    if group is None:
        pytest.skip(f"no cgroup on this host: {how}")
    return group


def test_processes_are_capped_even_for_root(tmp_path):
    """2,000 forks: RLIMIT_NPROC alone lets root through; the cgroup (or a plain user's rlimit) does not."""
    channel = tmp_path / "channel"
    channel.mkdir()
    group = kernel_group(SMALL) if os.geteuid() == 0 else None
    try:
        found = run_inside("""
            import json, os, time
            started = 0
            for _ in range(2000):
                try:
                    if os.fork() == 0:
                        time.sleep(30); os._exit(0)
                    started += 1
                except OSError:
                    break
            print(json.dumps({"started": started}))
            """, channel, group=group)
    finally:
        if group:
            group.remove()
    assert found["started"] < SMALL.processes


def test_all_processes_together_stay_under_the_memory_cap(tmp_path):
    """Four children of 200 MiB each (each under the address-space limit) exceed the group's cap."""
    channel = tmp_path / "channel"
    channel.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a total memory cap needs a cgroup, which only a root grader makes")
    group = kernel_group(SMALL)
    try:
        found = run_inside("""
            import json, os, time
            children = []
            for _ in range(4):
                pid = os.fork()
                if pid == 0:
                    block = bytearray(200 * 2**20)
                    for i in range(0, len(block), 4096):
                        block[i] = 1
                    time.sleep(3); os._exit(0)
                children.append(pid)
            codes = [os.waitpid(pid, 0)[1] for pid in children]
            print(json.dumps({"killed": sum(os.WIFSIGNALED(code) for code in codes)}))
            """, channel, group=group)
    finally:
        group.remove()
    assert SMALL.group_memory_bytes < 800 * MIB and found["killed"] >= 1


def _judge_files() -> dict[str, str]:
    """sha256 of every file under labhelpers/judges/ (sources and compiled), by its size."""
    return {hashlib.sha256(path.read_bytes()).hexdigest(): str(path)
            for path in sandbox.HIDDEN.rglob("*") if path.is_file()}


def test_no_judge_can_be_imported_walked_to_or_read(tmp_path):
    """Inside: no judges package, no judge function in memory after every check is declared, and no
    file anywhere whose bytes are a judge file's."""
    channel = tmp_path / "channel"
    channel.mkdir()
    hashes = _judge_files()
    assert len(hashes) >= 20
    sizes = sorted({os.path.getsize(path) for path in hashes.values()})
    found = run_inside(f"""
        import gc, hashlib, importlib, json, os, pkgutil
        import labhelpers, labhelpers.grading as grading
        from labhelpers import exercises
        result = {{"imported": [], "judged": [], "in_memory": [], "files": [], "walked": 0}}
        for module in exercises.MODULES.values():
            importlib.import_module("labhelpers." + module)
            try:
                importlib.import_module("labhelpers.judges." + module)
                result["imported"].append(module)
            except ImportError:
                pass
        for number, lab in grading.LABS.items():
            for exercise in lab.exercises.values():
                try:
                    exercise.judging()
                    result["judged"].append(exercise.id)
                except ImportError:
                    pass
        modules = (getattr(o, "__module__", None) for o in gc.get_objects() if callable(o))
        result["in_memory"] = sorted({{m for m in modules if isinstance(m, str) and "judges" in m}})
        result["modules"] = [m.name for m in pkgutil.walk_packages(labhelpers.__path__, "labhelpers.")
                             if "judges" in m.name and m.name != "labhelpers.judges"]
        hashes, sizes = {json.dumps(sorted(hashes))}, set({sizes})
        for top in ("/usr", "/etc", "/tmp", "{sandbox.WORK}", os.path.dirname(labhelpers.__path__[0]), "/root", "/work"):
            for folder, _, names in os.walk(top):
                for name in names:
                    path = os.path.join(folder, name)
                    result["walked"] += 1
                    try:
                        if os.path.getsize(path) in sizes and hashlib.sha256(open(path, "rb").read()).hexdigest() in hashes:
                            result["files"].append(path)
                    except OSError:
                        pass
        print(json.dumps(result))
        """, channel, limits=sandbox.Limits(), timeout=600)
    assert found["walked"] > 1000
    assert (found["imported"], found["judged"], found["in_memory"], found["modules"], found["files"]) == \
        ([], [], [], [], [])
