"""The optional LiteLLM path: a clear ConfigError without the package; with it, the scripted server via openai/."""

import asyncio
import importlib.util

import pytest
from scripted_server import ScriptedServer, chat_completion, rate_limited

from cadsynth.config import ConfigError, ModelEndpoint
from cadsynth.executor import RateLimited
from cadsynth.llm import check_ready, user
from cadsynth.llm.access import api_key, base_url

HAS_LITELLM = importlib.util.find_spec("litellm") is not None


def test_litellm_uses_only_explicit_env_names(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://gateway/v1")
    implicit = ModelEndpoint(model="anthropic/claude-sonnet-4", api="litellm")
    assert base_url(implicit) is None and api_key(implicit) is None  # LiteLLM reads the provider's variables
    explicit = ModelEndpoint(model="openai/m", api="litellm", base_url_env="OPENAI_BASE_URL", api_key_env="NOPE")
    assert base_url(explicit) == "http://gateway/v1"
    with pytest.raises(ConfigError, match="NOPE"):
        api_key(explicit)


@pytest.mark.skipif(HAS_LITELLM, reason="litellm is installed")
def test_without_litellm_the_error_says_what_to_install(make_client):
    with pytest.raises(ConfigError, match=r"pip install 'cadsynth\[litellm\]'"):
        check_ready(ModelEndpoint(model="openai/m", api="litellm"))

    async def main():
        async with make_client("http://127.0.0.1:9", api="litellm") as client:
            await client.chat([user("hi")])

    with pytest.raises(ConfigError, match="litellm"):
        asyncio.run(main())


@pytest.mark.skipif(not HAS_LITELLM, reason="the litellm extra is not installed")
def test_litellm_against_the_scripted_server(make_client, api_key):
    server = ScriptedServer({"/v1/chat/completions": [chat_completion("hello", prompt_tokens=7), rate_limited()]})

    async def main():
        async with make_client(server.url, model="openai/scripted-model", api="litellm",
                               policy={"max_retries": 0}) as client:
            reply = await client.chat([user("hi")], max_tokens=9)
            with pytest.raises(RateLimited):
                await client.chat([user("again")])
            return reply

    with server:
        reply = asyncio.run(main())
    request = server.requests[0]
    body = request.json()
    assert body["model"] == "scripted-model" and body["max_tokens"] == 9
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert request.headers["authorization"] == f"Bearer {api_key}"
    assert reply.text == "hello" and reply.usage.prompt_tokens == 7 and not reply.estimated
