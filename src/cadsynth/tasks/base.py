"""What every task family provides, and the instance it produces.

A family draws a *scene* (everything the image shows, as plain JSON), asks a *question kind* about it, and
computes the answer from the scene. Families never guess: the answer is a function of the scene and the
question arguments. The four meta-strategies (see `strategies.py`) transform one instance into another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from cadsynth.records import AnswerType
from cadsynth.tasks.render import to_image

Scene = dict[str, Any]
Args = dict[str, Any]

DIFFICULTIES = (1, 2, 3)
LETTERS = "ABCD"

# Okabe-Ito: a colour-blind-safe palette, with the names questions use.
PALETTE: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "red": "#D55E00",
    "purple": "#CC79A7",
    "sky blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}


@dataclass(frozen=True)
class Kind:
    """A question kind: its computation class (shared across families for isomorphic transfer) and solver."""

    name: str
    computation: str  # read | count | difference | extremum | sum | product | ratio | find
    ask: Callable[[Scene, np.random.Generator], Args | None]  # None: this scene cannot carry the question
    text: Callable[[Scene, Args], str]
    solve: Callable[[Scene, Args], Any]
    answer_type: AnswerType = AnswerType.INTEGER
    reverse: str | None = None  # logic reversion: the kind that asks for what this one is given
    extend: str | None = None  # auxiliary extension: the kind with one more reasoning step


@dataclass(frozen=True)
class Instance:
    """One generated question about one scene, with its computed answer."""

    family: str
    difficulty: int
    scene: Scene
    kind: str
    args: Args
    question: str
    answer: str
    answer_type: AnswerType
    solution: str
    choices: dict[str, str] | None = None
    knobs: dict[str, Any] = field(default_factory=dict)

    @property
    def answer_text(self) -> str:
        """The answer as the value a judge should produce (the option text for MCQ)."""
        return self.choices[self.answer] if self.choices else self.answer


class Family:
    """Base class of a task family. Subclasses define `name`, `domain`, `kinds`, and the scene methods."""

    name: str = ""
    domain: str = ""
    kinds: dict[str, Kind] = {}
    aliases: tuple[str, ...] = ()  # words that name this family in a text seed ("food web", "predator")
    size_knob: str | None = None  # the (lo, hi) knob a description such as "6-8 species" sets
    size_nouns: tuple[str, ...] = ()  # the nouns that count that knob in a description ("species")

    def knobs(self, difficulty: int) -> dict[str, Any]:
        """The difficulty knobs in force at a level (e.g. number of bars, value range)."""
        raise NotImplementedError

    def scene(self, rng: np.random.Generator, difficulty: int, knobs: dict[str, Any] | None = None) -> Scene:
        """A random scene at `difficulty`; `knobs` (default: `self.knobs(difficulty)`) overrides the levers."""
        raise NotImplementedError

    def vary(self, scene: Scene, rng: np.random.Generator) -> Scene:
        """Parameter variation: the same structure (element counts, style) with new quantities."""
        raise NotImplementedError

    def extend_scene(self, scene: Scene, rng: np.random.Generator) -> Scene:
        """Auxiliary extension: the same scene with one more element (or unchanged when full)."""
        raise NotImplementedError

    def draw(self, scene: Scene) -> Figure:
        """The scene as a matplotlib figure (see `render.canvas`)."""
        raise NotImplementedError

    def render(self, scene: Scene) -> Image.Image:
        return to_image(self.draw(scene))

    def visible_texts(self, scene: Scene) -> list[str]:
        """Every text the image of `scene` must show (labels, ticks, titles), one entry per drawn occurrence.

        Derived from the figure the family itself draws, so it is the renderer's ground truth: the OCR check
        (`cadsynth.checks.ocr`) requires these and treats them as the legitimate texts of the image.
        """
        from cadsynth.tasks.render import text_boxes

        return [text for text, _ in text_boxes(self.draw(scene))]

    def distractors(self, scene: Scene, kind: str, args: Args, answer: Any, rng: np.random.Generator) -> list[Any]:
        """Plausible wrong options for multiple choice (the answer itself is removed by the caller)."""
        return numeric_distractors(answer, rng)

    def format_answer(self, kind: str, value: Any) -> str:
        return format_value(value)

    def solution(self, scene: Scene, kind: str, args: Args, value: Any) -> str:
        return f"Read the needed values from the image and compute: {self.format_answer(kind, value)}."


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def numeric_distractors(answer: Any, rng: np.random.Generator, step: int | None = None) -> list[Any]:
    """Near misses around a numeric answer: off by one step, doubled, halved."""
    if not isinstance(answer, int | float):
        return []
    step = step or (10 if isinstance(answer, int) and answer >= 20 and answer % 10 == 0 else 1)
    pool = [answer + step, answer - step, answer + 2 * step, answer - 2 * step, answer * 2]
    return [p for p in pool if p >= 0 and p != answer]


def with_choices(
    instance: Instance, family: Family, value: Any, rng: np.random.Generator
) -> Instance:
    """The multiple-choice form of an instance: four options A-D, one correct, distractors never equal to it."""
    correct = family.format_answer(instance.kind, value)
    options: list[str] = []
    for candidate in family.distractors(instance.scene, instance.kind, instance.args, value, rng):
        text = family.format_answer(instance.kind, candidate)
        if text != correct and text not in options:
            options.append(text)
    if len(options) < 3:
        return instance  # not enough plausible options: keep the open form
    chosen = [options[i] for i in rng.permutation(len(options))[:3]]
    position = int(rng.integers(0, 4))
    chosen.insert(position, correct)
    choices = dict(zip(LETTERS, chosen, strict=True))
    return Instance(
        family=instance.family,
        difficulty=instance.difficulty,
        scene=instance.scene,
        kind=instance.kind,
        args=instance.args,
        question=instance.question,
        answer=LETTERS[position],
        answer_type=AnswerType.MCQ,
        solution=f"{instance.solution} The answer is option {LETTERS[position]}.",
        choices=choices,
        knobs=instance.knobs,
    )
