"""The model client's overhead per request against a zero-latency local server, compared with raw httpx.

    python bench/client_overhead.py [--requests 3000] [--concurrency 64] [--rounds 3]

Two transports: ``socket``, a tiny asyncio HTTP/1.1 server in a child process that answers every POST at once
with the same chat completion (so the client process's CPU time is the client's alone), and ``in-process``, an
``httpx.MockTransport`` returning that reply without any socket (the client's own cost, free of network and
scheduling noise). Each round runs three modes, interleaved:
``raw`` (httpx POST + JSON decode + pick the text), ``client`` (``ModelClient.chat`` through the executor's pool:
payload, auth, classification, reply parsing, usage and cost) and ``cached`` (``ModelClient.chat`` answered by
the sqlite request cache, no HTTP). Prints the median over rounds of: requests/s, mean and p99 latency, latency
added over raw, and CPU time per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from cadsynth.config import EndpointPolicy, ExecutorConfig, ModelEndpoint
from cadsynth.executor import Executor
from cadsynth.llm import ModelClient, user
from cadsynth.store import RequestCache

MODEL = "bench-model"
REPLY = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": MODEL,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "The answer is 42."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 30, "completion_tokens": 6, "total_tokens": 36},
}).encode()
JSON = {"Content-Type": "application/json"}
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(REPLY)).encode() + b"\r\n\r\n" + REPLY)


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while head := await reader.readuntil(b"\r\n\r\n"):
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _serve(port: multiprocessing.Value) -> None:  # type: ignore[valid-type]
    async def main() -> None:
        server = await asyncio.start_server(_handle, "127.0.0.1", 0, backlog=512)
        port.value = server.sockets[0].getsockname()[1]
        await server.serve_forever()

    asyncio.run(main())


async def _measure(call: Callable[[int], Awaitable[str]], requests: int, concurrency: int) -> dict[str, float]:
    for i in range(concurrency):  # warm the connections
        await call(-1 - i)
    latencies: list[float] = []
    next_index = iter(range(requests))

    async def worker() -> None:
        for i in next_index:
            started = time.perf_counter()
            assert await call(i) == "The answer is 42."
            latencies.append(time.perf_counter() - started)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    latencies.sort()
    return {
        "rps": requests / wall,
        "mean_ms": 1000 * statistics.fmean(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "cpu_ms": 1000 * cpu / requests,
    }


def _question(i: int) -> str:
    return f"Question {i}: what is six times seven? Reply with one number."


def _http(concurrency: int, in_process: bool) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    if not in_process:
        return httpx.AsyncClient(timeout=30, limits=limits)

    async def reply(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # yield, as a socket read would, so that the requests interleave
        return httpx.Response(200, content=REPLY, headers=JSON)

    return httpx.AsyncClient(timeout=30, limits=limits, transport=httpx.MockTransport(reply))


async def _round(
    url: str, requests: int, concurrency: int, cache: RequestCache, in_process: bool
) -> dict[str, dict[str, float]]:
    policy = EndpointPolicy(max_concurrency=concurrency, timeout_s=30)
    endpoint = ModelEndpoint(model=MODEL, base_url=f"{url}/v1", api_key_env=None, max_tokens=64, temperature=0)
    results = {}
    async with _http(concurrency, in_process) as http:

        async def raw(i: int) -> str:
            payload = {"model": MODEL, "messages": [user(_question(i))], "max_tokens": 64, "temperature": 0}
            response = await http.post(f"{url}/v1/chat/completions", json=payload)
            response.raise_for_status()
            return response.json()["choices"][0]["message"]["content"]

        results["raw"] = await _measure(raw, requests, concurrency)

    executor = Executor(ExecutorConfig(endpoints={MODEL: policy}))
    async with _http(concurrency, in_process) as http, ModelClient(endpoint, executor, http=http) as client:

        async def chat(i: int) -> str:
            return (await client.chat([user(_question(i))])).text

        results["client"] = await _measure(chat, requests, concurrency)

    async with ModelClient(endpoint, executor, cache) as cached_client:

        async def cached(i: int) -> str:
            reply = await cached_client.chat([user(_question(i % 256))])
            return reply.text

        for i in range(256):  # fill the cache
            await cached(i)
        results["cached"] = await _measure(cached, requests, concurrency)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    port = context.Value("i", 0)
    server = context.Process(target=_serve, args=(port,), daemon=True)
    server.start()
    while port.value == 0:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port.value}"
    tables: dict[str, list[dict[str, dict[str, float]]]] = {"socket": [], "in-process": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cache = RequestCache(Path(tmp) / "cache.sqlite")
            for _ in range(args.rounds):
                for transport, rounds in tables.items():
                    in_process = transport == "in-process"
                    rounds.append(asyncio.run(_round(url, args.requests, args.concurrency, cache, in_process)))
            cache.close()
    finally:
        server.terminate()
        server.join()

    print(f"{args.requests} requests x {args.rounds} rounds, {args.concurrency} concurrent, zero-latency replies "
          "(medians over rounds)")
    for transport, rounds in tables.items():
        _print_table(transport, rounds)


def _print_table(transport: str, rounds: list[dict[str, dict[str, float]]]) -> None:
    def median(mode: str, key: str) -> float:
        return statistics.median(r[mode][key] for r in rounds)

    print(f"\ntransport: {transport}\n")
    print("| mode | requests/s | mean ms | p99 ms | added mean ms | added p99 ms | CPU ms/request |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for mode in ("raw", "client", "cached"):
        added_mean = median(mode, "mean_ms") - median("raw", "mean_ms")
        added_p99 = median(mode, "p99_ms") - median("raw", "p99_ms")
        print(f"| {mode} | {median(mode, 'rps'):.0f} | {median(mode, 'mean_ms'):.2f} | {median(mode, 'p99_ms'):.2f} "
              f"| {added_mean:+.2f} | {added_p99:+.2f} | {median(mode, 'cpu_ms'):.3f} |")


if __name__ == "__main__":
    main()
