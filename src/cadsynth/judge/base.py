"""What a judge sees and what it returns. A judge never sees the reference answer, solution or visual spec."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image

from cadsynth.records import Usage


@dataclass(frozen=True)
class JudgeItem:
    """A blind question: the image, the question stem and its options; family/kind only say what it is about."""

    question: str
    image: Image.Image | None
    choices: dict[str, str] | None = None
    family: str | None = None
    kind: str | None = None
    blind: bool = False  # answer without the image (the image-necessity check): `image` is not to be looked at


@dataclass(frozen=True)
class Reply:
    """A judge's answer to one item: the raw reply and the extracted answer, or why it did not answer."""

    raw: str
    extracted: str | None
    abstain: str | None = None  # reason, when the judge declares the question outside what it can see
    error: str | None = None  # reason, when the call failed
    skipped: bool = False  # not asked, because the partition was already decided
    usage: Usage = field(default_factory=Usage)
    caption: str | None = None  # caption mode: the description the judge answered from instead of the image
    llm_equivalent: bool | None = None  # an equivalence model's verdict where the rules found no match


class Judge(Protocol):
    name: str

    async def answer(self, items: list[JudgeItem]) -> list[Reply]: ...
