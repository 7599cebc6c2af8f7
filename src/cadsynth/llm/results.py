"""What the client returns. Spending is split in two, so that a rerun served from the request cache is free:

- ``usage``: what this call spent now (tokens, cost, calls=1); all zero when the reply came from the cache;
- ``original_usage``: what the reply cost when it was first made (equal to ``usage`` unless ``cached``).

Budgets add up ``usage``; token statistics of the data (tokens per sample) read ``original_usage``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from cadsynth.records import Usage

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, kw_only=True)
class Completion:
    text: str
    finish_reason: str | None
    model: str  # as the server named it
    usage: Usage
    original_usage: Usage
    cached: bool = False
    estimated: bool = False  # the reply carried no token usage: tokens estimated as characters / 4
    priced: bool = True  # False: no price known for the model, so cost_usd is 0

    def to_cache(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "finish_reason": self.finish_reason,
            "model": self.model,
            "usage": self.original_usage.model_dump(),
            "estimated": self.estimated,
            "priced": self.priced,
        }

    @classmethod
    def from_cache(cls, value: dict[str, Any]) -> Completion:
        original = Usage(**value.pop("usage"))
        return cls(**value, usage=Usage(), original_usage=original, cached=True)


@dataclass(frozen=True, kw_only=True)
class GeneratedImage:
    png: bytes  # validated PNG (other formats from the server are converted)
    width: int
    height: int
    model: str
    revised_prompt: str | None
    usage: Usage
    original_usage: Usage
    cached: bool = False
    priced: bool = True

    def to_cache(self) -> dict[str, Any]:
        return {
            "png": base64.b64encode(self.png).decode(),
            "width": self.width,
            "height": self.height,
            "model": self.model,
            "revised_prompt": self.revised_prompt,
            "usage": self.original_usage.model_dump(),
            "priced": self.priced,
        }

    @classmethod
    def from_cache(cls, value: dict[str, Any]) -> GeneratedImage:
        png = base64.b64decode(value.pop("png"))
        original = Usage(**value.pop("usage"))
        return cls(**value, png=png, usage=Usage(), original_usage=original, cached=True)


@dataclass(frozen=True)
class Structured(Generic[M]):
    """A schema-validated reply, or the reason there is none (bad model output is recorded, never raised)."""

    value: M | None
    error: str | None  # "invalid_json: ..." or "schema: field x: ..." when value is None
    replies: tuple[Completion, ...]  # the first reply, and the repair reply if one was asked for

    @property
    def text(self) -> str:
        return self.replies[-1].text

    @property
    def attempts(self) -> int:
        return len(self.replies)

    @property
    def cached(self) -> bool:
        return all(reply.cached for reply in self.replies)

    @property
    def usage(self) -> Usage:
        return sum((reply.usage for reply in self.replies), Usage())

    @property
    def original_usage(self) -> Usage:
        return sum((reply.original_usage for reply in self.replies), Usage())
