"""Models to evaluate: an OpenAI-compatible chat endpoint, or a local tiny VLM.

A backend answers queries (prompt text + image path) and reports each reply through a callback as soon as it is
there, so the runner can record it at once. ``describe()`` is what the results record about the model (never a
key: an endpoint names the environment variable that holds its key, and the value is read only when calling).
"""

from __future__ import annotations

import asyncio
import base64
import io
import mimetypes
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from cadsynth.config import EndpointPolicy, ExecutorConfig
from cadsynth.executor import CallError, Executor, Fatal, classify_http

__all__ = ["Backend", "EndpointBackend", "Query", "Reply", "TinyBackend", "image_data_url"]


@dataclass(frozen=True)
class Query:
    prompt: str
    image: str | None


@dataclass(frozen=True)
class Reply:
    text: str | None
    error: str | None = None
    seconds: float = 0.0
    usage: dict[str, Any] | None = None


OnReply = Callable[[int, Reply], None]


class Backend(Protocol):
    chunk_size: int

    def describe(self) -> dict[str, Any]: ...

    async def answer_many(self, queries: Sequence[Query], on_reply: OnReply) -> None: ...

    def close(self) -> None: ...


def image_data_url(path: str | Path) -> str:
    """A ``data:`` URL of an image file (its own bytes when the format is PNG/JPEG/GIF/WebP, else PNG)."""
    data = Path(path).read_bytes()
    mime = mimetypes.guess_type(str(path))[0]
    if mime not in ("image/png", "image/jpeg", "image/gif", "image/webp"):
        from PIL import Image

        buffer = io.BytesIO()
        with Image.open(io.BytesIO(data)) as image:
            image.convert("RGB").save(buffer, "PNG")
        data, mime = buffer.getvalue(), "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    raise Fatal(f"chat reply content is {type(content).__name__}, not text")


class EndpointBackend:
    """An OpenAI-compatible ``/chat/completions`` endpoint, called through an ``Executor`` pool (adaptive
    concurrency, retries with backoff, Retry-After, timeouts, circuit breaker)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str | None = None,
        concurrency: int = 8,
        max_tokens: int = 2048,
        temperature: float = 0.0,
        policy: EndpointPolicy | None = None,
    ) -> None:
        url = base_url.rstrip("/")
        self.url = url if url.endswith("/chat/completions") else url + "/chat/completions"
        parts = urlsplit(self.url)
        self.name = f"{parts.scheme}://{parts.netloc}{parts.path}"  # no query: some APIs put the key there
        self.model = model
        self.api_key_env = api_key_env
        if api_key_env and not os.environ.get(api_key_env):
            raise ValueError(f"environment variable {api_key_env} (the API key) is not set")
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.policy = policy or EndpointPolicy(max_concurrency=concurrency)
        self.chunk_size = max(16, 4 * self.policy.max_concurrency)
        self.executor = Executor(ExecutorConfig(endpoints={self.name: self.policy}))
        self._client: httpx.AsyncClient | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "endpoint",
            "model": self.model,
            "url": self.name,
            "api_key_env": self.api_key_env,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }

    def payload(self, query: Query) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if query.image:
            content.append({"type": "image_url", "image_url": {"url": image_data_url(query.image)}})
        content.append({"type": "text", "text": query.prompt})
        return {
            "model": self.model,
            "messages": [{"role": "user", "content": content}],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }

    async def _attempt(self, payload: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        assert self._client is not None
        headers = {}
        if self.api_key_env:
            headers["Authorization"] = f"Bearer {os.environ.get(self.api_key_env, '')}"
        response = await self._client.post(self.url, json=payload, headers=headers, timeout=self.policy.timeout_s)
        classify_http(response, self.name)
        data = response.json()
        try:
            message = data["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise Fatal(f"invalid chat reply from {self.name}: no choices[0].message") from None
        return _content_text(message.get("content") or ""), data.get("usage")

    async def _one(self, index: int, query: Query, on_reply: OnReply) -> None:
        started = time.perf_counter()
        payload = self.payload(query)
        try:
            text, usage = await self.executor.call(self.name, lambda: self._attempt(payload))
            reply = Reply(text, None, time.perf_counter() - started, usage)
        except CallError as error:
            reply = Reply(None, error.reason, time.perf_counter() - started)
        on_reply(index, reply)

    async def answer_many(self, queries: Sequence[Query], on_reply: OnReply) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient()
        await asyncio.gather(*(self._one(i, q, on_reply) for i, q in enumerate(queries)))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def close(self) -> None:
        self.executor.close()


class TinyBackend:
    """A tiny local VLM (``TinyVLM.save`` layout or a ``cadsynth train`` checkpoint), greedy, in-process."""

    def __init__(self, directory: str | Path, batch_size: int = 64) -> None:
        from cadsynth.train.tiny import is_tiny_dir, load_tiny

        path = Path(directory)
        if not is_tiny_dir(path):
            raise ValueError(
                f"{path}: not a tiny VLM directory (spec.json + tokenizer.json). Other local models: serve them "
                "with an OpenAI-compatible server (e.g. vLLM) and evaluate with --endpoint"
            )
        self.path = path.resolve()
        self.vlm = load_tiny(path)
        self.batch_size = batch_size
        self.chunk_size = batch_size
        self.calls = 0  # batches answered (tests count them to check resume)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "tiny",
            "model": str(self.path),
            "spec": self.vlm.spec.model_dump(),
            "decoding": f"greedy, at most {self.vlm.spec.max_answer_tokens} tokens",
        }

    def _answer(self, queries: Sequence[Query]) -> list[str]:
        from PIL import Image

        from cadsynth.local.vlm import to_pixels

        pixels = []
        for query in queries:
            if query.image:
                with Image.open(query.image) as image:
                    pixels.append(to_pixels(image, self.vlm.spec.image_size))
            else:
                pixels.append(to_pixels(Image.new("RGB", (8, 8), "white"), self.vlm.spec.image_size))
        self.calls += 1
        return self.vlm.answer(pixels, [q.prompt for q in queries], batch_size=self.batch_size)

    async def answer_many(self, queries: Sequence[Query], on_reply: OnReply) -> None:
        started = time.perf_counter()
        try:
            texts = await asyncio.to_thread(self._answer, queries)
        except Exception as exc:  # noqa: BLE001 - recorded per item; the run goes on
            for i in range(len(queries)):
                on_reply(i, Reply(None, f"{type(exc).__name__}: {exc}", 0.0))
            return
        seconds = (time.perf_counter() - started) / max(1, len(queries))
        for i, text in enumerate(texts):
            on_reply(i, Reply(text, None, seconds))

    def close(self) -> None:
        pass
