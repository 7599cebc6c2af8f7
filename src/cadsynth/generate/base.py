"""What every generator member produces: candidates, each a draft question with the recipe of its image.

A draft carries everything a judge, a check and the record need; its `image_source` says how the image is made
(a program scene, model-written code, a visual prompt for a text-to-image model). Members differ in how they
write drafts, never in what a draft is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from cadsynth.records import AnswerType, ImageSource, Seed, Step, Strategy


@dataclass(frozen=True)
class Draft:
    question: str
    answer: str
    answer_type: AnswerType
    image_source: ImageSource
    choices: dict[str, str] | None = None
    solution: str | None = None
    domain: str | None = None
    family: str | None = None  # task family (program members)
    difficulty: int | None = None
    knobs: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None  # question kind (program members)


@dataclass(frozen=True)
class Candidate:
    """One generated child, or the reason generation failed, with the calls that made it."""

    index: int
    strategy: Strategy
    draft: Draft | None
    error: str | None = None
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Request:
    """What a member is asked for in one unit: children of `seed` in `round_`, under a generation context."""

    seed: Seed
    round: int
    context: Any  # cadsynth.context.program.ProgramContext
    rng: np.random.Generator
    assignment: str = "context"
    allowed: tuple[Strategy, ...] = tuple(Strategy)
    previous: tuple[str, ...] = ()  # questions already generated from this seed (not to be repeated)


class Member(Protocol):
    name: str

    async def generate(self, request: Request) -> list[Candidate]: ...
