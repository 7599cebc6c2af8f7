"""Votes, consensus C of K and the partition rule."""

from __future__ import annotations

import pytest

from cadsynth.judge.base import Reply
from cadsynth.judge.consensus import CONSENSUS_ZERO, NO_VOTES, consensus, partition, vote
from cadsynth.records import AnswerType, Partition, Usage, Verdict, Vote

CHOICES = {"A": "30", "B": "40", "C": "50", "D": "60"}


def _vote(judge: str, verdict: Verdict, reason: str | None = None) -> Vote:
    return Vote(judge=judge, raw="x", extracted=None if verdict in (Verdict.ABSTAIN, Verdict.ERROR) else "x",
                verdict=verdict, reason=reason)


def _judge(*verdicts: Verdict):
    votes = [_vote(f"j{i}", v, reason=f"r{i}" if v in (Verdict.ABSTAIN, Verdict.ERROR) else None)
             for i, v in enumerate(verdicts)]
    return consensus(votes)


C, W, A, X = Verdict.CORRECT, Verdict.WRONG, Verdict.ABSTAIN, Verdict.ERROR


# -- vote ------------------------------------------------------------------------------------------------------
def test_vote_correct_and_wrong():
    usage = Usage(prompt_tokens=3, completion_tokens=2, calls=1)
    right = vote("a", Reply(raw="The answer is 40", extracted="40", usage=usage), "40", AnswerType.INTEGER, None)
    assert right.verdict is Verdict.CORRECT
    assert right.extracted == "40" and right.raw == "The answer is 40" and right.usage == usage
    wrong = vote("b", Reply(raw="4", extracted="4"), "40", AnswerType.INTEGER, None)
    assert wrong.verdict is Verdict.WRONG and wrong.judge == "b"


def test_vote_uses_the_matcher():
    assert vote("a", Reply(raw="", extracted="2√5"), r"\sqrt{20}", AnswerType.EXPRESSION, None).verdict is C
    assert vote("a", Reply(raw="", extracted="63%"), "0.63", AnswerType.NUMBER, None).verdict is C


def test_vote_no_extracted_answer_is_wrong_not_abstain():
    v = vote("a", Reply(raw="I don't know", extracted=None), "40", AnswerType.INTEGER, None)
    assert v.verdict is Verdict.WRONG


def test_vote_abstain_and_error_keep_reason_and_drop_answer():
    ab = vote("a", Reply(raw="", extracted="40", abstain="cannot see bars/total"), "40", AnswerType.INTEGER, None)
    assert ab.verdict is Verdict.ABSTAIN and ab.reason == "cannot see bars/total" and ab.extracted is None
    er = vote("b", Reply(raw="", extracted="40", error="timeout"), "40", AnswerType.INTEGER, None)
    assert er.verdict is Verdict.ERROR and er.reason == "timeout" and er.extracted is None


def test_vote_error_wins_over_abstain():
    v = vote("a", Reply(raw="", extracted=None, abstain="x", error="boom"), "40", AnswerType.INTEGER, None)
    assert v.verdict is Verdict.ERROR and v.reason == "boom"


@pytest.mark.parametrize(("extracted", "verdict"), [("C", C), ("(C)", C), ("option C", C), ("50", C), ("B", W),
                                                      ("40", W), ("C. 50", C)])
def test_vote_mcq_maps_by_letter(extracted, verdict):
    v = vote("a", Reply(raw=extracted, extracted=extracted), "C", AnswerType.MCQ, CHOICES)
    assert v.verdict is verdict


# -- consensus -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("verdicts", "c", "k"),
    [
        ((C, C, C), 3, 3),
        ((C, W, W), 1, 3),
        ((W, W), 0, 2),
        ((C, A, X), 1, 1),
        ((W, A, A, X), 0, 1),
        ((A, X), 0, 0),
        ((), 0, 0),
    ],
)
def test_consensus_counts_only_votes(verdicts, c, k):
    judgement = _judge(*verdicts)
    assert (judgement.consensus, judgement.k) == (c, k)
    assert len(judgement.votes) == len(verdicts)  # abstentions and errors are recorded all the same


# -- partition -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ((C, C, C), Partition.KEPT),
        ((C,), Partition.KEPT),
        ((C, C, W), Partition.ADVERSARIAL),
        ((C, W, W), Partition.ADVERSARIAL),
        ((W, W, W), Partition.DISCARDED),
        ((W,), Partition.DISCARDED),
        ((C, C, A), Partition.KEPT),  # the abstainer does not make it adversarial
        ((C, X, X), Partition.KEPT),
        ((C, W, A, X), Partition.ADVERSARIAL),
        ((W, A, A), Partition.DISCARDED),
    ],
)
def test_partition_rule(verdicts, expected):
    judgement = _judge(*verdicts)
    part, reasons = partition(judgement)
    assert part is expected
    assert judgement.disagreement == (part is Partition.ADVERSARIAL)
    if part is Partition.DISCARDED:
        assert reasons == [CONSENSUS_ZERO]
    else:
        assert reasons == []


def test_all_abstain_is_discarded_with_reasons():
    votes = [
        _vote("small", A, "cannot see grid/distance: held-out accuracy 0.30 vs blank image 0.28"),
        _vote("tiny", A, "text-only question: this judge answers from an image"),
        _vote("remote", X, "HTTP 503"),
        _vote("quiet", A),  # no reason: nothing to add
    ]
    judgement = consensus(votes)
    assert judgement.k == 0 and judgement.consensus == 0 and not judgement.disagreement
    part, reasons = partition(judgement)
    assert part is Partition.DISCARDED
    assert reasons[0] == NO_VOTES
    assert CONSENSUS_ZERO not in reasons
    assert sorted(reasons[1:]) == reasons[1:]
    assert set(reasons[1:]) == {
        "small: cannot see grid/distance: held-out accuracy 0.30 vs blank image 0.28",
        "tiny: text-only question: this judge answers from an image",
        "remote: HTTP 503",
    }


def test_all_abstain_duplicate_reasons_listed_once():
    votes = [_vote("a", A, "same"), _vote("a", A, "same")]
    assert partition(consensus(votes)) == (Partition.DISCARDED, [NO_VOTES, "a: same"])


def test_no_judges_at_all():
    assert partition(consensus([])) == (Partition.DISCARDED, [NO_VOTES])


def test_end_to_end_mcq_round():
    replies = {
        "j1": Reply(raw="C", extracted="C"),
        "j2": Reply(raw="50", extracted="50"),  # option text, mapped to C
        "j3": Reply(raw="(B)", extracted="(B)"),
        "j4": Reply(raw="", extracted=None, abstain="cannot see bars/total"),
    }
    votes = [vote(name, r, "C", AnswerType.MCQ, CHOICES) for name, r in replies.items()]
    judgement = consensus(votes)
    assert (judgement.consensus, judgement.k) == (2, 3)
    assert partition(judgement) == (Partition.ADVERSARIAL, [])
