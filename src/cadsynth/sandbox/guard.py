"""A Python audit hook (PEP 578) that refuses what plotting code never needs, with a reason to report.

Audit hooks are not a security boundary on their own (C code and interpreter tricks bypass them): the kernel
layers in ``isolation`` are. The hook makes refusals early, explicit and machine-readable ("forbidden:read")
instead of a PermissionError from deep inside a library, and it caps what the kernel does not: files per job.
"""

from __future__ import annotations

import os
import sys

MAX_FILES_WRITTEN = 16  # each capped by RLIMIT_FSIZE: bounds the disk one job can fill

_PROCESS = frozenset({
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "pty.spawn", "os.startfile",
})
_SIGNAL = frozenset({"os.kill", "os.killpg", "signal.pthread_kill", "signal.pidfd_send_signal"})
_PATH_CHANGE = frozenset({
    "os.remove", "os.rename", "os.rmdir", "os.chmod", "os.chown", "os.link", "os.symlink", "os.mkdir",
    "os.truncate", "os.utime", "os.mkfifo", "os.mknod", "os.setxattr", "os.removexattr", "shutil.rmtree",
    "shutil.move", "shutil.copyfile", "shutil.copymode", "shutil.copystat", "shutil.chown",
})
_TWO_PATHS = frozenset({
    "os.rename", "os.link", "os.symlink", "shutil.move", "shutil.copyfile", "shutil.copymode", "shutil.copystat",
})
_PATH_READ = frozenset({"os.listdir", "os.scandir", "glob.glob", "glob.glob/2", "os.getxattr", "os.listxattr"})
_INTROSPECTION = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys.addaudithook"})
_BLOCKED_IMPORTS = frozenset({
    "ctypes", "_ctypes", "socket", "_socket", "ssl", "subprocess", "_posixsubprocess", "multiprocessing",
    "pty", "fcntl", "mmap", "resource", "urllib.request", "http.client", "ftplib", "smtplib", "xmlrpc.client",
})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _within(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


class Guard:
    """Decides each audit event; the first refusal is kept in ``violation`` even if the job swallows the error."""

    def __init__(self, workdir: str, readable: list[str]) -> None:
        self._workdir = (os.path.realpath(workdir),)
        self._readable = (*self._workdir, *(os.path.realpath(path) for path in readable))
        self._files_written = 0
        self.violation: str | None = None

    def install(self) -> None:
        """Irreversible: hooks cannot be removed, and adding another one is itself refused."""
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple) -> None:
        what = self._verdict(event, args)
        if what is not None:
            if self.violation is None:
                self.violation = what
            raise PermissionError(f"sandbox: {event} is not allowed (forbidden:{what})")

    def _verdict(self, event: str, args: tuple) -> str | None:
        if event == "open":
            return self._open(*args[:3])
        if event == "import":
            return "import" if args[0] in _BLOCKED_IMPORTS else None
        if event in _PROCESS:
            return "process"
        if event in _SIGNAL:
            return "signal"
        if event in _INTROSPECTION:
            return "introspection"
        if event.startswith("socket."):
            return "network"
        if event.startswith("ctypes."):
            return "ctypes"
        if event in _PATH_CHANGE:
            paths = args[:2] if event in _TWO_PATHS else args[:1]
            return None if all(self._allowed(path, self._workdir) for path in paths) else "write"
        if event in _PATH_READ:
            return None if self._allowed(args[0], self._readable) else "read"
        return None

    def _open(self, path: object, mode: object, flags: object) -> str | None:
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        )
        if not writing:
            return None if self._allowed(path, self._readable) else "read"
        if not self._allowed(path, self._workdir):
            return "write"
        self._files_written += 1
        return "too_many_files" if self._files_written > MAX_FILES_WRITTEN else None

    @staticmethod
    def _allowed(path: object, roots: tuple[str, ...]) -> bool:
        """Ints are file descriptors, already vetted when opened; anything but str/bytes could lie about itself."""
        if path is None or isinstance(path, int):
            return True
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):
            return False
        return _within(os.path.realpath(os.path.join(os.getcwd(), path)), roots)
