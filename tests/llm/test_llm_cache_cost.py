"""The request cache (a hit sends nothing and costs nothing), prices, and the key never leaking anywhere."""

import asyncio
import base64
import logging
import traceback

import pytest
from scripted_server import ScriptedServer, chat_completion, http_error, image_generation, slow

from cadsynth.config import ModelEndpoint
from cadsynth.executor import Fatal, Retryable
from cadsynth.llm import user
from cadsynth.llm.pricing import Price, canonical, image_cost, price_of, token_cost
from cadsynth.records import Usage
from cadsynth.store import RequestCache

CHAT = "/v1/chat/completions"


def test_cache_hit_sends_no_request_and_costs_nothing(make_client, tmp_path):
    cache = RequestCache(tmp_path / "cache.sqlite")
    server = ScriptedServer({CHAT: [chat_completion("first", prompt_tokens=1000, completion_tokens=100)] * 2})

    async def main():
        async with make_client(url, model="gpt-4o-mini", cache=cache) as client:
            fresh = await client.chat([user("hi")])
            again = await client.chat([user("hi")])
            other = await client.chat([user("hi")], temperature=0.1)  # another payload: a miss
        return fresh, again, other

    with server as url:
        fresh, again, other = asyncio.run(main())
    assert server.count(CHAT) == 2 and len(cache) == 2
    assert not fresh.cached and again.cached and not other.cached
    assert again.text == "first" and again.usage == Usage()
    assert again.original_usage == fresh.usage == Usage(
        prompt_tokens=1000, completion_tokens=100, cost_usd=(1000 * 0.15 + 100 * 0.60) / 1e6, calls=1
    )


def test_failures_are_not_cached(make_client, tmp_path):
    cache = RequestCache(tmp_path / "cache.sqlite")
    server = ScriptedServer({CHAT: [http_error(400, "bad"), chat_completion("ok")]})

    async def main():
        async with make_client(url, cache=cache) as client:
            with pytest.raises(Fatal):
                await client.chat([user("hi")])
            return await client.chat([user("hi")])

    with server as url:
        reply = asyncio.run(main())
    assert reply.text == "ok" and not reply.cached and server.count(CHAT) == 2


def test_image_cache_hit(make_client, tmp_path, image_bytes):
    cache = RequestCache(tmp_path / "cache.sqlite")
    png = image_bytes("PNG", (4, 4))
    server = ScriptedServer({"/v1/images/generations": [image_generation(b64_png=base64.b64encode(png).decode())]})

    async def main():
        async with make_client(url, api="images", model="dall-e-3", cache=cache) as client:
            return await client.image("x"), await client.image("x")

    with server as url:
        fresh, again = asyncio.run(main())
    assert server.count() == 1 and again.cached and again.png == png == fresh.png
    assert again.usage == Usage() and again.original_usage.cost_usd == pytest.approx(0.04)


def test_prices():
    assert canonical("openai/gpt-4o-2024-08-06") == "gpt-4o"
    assert canonical("gpt-4o-mini-2024-07-18") == "gpt-4o-mini"
    assert canonical("anthropic/claude-sonnet-4-20250514") == "claude-sonnet-4"
    assert canonical("claude-4-sonnet") == canonical("claude-sonnet-4@20250514") == "claude-sonnet-4"
    assert canonical("deepseek-reasoner") == canonical("deepseek-ai/DeepSeek-R1") == "deepseek-r1"
    assert canonical("gemini-2.5-flash") == "gemini-2.5-flash"
    assert canonical("deepseek-r1:7b") == "deepseek-r1:7b"  # a local model: no default price

    gpt4o = price_of(ModelEndpoint(model="gpt-4o"))
    assert token_cost(gpt4o, 1_000_000, 1_000_000) == (12.5, True)
    overridden = price_of(ModelEndpoint(model="gpt-4o", price_out_per_mtok=1.0))
    assert token_cost(overridden, 1_000_000, 1_000_000) == (3.5, True)
    local = price_of(ModelEndpoint(model="qwen2.5-vl-7b"))
    assert token_cost(local, 1000, 1000) == (0.0, False)
    assert token_cost(price_of(ModelEndpoint(model="mine", price_in_per_mtok=2.0)), 10**6, 10**6) == (2.0, True)

    assert image_cost(price_of(ModelEndpoint(model="dall-e-3")), None) == (0.04, True)
    assert image_cost(price_of(ModelEndpoint(model="gpt-image-1")), None) == (0.042, True)
    assert image_cost(price_of(ModelEndpoint(model="gpt-image-1")), (0, 1_000_000)) == (40.0, True)
    assert image_cost(Price(), (10, 10)) == (0.0, False)


def test_unpriced_model_costs_zero_and_says_so(make_client):
    server = ScriptedServer({CHAT: [chat_completion("ok")]})

    async def main():
        async with make_client(url, model="local-vlm") as client:
            return await client.chat([user("hi")])

    with server as url:
        reply = asyncio.run(main())
    assert reply.usage.cost_usd == 0 and not reply.priced


def test_the_key_never_leaks(make_client, tmp_path, api_key, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    cache = RequestCache(tmp_path / "cache.sqlite")
    echo = f"Incorrect API key provided: {api_key}"
    server = ScriptedServer({CHAT: [chat_completion("ok"), http_error(500, echo), http_error(401, echo)]},
                            default=slow(5))
    client = make_client(server.url, cache=cache, policy={"max_retries": 1, "timeout_s": 0.3})

    async def call(text):
        try:
            return await client.chat([user(text)])
        except Exception as error:  # noqa: BLE001 - returned for the assertions
            return error

    async def main():
        async with client:
            with server:
                return await call("hi"), await call("again"), await call("slow")

    reply, failure, timed_out = asyncio.run(main())
    assert not isinstance(reply, Exception) and isinstance(failure, Fatal) and isinstance(timed_out, Retryable)
    assert "HTTP 401" in failure.reason and "***" in failure.reason
    cache.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    pool = client._executor.pool(client.endpoint.model)
    assert len(pool.events) == 2  # the retries after the 500 (which echoed the key) and the timeout
    captured = capsys.readouterr()
    everything = [
        *("".join(traceback.format_exception(error)) for error in (failure, timed_out)),
        repr(reply), repr(vars(client)), repr(list(pool.events)), caplog.text, captured.out,
        captured.err,
    ]
    for text in everything:
        assert api_key not in text
    assert api_key.encode() not in stored
    assert server.requests[0].headers["Authorization"] == f"Bearer {api_key}"  # sent, and only there
