"""Paper mode end to end over real HTTP: LLM members generate, draw (sandbox and images API), judge blind
(one in caption mode), an equivalence model and a reflector, all played by a scripted committee server."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest
from paper_committee import Committee
from scripted_server import ScriptedServer

from cadsynth.config import ConfigError, load_config, parse_config
from cadsynth.pipeline import Pipeline
from cadsynth.records import Partition, Verdict
from cadsynth.status import run_status
from cadsynth.store import RunStore

MATHV = Path(__file__).resolve().parents[2] / "shared" / "data" / "mathv"
KEY = "sk-test-0123456789-secret"


def endpoint(url: str, model: str, **extra) -> dict:
    return {"model": model, "base_url": f"{url}/v1", "api_key_env": "CADSYNTH_TEST_KEY", **extra}


def paper_config(url: str, runs: Path, **loop) -> dict:
    return {
        "name": "paper", "runs_dir": str(runs),
        "seeds": {"source": "mathv", "path": str(MATHV), "limit": 3},
        "generators": [
            {"kind": "llm", "name": "writer", "model": endpoint(url, "writer"), "candidates": 3},
            {"kind": "llm", "name": "painter", "model": endpoint(url, "painter"), "candidates": 1,
             "image_route": "text_to_image", "image_model": endpoint(url, "painter-image", api="images",
                                                                      price_out_per_mtok=0)},
        ],
        "judges": [
            {"kind": "endpoint", "name": "judge-a", "model": endpoint(url, "judge-a", price_in_per_mtok=2.5,
                                                                      price_out_per_mtok=10)},
            {"kind": "endpoint", "name": "judge-b", "model": endpoint(url, "judge-b")},
            {"kind": "endpoint", "name": "judge-r1", "model": endpoint(url, "judge-r1", vision=False),
             "caption_by": "judge-a"},
        ],
        "loop": {"max_rounds": 2, "target_kept": None, **loop},
        "context": {"reflector": endpoint(url, "reflector")},
        "checks": {"llm_equivalence": endpoint(url, "equivalence")},
        "sandbox": {"workers": 1},
    }


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    if not MATHV.is_dir():
        pytest.skip("../shared/data/mathv is not here")
    runs = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CADSYNTH_TEST_KEY", KEY)
        server = ScriptedServer(responder=Committee())
        with server as url:
            config = parse_config(paper_config(url, runs))
            state = asyncio.run(Pipeline(config, RunStore.open(config.run_dir)).run())
            requests = list(server.requests)
    store = RunStore.open(config.run_dir)
    return config, store, state, requests


def test_paper_mode_runs_every_step(paper_run):
    config, store, state, requests = paper_run
    samples = list(store.samples())
    assert state["finished"] and state["rounds"] == 2
    assert len(samples) == 3 * 2 * 4  # seeds x rounds x (3 writer + 1 painter candidates)
    kept = [s for s in samples if s.kept]
    assert kept and any(s.partition is Partition.ADVERSARIAL for s in samples)
    routes = Counter(s.provenance.image_source.kind for s in kept)
    assert routes["code"] and routes["prompt"]  # sandboxed code and the images API both made kept images
    writer = next(s for s in kept if s.provenance.member == "writer")
    assert [st.name for st in writer.steps] == ["analysis", "synthesis", "construction", "draw_matplotlib"]
    assert all(st.template and st.template.endswith("@v1") for st in writer.steps)
    assert writer.usage.calls > 0 and writer.usage.prompt_tokens > 0


def test_failures_are_recorded_and_the_run_goes_on(paper_run):
    _, store, _, _ = paper_run
    reasons = Counter(s.discard_reasons[0].split(":")[0] for s in store.samples() if not s.kept)
    assert reasons["construction"] >= 1  # not JSON twice: the repair attempt failed too
    assert reasons["sandbox"] >= 1  # hostile drawing code stopped
    stopped = [s for s in store.samples() if s.discard_reasons and s.discard_reasons[0].startswith("sandbox")]
    assert all("forbidden" in s.discard_reasons[0] for s in stopped), stopped[0].discard_reasons


def test_judges_are_blind_and_the_text_only_judge_reads_a_caption(paper_run):
    _, store, _, requests = paper_run
    for r in requests:
        body = r.body.decode()
        if '"judge-' in body and "Final answer" in body:
            assert "Reference" not in body and "solution" not in body.lower().split("final answer")[0]
    judged = [s for s in store.samples() if s.judgement]
    r1 = [v for s in judged for v in s.judgement.votes if v.judge == "judge-r1"]
    assert r1 and all(v.caption for v in r1)
    assert any(v.verdict is Verdict.CORRECT for v in r1)
    for r in requests:  # judge-r1 never receives the image
        payload = r.json()
        if payload.get("model") == "judge-r1":
            assert "image_url" not in json.dumps(payload)


def test_reflector_rewrites_guidance_and_members_use_it(paper_run):
    _, store, _, requests = paper_run
    versions = store.contexts(store.context_keys()[0])
    assert versions[0]["guidance"] == ""
    reflected = [v for v in versions if v["reflection"]]
    assert reflected and "two readings" in reflected[0]["guidance"]
    synthesis = [r.body.decode() for r in requests if "Create the idea" in r.body.decode()]
    assert any("two readings" in body for body in synthesis)


def test_secret_never_lands_in_the_run_directory(paper_run):
    config, _, _, _ = paper_run
    for path in Path(config.run_dir).rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_status_reports_cost_per_member_and_judge(paper_run):
    config, _, _, _ = paper_run
    status = run_status(Path(config.run_dir))
    usage = status.usage
    assert usage["members"]["writer"].calls > 0 and usage["members"]["painter"].calls > 0
    assert usage["judges"]["judge-a"].cost_usd > 0 and usage["other"]["reflector"].calls > 0
    samples = sum(s.usage.cost_usd for s in RunStore.open(config.run_dir).samples())
    assert status.cost_usd == pytest.approx(samples + usage["other"]["reflector"].cost_usd)


def test_rerun_of_a_finished_run_sends_nothing(paper_run, monkeypatch):
    config, _, _, _ = paper_run
    monkeypatch.setenv("CADSYNTH_TEST_KEY", KEY)
    server = ScriptedServer(responder=Committee())
    with server as url:
        cfg = parse_config({**paper_config(url, Path(config.runs_dir)), "name": config.name})
        asyncio.run(Pipeline(cfg, RunStore.open(cfg.run_dir)).run())
        assert server.count() == 0


def test_missing_key_or_base_url_fails_fast(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "paper.yaml",
                         {"runs_dir": str(tmp_path), "seeds.path": str(MATHV)})
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        asyncio.run(Pipeline(config, RunStore.open(config.run_dir)).run())
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        asyncio.run(Pipeline(config, RunStore.open(config.run_dir)).run())
