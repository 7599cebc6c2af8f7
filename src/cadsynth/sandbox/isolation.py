"""The kernel-enforced layers a job's child process puts on itself before it touches model-written input.

Order matters: the network namespace needs root (or a user namespace) so it comes first; then privileges are
dropped (RLIMIT_NPROC binds only non-root users, so the fork bomb limit works only after this); then rlimits,
the parent-death signal (cleared by setuid, so set after it) and last Landlock, which is irreversible.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys

from cadsynth.sandbox import landlock
from cadsynth.sandbox.limits import Limits

NOBODY = 65534  # uid and gid of nobody/nogroup on Debian-like systems
_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000
_PR_SET_PDEATHSIG = 1
_MIB = 1024 * 1024
_MAX_OPEN_FILES = 64

_libc = ctypes.CDLL(None, use_errno=True)

_SYSTEM_READABLE = (
    "/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin",
    "/etc/fonts", "/etc/ld.so.cache", "/var/cache/fontconfig", "/dev/null", "/dev/urandom",
)


def readable_roots() -> list[str]:
    """What a job may read: system libraries and fonts, and this interpreter's own prefixes and import path.

    Not /etc (passwd, ssl keys), /proc, /home, /root or the working directory the pool was started from.
    """
    python = [sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path]
    return sorted({os.path.realpath(path) for path in (*_SYSTEM_READABLE, *python) if path and os.path.exists(path)})


def isolate(workdir: str, readable: list[str], limits: Limits, *, parent: int, runs_tool: bool) -> list[str]:
    """Apply every layer that this machine supports; returns the names of those in force.

    ``runs_tool``: the job execs a trusted binary (Graphviz), which needs execute rights and starts threads
    (pango); its input cannot fork, so it keeps the process limit. Python jobs may neither exec nor fork.
    """
    layers = []
    if network := _cut_network():
        layers.append(network)
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        layers.append("uid:nobody")
    _set_rlimits(limits, processes=not runs_tool)
    layers.append("rlimits")
    _libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the worker died before the death signal was armed
        os._exit(1)
    if version := landlock.restrict(readable, [workdir], executable=runs_tool):
        layers.append(f"landlock:{version}")
    return layers


def _cut_network() -> str | None:
    """A fresh network namespace holds only a downed loopback: no route to the host or the internet."""
    if os.geteuid() == 0:
        return "netns" if _libc.unshare(_CLONE_NEWNET) == 0 else None
    uid, gid = os.getuid(), os.getgid()
    if _libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) != 0:
        return None
    # Map our own ids into the new user namespace, or files created there would fail with EOVERFLOW.
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as file:
            file.write(text)
    return "userns+netns"


def _set_rlimits(limits: Limits, *, processes: bool) -> None:
    wanted = {
        resource.RLIMIT_CORE: (0, 0),
        resource.RLIMIT_CPU: (limits.cpu_s, limits.cpu_s + 1),
        resource.RLIMIT_AS: (limits.memory_mb * _MIB,) * 2,
        resource.RLIMIT_FSIZE: (limits.output_mb * _MIB,) * 2,
        resource.RLIMIT_NOFILE: (_MAX_OPEN_FILES,) * 2,
    }
    if processes:
        wanted[resource.RLIMIT_NPROC] = (0, 0)  # no fork, no thread: binds only after setuid for root
    for which, (soft, hard) in wanted.items():
        _, current = resource.getrlimit(which)
        if current != resource.RLIM_INFINITY:  # a limit can only be lowered
            soft, hard = min(soft, current), min(hard, current)
        resource.setrlimit(which, (soft, hard))
