"""The four meta-strategies as program transformations of a parent instance.

- parameter variation: same structure and question kind, new quantities;
- logic reversion: ask for what the parent was given (the kind's `reverse`);
- auxiliary extension: one more element in the scene and one more step in the question (the kind's `extend`);
- isomorphic transfer: the same computation (count, read, difference, ...) in another family.
"""

from __future__ import annotations

import numpy as np

from cadsynth.records import AnswerType, Strategy
from cadsynth.tasks.base import Family, Instance, Scene, with_choices
from cadsynth.tasks.registry import FAMILIES, family

ATTEMPTS = 30


def build(fam: Family, scene: Scene, kind_name: str, difficulty: int, rng: np.random.Generator,
          mcq: bool = False) -> Instance | None:
    """Ask `kind_name` about `scene` and compute the answer; None when the scene cannot carry that question."""
    kind = fam.kinds[kind_name]
    args = kind.ask(scene, rng)
    if args is None:
        return None
    value = kind.solve(scene, args)
    instance = Instance(
        family=fam.name,
        difficulty=difficulty,
        scene=scene,
        kind=kind_name,
        args=args,
        question=kind.text(scene, args),
        answer=fam.format_answer(kind_name, value),
        answer_type=kind.answer_type,
        solution=fam.solution(scene, kind_name, args, value),
        knobs=fam.knobs(difficulty),
    )
    return with_choices(instance, fam, value, rng) if mcq else instance


def _first(fam: Family, scenes, kinds: list[str], difficulty: int, rng: np.random.Generator,
           mcq: bool) -> Instance:
    """The first (scene, kind) pair that yields a question, trying the preferred kinds first."""
    for _ in range(ATTEMPTS):
        scene = scenes()
        for kind_name in kinds:
            instance = build(fam, scene, kind_name, difficulty, rng, mcq)
            if instance is not None:
                return instance
    raise RuntimeError(f"{fam.name}: no askable question among {kinds} after {ATTEMPTS} scenes")


def sample(family_name: str, rng: np.random.Generator, difficulty: int, kind: str | None = None,
           mcq: bool = False, knobs: dict | None = None) -> Instance:
    """A fresh instance of a family at a difficulty (knobs overridden by `knobs`); a random askable kind unless
    `kind` is given."""
    fam = family(family_name)
    names = list(fam.kinds)
    kinds = [kind] if kind else [names[i] for i in rng.permutation(len(names))]
    return _first(fam, lambda: fam.scene(rng, difficulty, knobs), kinds, difficulty, rng, mcq)


def apply_strategy(strategy: Strategy, parent: Instance, rng: np.random.Generator, difficulty: int,
                   transfer_to: str | None = None, mcq: bool = False) -> Instance:
    """A child of `parent` made with one meta-strategy at the requested difficulty."""
    fam = family(parent.family)
    kinds = list(fam.kinds)
    others = [k for k in (kinds[i] for i in rng.permutation(len(kinds)))]

    def varied() -> Scene:
        if difficulty == parent.difficulty:
            return fam.vary(parent.scene, rng)
        return fam.scene(rng, difficulty)

    if strategy is Strategy.PARAMETER_VARIATION:
        return _first(fam, varied, [parent.kind, *others], difficulty, rng, mcq)
    if strategy is Strategy.LOGIC_REVERSION:
        reverse = fam.kinds[parent.kind].reverse or parent.kind
        return _first(fam, varied, [reverse, *others], difficulty, rng, mcq)
    if strategy is Strategy.AUXILIARY_EXTENSION:
        extend = fam.kinds[parent.kind].extend or parent.kind
        return _first(fam, lambda: fam.extend_scene(varied(), rng), [extend, *others], difficulty, rng, mcq)
    target = family(transfer_to) if transfer_to and transfer_to != parent.family else None
    if target is None:
        names = [n for n in FAMILIES if n != parent.family]
        target = family(names[int(rng.integers(len(names)))])
    computation = fam.kinds[parent.kind].computation
    same = [k for k, v in target.kinds.items() if v.computation == computation]
    rest = [k for k in target.kinds if k not in same]
    ordered = [same[i] for i in rng.permutation(len(same))] + [rest[i] for i in rng.permutation(len(rest))]
    return _first(target, lambda: target.scene(rng, difficulty), ordered, difficulty, rng, mcq)


def is_open_numeric(instance: Instance) -> bool:
    return instance.answer_type in (AnswerType.INTEGER, AnswerType.NUMBER)
