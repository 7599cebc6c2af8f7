"""``Sandbox``: a pool of warm zygote workers, one job at a time each, replaced when one dies or hangs."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from multiprocessing.connection import Connection

from cadsynth.sandbox.limits import LANGUAGES, Limits, Rendered

_START_TIMEOUT_S = 60  # importing matplotlib on a cold, busy machine
_WORKER_SLACK_S = 30  # beyond wall_s, for the worker's own forking, reading and validating


def _worker_env() -> dict[str, str]:
    """Nothing of ours for the job to read: no API keys, no HOME. Matplotlib keeps its font cache."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # fork a 1-thread process
    if "MPLCONFIGDIR" in os.environ:
        env["MPLCONFIGDIR"] = os.environ["MPLCONFIGDIR"]
    else:
        import matplotlib  # only for its cache directory; the workers import it anyway

        env["MPLCONFIGDIR"] = matplotlib.get_cachedir()
    return env


class _Zygote:
    """One worker process and its two pipes; see ``cadsynth.sandbox.zygote``."""

    def __init__(self, base: str, limits: Limits, audit_hook: bool, env: dict[str, str]) -> None:
        job_read, job_write = os.pipe()
        result_read, result_write = os.pipe()
        argv = [sys.executable, "-I", "-B", "-m", "cadsynth.sandbox.zygote", str(job_read), str(result_write),
                base, json.dumps(asdict(limits)), "1" if audit_hook else "0"]
        try:
            self.process = subprocess.Popen(argv, pass_fds=(job_read, result_write), stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, env=env, start_new_session=True)
        finally:
            os.close(job_read)
            os.close(result_write)
        self._jobs = Connection(job_write, readable=False)
        self._results = Connection(result_read, writable=False)
        self.layers: list[str] = []

    def wait_ready(self) -> None:
        reply = self._receive(_START_TIMEOUT_S)
        if reply is None:
            self.kill()
            raise RuntimeError("a sandbox worker failed to start (see its stderr above)")
        self.layers = reply["layers"]

    def ask(self, language: str, code: str, timeout: float) -> dict | None:
        """The worker's reply, or None when it died or hung (the caller replaces it)."""
        try:
            self._jobs.send((language, code))
        except OSError:
            return None
        return self._receive(timeout)

    def _receive(self, timeout: float) -> dict | None:
        try:
            if self._results.poll(timeout):
                return self._results.recv()
        except (EOFError, OSError):
            pass
        return None

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self, timeout: float = 5) -> None:
        """EOF on its job pipe ends the worker after its current job; a worker that lingers is killed."""
        self._jobs.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._results.close()

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, 9)
        except ProcessLookupError:
            pass
        self.process.wait()


class Sandbox:
    """Renders model-written matplotlib, SVG or DOT to a validated RGB PNG in isolated child processes.

    ``workers`` warm processes each run one job at a time; ``render`` blocks for a free one, so callers may use
    any number of threads. ``audit_hook=False`` leaves only the kernel layers, to test that they hold alone.
    """

    def __init__(self, workers: int = 1, limits: Limits | None = None, *, audit_hook: bool = True) -> None:
        if workers < 1:
            raise ValueError("a sandbox needs at least one worker")
        self.limits = limits or Limits()
        self._audit_hook = audit_hook
        self._env = _worker_env()
        self._base = tempfile.mkdtemp(prefix="cadsynth-sandbox-")
        os.chmod(self._base, 0o711)  # the unprivileged job may enter its own directory, not list the others
        self._idle: queue.SimpleQueue[_Zygote] = queue.SimpleQueue()
        self._workers: list[_Zygote] = []
        self._lock = threading.Lock()
        self._closed = False
        try:
            started = [self._start() for _ in range(workers)]  # start all, then wait: imports run in parallel
            for worker in started:
                worker.wait_ready()
                self._idle.put(worker)
        except BaseException:
            self.close()
            raise
        self.layers: tuple[str, ...] = tuple(started[0].layers)  # e.g. netns, uid:nobody, landlock:7, audit_hook

    def _start(self) -> _Zygote:
        worker = _Zygote(self._base, self.limits, self._audit_hook, self._env)
        with self._lock:
            self._workers.append(worker)
        return worker

    @property
    def worker_pids(self) -> tuple[int, ...]:
        """The live workers' process ids (their job children are forked from them)."""
        with self._lock:
            return tuple(worker.process.pid for worker in self._workers if worker.alive())

    @property
    def directory(self) -> str:
        """Where the jobs' private directories are made; removed by ``close``."""
        return self._base

    def render(self, language: str, code: str) -> Rendered:
        """Render ``code`` in ``language`` (matplotlib, svg or dot); failures come back as a ``Rendered`` reason."""
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
        if self._closed:
            raise RuntimeError("the sandbox is closed")
        worker = self._idle.get()
        if not worker.alive():  # died between jobs (killed from outside): not this job's fault
            worker = self._replace(worker)
        started = time.monotonic()
        reply = worker.ask(language, code, self.limits.wall_s + _WORKER_SLACK_S)
        if reply is None:
            if not self._closed:
                self._idle.put(self._replace(worker))
            return Rendered(None, "crashed", "the sandbox worker died or hung; it was replaced",
                            time.monotonic() - started)
        self._idle.put(worker)
        return Rendered(**reply)

    async def render_async(self, language: str, code: str) -> Rendered:
        """``render`` in a thread, for the asyncio executor; the pool bounds how many run at once."""
        return await asyncio.to_thread(self.render, language, code)

    def _replace(self, worker: _Zygote) -> _Zygote:
        """A fresh worker in place of ``worker``, which is killed; the caller owns the new one."""
        worker.kill()
        with self._lock:
            self._workers.remove(worker)
        fresh = self._start()
        fresh.wait_ready()
        return fresh

    def close(self) -> None:
        """Stop every worker and delete the job directories."""
        self._closed = True
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.close()
        shutil.rmtree(self._base, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
