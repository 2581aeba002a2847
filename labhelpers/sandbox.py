"""A Jupyter kernel inside a bubblewrap sandbox, for grading code that may be hostile.

The kernel sees: Python and its packages (read-only), the labhelpers package without its judges
(read-only; labhelpers/judges/ is an empty folder inside), a working folder of its own (`WORK`, its
HOME and working directory) and /tmp and /dev/shm, each a tmpfs of bounded size, and the channel
folder through which it talks to the grader (ZeroMQ `ipc` sockets, the probes' inputs and data). The
rest of its filesystem is read-only. It does not see the submissions, solutions/, other students'
folders, the grader's HOME or environment. It has no network (its own network namespace), its own
PID namespace (it cannot signal the grader, and no process it starts outlives it), and limits on
memory, CPU time, processes and file size. Where the grader runs as root, the limits that root would
escape are set another way: a cgroup caps the kernel's processes and memory (labhelpers/cgroups.py),
and the channel folder is a tmpfs of bounded size mounted by the grader. `describe` says in one line
which limits hold.

bubblewrap (`bwrap`, Debian's package `bubblewrap`, the sandbox Flatpak uses) must be installed:
`make setup` installs it where apt-get can (see tools/install-sandbox.sh).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import zmq
from jupyter_client.manager import AsyncKernelManager

PACKAGE = Path(__file__).resolve().parent
HIDDEN = PACKAGE / "judges"  # what decides: never visible inside
WORK = "/sandbox"  # the kernel's working folder and HOME inside


@dataclass
class Limits:
    """Resource limits of one sandboxed kernel."""

    memory_bytes: int = 6 * 2**30  # address space of each process; a training Lab 03 model peaks at 2.7 GiB
    cpu_seconds: int = 1800
    processes: int = 256  # threads count too; binds for root through a cgroup (cgroups.py)
    file_bytes: int = 256 * 2**20
    work_bytes: int = 512 * 2**20  # the working folder (HOME, checkpoints, the progress file)
    tmp_bytes: int = 512 * 2**20  # /tmp
    shm_bytes: int = 64 * 2**20  # /dev/shm
    channel_bytes: int = 160 * 2**20  # sockets and probe data (a probe's data is at most 64 MiB)
    output_bytes: int = 32 * 2**20  # everything one notebook's cells may display

    @property
    def group_memory_bytes(self) -> int:
        """The cgroup's cap: one full address space, plus every tmpfs the kernel can fill."""
        return self.memory_bytes + self.work_bytes + self.tmp_bytes + self.shm_bytes + self.channel_bytes


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def unavailable_reason() -> str | None:
    """Why kernels cannot be sandboxed here, or None when they can."""
    bwrap = bwrap_path()
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed: run `make setup` or `apt-get install bubblewrap`"
    probe = subprocess.run([bwrap, *_namespaces(), "--ro-bind", "/", "/", "--proc", "/proc", "true"],
                           capture_output=True, text=True)
    if probe.returncode:
        return f"bubblewrap cannot create namespaces here: {probe.stderr.strip()[:200]}"
    return None


def _namespaces() -> list[str]:
    return ["--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session"]


def _read_only_roots() -> list[str]:
    """The folders Python and its packages need, made read-only inside; nothing of the grader's own."""
    roots = {"/usr", "/etc/alternatives", "/etc/ssl", "/etc/fonts", "/etc/ld.so.cache", "/etc/localtime",
             sys.prefix, sys.base_prefix, sys.exec_prefix, str(PACKAGE)}
    roots.update(p for p in sys.path if p and Path(p).is_dir() and "site-packages" in p)
    return sorted(roots)


HOME_FOLDERS = ("home", "home/.ipython", "home/.config", "home/.config/matplotlib")


def command(channel: Path, argv: list[str], env: dict[str, str], limits: Limits, readable=(),
            writable=()) -> list[str]:
    """The bwrap command line that runs `argv` in the sandbox, with exactly `env` as its environment.

    `channel` is bound read-write, the `readable` folders read-only, and each (source, target) of
    `writable` read-write at its target. /tmp comes first, so that a folder bound later stays
    visible even when it lives under the host's /tmp.
    """
    args = [bwrap_path() or "bwrap", *_namespaces(), "--clearenv", "--hostname", "sandbox",
            "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL",
            "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    for root in _read_only_roots():
        if os.path.exists(root):
            args += ["--ro-bind", root, root]
    if HIDDEN.is_dir():
        args += ["--tmpfs", str(HIDDEN), "--remount-ro", str(HIDDEN)]
    for link, target in (("/bin", "usr/bin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64"), ("/sbin", "usr/sbin")):
        if os.path.islink(link):
            args += ["--symlink", target, link]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(limits.shm_bytes), "--tmpfs", "/dev/shm",
             "--remount-ro", "/dev", "--size", str(limits.work_bytes), "--tmpfs", WORK]
    args += [arg for folder in HOME_FOLDERS for arg in ("--dir", f"{WORK}/{folder}")]
    for folder in readable:
        args += ["--ro-bind", str(folder), str(folder)]
    for source, target in writable:
        args += ["--bind", str(source), str(target)]
    args += ["--bind", str(channel), str(channel), "--remount-ro", "/", "--chdir", WORK]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    limit = ["prlimit", f"--as={limits.memory_bytes}", f"--cpu={limits.cpu_seconds}",
             f"--nproc={limits.processes}", f"--fsize={limits.file_bytes}", "--core=0"]
    return [*args, "--", *limit, *argv]


