"""Shared test helpers: a factory for valid `Sample` records."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from cadsynth.records import AnswerType, Judgement, Partition, Provenance, Sample, Strategy, Verdict, Vote

_ids = itertools.count()


def make_sample(
    *,
    family: str | None = "bars",
    difficulty: int | None = 1,
    partition: Partition | str = Partition.KEPT,
    consensus: int | None = None,
    k: int = 3,
    strategy: Strategy | str = Strategy.PARAMETER_VARIATION,
    round_: int = 1,
    context_version: int = 0,
    judged: bool = True,
    **overrides: Any,
) -> Sample:
    """A valid Sample whose judgement agrees with `partition` (C=K kept, 0<C<K adversarial, C=0 discarded)."""
    partition = Partition(partition)
    if consensus is None:
        consensus = {Partition.KEPT: k, Partition.ADVERSARIAL: max(1, k - 1), Partition.DISCARDED: 0}[partition]
    votes = [
        Vote(judge=f"j{i}", raw="40", extracted="40", verdict=Verdict.CORRECT if i < consensus else Verdict.WRONG)
        for i in range(k)
    ]
    n = next(_ids)
    fields: dict[str, Any] = {
        "id": f"s{n:05d}",
        "provenance": Provenance(seed_id=f"seed{n}", member="program", strategy=Strategy(strategy), round=round_,
                                 context_version=context_version, index=n),
        "question": "What is the value of the tallest bar?",
        "answer": "40",
        "answer_type": AnswerType.INTEGER,
        "family": family,
        "difficulty": difficulty,
        "judgement": Judgement(votes=votes, consensus=consensus, k=k) if judged else None,
        "partition": partition,
        "discard_reasons": ["consensus_zero"] if partition is Partition.DISCARDED else [],
    }
    fields.update(overrides)
    return Sample(**fields)


@pytest.fixture
def sample_factory():
    return make_sample
