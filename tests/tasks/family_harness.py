"""Property-test scaffolding shared by per-family test files: each file brings its own independent oracle,
`check_instance(instance, mcq_requested, extended=False)`, and these helpers build and walk the corpus."""

from __future__ import annotations

from collections.abc import Callable, Collection

import numpy as np

from cadsynth.answers import equivalent
from cadsynth.records import Strategy
from cadsynth.tasks import DIFFICULTIES, FAMILIES, Instance, apply_strategy, sample

Check = Callable[..., None]
Row = tuple[Instance, Instance, bool]  # parent, child, whether the child was asked for in MCQ form


def corpus(name: str, strategy: Strategy, seed: int, others: list[str]) -> list[Row]:
    """Parents at every difficulty (and from the other difficulties), each with an open and an MCQ child;
    open transfers name their target among `others`, MCQ ones let the strategy pick."""
    rng = np.random.default_rng(seed + list(Strategy).index(strategy))
    rows = []
    for d in DIFFICULTIES:
        for i, pd in enumerate([d] * 6 + [e for e in DIFFICULTIES if e != d]):
            parent = sample(name, rng, pd, mcq=bool(i % 2))
            for mcq in (False, True):
                target = others[i % len(others)] if strategy is Strategy.ISOMORPHIC_TRANSFER and not mcq else None
                rows.append((parent, apply_strategy(strategy, parent, rng, d, transfer_to=target, mcq=mcq), mcq))
    return rows


def check_corpus(name: str, strategy: Strategy, rows: list[Row], check_instance: Check) -> None:
    """Every parent and in-family child agrees with the oracle; a transferred child keeps the parent's
    computation whenever its new family can ask it."""
    fam = FAMILIES[name]
    for parent, child, mcq in rows:
        check_instance(parent, mcq_requested=parent.choices is not None)
        if strategy is Strategy.ISOMORPHIC_TRANSFER:
            assert child.family != name
            assert equivalent(child.answer, child.answer, child.answer_type, child.choices)
            computation = fam.kinds[parent.kind].computation
            target = FAMILIES[child.family]
            same = [k for k, v in target.kinds.items() if v.computation == computation]
            if same and target.kinds[child.kind].computation != computation:
                assert all(target.kinds[k].ask(child.scene, np.random.default_rng(0)) is None for k in same)
            continue
        assert child.family == name
        check_instance(child, mcq_requested=mcq, extended=strategy is Strategy.AUXILIARY_EXTENSION)


def check_transfer_in(name: str, others: list[str], check_instance: Check, per_cell: int, seed: int = 9) -> None:
    """Children transferred into the family from `others` agree with the oracle and mostly keep the computation."""
    fam = FAMILIES[name]
    rng = np.random.default_rng(seed)
    kept = possible = 0
    for source in others:
        for d in DIFFICULTIES:
            for i in range(per_cell):
                parent = sample(source, rng, d)
                child = apply_strategy(Strategy.ISOMORPHIC_TRANSFER, parent, rng, d, transfer_to=name, mcq=bool(i % 2))
                assert child.family == name
                check_instance(child, mcq_requested=bool(i % 2))
                computation = FAMILIES[source].kinds[parent.kind].computation
                if any(k.computation == computation for k in fam.kinds.values()):
                    possible += 1
                    kept += fam.kinds[child.kind].computation == computation
    assert possible and kept >= 0.8 * possible, (kept, possible)


def check_every_kind(name: str, difficulty: int, check_instance: Check, per_kind: int, seed: int,
                     unaskable: Collection[tuple[str, int]] = ()) -> None:
    """Each kind asked `per_kind` times at `difficulty` (half in MCQ form) agrees with the oracle; the kinds in
    `unaskable` cannot be asked at that difficulty at all."""
    rng = np.random.default_rng(seed + difficulty)
    for kind in FAMILIES[name].kinds:
        if (kind, difficulty) in unaskable:
            try:
                sample(name, rng, difficulty, kind=kind)
            except RuntimeError:
                continue
            raise AssertionError(f"{name}/{kind} was asked at difficulty {difficulty}")
        for i in range(per_kind):
            instance = sample(name, rng, difficulty, kind=kind, mcq=bool(i % 2))
            assert instance.kind == kind
            check_instance(instance, mcq_requested=bool(i % 2))
