"""Chat messages in the OpenAI format; images travel as base64 data URLs in ``image_url`` content parts."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

Message = dict[str, Any]

_MIME = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def system(text: str) -> Message:
    return {"role": "system", "content": text}


def assistant(text: str) -> Message:
    return {"role": "assistant", "content": text}


def user(text: str, images: Sequence[bytes] = ()) -> Message:
    """A user turn; with images, a list of parts: the images first (PNG or JPEG bytes), then the text."""
    if not images:
        return {"role": "user", "content": text}
    parts: list[dict[str, Any]] = [{"type": "image_url", "image_url": {"url": data_url(image)}} for image in images]
    parts.append({"type": "text", "text": text})
    return {"role": "user", "content": parts}


def data_url(image: bytes) -> str:
    for magic, mime in _MIME.items():
        if image.startswith(magic):
            return f"data:{mime};base64,{base64.b64encode(image).decode()}"
    raise ValueError("an image part must be PNG or JPEG bytes")


def parts(message: Message) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, list):
        return content
    return [{"type": "text", "text": content or ""}]


def image_count(messages: Sequence[Message]) -> int:
    return sum(part.get("type") == "image_url" for message in messages for part in parts(message))


def text_length(messages: Sequence[Message]) -> int:
    return sum(len(part.get("text", "")) for message in messages for part in parts(message))
