"""The generation context of program members: a distribution over strategy, transfer family and difficulty.

After each round the distribution moves toward the options whose samples were adversarial (0 < C < K) and
away from those that produced only discards (C = 0, or no judge able to vote) or only unanimous answers (C = K): a multiplicative-weights
step on each option's smoothed adversarial rate relative to the round's, with a probability floor so no option
is ever ruled out. Each version is kept in the run store.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
from pydantic import BaseModel, ConfigDict

from cadsynth.config import ContextConfig
from cadsynth.records import Partition, Sample, Step, Strategy
from cadsynth.tasks import DIFFICULTIES

PSEUDO_COUNT = 2.0  # how many samples' worth of the round's average an option's rate starts from

Distribution = dict[str, float]


class ProgramContext(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    strategy: Distribution
    transfer: Distribution  # target family of isomorphic transfer
    difficulty: dict[str, Distribution]  # family -> level ("1", "2", "3") -> probability
    note: str = ""
    guidance: str = ""  # text guidance for LLM members, rewritten by the reflector (`context.reflect`)
    reflection: Step | None = None  # the reflector's call that wrote this version's guidance

    def draw(self, rng: np.random.Generator, parent_family: str) -> tuple[Strategy, str, int]:
        """Strategy, the family the child will belong to, and its difficulty."""
        strategy = Strategy(_pick(rng, self.strategy))
        family = parent_family
        if strategy is Strategy.ISOMORPHIC_TRANSFER:
            others = {f: p for f, p in self.transfer.items() if f != parent_family}
            family = _pick(rng, others) if others else parent_family
        return strategy, family, int(_pick(rng, self.difficulty[family]))


def _pick(rng: np.random.Generator, dist: Distribution) -> str:
    keys = sorted(dist)
    p = np.array([dist[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def initial(families: list[str], strategies: list[Strategy]) -> ProgramContext:
    def uniform(keys: list[str]) -> Distribution:
        return {k: 1 / len(keys) for k in keys}

    return ProgramContext(
        version=0,
        strategy=uniform([s.value for s in strategies]),
        transfer=uniform(families),
        difficulty={f: uniform([str(d) for d in DIFFICULTIES]) for f in families},
        note="uniform start",
    )


def _step(dist: Distribution, outcomes: dict[str, list[bool]], base: float, config: ContextConfig) -> Distribution:
    weights = {}
    for key, p in dist.items():
        seen = outcomes.get(key, [])
        rate = (sum(seen) + PSEUDO_COUNT * base) / (len(seen) + PSEUDO_COUNT)
        weights[key] = p * math.exp(config.learning_rate * (rate - base))
    total = sum(weights.values())
    floor = min(config.floor, 1 / len(dist))
    return {k: floor + (1 - floor * len(dist)) * w / total for k, w in weights.items()}


def _rate(outcomes: dict[str, list[bool]], default: float) -> float:
    hits = [h for seen in outcomes.values() for h in seen]
    return sum(hits) / len(hits) if hits else default


def update(context: ProgramContext, samples: list[Sample], config: ContextConfig) -> ProgramContext:
    """The next version, from this round's samples; unchanged when the round had no adversarial sample.

    Every generated program sample counts: one no judge could vote on is as useless as C = 0 or C = K.
    """
    judged = [s for s in samples if s.family]
    adversarial = [s.partition is Partition.ADVERSARIAL for s in judged]
    if not any(adversarial):
        return context.model_copy(update={"version": context.version + 1, "note": "no adversarial samples: kept",
                                          "reflection": None})
    base = sum(adversarial) / len(adversarial)
    by_strategy: dict[str, list[bool]] = defaultdict(list)
    by_transfer: dict[str, list[bool]] = defaultdict(list)
    by_level: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for sample, hit in zip(judged, adversarial, strict=True):
        by_strategy[sample.provenance.strategy.value].append(hit)
        if sample.provenance.strategy is Strategy.ISOMORPHIC_TRANSFER:
            by_transfer[sample.family].append(hit)
        by_level[sample.family][str(sample.difficulty)].append(hit)
    return ProgramContext(
        version=context.version + 1,
        strategy=_step(context.strategy, by_strategy, base, config),
        # a distribution this round said nothing about stays as it is (the floor step alone would pull it to uniform)
        transfer=_step(context.transfer, by_transfer, base, config) if by_transfer else context.transfer,
        difficulty={f: _step(d, by_level[f], _rate(by_level[f], base), config) if f in by_level else d
                    for f, d in context.difficulty.items()},
        note=f"{sum(adversarial)}/{len(adversarial)} judged samples adversarial",
        guidance=context.guidance,
    )
