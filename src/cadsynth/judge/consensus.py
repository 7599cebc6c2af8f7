"""Votes, consensus C of K, and the partition rule of CADS.

C counts judges whose answer is equivalent to the reference; K counts judges that voted (abstentions and
failed calls are recorded but do not count). C = 0 discards, C >= 1 keeps, 0 < C < K marks adversarial.
"""

from __future__ import annotations

from cadsynth.answers import match
from cadsynth.judge.base import Reply
from cadsynth.records import AnswerType, Judgement, Partition, Verdict, Vote

NO_VOTES = "no_judge_voted"
CONSENSUS_ZERO = "consensus_zero"


def vote(judge: str, reply: Reply, reference: str, answer_type: AnswerType,
         choices: dict[str, str] | None) -> Vote:
    if reply.skipped:
        return Vote(judge=judge, raw="", extracted=None, verdict=Verdict.SKIPPED,
                    reason="not asked: the partition was already decided (checks.early_stop)")
    if reply.error is not None:
        return Vote(judge=judge, raw=reply.raw, extracted=None, verdict=Verdict.ERROR, reason=reply.error,
                    caption=reply.caption, usage=reply.usage)
    if reply.abstain is not None:
        return Vote(judge=judge, raw=reply.raw, extracted=None, verdict=Verdict.ABSTAIN, reason=reply.abstain,
                    caption=reply.caption, usage=reply.usage)
    how = match(reply.extracted, reference, answer_type, choices) or ("llm" if reply.llm_equivalent else None)
    return Vote(judge=judge, raw=reply.raw, extracted=reply.extracted,
                verdict=Verdict.CORRECT if how else Verdict.WRONG, matched_by=how, caption=reply.caption,
                usage=reply.usage)


def consensus(votes: list[Vote]) -> Judgement:
    counted = [v for v in votes if v.verdict in (Verdict.CORRECT, Verdict.WRONG)]
    return Judgement(votes=votes, consensus=sum(v.verdict is Verdict.CORRECT for v in counted), k=len(counted))


def partition(judgement: Judgement) -> tuple[Partition, list[str]]:
    """The paper's rule, with the reason for a discard."""
    if judgement.k == 0:
        reasons = sorted({f"{v.judge}: {v.reason}" for v in judgement.votes if v.reason})
        return Partition.DISCARDED, [NO_VOTES, *reasons]
    if judgement.consensus == 0:
        return Partition.DISCARDED, [CONSENSUS_ZERO]
    if judgement.consensus < judgement.k:
        return Partition.ADVERSARIAL, []
    return Partition.KEPT, []
