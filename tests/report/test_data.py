"""What the report computes: funnel, consensus, costs, judge agreement and accuracy, flags, contexts, seeds."""

from __future__ import annotations

import random

import pytest

from cadsynth.records import Check, Judgement, Partition, Seed, Usage, Verdict, Vote
from cadsynth.report.data import NotARun, collect, context_key_for
from cadsynth.report.synthetic import png
from cadsynth.status import run_status
from cadsynth.store import RunStore


def _vote(judge, extracted, verdict, cost=0.0):
    return Vote(judge=judge, raw=f"answer: {extracted}", extracted=extracted, verdict=Verdict(verdict),
                usage=Usage(prompt_tokens=10, completion_tokens=2, cost_usd=cost, calls=1))


@pytest.fixture
def tiny_run(tmp_path, sample_factory):
    """Four hand-made samples over two rounds, whose numbers are known."""
    store = RunStore.open(tmp_path / "tiny")
    store.write_json("manifest.json", {"name": "tiny", "config": {}})
    store.write_seeds([Seed(id="seed-a", source="jsonl", question="q?", answer="1")], [])
    image = store.put_image(png(random.Random(0)))
    one = Judgement(votes=[_vote("a", "40", "correct", 0.01), _vote("b", "40.0", "correct"),
                           _vote("c", "30", "wrong")], consensus=2, k=3)
    two = Judgement(votes=[_vote("a", "7", "wrong"), _vote("b", "8", "wrong"),
                           Vote(judge="c", raw="", extracted=None, verdict=Verdict.ABSTAIN, reason="cannot see")],
                    consensus=0, k=2)
    three = Judgement(votes=[_vote("a", "40", "correct"), _vote("b", "40", "correct"), _vote("c", "40", "correct")],
                      consensus=3, k=3)
    store.commit_unit(1, "r1:seed-a", [
        sample_factory(id="s1", partition=Partition.ADVERSARIAL, judgement=one, domain="chart", image=image,
                       usage=Usage(prompt_tokens=30, completion_tokens=6, cost_usd=0.01, calls=3),
                       provenance=sample_factory().provenance.model_copy(update={"seed_id": "seed-a"})),
        sample_factory(id="s2", partition=Partition.DISCARDED, judgement=two, domain="chart", image=image,
                       checks=[Check(name="recomputed", passed=False)]),
    ])
    store.commit_unit(2, "r2:seed-a", [
        sample_factory(id="s3", partition=Partition.KEPT, judgement=three, round_=2, domain="geometry",
                       image=image),
        sample_factory(id="s4", partition=Partition.DISCARDED, judged=False, round_=2, image=None,
                       discard_reasons=["render_failed: ValueError: bad scene"]),
    ])
    return store.path


def test_funnel_per_round_with_each_discard_reason(tiny_run):
    data = collect(tiny_run)
    r1, r2 = data.summary["rounds"]
    assert (r1["generated"], r1["kept"], r1["adversarial"], r1["discarded"]) == (2, 1, 1, 1)
    assert r1["reasons"] == {"consensus_zero": 1}
    assert r2["reasons"] == {"render_failed": 1}
    assert r1["consensus"] == {"2/3": 1, "0/2": 1}
    assert r2["consensus"] == {"3/3": 1, "not judged": 1}
    assert r1["adversarial_share"] == pytest.approx(0.5)
    assert data.summary["totals"]["generated"] == 4
    assert r1["domain"] == {"chart": 2} and r2["domain"] == {"geometry": 1, "bars": 1}


