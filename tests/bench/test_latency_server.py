import asyncio
import random
import statistics
import time

import httpx
import pytest
from latency_server import Latency, LatencyServer, LatencyServerProcess, ServerConfig

CHAT = {"model": "m", "messages": [{"role": "user", "content": "What is 6 x 7?"}]}


async def post_many(url: str, n: int, timeout: float = 5.0) -> list[httpx.Response | Exception]:
    async with httpx.AsyncClient(base_url=url, timeout=timeout, trust_env=False) as client:
        calls = [client.post("/v1/chat/completions", json=CHAT) for _ in range(n)]
        return await asyncio.gather(*calls, return_exceptions=True)


def test_latency_spec_parses_and_round_trips():
    assert Latency.parse("0.25") == Latency("fixed", 0.25)
    assert Latency.parse("uniform:0.1:0.4") == Latency("uniform", 0.1, 0.4)
    assert Latency.parse("lognormal:0.25:0.5").spec() == "lognormal:0.25:0.5"
    for bad in ("fast", "uniform:0.4:0.1", "lognormal:0.2", "-1"):
        with pytest.raises(ValueError):
            Latency.parse(bad)
    with pytest.raises(ValueError):
        ServerConfig(error_rate=0.6, rate_limit_rate=0.6)


def test_latency_draws_follow_their_distribution():
    rng = random.Random(0)
    lognormal = sorted(Latency("lognormal", 0.2, 0.5).draw(rng) for _ in range(2001))
    uniform = [Latency("uniform", 0.1, 0.3).draw(rng) for _ in range(2000)]
    assert 0.18 < lognormal[1000] < 0.22 and lognormal[-1] > 0.6  # the median, and a long right tail
    assert 0.1 <= min(uniform) and max(uniform) <= 0.3 and 0.19 < statistics.mean(uniform) < 0.21
    assert Latency("fixed", 0.25).draw(rng) == 0.25


def test_replies_are_valid_openai_completions_after_the_latency():
    with LatencyServer(ServerConfig(latency=Latency("fixed", 0.2))) as server, httpx.Client(base_url=server.url) as client:
        started = time.monotonic()
        chat = client.post("/v1/chat/completions", json=CHAT)
        took = time.monotonic() - started
        text = client.post("/v1/completions", json={"model": "base", "prompt": "6 x 7 ="}).json()
        assert client.get("/v1/chat/completions").status_code == 405
        assert client.post("/v1/other", json={}).status_code == 404
        stats = server.stats()
    assert 0.2 <= took < 1.0
    body = chat.json()
    assert chat.status_code == 200 and body["object"] == "chat.completion" and body["model"] == "m"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": ServerConfig.reply}
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"] > 0
    assert text["object"] == "text_completion" and text["choices"][0]["text"] == ServerConfig.reply
    assert stats.requests == 2 and stats.served(200) == 2  # admin and unknown paths are not counted


def test_concurrent_requests_are_served_at_once():
    config = ServerConfig(latency=Latency("lognormal", 0.2, 0.3), seed=1)
    with LatencyServer(config) as server:
        started = time.monotonic()
        replies = asyncio.run(post_many(server.url, 64))
        took = time.monotonic() - started
        stats = server.stats()
    assert all(isinstance(r, httpx.Response) and r.status_code == 200 for r in replies)
    assert stats.peak_in_flight == 64
    assert took < 2.0  # 64 requests of ~0.2 s each, served at once rather than one after another


def test_error_and_rate_limit_rates_are_roughly_honoured_with_a_seed():
    config = ServerConfig(latency=Latency("fixed", 0.0), error_rate=0.2, rate_limit_rate=0.3, retry_after=2, seed=7)
    with LatencyServer(config) as server, httpx.Client(base_url=server.url) as client:
        replies = [client.post("/v1/chat/completions", json=CHAT) for _ in range(300)]
        stats = server.stats()
    statuses = [r.status_code for r in replies]
    assert 40 <= statuses.count(500) <= 80 and 65 <= statuses.count(429) <= 115  # expected: 60 and 90
    assert stats.requests == 300 and stats.statuses == {s: statuses.count(s) for s in (200, 429, 500)}
    limited = next(r for r in replies if r.status_code == 429)
    assert limited.headers["Retry-After"] == "2" and "error" in limited.json()


def test_the_same_seed_gives_the_same_outcomes():
    config = ServerConfig(latency=Latency("fixed", 0.0), error_rate=0.3, rate_limit_rate=0.3, seed=3)
    outcomes = []
    for _ in range(2):
        with LatencyServer(config) as server, httpx.Client(base_url=server.url) as client:
            outcomes.append([client.post("/v1/chat/completions", json=CHAT).status_code for _ in range(30)])
    assert outcomes[0] == outcomes[1] and len(set(outcomes[0])) == 3


def test_timeouts_hang_past_the_client_timeout():
    config = ServerConfig(latency=Latency("fixed", 0.0), timeout_rate=1.0, hang_s=30)
    with LatencyServer(config) as server:
        started = time.monotonic()
        replies = asyncio.run(post_many(server.url, 3, timeout=0.3))
        took = time.monotonic() - started
        stats = server.stats()
    assert all(isinstance(r, httpx.ReadTimeout) for r in replies)
    assert took < 2.0  # the server stopping does not wait for hung requests either
    assert stats.requests == 3 and stats.statuses == {}


def test_storm_window_rate_limits_everything_then_ends_and_reset_restarts_its_clock():
    config = ServerConfig(latency=Latency("fixed", 0.0), storm_start_s=0.4, storm_duration_s=0.6, retry_after=1)
    with LatencyServer(config) as server, httpx.Client(base_url=server.url) as client:

        def status_at(seconds: float) -> int:
            time.sleep(max(0.0, seconds - (time.monotonic() - started)))
            return client.post("/v1/chat/completions", json=CHAT).status_code

        started = time.monotonic()
        before, during, after = status_at(0.05), status_at(0.7), status_at(1.3)
        stats = server.stats()
        server.reset()
        started = time.monotonic()
        again = status_at(0.7)
        assert server.stats().storm_rejections == 1
    assert (before, during, after, again) == (200, 429, 200, 429)
    assert stats.storm_rejections == 1 and stats.served(429) == 1 and stats.served(200) == 2


def test_the_script_prints_its_url_and_serves_stats_from_a_child_process():
    config = ServerConfig(latency=Latency("fixed", 0.0), rate_limit_rate=1.0)
    with LatencyServerProcess(config) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert httpx.post(server.url + "/v1/chat/completions", json=CHAT).status_code == 429
        assert server.stats().served(429) == 1
        server.reset()
        assert server.stats().requests == 0
