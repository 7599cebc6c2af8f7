"""Failures: bad bodies, rate limits, server errors, timeouts, a missing key or base URL."""

import asyncio
import time

import pytest
from scripted_server import (
    ScriptedServer,
    chat_completion,
    http_error,
    not_json,
    rate_limited,
    slow,
    truncated_json,
)

from cadsynth.config import ConfigError, ModelEndpoint
from cadsynth.executor import Fatal, RateLimited, Retryable
from cadsynth.llm import check_ready, user

CHAT = "/v1/chat/completions"


def ask(make_client, url, **options):
    """Run one chat call; return (reply or the raised exception, the client's pool stats)."""

    async def main():
        async with make_client(url, **options) as client:
            try:
                result = await client.chat([user("hi")])
            except Exception as error:  # noqa: BLE001 - returned for the assertions
                result = error
            return result, client._executor.pool(client.endpoint.model).stats

    return asyncio.run(main())


@pytest.mark.parametrize("bad", [not_json("<html>gateway</html>"), truncated_json('{"choices": [{"mess')])
def test_bad_body_is_retried(make_client, bad):
    server = ScriptedServer({CHAT: [bad, chat_completion("ok")]})
    with server as url:
        reply, stats = ask(make_client, url)
    assert reply.text == "ok" and stats.retries == 1 and server.count(CHAT) == 2


@pytest.mark.parametrize("bad", [not_json(), truncated_json()])
def test_bad_body_fails_after_the_retries(make_client, bad):
    server = ScriptedServer(default=bad)
    with server as url:
        error, stats = ask(make_client, url)
    assert isinstance(error, Retryable) and "not valid JSON" in error.reason
    assert server.count(CHAT) == 3 and stats.failures == 1


def test_error_object_with_status_200_is_retried(make_client):
    server = ScriptedServer({CHAT: [http_error(200, "upstream overloaded"), chat_completion("ok")]})
    with server as url:
        reply, stats = ask(make_client, url)
    assert reply.text == "ok" and stats.retries == 1


def test_429_without_retry_after_backs_off_and_recovers(make_client):
    server = ScriptedServer({CHAT: [rate_limited(), rate_limited(), chat_completion("ok")]})
    with server as url:
        reply, stats = ask(make_client, url)
    assert reply.text == "ok" and stats.rate_limited == 2 and server.count(CHAT) == 3


def test_429_retry_after_is_honoured(make_client):
    server = ScriptedServer({CHAT: [rate_limited(1), chat_completion("ok")]})
    with server as url:
        reply, stats = ask(make_client, url)
    first, second = server.requests
    assert reply.text == "ok" and second.time - first.time >= 0.95


def test_429_for_good_is_rate_limited(make_client):
    server = ScriptedServer(default=rate_limited(0))
    with server as url:
        error, stats = ask(make_client, url)
    assert isinstance(error, RateLimited) and error.reason.startswith(f"HTTP 429 from scripted-model {CHAT[3:]}")


def test_500s_are_retried_then_fail(make_client):
    server = ScriptedServer({CHAT: [http_error(500), http_error(503), chat_completion("ok")]})
    with server as url:
        reply, _ = ask(make_client, url)
    assert reply.text == "ok"

    server = ScriptedServer(default=http_error(502, "bad gateway"))
    with server as url:
        error, stats = ask(make_client, url)
    assert isinstance(error, Retryable) and "HTTP 502" in error.reason and "bad gateway" in error.reason
    assert server.count(CHAT) == 3 and stats.failures == 1


def test_400_is_fatal_at_once(make_client):
    server = ScriptedServer(default=http_error(400, "unknown parameter"))
    with server as url:
        error, _ = ask(make_client, url)
    assert isinstance(error, Fatal) and server.count(CHAT) == 1


def test_a_slow_reply_times_out(make_client):
    server = ScriptedServer(default=slow(5, chat_completion("late")))
    started = time.monotonic()
    with server as url:
        error, stats = ask(make_client, url, policy={"timeout_s": 0.3, "max_retries": 1})
    assert isinstance(error, Retryable) and stats.timeouts == 2 and server.count(CHAT) == 2
    assert time.monotonic() - started < 3


def test_missing_key_names_the_variable_and_sends_nothing(make_client, monkeypatch):
    monkeypatch.delenv("CADSYNTH_TEST_API_KEY")
    server = ScriptedServer()
    with server as url:
        error, _ = ask(make_client, url)
        with pytest.raises(ConfigError, match="CADSYNTH_TEST_API_KEY"):
            check_ready(ModelEndpoint(model="m", base_url=url, api_key_env="CADSYNTH_TEST_API_KEY"))
    assert isinstance(error, ConfigError) and "set the environment variable CADSYNTH_TEST_API_KEY" in str(error)
    assert server.count() == 0


def test_missing_base_url_names_the_variable(make_client):
    error, _ = ask(make_client, None)
    assert isinstance(error, ConfigError) and "OPENAI_BASE_URL" in str(error)
    with pytest.raises(ConfigError, match="set base_url"):
        check_ready(ModelEndpoint(model="m", base_url_env=None, api_key_env=None))


def test_base_url_from_env_and_no_key(make_client, monkeypatch):
    server = ScriptedServer({CHAT: [chat_completion("ok")]})
    with server as url:
        monkeypatch.setenv("OPENAI_BASE_URL", url + "/v1/")
        check_ready(ModelEndpoint(model="m", api_key_env=None))
        reply, _ = ask(make_client, None, api_key_env=None)
    assert reply.text == "ok" and "Authorization" not in server.requests[0].headers
