"""A tiny headless Chromium driver over the DevTools protocol, for tests, benchmarks and screenshots.

Chromium is started with ``--remote-debugging-pipe``: it reads protocol messages from file descriptor 3 and
writes replies to descriptor 4, each a JSON object ended by a NUL byte. No websocket client, no browser download,
no dependency beyond the standard library: only a ``chromium`` binary (Debian's package) is needed.
"""

from __future__ import annotations

import base64
import fcntl
import itertools
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
    "--no-default-browser-check", "--password-store=basic", "--disable-dev-shm-usage",
    "--remote-debugging-pipe",
)
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class BrowserError(RuntimeError):
    pass


def find_chromium() -> str | None:
    """The path of a Chromium binary: $CHROMIUM, else the first of the usual names on PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium with one page. Use as a context manager.

    >>> with Browser() as b:
    ...     b.goto("file:///tmp/report/index.html")
    ...     b.wait_for("document.body.dataset.ready === '1'")
    ...     b.screenshot("shot.png")
    """

    def __init__(self, binary: str | None = None, width: int = 1400, height: int = 1000, timeout: float = 30.0):
        self.binary = binary or find_chromium()
        if not self.binary:
            raise BrowserError("no chromium binary found (install Debian's `chromium`, or set $CHROMIUM)")
        self.width, self.height, self.timeout = width, height, timeout
        self._ids = itertools.count(1)
        self._pending: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []
        self._events_changed = threading.Condition()
        self.session: str | None = None
        self.proc: subprocess.Popen | None = None
        self._profile: str | None = None
        self._log: Any = None

    # -- process -----------------------------------------------------------------------------------------------
    def __enter__(self) -> Browser:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self) -> None:
        self._profile = tempfile.mkdtemp(prefix="cadsynth-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def fds() -> None:  # in the child, before exec: the protocol pipes become fds 3 and 4
            read_end = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 10)  # out of the way of 3 and 4 first
            write_end = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 10)
            os.dup2(read_end, 3)  # inheritable; every other descriptor of ours is close-on-exec (PEP 446)
            os.dup2(write_end, 4)

        args = [self.binary, *FLAGS, f"--user-data-dir={self._profile}",
                f"--window-size={self.width},{self.height}", "about:blank"]
        # close_fds must stay off: it would close 3 and 4 after this hook ran (pass_fds needs them in the parent)
        self._log = open(Path(self._profile) / "chromium.log", "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                     preexec_fn=fds, close_fds=False)
        os.close(to_child_r)
        os.close(from_child_w)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=False)

    def log_tail(self, size: int = 1500) -> str:
        try:
            data = (Path(self._profile) / "chromium.log").read_bytes() if self._profile else b""
        except OSError:
            return ""
        return data[-size:].decode(errors="replace")

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.call("Browser.close", timeout=5)
            except Exception:  # noqa: BLE001 - closing anyway
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            for fd in (self._to_child, self._from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_child, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                for q in list(self._pending.values()):
                    q.put({"error": {"message": "browser closed"}})
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        q = self._pending.pop(message["id"], None)
                    if q is not None:
                        q.put(message)
                else:
                    with self._events_changed:
                        self.events.append(message)
                        self._events_changed.notify_all()

    # -- protocol ----------------------------------------------------------------------------------------------
    def call(self, method: str, session: str | None = None, timeout: float | None = None, **params: Any) -> Any:
        """Send a command and wait for its result (browser-level unless `session` is given)."""
        if self.proc is None or self.proc.poll() is not None:
            raise BrowserError(f"chromium is not running; its log ends with: {self.log_tail()}")
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        q: queue.Queue = queue.Queue()
        with self._lock:
            self._pending[ident] = q
        try:
            os.write(self._to_child, json.dumps(message).encode() + b"\0")
        except OSError as exc:
            raise BrowserError(f"{method}: chromium exited ({exc}); its log ends with: {self.log_tail()}") from None
        try:
            reply = q.get(timeout=timeout or self.timeout)
        except queue.Empty:
            raise BrowserError(f"{method}: no reply in {timeout or self.timeout:.0f} s") from None
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def send(self, method: str, timeout: float | None = None, **params: Any) -> Any:
        """A command to the page."""
        return self.call(method, session=self.session, timeout=timeout, **params)

    # -- page helpers ------------------------------------------------------------------------------------------
    def goto(self, url: str, wait: bool = True) -> None:
        mark = len(self.events)
        result = self.send("Page.navigate", url=url)
        if result.get("errorText"):
            raise BrowserError(f"navigation to {url} failed: {result['errorText']}")
        if wait:  # a change of the fragment alone navigates within the document: no load event
            self.wait_event("Page.loadEventFired", "Page.navigatedWithinDocument", since=mark)

    def wait_event(self, *methods: str, since: int = 0, timeout: float | None = None) -> dict[str, Any]:
        """The first event of one of `methods` received after event number `since`."""
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._events_changed:
            while True:
                for event in self.events[since:]:
                    if event.get("method") in methods:
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BrowserError(f"no {' or '.join(methods)} in {timeout or self.timeout:.0f} s")
                self._events_changed.wait(left)

    def eval(self, expression: str, timeout: float | None = None) -> Any:
        """The value of a JavaScript expression (promises are awaited)."""
        result = self.send("Runtime.evaluate", timeout=timeout, expression=expression, returnByValue=True,
                           awaitPromise=True, userGesture=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"javascript error: {text}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float | None = None, interval: float = 0.02) -> Any:
        """Poll until a JavaScript expression is truthy; returns its value."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            value = self.eval(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for: {expression}")
            time.sleep(interval)

    def click(self, selector: str) -> None:
        """Click the first element matching a CSS selector (a DOM click, after scrolling it into view)."""
        found = self.eval(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                          " if (!e) return false; e.scrollIntoView({block: 'center'}); e.click(); return true; })()")
        if not found:
            raise BrowserError(f"nothing matches {selector}")

    def screenshot(self, path: Path | str, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            metrics = self.send("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", **params)["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path

    def console_errors(self, since: int = 0) -> list[str]:
        """Errors the page reported (from event number `since` on): console.error, uncaught exceptions, failed
        loads and error log entries."""
        errors = []
        for event in list(self.events)[since:]:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                     for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                errors.append("exception: " + (details.get("exception", {}).get("description")
                                               or details.get("text", "")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                errors.append(f"network: {params.get('errorText')} ({params.get('type')})")
        return errors
