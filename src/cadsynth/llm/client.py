"""``ModelClient``: chat, text completions, image generation and schema-validated JSON from one endpoint.

Every request goes through ``executor.call(endpoint.model, ...)`` (pooled per model: concurrency, retries,
timeouts, circuit breaker) and is sent by the executor's ``http_client`` (in this process, or through a
cluster's HTTP actors). Base URL and key are read from the environment at call time (``access``); the key
goes only into the Authorization header, and is scrubbed from failure reasons in case a server echoes it.

With a ``RequestCache``, a success is stored under (api, base URL, model, payload) and a later identical request
is answered from it without any HTTP request: ``cached=True``, ``usage`` all zero, ``original_usage`` as first
recorded (see ``results``). Failures are not cached.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import io
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel

from cadsynth.config import ConfigError, ModelEndpoint
from cadsynth.executor import CallError, Executor, HttpClient, Retryable, classify_http
from cadsynth.llm import access, litellm_backend
from cadsynth.llm.jsonreply import parse_reply, repair_request, schema_instruction, with_instruction
from cadsynth.llm.messages import Message, assistant, image_count, text_length, user
from cadsynth.llm.pricing import image_cost, price_of, token_cost
from cadsynth.llm.results import Completion, GeneratedImage, Structured
from cadsynth.llm.wire import (
    TextReply,
    chat_payload,
    chat_reply,
    completion_reply,
    completions_payload,
    image_item,
    images_payload,
    json_body,
    tokens,
)
from cadsynth.records import Usage
from cadsynth.store import RequestCache

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")

IMAGE_TOKENS_ESTIMATE = 765  # an image part when the reply has no usage (OpenAI's count for 1024x1024, high detail)


def _estimate(chars: int) -> int:
    return -(-chars // 4)


def _as_png(data: bytes, where: str) -> tuple[bytes, int, int]:
    """Validated PNG bytes and size; other image formats are converted, anything else is Retryable."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.format == "PNG":
                return data, image.width, image.height
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            return buffer.getvalue(), image.width, image.height
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise Retryable(f"image from {where} is not a readable image ({len(data)} bytes): {error}") from None


