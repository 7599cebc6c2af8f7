"""The program member: the built-in task families, with the four meta-strategies as program transformations.

Each seed carries (or names) a parent instance; each round the member draws, per candidate, a strategy, the
child's family and a difficulty from the generation context, and transforms the parent. Answers are computed.
"""

from __future__ import annotations

import re

import numpy as np

from cadsynth.config import ProgramMemberConfig
from cadsynth.generate.base import Candidate, Draft, Request
from cadsynth.records import ImageSource, Seed
from cadsynth.tasks import DIFFICULTIES, FAMILIES, Instance, apply_strategy, build, family, sample
from cadsynth.tasks.base import Family, Scene


def draft_of(instance: Instance) -> Draft:
    """The draft of a program instance: its image is the family's drawing of the scene."""
    return Draft(
        question=instance.question, answer=instance.answer, answer_type=instance.answer_type,
        image_source=ImageSource(kind="program", program=instance.family, params=instance_meta(instance)),
        choices=instance.choices, solution=instance.solution, domain=FAMILIES[instance.family].domain,
        family=instance.family, difficulty=instance.difficulty, knobs=instance.knobs, kind=instance.kind,
    )


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


def named_family(text: str) -> str | None:
    """The family a description names: the one with the longest name or alias found in it."""
    text = text.lower()
    best, length = None, 0
    for name, fam in FAMILIES.items():
        for word in {name, name.rstrip("s"), *fam.aliases}:
            if len(word) > length and re.search(rf"\b{re.escape(word.lower())}", text):
                best, length = name, len(word)
    return best


def described_knobs(fam: Family, text: str, difficulty: int) -> dict | None:
    """The family's knobs with its size knob set from "6-8 species" / "5 bars" in a description, if any."""
    if not fam.size_knob or not fam.size_nouns:
        return None
    nouns = "|".join(re.escape(n) for n in fam.size_nouns)
    span = re.search(rf"(\d+)\s*(?:-|–|to)\s*(\d+)\s+(?:{nouns})\b", text, re.IGNORECASE)
    single = re.search(rf"(\d+)\s+(?:{nouns})\b", text, re.IGNORECASE)
    if not span and not single:
        return None
    lo, hi = (int(span.group(1)), int(span.group(2))) if span else (int(single.group(1)),) * 2
    return {**fam.knobs(difficulty), fam.size_knob: (min(lo, hi), max(lo, hi))}


def parent_of(seed: Seed, rng: np.random.Generator) -> Instance:
    """The seed's program instance, or a fresh easy instance of the family its text names (with the sizes the
    text asks for, e.g. "food webs with 6-8 species")."""
    if "program" in seed.meta:
        return restore(seed.meta["program"])
    text = f"{seed.domain or ''} {seed.question}"
    name = named_family(text)
    if name is None:
        raise ValueError(f"seed {seed.id} names no task family ({', '.join(FAMILIES)}); program members need one")
    return sample(name, rng, 1, knobs=described_knobs(family(name), text, 1))


class ProgramMember:
    def __init__(self, config: ProgramMemberConfig):
        self.name = config.name
        self.config = config

    async def generate(self, request: Request) -> list[Candidate]:
        return self.generate_sync(request)

    def generate_sync(self, request: Request) -> list[Candidate]:
        rng, allowed = request.rng, request.allowed
        try:
            parent = parent_of(request.seed, rng)
        except (ValueError, KeyError) as exc:
            return [Candidate(i, allowed[0], None, str(exc)) for i in range(self.config.candidates)]
        candidates = []
        for i in range(self.config.candidates):
            strategy, target, difficulty = request.context.draw(rng, parent.family)
            if request.assignment == "round_robin" or strategy not in allowed:
                strategy = allowed[(i + request.round) % len(allowed)]
                target = parent.family
            mcq = bool(rng.random() < self.config.mcq_share)
            try:
                child = apply_strategy(strategy, parent, rng, difficulty, transfer_to=target, mcq=mcq)
                candidates.append(Candidate(i, strategy, draft_of(child)))
            except RuntimeError as exc:
                candidates.append(Candidate(i, strategy, None, f"generation failed: {exc}"))
        return candidates


__all__ = ["ProgramMember", "build", "draft_of", "instance_meta", "program_seeds", "restore"]
