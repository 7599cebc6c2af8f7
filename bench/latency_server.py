"""A local OpenAI-compatible server whose replies take a chosen latency and fail at chosen rates.

POST /v1/chat/completions and /v1/completions answer with a valid OpenAI reply (with ``usage``) after a latency
drawn from a distribution, or fail: HTTP 500 (after the latency), a hang (no reply; the connection is closed
after ``hang_s``, longer than any client timeout), HTTP 429 with Retry-After (at once), and a 429 storm: every
request arriving between ``storm_start_s`` and ``storm_start_s + storm_duration_s`` after the server started
(or was last reset) gets a 429 at once. Outcomes are drawn from one seeded random stream in arrival order.

Two admin paths serve the counters: GET /_bench/stats (JSON) and POST /_bench/reset (zero the counters and
restart the storm clock). The server is one asyncio loop with the stdlib only, so it holds thousands of
connections cheaply; it binds loopback only.

    python bench/latency_server.py --port 0 --latency 0.25                 # prints its URL, runs until Ctrl-C
    python bench/latency_server.py --latency lognormal:0.25:0.5 --error-rate 0.05 --rate-limit-rate 0.1
    python bench/latency_server.py --storm-start 5 --storm-duration 10 --retry-after 2

From Python, ``LatencyServer(config)`` runs it in a background thread of the caller and
``LatencyServerProcess(config)`` in a child process (so its CPU time is not the caller's); both are context
managers with ``url``, ``stats()`` and ``reset()``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

COMPLETION_PATHS = ("/v1/chat/completions", "/v1/completions")
STATS_PATH = "/_bench/stats"
RESET_PATH = "/_bench/reset"
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 411: "Length Required",
            429: "Too Many Requests", 500: "Internal Server Error"}


@dataclass(frozen=True)
class Latency:
    """A latency distribution in seconds: ``fixed`` (value), ``uniform`` (low, high) or ``lognormal`` (median, sigma).

    Written on the command line as ``0.25``, ``uniform:0.1:0.4`` or ``lognormal:0.25:0.5``.
    """

    kind: str = "fixed"
    a: float = 0.25  # fixed: the value; uniform: low; lognormal: the median
    b: float = 0.0  # uniform: high; lognormal: sigma of the underlying normal

    @classmethod
    def parse(cls, spec: str) -> Latency:
        kind, _, params = spec.partition(":") if ":" in spec else ("fixed", "", spec)
        try:
            values = [float(v) for v in params.split(":")]
        except ValueError:
            raise ValueError(f"latency {spec!r}: the parameters must be numbers") from None
        arity = {"fixed": 1, "uniform": 2, "lognormal": 2}
        if kind not in arity or len(values) != arity[kind]:
            raise ValueError(f"latency {spec!r}: expected SECONDS, uniform:LOW:HIGH or lognormal:MEDIAN:SIGMA")
        if min(values) < 0 or (kind == "uniform" and values[0] > values[1]):
            raise ValueError(f"latency {spec!r}: values must be >= 0 (and LOW <= HIGH)")
        return cls(kind, *values)

    def spec(self) -> str:
        if self.kind == "fixed":
            return f"{self.a:g}"
        return f"{self.kind}:{self.a:g}:{self.b:g}"

    def draw(self, rng: random.Random) -> float:
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        if self.kind == "lognormal":
            return rng.lognormvariate(math.log(self.a), self.b) if self.a > 0 else 0.0
        return self.a


@dataclass(frozen=True)
class ServerConfig:
    """How the server behaves; the rates are shares of requests outside a storm, drawn independently of latency."""

    latency: Latency = field(default_factory=Latency)
    error_rate: float = 0.0  # HTTP 500 after the latency
    timeout_rate: float = 0.0  # no reply; the connection is closed after hang_s
    rate_limit_rate: float = 0.0  # HTTP 429 with Retry-After, at once
    retry_after: float = 1.0  # seconds, sent with every 429
    hang_s: float = 600.0
    storm_start_s: float | None = None  # seconds after start (or reset); None: no storm
    storm_duration_s: float = 0.0
    seed: int | None = None
    reply: str = "This is a benchmark reply."

    def __post_init__(self) -> None:
        rates = (self.error_rate, self.timeout_rate, self.rate_limit_rate)
        if min(rates) < 0 or sum(rates) > 1:
            raise ValueError("error, timeout and rate-limit rates must be >= 0 and add up to at most 1")

    def to_args(self) -> list[str]:
        """The command-line arguments that make ``main()`` build this config."""
        args = ["--latency", self.latency.spec(), "--error-rate", str(self.error_rate),
                "--timeout-rate", str(self.timeout_rate), "--rate-limit-rate", str(self.rate_limit_rate),
                "--retry-after", str(self.retry_after), "--hang", str(self.hang_s), "--reply", self.reply]
        if self.storm_start_s is not None:
            args += ["--storm-start", str(self.storm_start_s), "--storm-duration", str(self.storm_duration_s)]
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        return args


@dataclass
class Stats:
    """Counters since start or reset: requests received, replies sent per status, hangs, storm 429s."""

    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    hangs: int = 0
    storm_rejections: int = 0  # 429s sent because of the storm (also counted in statuses)
    in_flight: int = 0  # being answered now (a hung request stops counting once it is left to hang)
    peak_in_flight: int = 0

    def served(self, status: int) -> int:
        return self.statuses.get(status, 0)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stats:
        return cls(**{**data, "statuses": {int(k): v for k, v in data["statuses"].items()}})


class _Counters:
    """The server's live counters; updated on its loop, read from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats = Stats()

    def arrived(self) -> None:
        with self._lock:
            self._stats.requests += 1
            self._stats.in_flight += 1
            self._stats.peak_in_flight = max(self._stats.peak_in_flight, self._stats.in_flight)

    def finished(self, status: int | None, storm: bool = False) -> None:
        """A completion request was answered with ``status``, or (None) left to hang."""
        with self._lock:
            self._stats.in_flight -= 1
            if status is None:
                self._stats.hangs += 1
            else:
                self._stats.statuses[status] = self._stats.served(status) + 1
            self._stats.storm_rejections += storm

    def snapshot(self) -> Stats:
        with self._lock:
            return replace(self._stats, statuses=dict(self._stats.statuses))

    def reset(self) -> None:
        with self._lock:
            in_flight = self._stats.in_flight
            self._stats = Stats(in_flight=in_flight, peak_in_flight=in_flight)


