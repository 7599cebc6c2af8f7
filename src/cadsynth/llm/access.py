"""Where an endpoint is and which key it takes: read from the environment at call time, never stored.

For ``api: litellm`` the base URL and key are optional: unless ``base_url``/``base_url_env``/``api_key_env`` are
set explicitly, LiteLLM routes by the model's provider prefix and reads the provider's own variables.
"""

from __future__ import annotations

import os

from cadsynth.config import ConfigError, ModelEndpoint


def _env(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


def _explicit(endpoint: ModelEndpoint, field: str) -> bool:
    return endpoint.api != "litellm" or field in endpoint.model_fields_set


def base_url(endpoint: ModelEndpoint) -> str | None:
    """The base URL without a trailing slash (None: LiteLLM's provider default)."""
    if endpoint.base_url:
        return endpoint.base_url.rstrip("/")
    name = endpoint.base_url_env
    if name and _explicit(endpoint, "base_url_env") and (value := _env(name)):
        return value.rstrip("/")
    if endpoint.api == "litellm":
        return None
    where = f"set the environment variable {name} or " if name else "set "
    raise ConfigError(f"endpoint {endpoint.model!r}: no base URL; {where}base_url in the config")


def api_key(endpoint: ModelEndpoint) -> str | None:
    """The key from ``api_key_env`` (None when the endpoint takes none)."""
    name = endpoint.api_key_env
    if name is None or not _explicit(endpoint, "api_key_env"):
        return None
    if value := _env(name):
        return value
    raise ConfigError(
        f"endpoint {endpoint.model!r}: no API key; set the environment variable {name} "
        "(or api_key_env: null for a server without a key)"
    )


def check_ready(endpoint: ModelEndpoint) -> None:
    """Fail fast at run start: raise ``ConfigError`` for a missing base URL, key or LiteLLM package."""
    base_url(endpoint)
    api_key(endpoint)
    if endpoint.api == "litellm":
        from cadsynth.llm.litellm_backend import require

        require()
