"""A control group per graded kernel: a cap on its processes and its memory that binds for root too.

RLIMIT_NPROC does not bind for a process whose real user is root outside its user namespace (what a
sandboxed kernel is when `grade` runs as root), and RLIMIT_AS binds one process at a time, not its
children nor the tmpfs pages it fills. A cgroup's `pids.max` and memory limit bind all of them.
Both cgroup v2 (`pids.max`, `memory.max` in one tree) and cgroup v1 (separate `pids` and `memory`
hierarchies) are handled; each group is made below the grader's own, so the host's limits still hold.
Where no cgroup can be made (no permission, no controller), `create` returns None and says why.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _own_paths() -> dict[str, str]:
    """The grader's cgroup in each hierarchy: {"": v2 path, "pids": v1 path, "memory": v1 path, ...}."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def _v2_root() -> Path | None:
    for candidate in (ROOT, ROOT / "unified"):
        controllers = candidate / "cgroup.controllers"
        if controllers.exists() and {"pids", "memory"} <= set(controllers.read_text().split()):
            return candidate
    return None


@dataclass
class KernelGroup:
    """The cgroup folders of one kernel (one per hierarchy) and the limits written into them."""

    folders: list[Path] = field(default_factory=list)

    def wrap(self, argv: list[str]) -> list[str]:
        """`argv` started inside the group: a shell joins it, then execs the command."""
        join = " && ".join(f"echo $$ > {folder / 'cgroup.procs'}" for folder in self.folders)
        return ["/bin/sh", "-c", f'{join} && exec "$@"', "seqlab-cgroup", *argv]

    def peak_processes(self) -> int | None:
        for folder in self.folders:
            for name in ("pids.peak", "pids.current"):
                if (folder / name).exists():
                    return int((folder / name).read_text())
        return None

    def remove(self) -> None:
        """Kill what is left in the group and remove its folders."""
        for folder in self.folders:
            kill = folder / "cgroup.kill"
            if kill.exists():
                _write(kill, "1")
            else:
                for pid in (folder / "cgroup.procs").read_text().split() if folder.exists() else []:
                    try:
                        os.kill(int(pid), 9)
                    except OSError:
                        pass
        for folder in self.folders:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # processes still exiting
                    time.sleep(0.05)


def _write(path: Path, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


def create(processes: int, memory_bytes: int) -> tuple[KernelGroup | None, str]:
    """A new group capped at `processes` tasks and `memory_bytes`, or (None, why not)."""
    name = f"seqlab-kernel-{uuid.uuid4().hex[:12]}"
    own = _own_paths()
    group = KernelGroup()
    try:
        if (v2 := _v2_root()) is not None:
            folder = v2 / own.get("", "/").lstrip("/") / name
            folder.mkdir()
            group.folders.append(folder)
            _write(folder / "pids.max", str(processes))
            _write(folder / "memory.max", str(memory_bytes))
            if (folder / "memory.swap.max").exists():
                _write(folder / "memory.swap.max", "0")
            return group, "cgroup v2"
        for controller, limit_file, value in (("pids", "pids.max", processes),
                                              ("memory", "memory.limit_in_bytes", memory_bytes)):
            folder = ROOT / controller / own.get(controller, "/").lstrip("/") / name
            folder.mkdir()
            group.folders.append(folder)
            _write(folder / limit_file, str(value))
        return group, "cgroup v1"
    except OSError as error:
        group.remove()
        return None, f"no cgroup ({type(error).__name__}: {error.strerror or error})"
