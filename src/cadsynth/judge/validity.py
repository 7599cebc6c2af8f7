"""Checks beyond consensus that use the judges themselves: does the question need its image, and is the
reference answer disputed by judges who agree with each other?

The paper keeps every sample with C >= 1; consensus measures agreement, not truth. These two rules catch the two
commonest ways a kept sample is wrong (see PAPER.md, "Known weaknesses"), and `apply` folds their verdicts into
the partition as the config says: discard the sample, or keep it with the failed check recorded.
"""

from __future__ import annotations

from cadsynth.answers import equivalent, letter
from cadsynth.config import ChecksConfig
from cadsynth.records import AnswerType, Check, Judgement, Partition, Verdict

IMAGE_NEEDED = "image_needed"
REFERENCE_UNDISPUTED = "reference_undisputed"


def image_needed(blind: Judgement, config: ChecksConfig) -> Check:
    """Fails when at least `image_needed_share` of the judges that voted reach the reference without the image."""
    if blind.k == 0:
        return Check(name=IMAGE_NEEDED, passed=True, detail="no judge answered without the image")
    share = blind.consensus / blind.k
    passed = share < config.image_needed_share
    return Check(name=IMAGE_NEEDED, passed=passed,
                 detail=f"{blind.consensus} of {blind.k} judges reached the reference without the image")


def reference_dispute(judgement: Judgement, answer_type: AnswerType, config: ChecksConfig) -> Check:
    """Fails when judges that reject the reference agree with each other on one other answer, and outnumber
    both `dispute_min_agreeing` - 1 and the judges that support the reference."""
    mcq = answer_type is AnswerType.MCQ
    wrong = [(letter(v.extracted) or v.extracted) if mcq else v.extracted
             for v in judgement.votes if v.verdict is Verdict.WRONG and v.extracted]
    groups: list[list[str]] = []
    for answer in wrong:
        for group in groups:
            if equivalent(answer, group[0], AnswerType.TEXT if mcq else answer_type):
                group.append(answer)
                break
        else:
            groups.append([answer])
    largest = max(groups, key=len, default=[])
    disputed = len(largest) >= config.dispute_min_agreeing and len(largest) > judgement.consensus
    detail = (f"{len(largest)} judges agree on '{largest[0]}' against the reference "
              f"({judgement.consensus} support it)" if largest else "no judge proposed another answer")
    return Check(name=REFERENCE_UNDISPUTED, passed=not disputed, detail=detail)


def apply(partition: Partition, reasons: list[str], checks: list[Check],
          config: ChecksConfig) -> tuple[Partition, list[str]]:
    """The partition after the checks: a failed check discards or flags, as configured per check."""
    if partition is Partition.DISCARDED:
        return partition, reasons
    actions = {IMAGE_NEEDED: config.image_needed, REFERENCE_UNDISPUTED: config.reference_disputed,
               "labels_visible": config.ocr, "answer_leak": config.ocr, "near_duplicate": config.near_duplicates}
    for check in checks:
        if check.passed or check.name not in actions:
            continue
        if actions[check.name] == "discard":
            return Partition.DISCARDED, [f"{check.name}_failed: {check.detail}"]
        if check.name == REFERENCE_UNDISPUTED and partition is Partition.ADVERSARIAL:
            partition = Partition.KEPT  # a disputed sample is not a hard one: keep it out of the adversarial pool
    return partition, reasons
