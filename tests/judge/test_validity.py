"""The checks beyond consensus: image necessity, disputed references, and how they change the partition."""

from __future__ import annotations

import pytest

from cadsynth.config import ChecksConfig
from cadsynth.judge.base import Reply
from cadsynth.judge.consensus import consensus, partition, vote
from cadsynth.judge.validity import IMAGE_NEEDED, REFERENCE_UNDISPUTED, apply, image_needed, reference_dispute
from cadsynth.records import AnswerType, Partition


def judged(answers: list[str | None], reference: str = "40", answer_type=AnswerType.INTEGER, choices=None):
    replies = [Reply(raw=a or "", extracted=a, abstain=None if a is not None else "cannot see")
               for a in answers]
    return consensus([vote(f"j{i}", r, reference, answer_type, choices) for i, r in enumerate(replies)])


def test_image_needed_fails_when_most_blind_judges_are_right():
    config = ChecksConfig()
    assert not image_needed(judged(["40", "40", "30"]), config).passed
    assert image_needed(judged(["40", "30", "20"]), config).passed
    assert image_needed(judged([None, None, None]), config).passed  # nobody answered blind: nothing to say
    strict = ChecksConfig(image_needed_share=1.0)
    assert image_needed(judged(["40", "40", "30"]), strict).passed
    assert "2 of 3" in image_needed(judged(["40", "40", "30"]), config).detail


@pytest.mark.parametrize(
    ("answers", "disputed"),
    [
        (["40", "30", "30"], True),  # two agree on another answer, one supports the reference
        (["40", "30", "20"], False),  # the dissenters disagree with each other: a hard sample
        (["40", "40", "30"], False),
        (["30", "30.0", "40"], True),  # equivalence, not string equality
        (["40", "30", None], False),  # one dissenter is not a dispute
        (["30", "30", "30"], True),  # C = 0 and unanimous: the reference is likely wrong
    ],
)
def test_reference_dispute(answers, disputed):
    check = reference_dispute(judged(answers), AnswerType.INTEGER, ChecksConfig())
    assert check.passed is not disputed


def test_reference_dispute_on_letters():
    choices = {"A": "10", "B": "20", "C": "30", "D": "40"}
    check = reference_dispute(judged(["D", "B", "(B)"], "D", AnswerType.MCQ, choices), AnswerType.MCQ, ChecksConfig())
    assert not check.passed and "'B'" in check.detail


def test_apply_discards_or_flags_as_configured():
    disputed = judged(["40", "30", "30"])
    part, reasons = partition(disputed)
    assert part is Partition.ADVERSARIAL
    checks = [reference_dispute(disputed, AnswerType.INTEGER, ChecksConfig())]
    flagged, _ = apply(part, reasons, checks, ChecksConfig())
    assert flagged is Partition.KEPT  # kept, but never as a hard sample
    dropped, why = apply(part, reasons, checks, ChecksConfig(reference_disputed="discard"))
    assert dropped is Partition.DISCARDED and why[0].startswith(f"{REFERENCE_UNDISPUTED}_failed")
    blind = [image_needed(judged(["40", "40", "40"]), ChecksConfig())]
    assert apply(Partition.KEPT, [], blind, ChecksConfig())[0] is Partition.KEPT
    gone, why = apply(Partition.KEPT, [], blind, ChecksConfig(image_needed="discard"))
    assert gone is Partition.DISCARDED and why[0].startswith(f"{IMAGE_NEEDED}_failed")
    assert apply(Partition.DISCARDED, ["consensus_zero"], blind, ChecksConfig(image_needed="discard")) == (
        Partition.DISCARDED, ["consensus_zero"])
