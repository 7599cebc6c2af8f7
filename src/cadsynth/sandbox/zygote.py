"""A warm worker: imports matplotlib once, then forks one fresh, isolated child per job and supervises it.

Started by ``Sandbox`` as ``python -I -m cadsynth.sandbox.zygote JOB_FD RESULT_FD BASE LIMITS AUDIT``. Forking
from a process that has already paid for the imports is what makes a render cost milliseconds, not a second.
The worker never runs job input itself: it kills the child's process group at the wall limit, classifies how
the child ended, and validates out.png (no symlinks, size-capped, decoded by PIL) before sending it back.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import stat
import sys
import tempfile
import time
from multiprocessing.connection import Connection

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen

from cadsynth.sandbox import child, png  # noqa: E402
from cadsynth.sandbox.isolation import NOBODY, readable_roots  # noqa: E402
from cadsynth.sandbox.limits import Limits  # noqa: E402
from cadsynth.tasks.render import DPI, SIZE_PX  # noqa: E402

# Model code may import these; under a dropped uid the stdlib may be unreadable (pyenv under /root), so they
# are loaded here, before the fork. Anything else that is not readable fails as ModuleNotFoundError.
PRELOADED = (
    "bisect", "calendar", "encodings.idna", "collections", "colorsys", "copy", "dataclasses", "datetime", "decimal", "enum",
    "fractions", "functools", "heapq", "itertools", "json", "math", "numbers", "operator", "random", "re",
    "statistics", "string", "textwrap", "typing", "numpy.random", "numpy.linalg", "matplotlib.patches",
    "matplotlib.colors", "matplotlib.ticker", "matplotlib.cm", "matplotlib.lines", "matplotlib.path",
    "matplotlib.transforms", "matplotlib.gridspec", "matplotlib.patheffects", "matplotlib.collections",
    "matplotlib.dates", "matplotlib.table", "matplotlib.font_manager", "mpl_toolkits.mplot3d",
)
_STATUS_BYTES = 65536
_LOG_TAIL = 400
_OUT_OF_MEMORY = ("memory allocation of", "std::bad_alloc", "Out of memory")
_DOT_MISSING = "graphviz not installed (apt-get install graphviz)"


def _warm_up() -> None:
    """Import what jobs use and draw once, so fonts and the Agg renderer are loaded before the first fork."""
    for name in PRELOADED:
        __import__(name)
    plt.rcParams.update({"figure.figsize": (SIZE_PX / DPI, SIZE_PX / DPI), "figure.dpi": DPI})
    fig, ax = plt.subplots()
    ax.bar(["a", "b"], [1, 2], label="x")
    ax.plot([0, 1], [1, 0])
    ax.scatter([0], [1])
    ax.set_title("warm-up")
    ax.legend()
    fig.canvas.draw()
    plt.close("all")


class Worker:
    """Runs jobs one at a time, each in a child forked from this warm process."""

    def __init__(self, base: str, limits: Limits, audit_hook: bool) -> None:
        self.base = base
        self.limits = limits
        self.audit_hook = audit_hook
        self.readable = readable_roots()
        self.dot = shutil.which("dot")
        self.fonts = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")

    def run(self, language: str, code: str) -> dict:
        """The job's outcome as ``Rendered`` fields; never raises (a failure here is reported as crashed)."""
        started = time.monotonic()
        try:
            png_data, reason, message, _ = self._run(language, code)
        except Exception as error:  # the worker must outlive any job
            png_data, reason, message = None, "crashed", f"worker error: {type(error).__name__}: {error}"
        return {"png": png_data, "reason": reason, "message": message, "seconds": time.monotonic() - started}

    def layers(self) -> list[str]:
        """The isolation layers this machine gives a job, read from a trivial job's report."""
        return self._run("matplotlib", "pass")[3]

    def _run(self, language: str, code: str) -> tuple[bytes | None, str | None, str, list[str]]:
        if language == "dot" and self.dot is None:
            return None, "unavailable:graphviz", _DOT_MISSING, []
        workdir = tempfile.mkdtemp(dir=self.base)
        try:
            if os.geteuid() == 0:
                os.chown(workdir, NOBODY, NOBODY)
            status, reason, message = self._supervise(language, code, workdir)
            if reason is None:
                reason, message = status.get("reason"), status.get("message", "")
            layers = status.get("layers", [])
            if reason is None:
                try:
                    return png.normalise(self._read_output(workdir), self.limits.max_pixels), None, "", layers
                except png.BadImage as error:
                    reason, message = error.reason, str(error)
            return None, reason, str(message), layers
        finally:
            _remove(workdir)

    def _supervise(self, language: str, code: str, workdir: str) -> tuple[dict, str | None, str]:
        """Fork the child, wait at most wall_s, kill its process group; how it ended, as (status, reason, msg)."""
        status_read, status_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(status_read)
            child.run(language, code, workdir, self.readable, self.limits, status_write, parent=os.getppid(),
                      audit_hook=self.audit_hook, dot=self.dot, fonts=self.fonts)
        os.close(status_write)
        try:
            pidfd = os.pidfd_open(pid)
            try:
                finished = select.select([pidfd], [], [], self.limits.wall_s)[0]
            finally:
                os.close(pidfd)
            for kill in (os.killpg, os.kill):  # the group, and the child itself if it died before setsid
                try:
                    kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            _, wait_status, usage = os.wait4(pid, 0)
            text = _drain(status_read)
        finally:
            os.close(status_read)
        if not finished:
            return {}, "timeout", f"still running after the wall-time limit of {self.limits.wall_s:g}s"
        return self._classify(language, wait_status, usage.ru_utime + usage.ru_stime, text, workdir)

    def _classify(self, language: str, wait_status: int, cpu: float, text: bytes, workdir: str
                  ) -> tuple[dict, str | None, str]:
        if os.WIFSIGNALED(wait_status):
            number = os.WTERMSIG(wait_status)
            if number == signal.SIGXCPU or (number == signal.SIGKILL and cpu >= self.limits.cpu_s):
                return {}, "cpu_time", f"used more than the CPU limit of {self.limits.cpu_s}s"
            if number == signal.SIGXFSZ:
                return {}, "output_too_large", f"wrote a file over {self.limits.output_mb} MB"
            log = _log_tail(workdir)
            if any(marker in log for marker in _OUT_OF_MEMORY):  # Rust and C++ abort when RLIMIT_AS says no
                return {}, "memory", f"ran out of memory (limit {self.limits.memory_mb} MB){log}"
            return {}, "crashed", f"killed by {signal.Signals(number).name}{log}"
        if text:
            try:
                status = json.loads(text)
            except ValueError:
                return {}, "crashed", "the job garbled its status report"
            return (status, None, "") if isinstance(status, dict) else ({}, "crashed", "bad status report")
        code = os.WEXITSTATUS(wait_status)
        if language == "dot":
            if code == 0:
                return {}, None, ""
            log = _log_tail(workdir)
            return {}, "syntax_error" if "syntax error" in log else "runtime_error:dot", f"dot exited {code}{log}"
        return {}, "crashed", f"exited with status {code} without a report{_log_tail(workdir)}"

    def _read_output(self, workdir: str) -> bytes:
        """out.png as a regular file of this job (no symlink, one link), at most output_mb."""
        limit = self.limits.output_mb * 1024 * 1024
        try:
            fd = os.open(os.path.join(workdir, child.OUTPUT), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            raise png.BadImage("no_image", "no image was produced") from None
        except OSError as error:
            raise png.BadImage("bad_image", f"out.png is not a regular file ({error.strerror})") from None
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
                raise png.BadImage("bad_image", "out.png is not a regular file")
            if info.st_size > limit:
                raise png.BadImage("output_too_large", f"out.png is over {self.limits.output_mb} MB")
            return file.read(limit + 1)


def _drain(fd: int) -> bytes:
    """What the child wrote on the status pipe, without blocking on a writer it may have left behind."""
    os.set_blocking(fd, False)
    chunks, size = [], 0
    while size <= _STATUS_BYTES:
        try:
            chunk = os.read(fd, _STATUS_BYTES)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:_STATUS_BYTES]


