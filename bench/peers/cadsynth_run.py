"""Throughput runner for cadsynth: N chat requests through its executor, whose endpoint allows C at once.

With ``cadsynth.llm.client`` present, each request is ``ModelClient.chat`` (payload, classification, reply
parsing, usage; no request cache) on one ``ModelClient`` whose endpoint policy has ``max_concurrency=C``, sent
by the executor's ``http_client``; without it, an httpx POST inside ``executor.call``, classified with
``classify_http``, on an httpx client with C connections. All N calls are submitted at once and the executor's
pool admits C at a time. Run with the project's interpreter.
"""

from __future__ import annotations

import asyncio
from importlib.metadata import version
from importlib.util import find_spec

import httpx
from common import MAX_TOKENS, MODEL, Measurement, parse_args, prompts, report

from cadsynth.config import EndpointPolicy, ExecutorConfig, ModelEndpoint
from cadsynth.executor import Executor, classify_http

HAS_MODEL_CLIENT = find_spec("cadsynth.llm.client") is not None


def executor_for(concurrency: int) -> Executor:
    return Executor(ExecutorConfig(endpoints={MODEL: EndpointPolicy(max_concurrency=concurrency, timeout_s=60)}))


async def via_model_client(url: str, concurrency: int, texts: list[str]) -> list[str]:
    from cadsynth.llm.client import ModelClient
    from cadsynth.llm.messages import user

    endpoint = ModelEndpoint(model=MODEL, base_url=url + "/v1", api_key_env=None, max_tokens=MAX_TOKENS)
    async with executor_for(concurrency) as executor, ModelClient(endpoint, executor) as client:
        completions = await asyncio.gather(*(client.chat([user(text)]) for text in texts))
    return [completion.text for completion in completions]


async def via_httpx(url: str, concurrency: int, texts: list[str]) -> list[str]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with (
        httpx.AsyncClient(base_url=url, limits=limits, timeout=60, trust_env=False) as client,
        executor_for(concurrency) as executor,
    ):

        async def chat(text: str) -> str:
            async def attempt() -> str:
                body = {"model": MODEL, "max_tokens": MAX_TOKENS, "messages": [{"role": "user", "content": text}]}
                response = await client.post("/v1/chat/completions", json=body)
                classify_http(response, MODEL)
                return response.json()["choices"][0]["message"]["content"]

            return await executor.call(MODEL, attempt)

        return await asyncio.gather(*(chat(text) for text in texts))


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    texts = prompts(args.requests)
    send = via_model_client if HAS_MODEL_CLIENT else via_httpx
    with Measurement() as measured:
        replies = asyncio.run(send(args.url, args.concurrency, texts))
    how = ("ModelClient.chat (HTTP by executor.http_client)" if HAS_MODEL_CLIENT
           else "an httpx.AsyncClient POST inside executor.call") + " through an Executor with max_concurrency=C"
    report("cadsynth", version("cadsynth"), args, measured, sum(1 for reply in replies if reply), how)


if __name__ == "__main__":
    main()