@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


@dataclass
class _Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    storm: bool = False  # a 429 of the storm window

    def encode(self, keep_alive: bool) -> bytes:
        payload = json.dumps(self.body).encode()
        head = [f"HTTP/1.1 {self.status} {_REASONS.get(self.status, 'Unknown')}",
                "Content-Type: application/json", f"Content-Length: {len(payload)}",
                f"Connection: {'keep-alive' if keep_alive else 'close'}"]
        head += [f"{name}: {value}" for name, value in self.headers.items()]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


def _error(status: int, message: str, headers: dict[str, str] | None = None, storm: bool = False) -> _Reply:
    body = {"error": {"message": message, "type": "latency_server", "code": status}}
    return _Reply(status, body, headers or {}, storm)


class _Hang(Exception):
    """The drawn outcome is a hang: no reply."""


class _Service:
    """The HTTP/1.1 protocol and the drawn behaviour, on one asyncio loop."""

    def __init__(self, config: ServerConfig, counters: _Counters) -> None:
        self.config = config
        self.counters = counters
        self._rng = random.Random(config.seed)
        self._clock_start = time.monotonic()
        self._connections: set[asyncio.Task[None]] = set()
        self._ids = 0

    def reset(self) -> None:
        self.counters.reset()
        self._clock_start = time.monotonic()

    def cancel_connections(self) -> None:
        for task in self._connections:
            task.cancel()

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while (request := await self._read(reader)) is not None:
                try:
                    reply = await self._dispatch(request)
                except _Hang:
                    await asyncio.sleep(self.config.hang_s)
                    return
                writer.write(reply.encode(request.keep_alive))
                await writer.drain()
                if not request.keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            return  # the client went away or sent something unreadable
        finally:
            self._connections.discard(task)
            writer.close()

    async def _read(self, reader: asyncio.StreamReader) -> _Request | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                raise
            return None  # the client closed an idle keep-alive connection
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _version = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", 0)))
        return _Request(method, target.split("?", 1)[0], headers, body)

    async def _dispatch(self, request: _Request) -> _Reply:
        if request.path == STATS_PATH and request.method == "GET":
            return _Reply(200, asdict(self.counters.snapshot()))
        if request.path == RESET_PATH and request.method == "POST":
            self.reset()
            return _Reply(200, {"reset": True})
        if request.path not in COMPLETION_PATHS:
            return _error(404, f"no route for {request.path}")
        if request.method != "POST":
            return _error(405, f"{request.path} takes POST")
        if "chunked" in request.headers.get("transfer-encoding", ""):
            return _error(411, "send a Content-Length")
        self.counters.arrived()
        status: int | None = None
        storm = False
        try:
            reply = await self._complete(request)
            status, storm = reply.status, reply.storm
            return reply
        finally:  # a hang (or a cancelled task) leaves status None
            self.counters.finished(status, storm)

    async def _complete(self, request: _Request) -> _Reply:
        config = self.config
        elapsed = time.monotonic() - self._clock_start
        if config.storm_start_s is not None and 0 <= elapsed - config.storm_start_s < config.storm_duration_s:
            return _error(429, "rate limited (storm)", {"Retry-After": f"{config.retry_after:g}"}, storm=True)
        draw = self._rng.random()
        latency = config.latency.draw(self._rng)
        if draw < config.error_rate:
            await asyncio.sleep(latency)
            return _error(500, "injected server error")
        draw -= config.error_rate
        if draw < config.timeout_rate:
            raise _Hang
        if draw - config.timeout_rate < config.rate_limit_rate:
            return _error(429, "rate limited", {"Retry-After": f"{config.retry_after:g}"})
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            return _error(400, "the body is not JSON")
        if not isinstance(payload, dict):
            return _error(400, "the body must be a JSON object")
        if payload.get("stream"):
            return _error(400, "streaming is not supported by the latency server")
        await asyncio.sleep(latency)
        return _Reply(200, self._completion(request.path, payload))

    def _completion(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        self._ids += 1
        text = self.config.reply
        if path == "/v1/chat/completions":
            prompt = " ".join(m["content"] for m in payload.get("messages", [])
                              if isinstance(m, dict) and isinstance(m.get("content"), str))
            kind, choice = "chat.completion", {"index": 0, "message": {"role": "assistant", "content": text},
                                               "logprobs": None, "finish_reason": "stop"}
        else:
            prompt = str(payload.get("prompt", ""))
            kind, choice = "text_completion", {"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}
        prompt_tokens, completion_tokens = max(1, len(prompt) // 4), max(1, len(text) // 4)
        return {
            "id": f"bench-{self._ids}",
            "object": kind,
            "created": int(time.time()),
            "model": payload.get("model", "latency-server"),
            "system_fingerprint": None,
            "choices": [choice],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }


@dataclass
class _Listening:
    """A running server: its loop, its URL, and the event that stops it."""

    loop: asyncio.AbstractEventLoop
    url: str
    stop: asyncio.Event


async def _serve(service: _Service, port: int, on_ready: Callable[[_Listening], None]) -> None:
    """Serve on loopback until the stop event handed to ``on_ready`` is set."""
    server = await asyncio.start_server(service.connection, "127.0.0.1", port, backlog=4096, limit=1 << 20)
    host, bound = server.sockets[0].getsockname()[:2]
    listening = _Listening(asyncio.get_running_loop(), f"http://{host}:{bound}", asyncio.Event())
    on_ready(listening)
    try:
        await listening.stop.wait()
    finally:
        server.close()
        service.cancel_connections()
        await server.wait_closed()


class LatencyServer:
    """The server on its own event loop in a background thread of this process; a context manager."""

    def __init__(self, config: ServerConfig | None = None, port: int = 0) -> None:
        self.config = config or ServerConfig()
        self._counters = _Counters()
        self._service = _Service(self.config, self._counters)
        self._port = port
        self._listening: _Listening | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._listening is not None, "the server is not started"
        return self._listening.url

    def start(self) -> LatencyServer:
        ready = threading.Event()

        def on_ready(listening: _Listening) -> None:
            self._listening = listening
            ready.set()

        serve = _serve(self._service, self._port, on_ready)
        self._thread = threading.Thread(target=asyncio.run, args=(serve,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the latency server did not start within 10 s")
        return self

    def stats(self) -> Stats:
        return self._counters.snapshot()

    def reset(self) -> None:
        assert self._listening is not None, "the server is not started"
        done = threading.Event()

        def reset_on_loop() -> None:
            self._service.reset()
            done.set()

        self._listening.loop.call_soon_threadsafe(reset_on_loop)
        done.wait(5)

    def stop(self) -> None:
        if self._thread is not None and self._listening is not None:
            self._listening.loop.call_soon_threadsafe(self._listening.stop.set)
            self._thread.join(10)
        self._thread = self._listening = None

    def __enter__(self) -> LatencyServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class LatencyServerProcess:
    """The server in a child process (``python bench/latency_server.py``); a context manager."""

    def __init__(self, config: ServerConfig | None = None, port: int = 0) -> None:
        self.config = config or ServerConfig()
        self._port = port
        self._process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> LatencyServerProcess:
        command = [sys.executable, __file__, "--port", str(self._port), *self.config.to_args()]
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.startswith("http://"):
            self.stop()
            raise RuntimeError(f"the latency server did not start: {line!r}")
        self.url = line
        return self

    def stats(self) -> Stats:
        with urllib.request.urlopen(self.url + STATS_PATH, timeout=10) as response:
            return Stats.from_json(json.load(response))

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.url + RESET_PATH, method="POST"), timeout=10).close()

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def __enter__(self) -> LatencyServerProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def parse_args(argv: list[str] | None = None) -> tuple[ServerConfig, int]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0: any free port (the URL is printed)")
    parser.add_argument("--latency", type=Latency.parse, default=Latency(),
                        help="SECONDS, uniform:LOW:HIGH or lognormal:MEDIAN:SIGMA (default 0.25)")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of HTTP 500s")
    parser.add_argument("--timeout-rate", type=float, default=0.0, help="share of requests left without a reply")
    parser.add_argument("--rate-limit-rate", type=float, default=0.0, help="share of HTTP 429s")
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds sent with 429s")
    parser.add_argument("--hang", type=float, default=600.0, help="seconds a hung request is held")
    parser.add_argument("--storm-start", type=float, default=None, help="seconds after start: a 429 storm begins")
    parser.add_argument("--storm-duration", type=float, default=0.0, help="seconds the storm lasts")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--reply", default=ServerConfig.reply, help="the completion text")
    args = parser.parse_args(argv)
    config = ServerConfig(
        latency=args.latency, error_rate=args.error_rate, timeout_rate=args.timeout_rate,
        rate_limit_rate=args.rate_limit_rate, retry_after=args.retry_after, hang_s=args.hang,
        storm_start_s=args.storm_start, storm_duration_s=args.storm_duration, seed=args.seed, reply=args.reply,
    )
    return config, args.port


def main(argv: list[str] | None = None) -> None:
    config, port = parse_args(argv)
    service = _Service(config, _Counters())
    try:
        asyncio.run(_serve(service, port, lambda listening: print(listening.url, flush=True)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
