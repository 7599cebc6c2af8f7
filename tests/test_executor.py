import asyncio
import os
import random
import socket
import threading
import time
from email.utils import formatdate

import httpx
import pytest
from scripted_server import Reply, ScriptedServer, http_error, not_json, rate_limited, slow, truncated_json

from cadsynth.config import EndpointPolicy, ExecutorConfig
from cadsynth.executor import (
    CallError,
    CircuitOpen,
    EndpointPool,
    Executor,
    Fatal,
    RateLimited,
    Retryable,
    RunAborted,
    classify_exception,
    classify_http,
    pooled_http_client,
)


def policy(**overrides) -> EndpointPolicy:
    """A fast policy for tests: short timeouts and backoffs, a breaker that stays out of the way."""
    fast = dict(timeout_s=2.0, max_retries=3, backoff_base_s=0.01, backoff_max_s=0.05, breaker_failures=50)
    return EndpointPolicy(**{**fast, **overrides})


def getter(client: httpx.AsyncClient, path: str):
    """One attempt: GET ``path``, classify the status, decode the JSON."""

    async def attempt():
        response = await client.get(path)
        classify_http(response, "ep")
        return response.json()

    return attempt


def client(url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, trust_env=False)


async def wait_until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


class MaxJitter(random.Random):
    """Jitter that always picks the top of the range, so backoff delays are exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


def _pid_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def test_classify_http_statuses_and_reasons():
    cases = {
        429: RateLimited,
        408: Retryable,
        409: Retryable,
        500: Retryable,
        503: Retryable,
        400: Fatal,
        401: Fatal,
        404: Fatal,
    }
    for status, kind in cases.items():
        with pytest.raises(kind) as info:
            classify_http(httpx.Response(status), "ep")
        assert type(info.value) is kind
        assert info.value.reason.startswith(f"HTTP {status} from ep")
    classify_http(httpx.Response(200), "ep")  # no error

    with pytest.raises(RateLimited) as info:
        classify_http(httpx.Response(429, headers={"Retry-After": "2"}), "ep")
    assert info.value.reason == "HTTP 429 from ep (Retry-After 2s)"
    assert info.value.retry_after == 2.0

    date = formatdate(time.time() + 30, usegmt=True)
    with pytest.raises(RateLimited) as info:
        classify_http(httpx.Response(429, headers={"Retry-After": date}), "ep")
    assert 28 <= info.value.retry_after <= 30

    with pytest.raises(Fatal) as info:
        classify_http(
            httpx.Response(
                400, json={"error": "bad prompt"}, request=httpx.Request("GET", "http://h/x?key=s")
            )
        )
    assert (
        info.value.reason == 'HTTP 400 from http://h/x: {"error":"bad prompt"}'
    )  # the query (keys) left out

    assert isinstance(classify_exception(httpx.ConnectTimeout("slow")), Retryable)
    assert isinstance(classify_exception(httpx.ConnectError("refused")), Retryable)
    assert isinstance(classify_exception(ValueError("Expecting value")), Fatal)
    assert classify_exception(KeyError("bug")) is None


def test_retry_after_pauses_the_whole_endpoint_then_succeeds():
    server = ScriptedServer({"/a": [rate_limited(1), Reply(200, {"n": 1})]})

    async def main():
        pool = EndpointPool("ep", policy(max_concurrency=4))
        async with client(url) as http:
            first = asyncio.create_task(pool.call(getter(http, "/a")))
            await wait_until(lambda: pool.stats.rate_limited == 1)
            second = await pool.call(getter(http, "/b"))  # started during the pause: waits it out
            return pool, await first, second

    with server as url:
        pool, first, second = asyncio.run(main())
    assert first == {"n": 1} and second == {"ok": True}
    assert server.count("/a") == 2 and server.count("/b") == 1
    t0 = server.requests[0].time
    assert all(r.time >= t0 + 1.0 for r in server.requests[1:])
    cut = [e for e in pool.events if e["event"] == "limit_cut"]
    assert cut[0]["reason"].startswith("HTTP 429 from ep (Retry-After 1s)") and cut[0]["limit"] == 2


def test_rate_limit_without_retry_after_cuts_then_raises_the_limit_slowly():
    server = ScriptedServer({"/a": [rate_limited()]})

    async def main():
        pool = EndpointPool("ep", policy(max_concurrency=4, backoff_base_s=0.02))
        limits = []
        async with client(url) as http:
            for _ in range(8):
                await pool.call(getter(http, "/a"))
                limits.append(pool.stats.current_limit)
        return pool, limits

    with server as url:
        pool, limits = asyncio.run(main())
    assert server.count("/a") == 9
    assert limits == [2, 3, 3, 3, 4, 4, 4, 4]  # halved, then +1 after a streak as long as the limit
    events = [e["event"] for e in pool.events]
    assert events == ["limit_cut", "retry", "limit_raised", "limit_raised"]
    retry = pool.events[1]
    assert retry["retry_after"] is None and 0 <= retry["delay"] <= 0.02
    assert pool.stats.rate_limited == 1 and pool.stats.retries == 1


def test_server_errors_are_retried_with_exponential_backoff():
    server = ScriptedServer({"/a": [http_error(500), http_error(503), Reply(200, {"ok": 1})]})

    async def main():
        pool = EndpointPool("ep", policy(backoff_base_s=0.05, backoff_max_s=1.0), rng=MaxJitter())
        async with client(url) as http:
            start = time.monotonic()
            result = await pool.call(getter(http, "/a"))
            return pool, result, time.monotonic() - start

    with server as url:
        pool, result, elapsed = asyncio.run(main())
    assert result == {"ok": 1}
    assert server.count("/a") == 3
    stats = pool.stats
    assert (stats.calls, stats.attempts, stats.retries, stats.successes, stats.failures) == (1, 3, 2, 1, 0)
    assert [e["delay"] for e in pool.events if e["event"] == "retry"] == [0.05, 0.1]
    assert elapsed >= 0.15
    assert stats.current_limit == 16  # server errors are not a load signal


def test_timeouts_are_retried_and_exhausted_retries_say_why():
    server = ScriptedServer({"/a": [slow(1.0), Reply(200, {"ok": 1})], "/b": [slow(1.0)] * 2})

    async def main():
        pool = EndpointPool("ep", policy(timeout_s=0.2, max_retries=1))
        async with client(url) as http:
            result = await pool.call(getter(http, "/a"))
            with pytest.raises(Retryable) as info:
                await pool.call(getter(http, "/b"))
        return pool, result, info.value

    with server as url:
        pool, result, error = asyncio.run(main())
    assert result == {"ok": 1}
    assert server.count("/a") == 2 and server.count("/b") == 2
    assert error.reason == "no reply from ep within 0.2s"
    assert pool.stats.timeouts == 3 and pool.stats.failures == 1


def test_connection_errors_are_retryable():
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def main():
        pool = EndpointPool("ep", policy(max_retries=2))
        async with client(url) as http:
            with pytest.raises(Retryable) as info:
                await pool.call(getter(http, "/a"))
        return pool, info.value

    pool, error = asyncio.run(main())
    assert error.reason.startswith("ConnectError calling ep")
    assert pool.stats.attempts == 3


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (http_error(400, "bad prompt"), "HTTP 400 from ep: "),
        (not_json("hello"), "invalid reply from ep: JSONDecodeError"),
        (truncated_json('{"a": '), "invalid reply from ep: JSONDecodeError"),
    ],
)
def test_fatal_errors_are_not_retried(reply, reason):
    server = ScriptedServer({"/a": [reply]})

    async def main():
        pool = EndpointPool("ep", policy())
        async with client(url) as http:
            with pytest.raises(Fatal) as info:
                await pool.call(getter(http, "/a"))
        return pool, info.value

    with server as url:
        pool, error = asyncio.run(main())
    assert server.count("/a") == 1
    assert error.reason.startswith(reason)
    assert pool.stats.retries == 0 and pool.stats.failures == 1


def test_circuit_breaker_opens_refuses_probes_and_closes():
    server = ScriptedServer(default=http_error(500))

    async def main():
        pool = EndpointPool("ep", policy(max_retries=0, breaker_failures=3, breaker_cooldown_s=0.3))
        async with client(url) as http:
            call = getter(http, "/a")
            for _ in range(3):
                with pytest.raises(Retryable):
                    await pool.call(call)
            assert pool.stats.breaker_state == "open"
            with pytest.raises(CircuitOpen) as refused:
                await pool.call(call)
            assert server.count("/a") == 3  # refused without reaching the server

            await asyncio.sleep(0.35)
            with pytest.raises(Retryable):  # the half-open probe reaches the server, fails, reopens
                await pool.call(call)
            assert server.count("/a") == 4 and pool.stats.breaker_state == "open"
            with pytest.raises(CircuitOpen):
                await pool.call(call)
            assert server.count("/a") == 4

            await asyncio.sleep(0.35)
            server.default = Reply(200, {"ok": 1})
            assert await pool.call(call) == {"ok": 1}
            assert server.count("/a") == 5
        return pool, refused.value

    with server as url:
        pool, refused = asyncio.run(main())
    message = str(refused)
    assert "circuit open for ep: 3 consecutive failures" in message
    assert "last: HTTP 500 from ep" in message and "next probe in" in message
    assert pool.stats.breaker_state == "closed" and pool.stats.breaker_opened == 2
    breaker = [e for e in pool.events if e["event"].startswith("breaker")]
    assert [e["event"] for e in breaker] == [
        "breaker_open",
        "breaker_half_open",
        "breaker_open",
        "breaker_half_open",
        "breaker_closed",
    ]
    assert breaker[0]["reason"].startswith("3 consecutive failures, last: HTTP 500 from ep")


def test_adaptive_concurrency_caps_and_drops_in_flight_under_rate_limits():
    server = ScriptedServer(default=Reply(200, {"ok": 1}, delay=0.05))

    async def main():
        pool = EndpointPool("ep", policy(max_concurrency=8))
        async with client(url) as http:
            call = getter(http, "/a")
            await asyncio.gather(*(pool.call(call) for _ in range(50)))
            peak_before = server.peak_in_flight

            server.script("/a", [rate_limited()] * 8)  # a burst: the next 8 requests are refused
            await asyncio.gather(*(pool.call(call) for _ in range(8)))
            limit_after_burst = pool.stats.current_limit

            server.reset_peak()
            await asyncio.gather(*(pool.call(call) for _ in range(12)))
            return pool, peak_before, limit_after_burst, server.peak_in_flight

    with server as url:
        pool, peak_before, limit_after_burst, peak_after = asyncio.run(main())
    assert 4 <= peak_before <= 8
    assert pool.stats.rate_limited == 8
    assert [e["previous"] for e in pool.events if e["event"] == "limit_cut"] == [8]  # one cut per burst
    assert limit_after_burst < 8
    assert peak_after < 8
    assert server.count("/a") == 50 + 16 + 12


def test_keep_going_and_fail_fast():
    server = ScriptedServer({"/bad": [http_error(400)] * 2})

    async def main(mode):
        config = ExecutorConfig(policy=mode, endpoints={"bad": policy(), "good": policy()})
        async with Executor(config) as executor, client(url) as http:
            try:
                await executor.call("bad", getter(http, "/bad"))
            except (CallError, RunAborted) as exc:
                first = exc
            try:
                second = await executor.call("good", getter(http, "/good"))
            except RunAborted as exc:
                second = exc
            return executor, first, second

    with server as url:
        executor, first, second = asyncio.run(main("keep_going"))
        assert isinstance(first, Fatal) and second == {"ok": True}
        assert executor.aborted is None
        assert server.count("/good") == 1

        executor, first, second = asyncio.run(main("fail_fast"))
        assert isinstance(first, RunAborted) and isinstance(first.cause, Fatal)
        assert not isinstance(first, CallError)  # a pipeline's `except CallError` does not swallow it
        assert "run aborted (policy fail_fast) after: HTTP 400 from ep" in str(first)
        assert isinstance(second, RunAborted) and second.cause is first.cause
        assert server.count("/good") == 1  # the later call never reached the server
        assert executor.aborted is first.cause


def test_endpoint_policies_come_from_the_config():
    executor = Executor(ExecutorConfig(endpoints={"slow": EndpointPolicy(max_concurrency=2)}))
    assert executor.pool("slow").stats.current_limit == 2
    assert executor.pool("other").stats.current_limit == EndpointPolicy().max_concurrency
    assert executor.pool("slow") is executor.pool("slow")


def test_run_cpu_uses_a_child_process_and_run_thread_a_worker_thread():
    async def main():
        async with Executor(ExecutorConfig(cpu_workers=1)) as executor:
            cpu = await executor.run_cpu(_pid_and_square, 7)
            thread = await executor.run_thread(threading.get_ident)
        return executor, cpu, thread

    executor, (pid, square), thread = asyncio.run(main())
    assert square == 49 and pid != os.getpid()
    assert thread != threading.get_ident()
    assert executor._processes is None and executor._threads is None  # closed on exit


def test_pooled_http_client_keeps_every_request_in_flight_and_maps_timeouts_to_httpx():
    """64 requests at once: none waits for a connection, all succeed; a reply slower than the timeout is an httpx
    timeout (what the endpoint pools classify), not an aiohttp error."""
    server = ScriptedServer(default=Reply(200, {"ok": True}, delay=0.3),
                            script={"/v1/late": [Reply(200, {"late": True}, delay=3.0)]})
    client = pooled_http_client(64, timeout_s=1.0)

    async def send_all() -> tuple[BaseException | httpx.Response, list[httpx.Response]]:
        try:
            replies = await asyncio.gather(*(client.post(f"{url}/v1/x", json={"i": i}, headers={}) for i in range(64)))
            late = await asyncio.gather(client.post(f"{url}/v1/late", json={}, headers={}), return_exceptions=True)
            return late[0], replies
        finally:
            await client.aclose()

    with server as url:
        late, responses = asyncio.run(send_all())
    assert isinstance(late, httpx.TimeoutException)
    assert all(r.status_code == 200 and r.json() == {"ok": True} for r in responses)
    assert server.peak_in_flight == 64
