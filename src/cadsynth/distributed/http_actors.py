"""HTTP requests sent by a few async Ray actors: the driver keeps the endpoint pools, the actors move the bytes.

The API key travels in the request's headers, as it would to the endpoint; nothing here logs a request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import ray
from ray.actor import ActorHandle
from ray.exceptions import RayActorError

from cadsynth.distributed.refs import result
from cadsynth.executor import Retryable, pooled_http_client

_DECODED = {"content-encoding", "content-length", "transfer-encoding"}  # the content is sent on decoded


@dataclass(frozen=True)
class Sent:
    """What came back: a response (status, headers, content), or the httpx error it raised (type name, message)."""

    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    content: bytes = b""
    error: tuple[str, str] | None = None


@ray.remote(num_cpus=0, max_concurrency=1000, max_restarts=3)
class HttpActor:
    """An httpx client in an actor; the concurrency is bounded by the driver's endpoint pools, not here. A request
    lost with the actor fails as Retryable: the pool sends it again (to the next actor) while this one restarts."""

    def __init__(self) -> None:
        self._client = pooled_http_client(None, None)

    async def send(self, method: str, url: str, timeout: float, payload: Any, headers: dict[str, str] | None) -> Sent:
        try:
            response = await self._client.request(method, url, json=payload, headers=headers, timeout=timeout)
        except httpx.HTTPError as error:
            return Sent(error=(type(error).__name__, str(error)))
        kept = tuple((k, v) for k, v in response.headers.multi_items() if k.lower() not in _DECODED)
        return Sent(response.status_code, kept, response.content)


def _raise(error: tuple[str, str]) -> None:
    """Raise the httpx error the actor met, so that the pool classifies it as it would a local one."""
    name, message = error
    kind = getattr(httpx, name, None)
    if not (isinstance(kind, type) and issubclass(kind, httpx.HTTPError)):
        kind = httpx.TransportError
    raise kind(message)


class ActorHttp:
    """The ``HttpClient`` of one endpoint: each request goes to the next of the executor's HTTP actors."""

    def __init__(self, actors: Iterator[ActorHandle], timeout: float) -> None:
        self._actors = actors
        self._timeout = timeout

    async def post(self, url: str, *, json: Any, headers: dict[str, str]) -> httpx.Response:
        return await self._send("POST", url, json, headers)

    async def get(self, url: str) -> httpx.Response:
        return await self._send("GET", url, None, None)

    async def aclose(self) -> None:
        """Nothing to close: the actors belong to the executor."""

    async def _send(self, method: str, url: str, payload: Any, headers: dict[str, str] | None) -> httpx.Response:
        request = httpx.Request(method, url)
        try:
            sent: Sent = await result(next(self._actors).send.remote(method, url, self._timeout, payload, headers))
        except RayActorError as error:
            where = request.url.copy_with(query=None)
            raise Retryable(f"the HTTP actor sending to {where} was lost ({type(error).__name__})") from None
        if sent.error is not None:
            _raise(sent.error)
        return httpx.Response(sent.status, headers=list(sent.headers), content=sent.content, request=request)
