"""Fixtures for the model client tests: a recognisable key in the environment and a client factory."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from cadsynth.config import EndpointPolicy, ExecutorConfig, ModelEndpoint
from cadsynth.executor import Executor
from cadsynth.llm import ModelClient
from cadsynth.store import RequestCache

KEY = "sk-cadsynth-test-K3Y-5ecret-0123456789"
KEY_ENV = "CADSYNTH_TEST_API_KEY"
MODEL = "scripted-model"


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return KEY


def fast_policy(**overrides) -> EndpointPolicy:
    fast = dict(timeout_s=2.0, max_retries=2, backoff_base_s=0.01, backoff_max_s=0.02, breaker_failures=50)
    return EndpointPolicy(**{**fast, **overrides})


@pytest.fixture
def make_client():
    """factory(url, model=, cache=, policy={overrides}, **endpoint fields) -> ModelClient (enter it in the loop)."""

    def factory(
        url: str | None,
        *,
        model: str = MODEL,
        cache: RequestCache | None = None,
        policy: dict | None = None,
        **fields,
    ) -> ModelClient:
        fields = {"api_key_env": KEY_ENV, **fields}
        endpoint = ModelEndpoint(model=model, base_url=None if url is None else url + "/v1", **fields)
        executor = Executor(ExecutorConfig(endpoints={model: fast_policy(**(policy or {}))}))
        return ModelClient(endpoint, executor, cache)

    return factory


def picture(fmt: str = "PNG", size: tuple[int, int] = (8, 6), color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def image_bytes():
    return picture
