"""The weaker isolation, for hosts where bubblewrap cannot start (a container running as root without
user namespaces, such as Gradescope's): each kernel runs as an unprivileged user (`nobody`) through
`setpriv`, with no capabilities, no new privileges, rlimits (`prlimit`) and, where the grader is root,
a cgroup capping its processes and memory. It sees the filesystem as that user does, so the caller
makes the grader's files unreadable to it (`lock`). Unlike the sandbox it has the network and the
host's PID namespace, and kernels of one user could reach each other: grade one notebook at a time.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
from pathlib import Path

from labhelpers import sandbox


def available(user: str = "nobody") -> str | None:
    """Why kernels cannot be run as `user` here, or None when they can."""
    if os.geteuid() != 0:
        return "the grader is not root, so it cannot start a kernel as another user"
    if not shutil.which("setpriv") or not shutil.which("prlimit"):
        return "setpriv or prlimit (util-linux) is missing"
    try:
        pwd.getpwnam(user)
    except KeyError:
        return f"there is no user {user!r}"
    return None


def lock(paths) -> list[str]:
    """Make each existing path readable by its owner (root) only; returns those locked."""
    locked = []
    for path in map(Path, paths):
        if path.exists() and not path.is_symlink():
            path.chmod(stat.S_IMODE(path.stat().st_mode) & 0o700)
            locked.append(str(path))
    return locked


def _give(path: Path, uid: int, gid: int) -> None:
    """Hand a folder and everything in it to uid:gid (links are not followed)."""
    os.chown(path, uid, gid, follow_symlinks=False)
    for root, folders, files in os.walk(path):
        for name in folders + files:
            os.chown(Path(root) / name, uid, gid, follow_symlinks=False)


class UserKernelManager(sandbox.UnsandboxedKernelManager):
    """A kernel run as `user` over ipc sockets in its channel folder, the only folders it may write
    (its HOME there, and the probe data folder) handed to that user."""

    def __init__(self, user: str, channel: Path, probes, env: dict[str, str], limits: sandbox.Limits, group=None,
                 **kwargs):
        channel = Path(channel)
        super().__init__(env, transport="ipc", ip=str(channel / "zmq"),
                         connection_file=str(channel / "connection.json"), **kwargs)
        entry = pwd.getpwnam(user)
        self.uid, self.gid, self.limits, self.group = entry.pw_uid, entry.pw_gid, limits, group
        for folder in (channel.parent, probes.path):  # to pass through, never to list
            folder.chmod(0o711)
        _give(channel, self.uid, self.gid)
        _give(probes.out, self.uid, self.gid)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        os.chown(self.connection_file, self.uid, self.gid)
        limits = self.limits
        command = ["prlimit", f"--as={limits.memory_bytes}", f"--cpu={limits.cpu_seconds}",  # kept across setpriv
                   f"--nproc={limits.processes}", f"--fsize={limits.file_bytes}", "--core=0",
                   "setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups", "--inh-caps=-all",
                   "--bounding-set=-all", "--no-new-privs", "--", *kernel_cmd]
        await super()._async_launch_kernel(self.group.wrap(command) if self.group else command, **kw)
