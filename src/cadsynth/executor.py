"""The asyncio executor: every model/endpoint call goes through a per-endpoint pool, CPU work through a process pool.

An ``EndpointPool`` runs calls under an adaptive concurrency limit (halved on rate limits, raised by one after a
streak of successes), retries retryable errors with jittered exponential backoff, honours Retry-After by pausing
the endpoint, times out each attempt and trips a circuit breaker after sustained failure. ``Executor`` holds one
pool per endpoint, applies the run policy (keep_going or fail_fast) and runs CPU-bound work in worker processes.
"""

from __future__ import annotations

import asyncio
import email.utils
import multiprocessing
import os
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, TypeVar

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from cadsynth.config import EndpointPolicy, ExecutorConfig

T = TypeVar("T")
Event = dict[str, Any]
EventSink = Callable[[Event], None]

# forkserver/spawn children do not inherit the parent's threads and locks (fork would, unsafely).
_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class CallError(Exception):
    """A failed endpoint call; ``reason`` says what happened in words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Retryable(CallError):
    """A failure worth retrying (timeout, connection error, 5xx); ``retry_after`` is the server's hint in seconds."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class RateLimited(Retryable):
    """HTTP 429: retry later, and send less."""


class Fatal(CallError):
    """A failure that a retry will not fix (400/401/404, an invalid reply)."""


class CircuitOpen(CallError):
    """The endpoint's circuit breaker is open: the call was refused without reaching the endpoint."""


class RunAborted(Exception):
    """Policy fail_fast: a call failed for good, so this and every later call is refused. Not a ``CallError``."""

    def __init__(self, cause: CallError) -> None:
        super().__init__(f"run aborted (policy fail_fast) after: {cause.reason}")
        self.cause = cause
        self.reason = cause.reason


def _seconds(value: float) -> str:
    return f"{round(value, 2):g}s"


def _where(response: httpx.Response, endpoint: str | None) -> str:
    if endpoint:
        return endpoint
    try:  # the query is left out: some APIs put the key there
        return str(response.request.url.copy_with(query=None))
    except RuntimeError:  # a response built without a request
        return "endpoint"


def _snippet(response: httpx.Response, limit: int = 200) -> str:
    try:
        text = " ".join(response.text.split())
    except httpx.ResponseNotRead:
        return ""
    return text if len(text) <= limit else text[:limit] + "..."


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def classify_http(response: httpx.Response, endpoint: str | None = None) -> None:
    """Raise the matching ``CallError`` for a non-2xx response: 429 RateLimited, 408/409/5xx Retryable, else Fatal."""
    status = response.status_code
    if 200 <= status < 300:
        return
    reason = f"HTTP {status} from {_where(response, endpoint)}"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if retry_after is not None:
        reason += f" (Retry-After {_seconds(retry_after)})"
    if body := _snippet(response):
        reason += f": {body}"
    if status == 429:
        raise RateLimited(reason, retry_after)
    if status in (408, 409) or status >= 500:
        raise Retryable(reason, retry_after)
    raise Fatal(reason)


def classify_exception(exc: BaseException, endpoint: str = "endpoint") -> CallError | None:
    """The ``CallError`` an exception stands for (timeouts and connection errors are Retryable); None if unknown."""
    if isinstance(exc, CallError):
        return exc
    if isinstance(exc, httpx.HTTPStatusError):
        try:
            classify_http(exc.response, endpoint)
        except CallError as error:
            return error
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return Retryable(f"{type(exc).__name__} calling {endpoint}")
    if isinstance(exc, httpx.TransportError):
        return Retryable(f"{type(exc).__name__} calling {endpoint}: {exc}")
    if isinstance(exc, httpx.HTTPError):  # decoding errors, too many redirects
        return Fatal(f"{type(exc).__name__} calling {endpoint}: {exc}")
    if isinstance(exc, ValueError):  # JSONDecodeError and pydantic's ValidationError are ValueErrors
        return Fatal(f"invalid reply from {endpoint}: {type(exc).__name__}: {exc}")
    return None


BreakerState = Literal["closed", "open", "half_open"]


