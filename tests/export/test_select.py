"""Filters and the split by seed."""

from __future__ import annotations

import pytest

from cadsynth.export import ExportError, Filters
from cadsynth.export.select import seed_bucket, select, split_by_seed
from cadsynth.records import Check, ImageRef, Partition
from cadsynth.store import RunStore


def test_partition_filters_follow_consensus(run_dir):
    samples = list(RunStore(run_dir).samples())
    both = select(samples)
    assert {s.partition for s in both.samples} == {Partition.KEPT, Partition.ADVERSARIAL}
    assert both.left_out == {"discarded": sum(s.partition is Partition.DISCARDED for s in samples)}
    kept = select(samples, Filters.make(partitions=["kept"])).samples
    assert kept and all(s.judgement.consensus == s.judgement.k for s in kept)
    adversarial = select(samples, Filters.make(partitions=["adversarial"])).samples
    assert adversarial and all(0 < s.judgement.consensus < s.judgement.k for s in adversarial)
    assert len(kept) + len(adversarial) == len(both.samples)


def test_consensus_domain_round_and_check_filters(run_dir):
    samples = list(RunStore(run_dir).samples())
    low = select(samples, Filters.make(max_consensus=1)).samples
    assert low and {s.judgement.consensus for s in low} == {1}
    mid = select(samples, Filters.make(min_consensus=2, max_consensus=2)).samples
    assert mid and {s.judgement.consensus for s in mid} == {2}
    charts = select(samples, Filters.make(domains=["chart"], rounds=[2])).samples
    assert charts and all(s.domain == "chart" and s.provenance.round == 2 for s in charts)
    checked = select(samples, Filters.make(checks=["recomputed"]))
    assert checked.samples and all(any(c.name == "recomputed" and c.passed for c in s.checks)
                                   for s in checked.samples)
    assert checked.left_out["check"] > 0


def test_check_filter_needs_a_passed_check(sample_factory):
    image = ImageRef(sha256="0" * 64, path="images/00/x.png", width=8, height=8)
    failed = sample_factory(image=image, checks=[Check(name="recomputed", passed=False)])
    passed = sample_factory(image=image, checks=[Check(name="recomputed", passed=True),
                                                 Check(name="other", passed=False)])
    assert select([failed, passed], Filters.make(checks=["recomputed"])).samples == [passed]
    assert select([failed, passed], Filters.make(checks=["recomputed", "other"])).samples == []


def test_samples_without_image_are_counted_and_left_out(sample_factory):
    selection = select([sample_factory(image=None)])
    assert selection.samples == [] and selection.left_out == {"no_image": 1}


@pytest.mark.parametrize("kwargs, message", [
    ({"partitions": ["discarded"]}, "never exported"),
    ({"partitions": ["nope"]}, "unknown partition"),
    ({"min_consensus": 3, "max_consensus": 1}, "above"),
    ({"min_consensus": -1}, "≥ 0"),
])
def test_bad_filters_are_refused(kwargs, message):
    with pytest.raises(ExportError, match=message):
        Filters.make(**kwargs)


def test_split_keeps_seeds_whole_and_is_deterministic(run_dir):
    samples = select(RunStore(run_dir).samples()).samples
    splits = split_by_seed(samples, 0.3)
    seeds = {name: {s.provenance.seed_id for s in part} for name, part in splits.items()}
    assert seeds["train"] and seeds["validation"] and not seeds["train"] & seeds["validation"]
    assert split_by_seed(list(reversed(samples)), 0.3)["validation"] == list(reversed(splits["validation"]))
    # a seed's split does not depend on which other samples are exported
    charts = [s for s in samples if s.domain == "chart"]
    for sample in split_by_seed(charts, 0.3)["validation"]:
        assert sample.provenance.seed_id in seeds["validation"]
    assert split_by_seed(samples, 0.0)["validation"] == [] and split_by_seed(samples, 1.0)["train"] == []
    with pytest.raises(ExportError, match="val-share"):
        split_by_seed(samples, 1.5)


def test_validation_share_is_close_to_val_share():
    buckets = [seed_bucket(f"seed-{i}") for i in range(4000)]
    share = sum(b < 0.1 for b in buckets) / len(buckets)
    assert 0.08 < share < 0.12
    other_salt = [seed_bucket(f"seed-{i}", salt="other") for i in range(4000)]
    assert other_salt != buckets
