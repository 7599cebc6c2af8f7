"""The data model: seeds in, samples out, with every vote and decision that shaped them.

Records are immutable pydantic models that round-trip through JSON. A kept sample answers from its record
alone which seed, member, strategy, round and context version made it, how its image was made, what each
judge replied, the consensus C of K, the partition and every reason.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=False)


class AnswerType(StrEnum):
    """How a reference answer is compared: letters, integers, reals with tolerance, free text, LaTeX."""

    MCQ = "mcq"
    INTEGER = "integer"
    NUMBER = "number"
    TEXT = "text"
    EXPRESSION = "expression"


class Strategy(StrEnum):
    """The four meta-strategies of CAD-Generate."""

    PARAMETER_VARIATION = "parameter_variation"
    LOGIC_REVERSION = "logic_reversion"
    AUXILIARY_EXTENSION = "auxiliary_extension"
    ISOMORPHIC_TRANSFER = "isomorphic_transfer"


class Partition(StrEnum):
    DISCARDED = "discarded"  # C = 0, or a failed step or check
    KEPT = "kept"  # C = K: clean, easy
    ADVERSARIAL = "adversarial"  # 0 < C < K: kept, and marks a disagreement
    UNJUDGED = "unjudged"  # K = 0: no judge can see the question, but a program computed the answer; kept


class Verdict(StrEnum):
    CORRECT = "correct"
    WRONG = "wrong"
    ABSTAIN = "abstain"  # the judge declares the question outside what it can see; not counted in K
    ERROR = "error"  # the call failed; not counted in K
    SKIPPED = "skipped"  # not asked: the partition was already decided (checks.early_stop); not counted in K


class Seed(Record):
    """One item of the seed pool: a real sample, or a text-only task description (``image`` is None)."""

    id: str
    source: str  # reader name, e.g. "mathv", "dynamath", "jsonl", "program"
    question: str
    answer: str | None = None
    answer_type: AnswerType | None = None
    choices: dict[str, str] | None = None  # letter -> option text
    solution: str | None = None
    image: str | None = None  # absolute path of the image file, None for text-only seeds
    domain: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)  # reader-specific extras (subject, level, program family...)


class SeedProblem(Record):
    """A seed that could not be used, with the reason; reported and skipped."""

    seed_id: str
    source: str
    reason: str


class ImageSource(Record):
    """How the image of a sample was made."""

    kind: Literal["program", "code", "prompt", "seed"]
    program: str | None = None  # task family for program images
    params: dict[str, Any] | None = None  # the family's scene parameters
    code: str | None = None  # model-written rendering code
    language: str | None = None  # matplotlib | svg | dot
    prompt: str | None = None  # visual prompt for text-to-image


class ImageRef(Record):
    """A content-addressed image file in the run store."""

    sha256: str
    path: str  # relative to the run directory
    width: int
    height: int


class Usage(Record):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            calls=self.calls + other.calls,
        )


class Provenance(Record):
    seed_id: str
    member: str  # generator member name
    strategy: Strategy
    round: int  # 1-based
    context_version: int  # version of the generation context that was in force
    index: int = 0  # candidate index of this member in this round
    parent_id: str | None = None  # the seed or sample this one was derived from
    image_source: ImageSource | None = None


class Vote(Record):
    """One judge's blind answer."""

    judge: str
    raw: str  # the judge's reply, verbatim
    extracted: str | None  # the final answer pulled from the reply (mapped to a letter for MCQ)
    verdict: Verdict
    reason: str | None = None  # why abstain/error/wrong when there is more to say
    matched_by: str | None = None  # how the answer was found equivalent: letter, exact, numeric, math-verify, llm
    caption: str | None = None  # caption mode: what a vision member wrote about the image for this judge
    usage: Usage = Field(default_factory=Usage)


class Step(Record):
    """One call a generator member made toward a sample: rationale analysis, synthesis, construction, drawing."""

    name: str
    template: str | None = None  # prompt template as name@version
    raw: str = ""  # the model's reply, verbatim
    error: str | None = None  # why the step failed (invalid JSON twice, endpoint down, ...)
    usage: Usage = Field(default_factory=Usage)  # as first spent (a reply replayed from the cache keeps it)


class Judgement(Record):
    votes: list[Vote]
    consensus: int  # C: votes equivalent to the reference
    k: int  # K: judges that voted (abstentions and errors do not count)

    @property
    def disagreement(self) -> bool:
        return 0 < self.consensus < self.k


class Check(Record):
    """The verdict of one validity check beyond consensus (e.g. an answer recomputed by the program)."""

    name: str
    passed: bool
    detail: str | None = None


class Sample(Record):
    id: str
    provenance: Provenance
    question: str
    choices: dict[str, str] | None = None
    answer: str
    answer_type: AnswerType
    solution: str | None = None
    domain: str | None = None
    family: str | None = None
    difficulty: int | None = None  # 1 (easy) .. 3 (hard) for program members
    knobs: dict[str, Any] = Field(default_factory=dict)
    question_kind: str | None = None
    image: ImageRef | None = None
    judgement: Judgement | None = None
    blind: Judgement | None = None  # the same judges answering without the image (image-necessity check)
    partition: Partition
    discard_reasons: list[str] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)  # the generator member's calls (LLM members)
    usage: Usage = Field(default_factory=Usage)  # generation, drawing and judging together

    @property
    def kept(self) -> bool:
        return self.partition is not Partition.DISCARDED

    @property
    def kept_by_committee(self) -> bool:
        """Kept on the committee's votes (C >= 1), not merely verified by construction (unjudged)."""
        return self.partition in (Partition.KEPT, Partition.ADVERSARIAL)


def stable_hash(*parts: Any, length: int = 16) -> str:
    """A short hex digest of JSON-serialisable parts; ids and RNG streams derive from it."""
    payload = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:length]