class ModelClient:
    """The client of one ``ModelEndpoint``; ``chat``/``structured`` for api chat or litellm, ``complete``/
    ``structured`` for completions, ``image`` for images. Bad HTTP replies raise the executor's ``CallError``s;
    a missing key, base URL or package raises ``ConfigError`` before any request."""

    def __init__(
        self,
        endpoint: ModelEndpoint,
        executor: Executor,
        cache: RequestCache | None = None,
        http: HttpClient | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._executor = executor
        self._cache = cache
        self._price = price_of(endpoint)
        policy = executor.pool(endpoint.model).policy
        self._timeout = policy.timeout_s
        self._inflight: dict[str, asyncio.Future] = {}
        self._owns_http = http is None
        self._http = http or executor.http_client(policy)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> ModelClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- public calls ------------------------------------------------------------------------------------------
    async def chat(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        json_mode: bool = False,
    ) -> Completion:
        """POST {base}/chat/completions (or ``litellm.acompletion``); ``json_mode`` asks for a JSON object."""
        self._expect("chat", ("chat", "litellm"))
        messages = list(messages)
        pictures = image_count(messages)
        if pictures and not self.endpoint.vision:
            raise ValueError(f"endpoint {self.endpoint.model!r} is text-only (vision: false) but got image parts")
        payload = chat_payload(self.endpoint, messages, max_tokens, temperature, json_mode)
        prompt_estimate = _estimate(text_length(messages)) + IMAGE_TOKENS_ESTIMATE * pictures
        return await self._text("/chat/completions", payload, chat_reply, prompt_estimate)

    async def complete(
        self,
        prompt: str,
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: list[str] | None = None,
    ) -> Completion:
        """POST {base}/completions: plain text continuation, for base models."""
        self._expect("complete", ("completions",))
        payload = completions_payload(self.endpoint, prompt, max_tokens, temperature, stop)
        return await self._text("/completions", payload, completion_reply, _estimate(len(prompt)))

    async def image(self, prompt: str, *, size: str = "1024x1024") -> GeneratedImage:
        """POST {base}/images/generations; the image comes as ``b64_json`` or a ``url`` fetched without the key."""
        self._expect("image", ("images",))
        payload = images_payload(self.endpoint, prompt, size)
        base, key = access.base_url(self.endpoint), access.api_key(self.endpoint)
        cache_key = self._cache_key(payload)
        if (hit := self._cached(cache_key)) is not None:
            return GeneratedImage.from_cache(hit)
        return await self._once(cache_key, lambda: self._fetch_image(payload, base, key, cache_key))

    async def _fetch_image(self, payload: dict[str, Any], base: str | None, key: str | None,
                           cache_key: str | None) -> GeneratedImage:
        route = "/images/generations"
        where = f"{self.endpoint.model} {route}"

        async def attempt() -> tuple[tuple[bytes, int, int], dict[str, Any], dict[str, Any]]:
            body = await self._post(f"{base}{route}", payload, key, where)
            item = image_item(body, where)
            if item.get("b64_json"):
                try:
                    data = base64.b64decode(item["b64_json"], validate=True)
                except (binascii.Error, ValueError):
                    raise Retryable(f"image reply from {where}: b64_json is not valid base64") from None
            else:
                data = await self._download(item["url"], where)
            return await self._executor.run_thread(_as_png, data, where), item, body

        (png, width, height), item, body = await self._call(attempt, key)
        used = tokens(body)
        cost, priced = image_cost(self._price, used)
        prompt_tokens, completion_tokens = used or (0, 0)
        usage = Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cost_usd=cost, calls=1)
        result = GeneratedImage(
            png=png, width=width, height=height, model=body.get("model") or self.endpoint.model,
            revised_prompt=item.get("revised_prompt"), usage=usage, original_usage=usage, priced=priced,
        )
        self._store(cache_key, result.to_cache())
        return result

    async def structured(
        self,
        request: str | Sequence[Message],
        schema: type[M],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Structured[M]:
        """A reply validated against ``schema``; one repair request on failure, then a recorded failure.

        Chat endpoints get the schema in a system instruction and JSON mode (``extra_body: {response_format:
        null}`` turns it off for servers that reject it); a completions prompt (a string) is sent as it is, so it
        should itself ask for the JSON. Call failures raise ``CallError`` as in ``chat``.
        """
        options = {"max_tokens": max_tokens, "temperature": temperature}
        if self.endpoint.api == "completions":
            if not isinstance(request, str):
                raise ValueError("a completions endpoint takes a prompt string, not messages")
            first = await self.complete(request, **options)
        else:
            messages = [user(request)] if isinstance(request, str) else list(request)
            messages = with_instruction(messages, schema_instruction(schema))
            first = await self.chat(messages, json_mode=True, **options)
        value, error = parse_reply(first.text, schema, first.finish_reason)
        if error is None:
            return Structured(value, None, (first,))
        if self.endpoint.api == "completions":
            second = await self.complete(f"{request}{first.text}\n\n{repair_request(error)}\n", **options)
        else:
            repair = [*messages, assistant(first.text), user(repair_request(error))]
            second = await self.chat(repair, json_mode=True, **options)
        value, error = parse_reply(second.text, schema, second.finish_reason)
        return Structured(value, error, (first, second))

    # -- plumbing ----------------------------------------------------------------------------------------------
    def _expect(self, method: str, apis: tuple[str, ...]) -> None:
        if self.endpoint.api not in apis:
            raise ConfigError(
                f"endpoint {self.endpoint.model!r} has api: {self.endpoint.api}; {method}() needs api: "
                + " or ".join(apis)
            )

    async def _text(
        self, route: str, payload: dict[str, Any], read: Callable[[dict[str, Any], str], TextReply],
        prompt_estimate: int,
    ) -> Completion:
        base, key = access.base_url(self.endpoint), access.api_key(self.endpoint)
        if self.endpoint.api == "litellm":
            litellm_backend.require()
        cache_key = self._cache_key(payload)
        if (hit := self._cached(cache_key)) is not None:
            return Completion.from_cache(hit)
        return await self._once(cache_key, lambda: self._fetch_text(route, payload, read, prompt_estimate, base, key,
                                                                    cache_key))

    async def _fetch_text(
        self, route: str, payload: dict[str, Any], read: Callable[[dict[str, Any], str], TextReply],
        prompt_estimate: int, base: str | None, key: str | None, cache_key: str | None,
    ) -> Completion:
        where = f"{self.endpoint.model} {route}"

        async def attempt() -> TextReply:
            if self.endpoint.api == "litellm":
                body = await litellm_backend.chat_body(payload, base, key, self._timeout)
            else:
                body = await self._post(f"{base}{route}", payload, key, where)
            return read(body, where)

        reply = await self._call(attempt, key)
        estimated = reply.tokens is None
        prompt_tokens, completion_tokens = reply.tokens or (prompt_estimate, _estimate(len(reply.text)))
        cost, priced = token_cost(self._price, prompt_tokens, completion_tokens)
        usage = Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cost_usd=cost, calls=1)
        completion = Completion(
            text=reply.text, finish_reason=reply.finish_reason, model=reply.model or self.endpoint.model,
            usage=usage, original_usage=usage, estimated=estimated, priced=priced,
        )
        self._store(cache_key, completion.to_cache())
        return completion

    async def _call(self, attempt: Callable[[], Awaitable[T]], key: str | None) -> T:
        """Run ``attempt`` through the executor's pool for this model, keeping the key out of failure reasons."""

        async def scrubbed() -> T:
            try:
                return await attempt()
            except CallError as error:
                if key and key in error.reason:
                    error.reason = error.reason.replace(key, "***")
                    error.args = (error.reason,)
                raise

        return await self._executor.call(self.endpoint.model, scrubbed)

    async def _post(self, url: str, payload: dict[str, Any], key: str | None, where: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = await self._http.post(url, json=payload, headers=headers)
        classify_http(response, where)
        return json_body(response, where)

    async def _download(self, url: str, where: str) -> bytes:
        response = await self._http.get(url)  # no Authorization: the URL is usually another host's
        classify_http(response, f"{where} (image URL)")
        return response.content

    async def _once(self, cache_key: str | None, fetch: Callable[[], Awaitable[R]]) -> R:
        """Identical requests in flight at once are sent once: the others share the reply, as a cache hit."""
        if cache_key is None:
            return await fetch()
        leader = cache_key not in self._inflight
        if leader:
            self._inflight[cache_key] = asyncio.ensure_future(fetch())
        task = self._inflight[cache_key]
        try:
            result = await asyncio.shield(task)
        finally:
            if leader and task.done():
                self._inflight.pop(cache_key, None)
        return result if leader else dataclasses.replace(result, usage=Usage(), cached=True)

    def _cache_key(self, payload: dict[str, Any]) -> str | None:
        """What identifies a request: the API, the model and the payload (not where the server is, so a run can
        resume through another gateway or replica)."""
        if self._cache is None:
            return None
        return RequestCache.key(self.endpoint.api, self.endpoint.model, payload)

    def _cached(self, key: str | None) -> dict[str, Any] | None:
        return None if key is None or self._cache is None else self._cache.get(key)

    def _store(self, key: str | None, value: dict[str, Any]) -> None:
        if key is not None and self._cache is not None:
            self._cache.put(key, value)