def test_judge_agreement_uses_answer_equivalence_and_accuracy_ignores_abstentions(tiny_run):
    summary = collect(tiny_run).summary
    agreement = summary["agreement"]
    assert agreement["judges"] == ["a", "b", "c"]
    rate = {(a, b): agreement["rate"][i][j] for i, a in enumerate("abc") for j, b in enumerate("abc")}
    count = {(a, b): agreement["count"][i][j] for i, a in enumerate("abc") for j, b in enumerate("abc")}
    # a-b: s1 (40 vs 40.0, equivalent), s2 (7 vs 8), s3 (40 vs 40) -> 2 of 3
    assert count["a", "b"] == 3 and rate["a", "b"] == pytest.approx(2 / 3)
    # a-c: s1 (40 vs 30), s3 (40 vs 40); c abstained on s2 -> 1 of 2
    assert count["a", "c"] == 2 and rate["a", "c"] == pytest.approx(0.5)
    assert rate["a", "c"] == rate["c", "a"]
    judges = {j["name"]: j for j in summary["judges"]}
    assert judges["a"]["accuracy"] == pytest.approx(2 / 3)
    assert judges["c"]["accuracy"] == pytest.approx(1 / 2)
    assert judges["c"]["verdicts"]["abstain"] == 1
    assert judges["a"]["usage"]["cost_usd"] == pytest.approx(0.01)


def test_member_costs_split_generation_from_judging(tiny_run):
    (member,) = collect(tiny_run).summary["members"]
    assert member["name"] == "program" and member["samples"] == 4
    assert member["judging"]["cost_usd"] == pytest.approx(0.01)
    assert member["generation"]["cost_usd"] == pytest.approx(0.0)  # the sample's usage is all judging


def test_flags_and_index_rows(tiny_run):
    data = collect(tiny_run)
    by_id = {r["id"]: r for r in data.records}
    assert by_id["s2"]["flags"] == ["consensus_zero", "abstained", "check_failed:recomputed"]
    assert by_id["s4"]["flags"] == ["render_failed", "no_image"]
    cols, dicts = data.index["cols"], data.index["dicts"]
    assert data.index["n"] == 4 and cols["id"] == ["s1", "s2", "s3", "s4"]
    assert [dicts["p"][p] for p in cols["p"]] == ["adversarial", "discarded", "kept", "discarded"]
    assert cols["c"] == [2, 0, 3, -1] and cols["k"] == [3, 2, 3, -1]
    assert cols["r"] == [1, 1, 2, 2]
    bit = dicts["fl"].index("no_image")
    assert [bool(m & (1 << bit)) for m in cols["fl"]] == [False, False, False, True]


def test_agrees_with_cadsynth_status(run_dir):
    data = collect(run_dir)
    status = run_status(run_dir)
    for mine, theirs in zip(data.summary["rounds"], status.rounds, strict=True):
        assert (mine["generated"], mine["kept"], mine["adversarial"], mine["discarded"]) == \
            (theirs.generated, theirs.kept, theirs.adversarial, theirs.discarded)
        assert mine["reasons"] == dict(theirs.reasons)
    for judge in data.summary["judges"]:
        assert judge["accuracy"] == pytest.approx(status.judge_accuracy[judge["name"]])
    assert data.summary["totals"]["judge_calls"] == status.judge_calls
    assert data.summary["totals"]["cost_usd"] == pytest.approx(status.cost_usd)


def test_contexts_seeds_and_the_context_of_each_sample(run_dir):
    data = collect(run_dir)
    assert set(data.contexts) == {"global", "writer"}
    assert [c["version"] for c in data.contexts["global"]] == [0, 1, 2, 3]
    members = {r["provenance"]["member"]: r["context_key"] for r in data.records}
    assert members == {"program": "global", "writer": "writer"}
    assert len(data.seeds) == 12 and all(s in data.seed_images for s in data.seeds)
    # the diversity proxy is a share in [0, 1]
    for r in data.summary["rounds"]:
        assert all(0 <= v <= 1 for v in r["diversity"].values())


def test_context_lookup_prefers_the_most_specific_key(sample_factory):
    sample = sample_factory()
    seed = sample.provenance.seed_id
    assert context_key_for(sample, {"global", seed}) == seed
    assert context_key_for(sample, {"global", "program"}) == "program"
    assert context_key_for(sample, {"global"}) == "global"
    assert context_key_for(sample, set()) is None


def test_not_a_run(tmp_path):
    with pytest.raises(NotARun, match="does not exist"):
        collect(tmp_path / "nope")
    with pytest.raises(NotARun, match="no manifest.json"):
        collect(tmp_path)
