"""`cadsynth view`: the report of one run, served from a local HTTP server, live while the run goes on.

The server's root is the run directory, and it serves files of that directory only: a request whose path has a
``..`` segment (plain or percent-encoded), a backslash or a NUL byte, or whose file resolves outside the run
directory (a symlink pointing elsewhere) is refused with 403; directories are not listed. The report is built into
``RUN/report/`` and rebuilt when the page is requested and the run has changed since the last build, so a refresh
shows the samples committed since.
"""

from __future__ import annotations

import mimetypes
import os
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cadsynth.report.build import BuildResult, build_report

PLOT_INTERVAL_S = 15.0  # while a run goes on, plots are redrawn at most this often (sample data every refresh)


def run_fingerprint(run: Path) -> tuple:
    """Changes whenever the run commits a unit, writes a context, or changes its seeds, state or manifest."""
    parts: list[tuple] = []
    for name in ("manifest.json", "state.json", "seeds.jsonl", "events.jsonl"):
        try:
            st = (run / name).stat()
            parts.append((name, st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            parts.append((name, None))
    for folder in ("records", "contexts"):
        root = run / folder
        if root.is_dir():
            for dirpath, _, files in os.walk(root):
                for f in sorted(files):
                    if f.startswith("."):
                        continue
                    try:
                        st = os.stat(os.path.join(dirpath, f))
                    except FileNotFoundError:
                        continue
                    parts.append((os.path.relpath(os.path.join(dirpath, f), run), st.st_size, st.st_mtime_ns))
    return tuple(sorted(parts, key=repr))


class LiveReport:
    """Builds the report when the run changed since the last build; one build at a time."""

    def __init__(self, run: Path, log: Callable[[str], None] | None = None):
        self.run = run
        self.out = run / "report"
        self.lock = threading.RLock()
        self.fingerprint: tuple | None = None
        self.last: BuildResult | None = None
        self.plotted_at = 0.0
        self.log = log or (lambda message: None)

    def refresh(self) -> BuildResult | None:
        with self.lock:
            fingerprint = run_fingerprint(self.run)
            if fingerprint == self.fingerprint and (self.out / "index.html").exists():
                return self.last
            replot = (time.monotonic() - self.plotted_at >= PLOT_INTERVAL_S
                      or not (self.out / "plots").is_dir())
            self.last = build_report(self.run, self.out, copy_images=False, live=True, draw_plots=replot)
            if replot:
                self.plotted_at = time.monotonic()
            self.fingerprint = fingerprint
            self.log(f"report rebuilt: {self.last.samples} samples in {self.last.seconds:.1f} s")
            return self.last


class Refused(Exception):
    def __init__(self, status: HTTPStatus, why: str):
        super().__init__(why)
        self.status = status


def request_path(target: str) -> str:
    """The path part of a request target, still percent-encoded (no query, no fragment)."""
    if target.startswith(("http://", "https://")):  # absolute form
        target = urlsplit(target).path or "/"
    return target.split("?", 1)[0].split("#", 1)[0]


def resolve(root: Path, target: str) -> Path:
    """The file under `root` (resolved already) that a request target names; raises Refused otherwise."""
    decoded = unquote(request_path(target))
    if "\\" in decoded or "\x00" in decoded:
        raise Refused(HTTPStatus.FORBIDDEN, "bad characters in path")
    if not decoded.startswith("/"):
        raise Refused(HTTPStatus.FORBIDDEN, "not a path inside the run directory")
    segments = decoded.split("/")[1:]
    if ".." in segments:
        raise Refused(HTTPStatus.FORBIDDEN, "path leaves the run directory")
    parts = [s for s in segments if s not in ("", ".")]
    try:
        real = root.joinpath(*parts).resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        raise Refused(HTTPStatus.NOT_FOUND, "no such file") from None
    except (OSError, RuntimeError):  # a symlink loop, a name too long
        raise Refused(HTTPStatus.FORBIDDEN, "unresolvable path") from None
    if real != root and root not in real.parents:  # e.g. a symlink that points outside the run
        raise Refused(HTTPStatus.FORBIDDEN, "path leaves the run directory")
    return real


def make_handler(root: Path, live: LiveReport | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "cadsynth-view"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            pass

        def _refuse(self, status: HTTPStatus, why: str) -> None:
            body = f"{status.value} {status.phrase}: {why}\n".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _redirect(self, location: str) -> None:
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
            self.do_GET()

        def do_GET(self) -> None:  # noqa: N802
            path = request_path(self.path)
            if path in ("/", "/report", "/index.html"):
                return self._redirect("/report/index.html")
            if path == "/report/":
                path = "/report/index.html"
            if path == "/report/index.html" and live is not None:
                try:
                    live.refresh()
                except Exception as exc:  # noqa: BLE001 - shown to the person, not a crash of the server
                    return self._refuse(HTTPStatus.INTERNAL_SERVER_ERROR, f"report build failed: {exc}")
            try:
                target = resolve(root, path)
            except Refused as refused:
                return self._refuse(refused.status, str(refused))
            if target.is_dir():
                return self._refuse(HTTPStatus.FORBIDDEN, "directories are not listed")
            lock = live.lock if live is not None and target.is_relative_to(root / "report") else None
            try:
                if lock is not None:
                    with lock:  # never a half-swapped data folder
                        body = target.read_bytes()
                else:
                    body = target.read_bytes()
            except OSError:
                return self._refuse(HTTPStatus.NOT_FOUND, "no such file")
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
                kind += "; charset=utf-8"
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            immutable = target.suffix == ".png" and not target.is_relative_to(root / "report")
            self.send_header("Cache-Control", "max-age=3600" if immutable else "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _not_allowed(self) -> None:
            self._refuse(HTTPStatus.METHOD_NOT_ALLOWED, "read-only server")

        do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed  # noqa: N815

    return Handler


class Viewer:
    """The viewer's server; `start()` runs it in a thread (for tests), `serve_forever()` in the caller's."""

    def __init__(self, run_dir: Path, host: str = "127.0.0.1", port: int = 8765, live: bool = True,
                 log: Callable[[str], None] | None = None):
        self.root = Path(run_dir).resolve()
        self.live = LiveReport(self.root, log) if live else None
        self.httpd = ThreadingHTTPServer((host, port), make_handler(self.root, self.live))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/report/index.html"

    def start(self) -> Viewer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
