"""What a run has done so far, computed from its store: the funnel per round, consensus, judges, contexts."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadsynth.records import Partition, Sample, Usage, Verdict
from cadsynth.store import RunStore


@dataclass
class RoundFunnel:
    round: int
    units: int = 0  # seeds whose unit of this round is committed
    complete: bool = False  # every seed's unit is committed (a run that stops at its target ends mid-round)
    generated: int = 0
    discarded: int = 0  # all discards
    consensus_zero: int = 0  # C = 0 among judged samples
    kept: int = 0  # C >= 1, adversarial included (the unjudged are counted apart)
    adversarial: int = 0
    unjudged: int = 0  # kept without a vote: every judge abstained, the program's answer is verified by construction
    reasons: Counter = field(default_factory=Counter)  # discard reason -> count
    consensus: Counter = field(default_factory=Counter)  # (C, K) -> count
    failed_checks: Counter = field(default_factory=Counter)  # check name -> samples that failed it
    discarded_by_check: Counter = field(default_factory=Counter)  # check name -> samples it discarded

    @property
    def adversarial_share(self) -> float:
        return self.adversarial / self.generated if self.generated else 0.0


@dataclass
class RunStatus:
    name: str
    rounds: list[RoundFunnel]
    state: dict[str, Any] | None
    seeds: int
    seed_problems: int
    judges: dict[str, Counter]  # judge -> verdict counts
    judge_accuracy: dict[str, float]
    judge_calls: int
    saved_calls: int  # judges not asked because the partition was already decided (checks.early_stop)
    cost_usd: float  # samples (generation, images, judging) and reflections together
    contexts: dict[str, list[dict[str, Any]]]  # key ("global" or a seed id) -> versions
    usage: dict[str, dict[str, Usage]] = field(default_factory=dict)  # members / judges / other -> name -> usage

    @property
    def strategy_mix(self) -> tuple[int, dict[str, float]]:
        """The newest context version and its strategy distribution, averaged over every context key."""
        latest = [versions[-1] for versions in self.contexts.values() if versions and "strategy" in versions[-1]]
        if not latest:
            return 0, {}
        keys = sorted({k for c in latest for k in c["strategy"]})
        mix = {k: sum(c["strategy"].get(k, 0.0) for c in latest) / len(latest) for k in keys}
        return max(c["version"] for c in latest), mix

    @property
    def total(self) -> RoundFunnel:
        total = RoundFunnel(round=0)
        for r in self.rounds:
            for name in ("generated", "discarded", "consensus_zero", "kept", "adversarial", "unjudged"):
                setattr(total, name, getattr(total, name) + getattr(r, name))
            total.reasons.update(r.reasons)
            total.consensus.update(r.consensus)
            total.failed_checks.update(r.failed_checks)
            total.discarded_by_check.update(r.discarded_by_check)
        return total

    @property
    def share_trend(self) -> tuple[RoundFunnel, RoundFunnel] | None:
        """The first and the last complete round, to see whether the adversarial share rose."""
        complete = [r for r in self.rounds if r.complete]
        return (complete[0], complete[-1]) if len(complete) >= 2 else None

    @property
    def judge_calls_per_kept(self) -> float:
        kept = self.total.kept
        return self.judge_calls / kept if kept else 0.0


def _less(total: Usage, part: Usage) -> Usage:
    return Usage(prompt_tokens=total.prompt_tokens - part.prompt_tokens,
                 completion_tokens=total.completion_tokens - part.completion_tokens,
                 cost_usd=total.cost_usd - part.cost_usd, calls=total.calls - part.calls)


def _funnel(round_: int, samples: list[Sample]) -> RoundFunnel:
    funnel = RoundFunnel(round=round_)
    for s in samples:
        funnel.generated += 1
        if s.partition is Partition.DISCARDED:
            funnel.discarded += 1
            funnel.reasons[(s.discard_reasons or ["unknown"])[0].split(":")[0]] += 1
        elif s.partition is not Partition.UNJUDGED:
            funnel.kept += 1
        funnel.adversarial += s.partition is Partition.ADVERSARIAL
        funnel.unjudged += s.partition is Partition.UNJUDGED
        failed = {c.name for c in s.checks if not c.passed}
        funnel.failed_checks.update(failed)
        if s.partition is Partition.DISCARDED:
            funnel.discarded_by_check.update(n for n in failed if (s.discard_reasons or [""])[0].startswith(n))
        if s.judgement is not None and s.judgement.k > 0:
            funnel.consensus[(s.judgement.consensus, s.judgement.k)] += 1
            funnel.consensus_zero += s.judgement.consensus == 0
    return funnel


def run_status(path: Path) -> RunStatus:
    store = RunStore(path)
    if not store.exists:
        raise FileNotFoundError(f"{path} is not a cadsynth run directory (no manifest.json)")
    by_round: dict[int, list[Sample]] = defaultdict(list)
    units: Counter = Counter()
    judges: dict[str, Counter] = defaultdict(Counter)
    calls, saved = 0, 0
    usage: dict[str, dict[str, Usage]] = {"members": defaultdict(Usage), "judges": defaultdict(Usage),
                                          "other": defaultdict(Usage)}
    for round_, _, samples in store.units():
        units[round_] += 1
        by_round[round_].extend(samples)
        for s in samples:
            for v in s.judgement.votes if s.judgement else []:
                judges[v.judge][v.verdict.value] += 1
            asked = [*(s.judgement.votes if s.judgement else []), *(s.blind.votes if s.blind else [])]
            for v in asked:
                usage["judges"][v.judge] += v.usage
            # the member's part: generation and drawing, i.e. what the sample spent beyond its votes
            usage["members"][s.provenance.member] += _less(s.usage, sum((v.usage for v in asked), Usage()))
            calls += sum(v.verdict not in (Verdict.ABSTAIN, Verdict.SKIPPED) for v in asked)
            saved += sum(v.verdict is Verdict.SKIPPED for v in asked)
    accuracy = {
        j: c[Verdict.CORRECT.value] / (c[Verdict.CORRECT.value] + c[Verdict.WRONG.value])
        for j, c in judges.items() if c[Verdict.CORRECT.value] + c[Verdict.WRONG.value]
    }
    contexts = {key: store.contexts(key) for key in store.context_keys()}
    for versions in contexts.values():
        for version in versions:
            if version.get("reflection"):
                usage["other"]["reflector"] += Usage(**version["reflection"].get("usage", {}))
    usage = {part: dict(by_name) for part, by_name in usage.items()}
    seeds = len(store.seeds())
    rounds = [_funnel(r, by_round[r]) for r in sorted(by_round)]
    for funnel in rounds:
        funnel.units, funnel.complete = units[funnel.round], units[funnel.round] == seeds
    return RunStatus(
        name=path.name,
        rounds=rounds,
        state=store.read_json("state.json"),
        seeds=seeds,
        seed_problems=len(store.seed_problems()),
        judges=dict(judges),
        judge_accuracy=accuracy,
        judge_calls=calls,
        saved_calls=saved,
        cost_usd=sum(u.cost_usd for by_name in usage.values() for u in by_name.values()),
        contexts=contexts,
        usage=usage,
    )


def diversity_by_round(path: Path) -> dict[int, dict[str, Any]]:
    """Per round, over its kept samples: mean pairwise question similarity, image distance, near-duplicate clusters.

    Needs the `checks` extra (MiniLM embeddings, perceptual hashes).
    """
    from PIL import Image

    from cadsynth.checks.diversity import TextEmbedder, diversity_report

    store = RunStore(path)
    embedder = TextEmbedder()
    by_round: dict[int, list[Sample]] = defaultdict(list)
    for round_, _, samples in store.units():
        by_round[round_].extend(s for s in samples if s.kept)
    report = {}
    for round_, samples in sorted(by_round.items()):
        images = []
        for s in samples:
            with Image.open(store.image_path(s.image)) as image:
                images.append(image.convert("RGB"))
        report[round_] = diversity_report([s.question for s in samples], images, embedder=embedder)
    return report
