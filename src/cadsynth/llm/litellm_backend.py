"""The optional LiteLLM path (``api: litellm``): chat through ``litellm.acompletion`` for providers without an
OpenAI-compatible API. LiteLLM's own retries are off (the executor retries) and its remote price map is not
fetched at import (the client prices calls itself). Install with ``pip install 'cadsynth[litellm]'``.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

from cadsynth.config import ConfigError
from cadsynth.executor import CallError, Fatal, RateLimited, Retryable


def require() -> ModuleType:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError:
        raise ConfigError("api: litellm needs the litellm package: pip install 'cadsynth[litellm]'") from None
    litellm.suppress_debug_info = True
    return litellm


def call_error(exc: Exception) -> CallError | None:
    """LiteLLM's exceptions carry the provider's HTTP status: 429 RateLimited, 408/409/5xx Retryable, else Fatal."""
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        return None
    reason = f"{type(exc).__name__} ({status}): {' '.join(str(exc).split())[:300]}"
    if status == 429:
        return RateLimited(reason)
    if status in (408, 409) or status >= 500:
        return Retryable(reason)
    return Fatal(reason)


async def chat_body(payload: dict[str, Any], base_url: str | None, key: str | None, timeout: float) -> dict[str, Any]:
    """One attempt; the reply as an OpenAI-format dict."""
    litellm = require()
    try:
        response = await litellm.acompletion(
            **payload, api_base=base_url, api_key=key, timeout=timeout, num_retries=0, max_retries=0
        )
    except Exception as exc:
        error = call_error(exc)
        if error is None:
            raise
        raise error from None  # the original may hold request details
    return response.model_dump()
