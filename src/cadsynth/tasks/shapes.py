"""Counting and spatial relations: coloured circles, squares and triangles, sometimes split by a dashed line."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Polygon, Rectangle

from cadsynth.records import AnswerType
from cadsynth.tasks.base import PALETTE, Args, Family, Kind, Scene, numeric_distractors
from cadsynth.tasks.render import canvas

SHAPE_KINDS = ["circle", "square", "triangle"]
COLOURS = ["blue", "orange", "green", "purple"]

KNOBS = {
    1: {"count": (1, 3), "kinds": 1, "radius": 0.09, "divider": False},
    2: {"count": (1, 6), "kinds": 2, "radius": 0.07, "divider": True},
    3: {"count": (2, 9), "kinds": 3, "radius": 0.055, "divider": True},
}
MAX_SHAPES = 10


def _counts(scene: Scene) -> dict[str, int]:
    return {k: sum(s["kind"] == k for s in scene["shapes"]) for k in scene["kinds"]}


def _present_kind(scene: Scene, rng: np.random.Generator) -> Args:
    return {"kind": scene["kinds"][int(rng.integers(len(scene["kinds"])))]}


def _present_colour(scene: Scene, rng: np.random.Generator) -> Args | None:
    colours = sorted({s["colour"] for s in scene["shapes"]})
    return {"colour": colours[int(rng.integers(len(colours)))]} if colours else None


def _with_divider(scene: Scene, rng: np.random.Generator) -> Args | None:
    return {} if scene["divider"] is not None else None


def _ordered_kinds(scene: Scene, rng: np.random.Generator) -> Args | None:
    counts = _counts(scene)
    pairs = [(a, b) for a in counts for b in counts if counts[a] > counts[b]]
    if not pairs:
        return None
    a, b = pairs[int(rng.integers(len(pairs)))]
    return {"a": a, "b": b}


def _unique_most(scene: Scene, rng: np.random.Generator) -> Args | None:
    counts = list(_counts(scene).values())
    return {} if len(counts) > 1 and counts.count(max(counts)) == 1 else None


def _unique_count(scene: Scene, rng: np.random.Generator) -> Args | None:
    counts = _counts(scene)
    values = list(counts.values())
    unique = [k for k, v in counts.items() if values.count(v) == 1 and v > 0]
    if len(counts) < 2 or not unique:
        return None
    return {"n": counts[unique[int(rng.integers(len(unique)))]]}


def _whole_percent(scene: Scene, rng: np.random.Generator) -> Args | None:
    total = len(scene["shapes"])
    counts = _counts(scene)
    kinds = [k for k, v in counts.items() if total and (100 * v) % total == 0]
    return {"kind": kinds[int(rng.integers(len(kinds)))]} if kinds else None


KINDS = {
    "count_all": Kind(
        "count_all", "count", lambda s, r: {},
        lambda s, a: "How many shapes are there in the picture?",
        lambda s, a: len(s["shapes"]), reverse="which_count", extend="count_left",
    ),
    "count_kind": Kind(
        "count_kind", "count", _present_kind,
        lambda s, a: f"How many {a['kind']}s are there?",
        lambda s, a: _counts(s)[a["kind"]], reverse="which_count", extend="more_than",
    ),
    "count_colour": Kind(
        "count_colour", "count", _present_colour,
        lambda s, a: f"How many {a['colour']} shapes are there?",
        lambda s, a: sum(x["colour"] == a["colour"] for x in s["shapes"]), reverse="count_all", extend="count_kind",
    ),
    "count_left": Kind(
        "count_left", "count", _with_divider,
        lambda s, a: "How many shapes are to the left of the dashed line?",
        lambda s, a: sum(x["x"] < s["divider"] for x in s["shapes"]), reverse="count_all", extend="more_than",
    ),
    "more_than": Kind(
        "more_than", "difference", _ordered_kinds,
        lambda s, a: f"How many more {a['a']}s than {a['b']}s are there?",
        lambda s, a: _counts(s)[a["a"]] - _counts(s)[a["b"]], reverse="count_kind", extend="percent_kind",
    ),
    "which_most": Kind(
        "which_most", "extremum", _unique_most,
        lambda s, a: "Which kind of shape appears most often?",
        lambda s, a: max(_counts(s).items(), key=lambda kv: kv[1])[0],
        answer_type=AnswerType.TEXT, reverse="count_kind", extend="more_than",
    ),
    "which_count": Kind(
        "which_count", "find", _unique_count,
        lambda s, a: f"Which kind of shape appears exactly {a['n']} times?",
        lambda s, a: next(k for k, v in _counts(s).items() if v == a["n"]),
        answer_type=AnswerType.TEXT, reverse="count_kind", extend="more_than",
    ),
    "percent_kind": Kind(
        "percent_kind", "ratio", _whole_percent,
        lambda s, a: f"What percent of the shapes are {a['kind']}s?",
        lambda s, a: 100 * _counts(s)[a["kind"]] // len(s["shapes"]),
        answer_type=AnswerType.NUMBER, reverse="count_kind", extend="percent_kind",
    ),
}


class Shapes(Family):
    name = "shapes"
    domain = "counting"
    aliases = ("count", "circle", "square", "triangle", "shape")
    size_knob = "count"
    size_nouns = ("shapes",)
    kinds = KINDS

    def knobs(self, difficulty: int) -> dict[str, Any]:
        return dict(KNOBS[difficulty])

    def scene(self, rng: np.random.Generator, difficulty: int, knobs: dict[str, Any] | None = None) -> Scene:
        k = knobs or KNOBS[difficulty]
        n = int(rng.integers(k["count"][0], k["count"][1] + 1))
        kinds = SHAPE_KINDS[: k["kinds"]]
        divider = round(float(rng.uniform(0.35, 0.65)), 3) if k["divider"] else None
        scene: Scene = {"kinds": kinds, "radius": k["radius"], "divider": divider, "shapes": []}
        for _ in range(n):
            scene = self._add(scene, rng)
        return scene

    def _add(self, scene: Scene, rng: np.random.Generator) -> Scene:
        r, shapes = scene["radius"], scene["shapes"]
        for _ in range(200):
            x, y = (round(float(v), 3) for v in rng.uniform(r + 0.02, 1 - r - 0.02, size=2))
            clear_of_line = scene["divider"] is None or abs(x - scene["divider"]) > r + 0.02
            if clear_of_line and all((x - s["x"]) ** 2 + (y - s["y"]) ** 2 > (2.3 * r) ** 2 for s in shapes):
                kind = scene["kinds"][int(rng.integers(len(scene["kinds"])))]
                colour = COLOURS[int(rng.integers(len(COLOURS)))]
                return {**scene, "shapes": [*shapes, {"kind": kind, "colour": colour, "x": x, "y": y}]}
        return scene

    def vary(self, scene: Scene, rng: np.random.Generator) -> Scene:
        fresh: Scene = {**scene, "shapes": []}
        for _ in range(len(scene["shapes"])):
            fresh = self._add(fresh, rng)
        return fresh

    def extend_scene(self, scene: Scene, rng: np.random.Generator) -> Scene:
        return scene if len(scene["shapes"]) >= MAX_SHAPES else self._add(scene, rng)

    def draw(self, scene: Scene) -> Figure:
        fig, ax = canvas((0.02, 0.02, 0.96, 0.96))
        r = scene["radius"]
        for s in scene["shapes"]:
            colour = PALETTE[s["colour"]]
            if s["kind"] == "circle":
                patch = Circle((s["x"], s["y"]), r, color=colour)
            elif s["kind"] == "square":
                patch = Rectangle((s["x"] - r * 0.9, s["y"] - r * 0.9), 1.8 * r, 1.8 * r, color=colour)
            else:
                patch = Polygon([(s["x"] - r, s["y"] - r * 0.85), (s["x"] + r, s["y"] - r * 0.85), (s["x"], s["y"] + r)],
                                color=colour)
            ax.add_patch(patch)
        if scene["divider"] is not None:
            ax.axvline(scene["divider"], color="black", linestyle="--", linewidth=2.5)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.axis("off")
        return fig

    def distractors(self, scene: Scene, kind: str, args: Args, answer: Any, rng: np.random.Generator) -> list[Any]:
        if kind in ("which_most", "which_count"):
            return [k for k in SHAPE_KINDS if k != answer]
        if kind == "percent_kind":
            return [p for p in (answer + 10, answer - 10, answer + 25, answer - 25, 100 - answer) if 0 <= p <= 100]
        return numeric_distractors(answer, rng, step=1)

    def format_answer(self, kind: str, value: Any) -> str:
        return f"{value}%" if kind == "percent_kind" else str(value)

    def solution(self, scene: Scene, kind: str, args: Args, value: Any) -> str:
        listing = ", ".join(f"{v} {k}(s)" for k, v in _counts(scene).items())
        return f"Counting the shapes: {listing}. So the answer is {self.format_answer(kind, value)}."