@dataclass
class PoolStats:
    """Counters of one endpoint pool; ``calls`` end in a success or a failure, each made of one or more attempts."""

    calls: int = 0
    attempts: int = 0
    successes: int = 0
    retries: int = 0
    rate_limited: int = 0
    failures: int = 0
    timeouts: int = 0
    current_limit: int = 0
    breaker_state: BreakerState = "closed"
    breaker_opened: int = 0


class EndpointPool:
    """Adaptive concurrency, retries, timeouts and a circuit breaker for the calls to one endpoint."""

    def __init__(
        self,
        name: str,
        policy: EndpointPolicy | None = None,
        *,
        on_event: EventSink | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.policy = policy or EndpointPolicy()
        self.events: deque[Event] = deque(maxlen=10_000)
        self._on_event = on_event
        self._rng = rng or random.Random()
        self._counts = PoolStats()
        self._max = self.policy.max_concurrency
        self._min = min(self.policy.min_concurrency, self._max)
        self._limit = self._max
        self._in_flight = 0
        self._streak = 0  # successes since the limit last changed
        self._last_cut = float("-inf")
        self._paused_until = float("-inf")
        self._waiters: deque[asyncio.Future[None]] = deque()  # calls queued for a slot, first come first served
        self._woken = 0  # waiters woken for a free slot that have not yet resumed to claim it
        self._state: BreakerState = "closed"
        self._consecutive_failures = 0
        self._last_error = ""
        self._opened_at = 0.0

    @property
    def stats(self) -> PoolStats:
        """A snapshot of the counters, the current limit and the breaker state."""
        return replace(self._counts, current_limit=self._limit, breaker_state=self._state)

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn`` (one attempt per invocation) until it succeeds, fails for good or retries run out."""
        self._counts.calls += 1
        attempt = 0
        while True:
            try:
                result = await self._attempt(fn)
            except Retryable as error:
                if attempt >= self.policy.max_retries:
                    self._counts.failures += 1
                    raise
                cap = min(self.policy.backoff_max_s, self.policy.backoff_base_s * 2**attempt)
                delay = self._rng.uniform(0, cap)
                attempt += 1
                self._counts.retries += 1
                self._emit(
                    "retry",
                    error.reason,
                    attempt=attempt,
                    delay=round(delay, 3),
                    retry_after=error.retry_after,
                )
                await asyncio.sleep(delay)
            except CallError:
                self._counts.failures += 1
                raise
            else:
                self._counts.successes += 1
                return result

    async def _attempt(self, fn: Callable[[], Awaitable[T]]) -> T:
        await self._acquire()
        probe = False
        try:
            probe = self._admit()
            started = time.monotonic()
            self._counts.attempts += 1
            try:
                result = await asyncio.wait_for(fn(), self.policy.timeout_s)
            except Exception as exc:
                error = self._classify(exc)
                if error is None:  # not an endpoint failure (a bug, most likely): let it through
                    raise
                if isinstance(exc, TimeoutError | httpx.TimeoutException):
                    self._counts.timeouts += 1
                self._failed(error, started)
                if error is exc:
                    raise
                raise error from exc
            self._succeeded()
            return result
        finally:
            self._release()
            if probe and self._state == "half_open":  # the probe did not succeed
                self._open(f"the half-open probe did not succeed; last error: {self._last_error}")

    def _classify(self, exc: Exception) -> CallError | None:
        if isinstance(exc, TimeoutError):  # from wait_for
            return Retryable(f"no reply from {self.name} within {_seconds(self.policy.timeout_s)}")
        return classify_exception(exc, self.name)

    async def _acquire(self) -> None:
        while True:
            pause = self._paused_until - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            elif self._in_flight + self._woken < self._limit:  # slots promised to woken waiters are not free
                self._in_flight += 1
                return
            else:
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                try:
                    await waiter
                except asyncio.CancelledError:
                    if waiter.done() and not waiter.cancelled():  # woken, then cancelled: pass the slot on
                        self._woken -= 1
                        self._wake()
                    raise
                self._woken -= 1

    def _release(self) -> None:
        self._in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        """Wake queued waiters in arrival order, one per free slot (not all of them on every release)."""
        while self._waiters and self._in_flight + self._woken < self._limit:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a waiter cancelled while queued is skipped
                waiter.set_result(None)
                self._woken += 1

    def _admit(self) -> bool:
        """Raise ``CircuitOpen`` while the breaker is open; return True when this attempt is the half-open probe."""
        if self._state == "closed":
            return False
        now = time.monotonic()
        probe_at = self._opened_at + self.policy.breaker_cooldown_s
        if self._state == "open" and now >= probe_at:
            self._state = "half_open"
            self._emit(
                "breaker_half_open", f"cooldown of {_seconds(self.policy.breaker_cooldown_s)} over, probing"
            )
            return True
        when = (
            "a probe is in flight"
            if self._state == "half_open"
            else f"next probe in {_seconds(probe_at - now)}"
        )
        raise CircuitOpen(
            f"circuit open for {self.name}: {self._consecutive_failures} consecutive failures, "
            f"last: {self._last_error}; {when}"
        )

    def _succeeded(self) -> None:
        self._consecutive_failures = 0
        if self._state != "closed":
            self._state = "closed"
            self._emit("breaker_closed", "a call succeeded")
        self._streak += 1
        if self._streak >= self._limit and self._limit < self._max:
            self._limit += 1
            self._streak = 0
            self._emit("limit_raised", f"{self._limit - 1} successes in a row", limit=self._limit)
            self._wake()

    def _failed(self, error: CallError, started: float) -> None:
        now = time.monotonic()
        self._last_error = error.reason
        if isinstance(error, Retryable) and error.retry_after:
            self._paused_until = max(self._paused_until, now + error.retry_after)
        if isinstance(error, RateLimited):  # a load signal for the limiter, not a breaker failure
            self._counts.rate_limited += 1
            self._streak = 0
            if started > self._last_cut:  # one cut per round of attempts, not one per 429 of the same round
                self._last_cut = now
                old, self._limit = self._limit, max(self._min, int(self._limit * 0.5))
                if self._limit != old:
                    self._emit("limit_cut", error.reason, limit=self._limit, previous=old)
            return
        self._consecutive_failures += 1
        if self._state == "closed" and self._consecutive_failures >= self.policy.breaker_failures:
            self._open(f"{self._consecutive_failures} consecutive failures, last: {error.reason}")

    def _open(self, reason: str) -> None:
        self._state = "open"
        self._opened_at = time.monotonic()
        self._counts.breaker_opened += 1
        self._emit("breaker_open", reason, cooldown_s=self.policy.breaker_cooldown_s)

    def _emit(self, event: str, reason: str, **extra: Any) -> None:
        record = {"time": time.time(), "endpoint": self.name, "event": event, "reason": reason, **extra}
        self.events.append(record)
        if self._on_event is not None:
            self._on_event(record)


class HttpClient(Protocol):
    """What a ``ModelClient`` sends its requests with: the part of ``httpx.AsyncClient`` it uses."""

    async def post(self, url: str, *, json: Any, headers: dict[str, str]) -> httpx.Response: ...

    async def get(self, url: str) -> httpx.Response: ...

    async def aclose(self) -> None: ...


class _AiohttpTransport(AiohttpTransport):
    """httpx-aiohttp's transport, with the two connection failures it maps to a misleading httpx error named
    as httpx names them: a refused connection is a ConnectError (not a ConnectTimeout), a server that closes
    without replying a RemoteProtocolError."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as error:
            cause = error.__cause__
            if isinstance(cause, aiohttp.ServerDisconnectedError):
                raise httpx.RemoteProtocolError(str(cause), request=request) from cause
            if isinstance(cause, aiohttp.ClientConnectorError) and not isinstance(cause, aiohttp.ServerTimeoutError):
                raise httpx.ConnectError(str(cause), request=request) from cause
            raise


def pooled_http_client(connections: int | None, timeout_s: float | None) -> httpx.AsyncClient:
    """An httpx client whose connections are aiohttp's (``httpx-aiohttp``, the transport the OpenAI SDK offers).

    httpx's own pool (httpcore 1.x) scans every connection on every request and reply: 64 connections cost
    12-16 ms of CPU per request, and still about 2 ms when sharded over pools of 16. aiohttp's connector keeps
    requests at about 1 ms, so 64 requests of 250 ms each reach over 90% of their limit on 2 cores. Requests,
    responses, timeouts and errors stay httpx's (aiohttp's errors are mapped to httpx's). `connections` None:
    no limit here (the endpoint pools bound concurrency)."""
    limits = httpx.Limits(max_connections=connections or 0, max_keepalive_connections=connections)
    return httpx.AsyncClient(timeout=timeout_s, transport=_AiohttpTransport(limits=limits))


class Executor:
    """One ``EndpointPool`` per endpoint, the run policy, and worker pools for CPU-bound and blocking work."""

    def __init__(self, config: ExecutorConfig | None = None, *, on_event: EventSink | None = None) -> None:
        self.config = config or ExecutorConfig()
        self.cpu_workers = self.config.cpu_workers or os.cpu_count() or 1
        self.aborted: CallError | None = None  # the failure that aborted the run (fail_fast)
        self._on_event = on_event
        self._pools: dict[str, EndpointPool] = {}
        self._processes: ProcessPoolExecutor | None = None
        self._threads: ThreadPoolExecutor | None = None

    def pool(self, endpoint: str) -> EndpointPool:
        """The pool of ``endpoint``, created on first use with its configured policy (or the default one)."""
        if endpoint not in self._pools:
            policy = self.config.endpoints.get(endpoint, EndpointPolicy())
            self._pools[endpoint] = EndpointPool(endpoint, policy, on_event=self._on_event)
        return self._pools[endpoint]

    async def call(self, endpoint: str, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn`` through the endpoint's pool; a final failure raises its ``CallError``, or ``RunAborted``."""
        if self.aborted is not None:
            raise RunAborted(self.aborted)
        try:
            return await self.pool(endpoint).call(fn)
        except CallError as error:
            if self.config.policy == "fail_fast":
                self.aborted = self.aborted or error
                raise RunAborted(self.aborted) from error
            raise

    async def run_cpu(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Run a picklable function in a worker process (rendering, local inference)."""
        if self._processes is None:
            context = multiprocessing.get_context(_START_METHOD)
            self._processes = ProcessPoolExecutor(max_workers=self.cpu_workers, mp_context=context)
        return await asyncio.get_running_loop().run_in_executor(self._processes, fn, *args)

    async def run_thread(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Run thread-safe blocking work in a worker thread."""
        if self._threads is None:
            self._threads = ThreadPoolExecutor(max_workers=self.cpu_workers, thread_name_prefix="cadsynth")
        return await asyncio.get_running_loop().run_in_executor(self._threads, fn, *args)

    def http_client(self, policy: EndpointPolicy) -> HttpClient:
        """The HTTP client for one endpoint's requests, in this process (a cluster executor sends elsewhere).

        Only the bytes go through it: limits, retries and the breaker stay in the endpoint's pool."""
        return pooled_http_client(policy.max_concurrency, policy.timeout_s)

    def local_judge(self, name: str, weights: str) -> Any:
        """A judge backed by an in-process tiny VLM (an executor for a cluster may place it elsewhere)."""
        from cadsynth.judge.local import LocalJudge

        return LocalJudge(name, weights)

    def sandbox(self, workers: int, limits: Any) -> Any:
        """The sandbox that renders model-written code (`cadsynth.sandbox.Sandbox`), on this machine."""
        from cadsynth.sandbox import Sandbox

        return Sandbox(workers, limits)

    def close(self) -> None:
        """Shut the worker pools down (queued work is cancelled, running work finishes)."""
        for workers in (self._processes, self._threads):
            if workers is not None:
                workers.shutdown(wait=True, cancel_futures=True)
        self._processes = self._threads = None

    async def __aenter__(self) -> Executor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()


def make_executor(config: ExecutorConfig, *, on_event: EventSink | None = None) -> Executor:
    """The executor `config.kind` names: this machine's processes, or a Ray cluster (the `ray` extra)."""
    if config.kind == "ray":
        from cadsynth.distributed.ray import RayExecutor

        return RayExecutor(config, on_event=on_event)
    return Executor(config, on_event=on_event)