def kernel_env(work: str, extra: dict[str, str]) -> dict[str, str]:
    """The kernel's whole environment, nothing inherited from the grader; `work` holds HOME_FOLDERS."""
    home = f"{work}/home"
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8",
            "IPYTHONDIR": f"{home}/.ipython", "MPLCONFIGDIR": f"{home}/.config/matplotlib",
            "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
            "MALLOC_ARENA_MAX": "2", **extra}  # few malloc arenas: the address-space limit holds on many cores


def mount_bounded(folder: Path, size: int) -> bool:
    """Mount a tmpfs of `size` bytes on `folder` (root only); False where it cannot be done."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "seqlab-channel", str(folder)],
                          capture_output=True)
    return done.returncode == 0


def unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def describe(limits: Limits) -> str:
    """One line: which limits hold for a sandboxed kernel on this host, and which do not."""
    from labhelpers import cgroups

    mib = lambda n: f"{n // 2**20} MiB"  # noqa: E731
    held = [f"address space {mib(limits.memory_bytes)} per process", f"CPU {limits.cpu_seconds} s",
            f"files {mib(limits.file_bytes)} each", f"work {mib(limits.work_bytes)}", f"/tmp {mib(limits.tmp_bytes)}",
            f"/dev/shm {mib(limits.shm_bytes)}", f"output {mib(limits.output_bytes)} per notebook"]
    missing = []
    group, how = cgroups.create(limits.processes, limits.group_memory_bytes)
    if group is not None:
        group.remove()
        held.append(f"{limits.processes} processes and {mib(limits.group_memory_bytes)} in all ({how})")
    elif os.geteuid() != 0:
        held.append(f"{limits.processes} processes (RLIMIT_NPROC, not root)")
    else:
        missing.append(f"processes and total memory ({how}; root escapes RLIMIT_NPROC)")
    if os.geteuid() == 0:
        held.append(f"channel {mib(limits.channel_bytes)} (tmpfs)")
    else:
        missing.append("channel folder size (its tmpfs needs root)")
    return "sandbox limits: " + ", ".join(held) + (f"; NOT held: {', '.join(missing)}" if missing else "")


class _CappedMessages:
    """A kernel manager whose clients refuse any message over `max_message_bytes` before reading it."""

    max_message_bytes = 64 * 2**20

    def client(self, **kwargs):
        client = super().client(**kwargs)
        client.context.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)
        return client


class SandboxedKernelManager(_CappedMessages, AsyncKernelManager):
    """A kernel manager whose kernel runs inside bwrap and talks over ipc sockets in its scratch folder.

    Interrupts are sent as messages (the sandboxed process cannot be signalled from here by pid).
    """

    def __init__(self, channel: Path, env: dict[str, str], limits: Limits, readable=(), writable=(), group=None,
                 **kwargs):
        channel = Path(channel)
        super().__init__(transport="ipc", ip=str(channel / "zmq"),
                         connection_file=str(channel / "connection.json"), **kwargs)
        self.channel, self.sandbox_env, self.limits = channel, env, limits
        self.readable, self.writable, self.group = list(readable), list(writable), group
        self.max_message_bytes = limits.output_bytes + 2**20

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["env"] = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        sandboxed = command(self.channel, kernel_cmd, self.sandbox_env, self.limits, self.readable, self.writable)
        await super()._async_launch_kernel(self.group.wrap(sandboxed) if self.group else sandboxed, **kw)

    def format_kernel_cmd(self, extra_arguments=None):
        return [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]

    async def _async_pre_start_kernel(self, **kw):
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        self.kernel_spec.interrupt_mode = "message"
        return cmd, kw


class UnsandboxedKernelManager(_CappedMessages, AsyncKernelManager):
    """--unsafe-no-sandbox: a plain kernel, though still with only the given environment."""

    def __init__(self, env: dict[str, str], **kwargs):
        super().__init__(**kwargs)
        self.kernel_env = env

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["env"] = dict(self.kernel_env)
        await super()._async_launch_kernel(kernel_cmd, **kw)
