"""What a graded kernel can take from the host, measured: each sandbox limit hit at its default size,
and the grader's own memory while it grades a flood of output, with the output cap and without it.

1. Limits: a script in the sandbox, started as `grade` starts a kernel (sandbox.command, in the
   kernel's cgroup where there is one), fills /tmp, /dev/shm, its working folder and the channel
   until they refuse, forks until it cannot, and tries to write to / and /dev.
2. The grader's memory: the tiny course of tests/test_gradebook.py graded with one submission that
   prints 12 x 16 MiB and one right one, once with the default output cap (32 MiB) and once with the
   cap raised to 4 GiB (the baseline: what the grader held before the cap); the growth of the
   grader's resident memory while grading, sampled every 20 ms.
Prints one line per figure. Needs bubblewrap; the cgroup and channel figures need root.
"""

from __future__ import annotations

import dataclasses
import resource
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import nbformat  # noqa: E402
from test_gradebook import RIGHT, answered, write_course  # noqa: E402
from test_grading_attacks import WRONG, PeakMemory  # noqa: E402
from test_sandbox_limits import FILL, run_inside  # noqa: E402

from labhelpers import cgroups, gradebook, sandbox, submissions  # noqa: E402

MIB = 2**20
FLOOD = WRONG + "for _ in range(12):\n    print('x' * 16 * 2**20)"


def limits_hit(folder: Path) -> None:
    limits = sandbox.Limits()
    channel = folder / "channel"
    channel.mkdir()
    bounded = sandbox.mount_bounded(channel, limits.channel_bytes)
    group, how = cgroups.create(limits.processes, limits.group_memory_bytes)
    try:
        found = run_inside(f"""
            import os, time
            def fill_folder(folder):  # files of 200 MiB (under the per-file limit) until the folder refuses
                total = 0
                for n in range(20):
                    written, error = fill(f"{{folder}}/f{{n}}", 200)
                    total += written
                    if error != "no error":
                        return total, error
                return total, "no error"
            result = {{name: fill_folder(path) for name, path in [("/tmp", "/tmp"), ("/dev/shm", "/dev/shm"),
                      ("working folder", "{sandbox.WORK}"), ("channel", "{channel}")]}}
            result["/ (root)"], result["/dev"] = fill("/f", 1), fill("/dev/f", 1)
            forks = 0
            for _ in range(2000):
                try:
                    if os.fork() == 0:
                        time.sleep(20); os._exit(0)
                    forks += 1
                except OSError:
                    break
            result["processes started of 2000"] = forks
            print(json.dumps(result))
            """, channel, limits=limits, group=group, prelude=FILL)
    finally:
        if group:
            group.remove()
        if bounded:
            sandbox.unmount(channel)
    print(sandbox.describe(limits))
    for name, value in found.items():
        shown = f"{value[0]} MiB written, then {value[1]}" if isinstance(value, list) else value
        print(f"limit {name}: {shown}")
    print(f"(cgroup: {how}; channel tmpfs: {'mounted' if bounded else 'not mounted, not root'})")


def grader_growth(folder: Path, output_bytes: int) -> float:
    course = write_course(folder / "course")
    labs = {lab.name: lab for lab in submissions.load_labs(course / "solutions")}
    for student, source in (("flood", FLOOD), ("right", None)):
        (folder / "in" / student).mkdir(parents=True)
        notebook = answered(labs, {**RIGHT, 4: source} if source else RIGHT)
        nbformat.write(notebook, folder / "in" / student / "97_tiny.ipynb")
    limits = dataclasses.replace(sandbox.Limits(), output_bytes=output_bytes)
    settings = gradebook.Settings(jobs=2, cell_timeout=60, notebook_timeout=120, limits=limits,
                                  pythonpath=[str(course / "checks")], judges_path=[str(course / "judges")])
    with PeakMemory() as memory:
        rows = gradebook.grade_folder(folder / "in", course / "solutions", settings, progress=None)
    statuses = ", ".join(f"{row.student}: {row.status} {row.passed}/{len(row.results)}" for row in rows)
    print(f"output cap {output_bytes // MIB} MiB: the grader grew by {memory.growth / MIB:.0f} MiB "
          f"while 192 MiB were printed ({statuses})")
    return memory.growth


def main() -> int:
    if reason := sandbox.unavailable_reason():
        print(f"no sandbox here: {reason}")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        limits_hit(Path(tmp))
    growth = {}
    for cap in (sandbox.Limits().output_bytes, 4096 * MIB):
        with tempfile.TemporaryDirectory() as tmp:
            growth[cap] = grader_growth(Path(tmp), cap)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"the grader's peak RSS over this bench: {peak:.0f} MiB; its growth under a flood of output: "
          f"{growth[min(growth)] / MIB:.0f} MiB with the cap vs {growth[max(growth)] / MIB:.0f} MiB without")
    return 0


if __name__ == "__main__":
    sys.exit(main())
