"""The job's own process: forked from a warm worker, it isolates itself, then renders the model's input.

Runs from fork to ``os._exit``: it never returns into the worker's code. It reports one JSON object on the
status pipe (``reason``/``message``, empty for success, and the ``layers`` in force) and leaves out.png behind;
the worker trusts neither and validates the PNG itself. Graphviz jobs exec ``dot`` instead and report by exit.
"""

from __future__ import annotations

import builtins
import errno
import json
import os
import traceback
from typing import NoReturn

import matplotlib.pyplot as plt
import resvg_py
from matplotlib.figure import Figure

from cadsynth.sandbox.guard import Guard
from cadsynth.sandbox.isolation import isolate
from cadsynth.sandbox.limits import Limits
from cadsynth.sandbox.references import dot_problem, svg_problem
from cadsynth.tasks.render import DPI, SIZE_PX

STATUS_FD = 3
OUTPUT = "out.png"
LOG = "log.txt"
DOT_INPUT = "graph.dot"
MODEL_FILENAME = "<model code>"
_MESSAGE_CHARS = 500
_CLEAN_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


def run(language: str, code: str, workdir: str, readable: list[str], limits: Limits, status_fd: int, *,
        parent: int, audit_hook: bool, dot: str | None, fonts: str) -> NoReturn:
    """Isolate, render, report, exit. Any failure of the trusted set-up exits non-zero: the job fails closed."""
    try:
        os.setsid()  # its own process group, so the worker can kill everything it leaves
        _redirect(workdir, status_fd)
        os.chdir(workdir)
        os.environ.clear()
        os.environ.update(_CLEAN_ENV, HOME=workdir)
        layers = isolate(workdir, readable, limits, parent=parent, runs_tool=language == "dot")
        if language == "dot":
            _exec_dot(code, dot or "dot")
        guard = Guard(workdir, readable)
        if audit_hook:
            guard.install()
            layers.append("audit_hook")
        outcome = _render_svg(code, workdir, fonts) if language == "svg" else _render_matplotlib(code, workdir)
        if guard.violation is not None:  # the job may have caught the PermissionError and carried on
            outcome = {"reason": f"forbidden:{guard.violation}", "message": outcome.get("message", "")}
        _report({**outcome, "layers": layers})
        os._exit(0)
    except BaseException:  # noqa: B036 - nothing may escape into the worker's copy of the stack
        traceback.print_exc()
        os._exit(70)


def _redirect(workdir: str, status_fd: int) -> None:
    """stdin from /dev/null, stdout/stderr to a log in the workdir, the status pipe on fd 3, nothing else open."""
    log = os.open(os.path.join(workdir, LOG), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.dup2(status_fd, STATUS_FD)
    os.closerange(STATUS_FD + 1, os.sysconf("SC_OPEN_MAX"))  # the worker's pipes to the pool among them


def _report(outcome: dict) -> None:
    os.write(STATUS_FD, json.dumps(outcome).encode())


def _failure(reason: str, message: str) -> dict:
    return {"reason": reason, "message": message[:_MESSAGE_CHARS]}


def _exec_dot(code: str, dot: str) -> NoReturn:
    if problem := dot_problem(code):
        _report(_failure("forbidden:external_reference", problem))
        os._exit(0)
    with open(DOT_INPUT, "w", encoding="utf-8") as file:
        file.write(code)
    os.set_inheritable(STATUS_FD, False)  # dot reports by its exit status and its stderr
    size = f"{SIZE_PX / DPI:g},{SIZE_PX / DPI:g}"  # a default: the graph's own size attribute wins
    os.execve(dot, [dot, "-Tpng", f"-Gdpi={DPI}", f"-Gsize={size}", "-o", OUTPUT, DOT_INPUT], dict(os.environ))


def _render_svg(code: str, workdir: str, fonts: str) -> dict:
    if problem := svg_problem(code):
        return _failure("forbidden:external_reference", problem)
    try:
        png = resvg_py.svg_to_bytes(
            svg_string=code, skip_system_fonts=True, font_dirs=[fonts], font_family="DejaVu Sans",
            sans_serif_family="DejaVu Sans", serif_family="DejaVu Serif", monospace_family="DejaVu Sans Mono",
            resources_dir=workdir,
        )
    except ValueError as error:  # resvg's parse and render errors
        return _failure("syntax_error", f"SVG could not be rendered: {error}")
    except BaseException as error:  # noqa: B036 - MemoryError, a panic surfacing as an exception
        return _error(error)
    with open(os.path.join(workdir, OUTPUT), "wb") as file:
        file.write(bytes(png))
    return {}


def _render_matplotlib(code: str, workdir: str) -> dict:
    try:
        program = compile(code, MODEL_FILENAME, "exec")
    except (SyntaxError, ValueError) as error:  # ValueError: null bytes in the source
        return _failure("syntax_error", f"{type(error).__name__}: {error}")
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(program, namespace)
    except SystemExit:
        pass
    except BaseException as error:  # noqa: B036 - KeyboardInterrupt, GeneratorExit: all the job's fault
        return _error(error)
    output = os.path.join(workdir, OUTPUT)
    if os.path.lexists(output):  # the code saved its own image
        return {}
    figure = _figure(namespace)
    if figure is None:
        return _failure("no_image", "the code drew no figure and saved no out.png")
    width, height = figure.get_size_inches()
    try:
        figure.savefig(output, dpi=SIZE_PX / max(width, height, 0.01), facecolor="white")
    except BaseException as error:  # noqa: B036
        return _error(error)
    return {}


def _figure(namespace: dict) -> Figure | None:
    """pyplot's current figure, else a Figure the code built directly and left in a variable."""
    if plt.get_fignums():
        return plt.gcf()
    figures = [value for value in namespace.values() if isinstance(value, Figure)]
    return figures[-1] if figures else None


def _error(error: BaseException) -> dict:
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == MODEL_FILENAME]
    where = f" (line {lines[-1]})" if lines else ""
    message = f"{type(error).__name__}: {error}{where}"
    if isinstance(error, MemoryError):
        return _failure("memory", message)
    if isinstance(error, OSError) and error.errno == errno.EFBIG:
        return _failure("output_too_large", message)
    return _failure(f"runtime_error:{type(error).__name__}", message)
