"""The program member: the built-in task families, with the four meta-strategies as program transformations.

Each seed carries (or names) a parent instance; each round the member draws, per candidate, a strategy, the
child's family and a difficulty from the generation context, and transforms the parent. Answers are computed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from cadsynth.config import ProgramMemberConfig
from cadsynth.context.program import ProgramContext
from cadsynth.records import Seed, Strategy
from cadsynth.tasks import DIFFICULTIES, FAMILIES, Instance, apply_strategy, build, family, sample
from cadsynth.tasks.base import Scene

STRATEGY_ORDER = list(Strategy)


@dataclass(frozen=True)
class Candidate:
    """One generated child, or the reason generation failed."""

    index: int
    strategy: Strategy
    instance: Instance | None
    error: str | None = None


def instance_meta(instance: Instance) -> dict:
    """What a seed or record stores to rebuild an instance exactly."""
    return {"family": instance.family, "difficulty": instance.difficulty, "scene": instance.scene,
            "kind": instance.kind, "args": instance.args}


def restore(meta: dict) -> Instance:
    """The instance a seed's `meta["program"]` describes (question and answer recomputed from the scene)."""
    fam = family(meta["family"])
    kind = fam.kinds[meta["kind"]]
    scene: Scene = meta["scene"]
    args = meta["args"]
    value = kind.solve(scene, args)
    return Instance(family=fam.name, difficulty=meta["difficulty"], scene=scene, kind=meta["kind"], args=args,
                    question=kind.text(scene, args), answer=fam.format_answer(meta["kind"], value),
                    answer_type=kind.answer_type, solution=fam.solution(scene, meta["kind"], args, value),
                    knobs=fam.knobs(meta["difficulty"]))


def program_seeds(families: list[str], per_family: int, seed: int) -> list[Seed]:
    """Parent instances drawn from each family, difficulties cycling easy -> hard."""
    seeds = []
    for name in families:
        fam = family(name)
        for i in range(per_family):
            rng = np.random.default_rng([seed, i, sum(map(ord, name))])
            difficulty = DIFFICULTIES[i % len(DIFFICULTIES)]
            instance = sample(name, rng, difficulty)
            seeds.append(Seed(
                id=f"{name}-{i + 1:03d}", source="program", question=instance.question, answer=instance.answer,
                answer_type=instance.answer_type, solution=instance.solution, domain=fam.domain,
                meta={"program": instance_meta(instance)},
            ))
    return seeds


def parent_of(seed: Seed, rng: np.random.Generator) -> Instance:
    """The seed's program instance, or a fresh easy instance of the family its text names."""
    if "program" in seed.meta:
        return restore(seed.meta["program"])
    text = f"{seed.domain or ''} {seed.question}".lower()
    aliases = {name: {name, name.rstrip("s"), fam.domain} for name, fam in FAMILIES.items()}
    aliases["bars"] |= {"bar chart", "line chart", "chart"}
    aliases["grid"] |= {"coordinate", "rectangle", "point"}
    aliases["shapes"] |= {"count", "circle", "square", "triangle"}
    for name, words in aliases.items():
        if any(re.search(rf"\b{re.escape(w)}", text) for w in words):
            return sample(name, rng, 1)
    raise ValueError(f"seed {seed.id} names no task family ({', '.join(FAMILIES)}); program members need one")


class ProgramMember:
    def __init__(self, config: ProgramMemberConfig):
        self.name = config.name
        self.config = config

    def generate(self, seed: Seed, round_: int, context: ProgramContext, rng: np.random.Generator,
                 assignment: str = "context", allowed: list[Strategy] | None = None) -> list[Candidate]:
        allowed = allowed or STRATEGY_ORDER
        try:
            parent = parent_of(seed, rng)
        except (ValueError, KeyError) as exc:
            return [Candidate(i, allowed[0], None, str(exc)) for i in range(self.config.candidates)]
        candidates = []
        for i in range(self.config.candidates):
            strategy, target, difficulty = context.draw(rng, parent.family)
            if assignment == "round_robin" or strategy not in allowed:
                strategy = allowed[(i + round_) % len(allowed)]
                target = parent.family
            mcq = bool(rng.random() < self.config.mcq_share)
            try:
                child = apply_strategy(strategy, parent, rng, difficulty, transfer_to=target, mcq=mcq)
                candidates.append(Candidate(i, strategy, child))
            except RuntimeError as exc:
                candidates.append(Candidate(i, strategy, None, f"generation failed: {exc}"))
        return candidates


__all__ = ["Candidate", "ProgramMember", "build", "instance_meta", "program_seeds", "restore"]