def _log_tail(workdir: str) -> str:
    try:
        fd = os.open(os.path.join(workdir, child.LOG), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        file.seek(max(0, size - _LOG_TAIL))
        tail = file.read(_LOG_TAIL).decode("utf-8", "replace").strip()
    return f": {tail}" if tail else ""


def _remove(path: str) -> None:
    """Delete a job's directory, also when the job left subdirectories without permissions."""

    def unlock(_function: object, failed: str, _exc_info: object) -> None:
        try:
            os.chmod(failed, 0o700)
            shutil.rmtree(failed, onerror=unlock) if os.path.isdir(failed) else os.unlink(failed)
        except OSError:
            pass  # left for Sandbox.close, which removes the whole base directory

    shutil.rmtree(path, onerror=unlock)


def main(argv: list[str]) -> None:
    job_fd, result_fd, base, limits_json, audit_hook = argv
    jobs = Connection(int(job_fd), writable=False)
    results = Connection(int(result_fd), readable=False)
    _warm_up()
    worker = Worker(base, Limits(**json.loads(limits_json)), audit_hook == "1")
    results.send({"layers": worker.layers()})
    while True:
        try:
            language, code = jobs.recv()
        except EOFError:  # the pool closed or died
            return
        results.send(worker.run(language, code))


if __name__ == "__main__":
    main(sys.argv[1:])
