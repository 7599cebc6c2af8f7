"""The OpenAI-compatible wire format: request payloads and the parts of a reply the client reads.

Reply problems that a retry may fix (a body that is not JSON, cut short, or an error object sent with HTTP 200)
raise ``Retryable``; a well-formed reply of the wrong shape raises ``Fatal``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from cadsynth.config import ModelEndpoint
from cadsynth.executor import Fatal, Retryable
from cadsynth.llm.messages import Message


@dataclass(frozen=True)
class TextReply:
    text: str
    finish_reason: str | None
    model: str
    tokens: tuple[int, int] | None  # (prompt, completion) as the server counted them


def _merge(payload: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra_body`` laid over the payload; a None value removes a field (e.g. ``response_format: null``)."""
    return {key: value for key, value in {**payload, **extra}.items() if value is not None}


def chat_payload(
    endpoint: ModelEndpoint, messages: list[Message], max_tokens: int | None, temperature: float | None,
    json_mode: bool,
) -> dict[str, Any]:
    payload = {
        "model": endpoint.model,
        "messages": messages,
        "max_tokens": max_tokens or endpoint.max_tokens,
        "temperature": endpoint.temperature if temperature is None else temperature,
        "response_format": {"type": "json_object"} if json_mode else None,
    }
    return _merge(payload, endpoint.extra_body)


def completions_payload(
    endpoint: ModelEndpoint, prompt: str, max_tokens: int | None, temperature: float | None,
    stop: list[str] | None,
) -> dict[str, Any]:
    payload = {
        "model": endpoint.model,
        "prompt": prompt,
        "max_tokens": max_tokens or endpoint.max_tokens,
        "temperature": endpoint.temperature if temperature is None else temperature,
        "stop": stop,
    }
    return _merge(payload, endpoint.extra_body)


def images_payload(endpoint: ModelEndpoint, prompt: str, size: str) -> dict[str, Any]:
    return _merge({"model": endpoint.model, "prompt": prompt, "size": size, "n": 1}, endpoint.extra_body)


def _snippet(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def json_body(response: httpx.Response, where: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise Retryable(
            f"reply from {where} is not valid JSON ({len(response.content)} bytes): {_snippet(response.text)!r}"
        ) from None
    if not isinstance(body, dict):
        raise Retryable(f"reply from {where} is JSON but not an object: {_snippet(response.text)!r}")
    return body


def _items(body: dict[str, Any], key: str, where: str) -> list[Any]:
    items = body.get(key)
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return items
    if "error" in body:  # some gateways report upstream failures with HTTP 200
        raise Retryable(f"error in the reply from {where}: {_snippet(str(body['error']))}")
    raise Fatal(f"reply from {where} has no {key}: {_snippet(str(body))}")


def tokens(body: dict[str, Any]) -> tuple[int, int] | None:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return None
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    if isinstance(prompt, int) and isinstance(completion, int):
        return prompt, completion
    return None


def _text(content: Any) -> str:
    if isinstance(content, list):  # some servers send content parts back
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def chat_reply(body: dict[str, Any], where: str) -> TextReply:
    choice = _items(body, "choices", where)[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise Fatal(f"reply from {where} has no message: {_snippet(str(choice))}")
    return TextReply(_text(message.get("content")), choice.get("finish_reason"), body.get("model", ""), tokens(body))


def completion_reply(body: dict[str, Any], where: str) -> TextReply:
    choice = _items(body, "choices", where)[0]
    return TextReply(_text(choice.get("text")), choice.get("finish_reason"), body.get("model", ""), tokens(body))


def image_item(body: dict[str, Any], where: str) -> dict[str, Any]:
    """The first generated image: ``b64_json`` or ``url``, and ``revised_prompt`` when given."""
    item = _items(body, "data", where)[0]
    if not (item.get("b64_json") or item.get("url")):
        raise Fatal(f"image reply from {where} has neither b64_json nor url")
    return item
