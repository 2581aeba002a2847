"""A Jupyter kernel inside a bubblewrap sandbox, for grading code that may be hostile.

The kernel sees: Python and its packages (read-only), the labhelpers package (read-only), and one
scratch folder of its own (read-write, its working directory and HOME). It does not see the
submissions, solutions/, other students' scratch folders, the grader's HOME or environment. It has
no network (its own network namespace; it talks to the grader over ZeroMQ `ipc` sockets in the
scratch folder), its own PID namespace (it cannot signal the grader, and no process it starts
outlives it), and limits on memory, CPU time, processes and file size.

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

from jupyter_client.manager import AsyncKernelManager

PACKAGE = Path(__file__).resolve().parent
MOUNT = "/sandbox"  # where the scratch folder appears inside


@dataclass
class Limits:
    """Resource limits of one sandboxed kernel."""

    memory_bytes: int = 6 * 2**30  # address space; a training Lab 03 model peaks at 2.7 GiB here
    cpu_seconds: int = 1800
    processes: int = 256  # threads count too; the kernel ignores this limit for root (grade as a plain user)
    file_bytes: int = 256 * 2**20


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


def command(scratch: Path, argv: list[str], env: dict[str, str], limits: Limits,
            writable=(), readable=()) -> list[str]:
    """The bwrap command line that runs `argv` in the sandbox, with exactly `env` as its environment.

    `scratch` and the `writable` folders are bound read-write, the `readable` ones read-only.
    """
    args = [bwrap_path() or "bwrap", *_namespaces(), "--clearenv", "--hostname", "sandbox",
            "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL"]
    for root in _read_only_roots():
        if os.path.exists(root):
            args += ["--ro-bind", root, root]
    for link, target in (("/bin", "usr/bin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64"), ("/sbin", "usr/sbin")):
        if os.path.islink(link):
            args += ["--symlink", target, link]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
             "--bind", str(scratch), str(scratch), "--chdir", str(scratch)]
    for folder in readable:
        args += ["--ro-bind", str(folder), str(folder)]
    for folder in writable:
        args += ["--bind", str(folder), str(folder)]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    limit = ["prlimit", f"--as={limits.memory_bytes}", f"--cpu={limits.cpu_seconds}",
             f"--nproc={limits.processes}", f"--fsize={limits.file_bytes}", "--core=0"]
    return [*args, "--", *limit, *argv]


def kernel_env(scratch: Path, extra: dict[str, str]) -> dict[str, str]:
    """The kernel's whole environment: nothing inherited from the grader."""
    home = scratch / "home"
    for folder in (home, home / ".ipython", home / ".config" / "matplotlib"):
        folder.mkdir(parents=True, exist_ok=True)
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "IPYTHONDIR": str(home / ".ipython"), "MPLCONFIGDIR": str(home / ".config" / "matplotlib"),
            "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
            "MALLOC_ARENA_MAX": "2", **extra}  # few malloc arenas: the address-space limit holds on many cores


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs inside bwrap and talks over ipc sockets in its scratch folder.

    Interrupts are sent as messages (the sandboxed process cannot be signalled from here by pid).
    """

    def __init__(self, scratch: Path, env: dict[str, str], limits: Limits, writable=(), readable=(), **kwargs):
        scratch = Path(scratch)
        super().__init__(transport="ipc", ip=str(scratch / "zmq"),
                         connection_file=str(scratch / "connection.json"), **kwargs)
        self.scratch, self.sandbox_env, self.limits = scratch, env, limits
        self.writable, self.readable = list(writable), list(readable)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["env"] = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        sandboxed = command(self.scratch, kernel_cmd, self.sandbox_env, self.limits, self.writable, self.readable)
        await super()._async_launch_kernel(sandboxed, **kw)

    def format_kernel_cmd(self, extra_arguments=None):
        return [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]

    async def _async_pre_start_kernel(self, **kw):
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        self.kernel_spec.interrupt_mode = "message"
        return cmd, kw


class UnsandboxedKernelManager(AsyncKernelManager):
    """--unsafe-no-sandbox: a plain kernel, though still with only the given environment."""

    def __init__(self, scratch: Path, env: dict[str, str], **kwargs):
        super().__init__(**kwargs)
        self.kernel_env = env

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["env"] = dict(self.kernel_env)
        await super()._async_launch_kernel(kernel_cmd, **kw)
