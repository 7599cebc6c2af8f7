"""A scripted HTTP server on a loopback port, a test double for failure handling and OpenAI-compatible endpoints.

Each path serves its own script, a list of ``Reply`` entries consumed in order; once a path's script is used up it
gets the server's default reply. The server records every request and the peak number handled at once::

    with ScriptedServer({"/v1/chat/completions": [rate_limited(1), chat_completion("42")]}) as server:
        ...  # call server.url + "/v1/chat/completions"; then assert server.count("/v1/chat/completions") == 2
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx


@dataclass(frozen=True)
class Reply:
    """One scripted reply: ``body`` bytes/str are sent as they are, anything else as JSON, after ``delay`` seconds."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def rate_limited(retry_after: str | float | None = None) -> Reply:
    """HTTP 429, with a Retry-After header when given (seconds or an HTTP-date)."""
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return Reply(429, {"error": {"message": "rate limited"}}, headers)


def http_error(status: int = 500, message: str = "server error") -> Reply:
    return Reply(status, {"error": {"message": message}})


def slow(seconds: float, then: Reply | None = None) -> Reply:
    """A reply that comes only after ``seconds`` (longer than the client's timeout, to trigger it)."""
    return replace(then or Reply(200, {"ok": True}), delay=seconds)


def not_json(text: str = "hello") -> Reply:
    """HTTP 200 whose body is not JSON although the header says so."""
    return Reply(200, text, {"Content-Type": "application/json"})


def truncated_json(text: str = '{"a": ') -> Reply:
    """HTTP 200 with a JSON body cut short."""
    return Reply(200, text, {"Content-Type": "application/json"})


def _usage(prompt_tokens: int | None, completion_tokens: int) -> dict[str, Any]:
    if prompt_tokens is None:
        return {}
    total = prompt_tokens + completion_tokens
    return {"usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": total}}


def chat_completion(
    content: str,
    model: str = "scripted",
    prompt_tokens: int | None = 10,
    completion_tokens: int = 5,
    finish_reason: str = "stop",
) -> Reply:
    """An OpenAI-style chat completion reply with one assistant message (no usage when prompt_tokens is None)."""
    return Reply(
        200,
        {
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}
            ],
            **_usage(prompt_tokens, completion_tokens),
        },
    )


def text_completion(
    text: str, model: str = "scripted", prompt_tokens: int | None = 10, completion_tokens: int = 5
) -> Reply:
    """An OpenAI-style text completion reply (POST /completions) with one choice."""
    return Reply(
        200,
        {
            "id": "cmpl-scripted",
            "object": "text_completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}],
            **_usage(prompt_tokens, completion_tokens),
        },
    )


def image_generation(
    *, b64_png: str | None = None, url: str | None = None, usage: tuple[int, int] | None = None
) -> Reply:
    """An OpenAI-style images reply with one image, as base64 or as a URL to fetch; token usage when given."""
    item = {"b64_json": b64_png} if b64_png is not None else {"url": url}
    body: dict[str, Any] = {"created": int(time.time()), "data": [{**item, "revised_prompt": "scripted"}]}
    if usage is not None:
        body["usage"] = {"input_tokens": usage[0], "output_tokens": usage[1], "total_tokens": sum(usage)}
    return Reply(200, body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


@dataclass(frozen=True)
class Received:
    """A request as the server saw it, with the status it was answered with."""

    method: str
    path: str
    headers: httpx.Headers  # case-insensitive, as HTTP header names are
    body: bytes
    time: float  # time.monotonic() at arrival
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


class ScriptedServer:
    """A real HTTP server in a background thread serving per-path scripts of replies; a context manager."""

    def __init__(self, script: dict[str, list[Reply]] | None = None, default: Reply | None = None,
                 responder: Callable[[str, bytes], Reply | None] | None = None) -> None:
        self.default = default or Reply(200, {"ok": True})
        self.responder = responder  # (path, body) -> reply, for paths whose script is used up; None: default
        self.requests: list[Received] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._scripts: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        for path, replies in (script or {}).items():
            self.script(path, replies)
        self._httpd = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, path: str, replies: list[Reply]) -> None:
        """Queue ``replies`` for ``path`` after whatever is still queued there."""
        with self._lock:
            self._scripts.setdefault(path, []).extend(replies)

    def count(self, path: str | None = None) -> int:
        """Requests received at ``path`` (all paths when None)."""
        with self._lock:
            return sum(1 for r in self.requests if path is None or r.path == path)

    def reset_peak(self) -> None:
        """Start measuring the peak of concurrent requests afresh from the number in flight now."""
        with self._lock:
            self.peak_in_flight = self.in_flight

    def __enter__(self) -> str:
        self._thread.start()
        return self.url

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()  # wakes delayed replies
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _next(self, method: str, path: str, headers: httpx.Headers, body: bytes) -> Reply:
        with self._lock:
            queue = self._scripts.get(path)
            reply = queue.pop(0) if queue else (self.responder and self.responder(path, body)) or self.default
            self.requests.append(Received(method, path, headers, body, time.monotonic(), reply.status))
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        return reply

    def _done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = urlsplit(self.path).path
                reply = server._next(self.command, path, httpx.Headers(list(self.headers.items())), body)
                try:
                    server._stop.wait(reply.delay)
                finally:  # counted as done before the reply leaves, so the peak never exceeds the client's
                    server._done()
                payload, content_type = _encode(reply.body)
                headers = {"Content-Type": content_type, **reply.headers, "Content-Length": str(len(payload))}
                try:
                    self.send_response(reply.status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up (timed out) and closed the connection
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _encode(body: Any) -> tuple[bytes, str]:
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    return json.dumps(body).encode(), "application/json"
