"""Throughput runner for bespokelabs-curator: N chat requests through ``curator.LLM`` with the OpenAI backend.

Concurrency is curator's own ``max_concurrent_requests`` backend parameter (a semaphore held from dispatch to
reply). Its request and token rate limits are set far above what the server can take so they never throttle,
and its cache, telemetry and rich display are off. Run with bench/.peers-venv/curator/bin/python.
"""

from __future__ import annotations

import os
import tempfile
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

from common import MAX_TOKENS, MODEL, Measurement, parse_args, prompts, report

UNLIMITED_RPM = 1_000_000_000
UNLIMITED_TPM = 1_000_000_000_000


def _bundled_tiktoken_files() -> str:
    """litellm (a curator dependency) ships tiktoken's encoding files; the folder tiktoken caches them in."""
    spec = find_spec("litellm")
    assert spec is not None and spec.submodule_search_locations, "litellm is not installed"
    return str(Path(spec.submodule_search_locations[0]) / "litellm_core_utils" / "tokenizers")


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    cache_dir = tempfile.mkdtemp(prefix="curator-bench-")
    os.environ.update({
        "CURATOR_DISABLE_CACHE": "1",
        "CURATOR_CACHE_DIR": cache_dir,  # request/response files are still written, just never reused
        "CURATOR_DISABLE_RICH_DISPLAY": "1",
        "TELEMETRY_ENABLED": "false",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "TIKTOKEN_CACHE_DIR": _bundled_tiktoken_files(),  # tiktoken would download cl100k_base otherwise
    })
    from bespokelabs import curator

    backend_params = {
        "base_url": args.url + "/v1",
        "api_key": "bench",
        "max_concurrent_requests": args.concurrency,
        "max_requests_per_minute": UNLIMITED_RPM,
        "max_tokens_per_minute": UNLIMITED_TPM,
        "request_timeout": 60,
    }
    llm = curator.LLM(model_name=MODEL, backend="openai", generation_params={"max_tokens": MAX_TOKENS},
                      backend_params=backend_params)
    texts = prompts(args.requests)
    with Measurement() as measured:
        response = llm(texts)
    ok = sum(1 for row in response.dataset if row["response"])
    how = ("curator.LLM(backend='openai', backend_params={'max_concurrent_requests': C, "
           "'max_requests_per_minute': 1e9, 'max_tokens_per_minute': 1e12}), CURATOR_DISABLE_CACHE=1")
    report("bespokelabs-curator", version("bespokelabs-curator"), args, measured, ok, how)


if __name__ == "__main__":
    main()
