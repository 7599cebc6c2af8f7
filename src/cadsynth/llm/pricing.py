"""What a call costs in USD: default list prices per 1M tokens (in, out) or per image, overridable per endpoint.

Prices are list prices as of mid-2025 for standard (non-batch, non-cached) use. A model matches after its
provider prefix and a date suffix are dropped ("openai/gpt-4o-2024-08-06" is "gpt-4o"); anything else, such as a
local "deepseek-r1:7b", has no default price. A call with no price costs 0 and is marked ``priced=False``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cadsynth.config import ModelEndpoint


@dataclass(frozen=True)
class Price:
    in_per_mtok: float | None = None
    out_per_mtok: float | None = None
    per_image: float | None = None  # an image without token usage in the reply (1024x1024, standard quality)


DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gemini-2.5-flash": Price(0.30, 2.50),
    "claude-sonnet-4": Price(3.00, 15.00),
    "deepseek-r1": Price(0.55, 2.19),
    "gpt-image-1": Price(5.00, 40.00, per_image=0.042),
    "dall-e-3": Price(per_image=0.040),
}
ALIASES = {"claude-4-sonnet": "claude-sonnet-4", "deepseek-reasoner": "deepseek-r1"}

_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest|@[\w.-]+)$")


def canonical(model: str) -> str:
    name = _SUFFIX.sub("", model.lower().rsplit("/", 1)[-1])
    return ALIASES.get(name, name)


def price_of(endpoint: ModelEndpoint) -> Price:
    """The default price of the endpoint's model with the config's per-token prices laid over it."""
    base = DEFAULT_PRICES.get(canonical(endpoint.model), Price())
    return Price(
        endpoint.price_in_per_mtok if endpoint.price_in_per_mtok is not None else base.in_per_mtok,
        endpoint.price_out_per_mtok if endpoint.price_out_per_mtok is not None else base.out_per_mtok,
        base.per_image,
    )


def token_cost(price: Price, prompt_tokens: int, completion_tokens: int) -> tuple[float, bool]:
    """(cost in USD, priced): a missing half of a known price counts as 0."""
    if price.in_per_mtok is None and price.out_per_mtok is None:
        return 0.0, False
    cost = prompt_tokens * (price.in_per_mtok or 0.0) + completion_tokens * (price.out_per_mtok or 0.0)
    return cost / 1e6, True


def image_cost(price: Price, tokens: tuple[int, int] | None, images: int = 1) -> tuple[float, bool]:
    """By tokens when the reply reports them and a token price is known, else per image."""
    if tokens is not None and (price.in_per_mtok is not None or price.out_per_mtok is not None):
        return token_cost(price, *tokens)
    if price.per_image is not None:
        return price.per_image * images, True
    return 0.0, False
