"""Geometry on a coordinate grid: points and a rectangle; coordinates, lengths, distances, areas, perimeters.

Points are told apart by colour as well as by letter, so a question about "the blue point A" needs no reading.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cadsynth.records import AnswerType
from cadsynth.tasks.base import PALETTE, Args, Family, Kind, Scene, numeric_distractors
from cadsynth.tasks.render import FONT_SIZE, canvas

POINT_COLOURS = ["blue", "red", "green", "purple"]
NAMES = "ABCD"

KNOBS = {
    1: {"size": 6, "points": 1, "side": 3},
    2: {"size": 8, "points": 2, "side": 5},
    3: {"size": 10, "points": 3, "side": 7},
}


def _point(scene: Scene, name: str) -> dict[str, Any]:
    return next(p for p in scene["points"] if p["name"] == name)


def _ref(point: dict[str, Any]) -> str:
    return f"the {point['colour']} point {point['name']}"


def _any_point(scene: Scene, rng: np.random.Generator) -> Args:
    return {"p": scene["points"][int(rng.integers(len(scene["points"])))]["name"]}


def _aligned_pair(scene: Scene, rng: np.random.Generator) -> Args | None:
    pts = scene["points"]
    pairs = [
        (a["name"], b["name"])
        for i, a in enumerate(pts)
        for b in pts[i + 1 :]
        if (a["x"] == b["x"]) != (a["y"] == b["y"])
    ]
    if not pairs:
        return None
    a, b = pairs[int(rng.integers(len(pairs)))]
    return {"a": a, "b": b}


def _any_pair(scene: Scene, rng: np.random.Generator) -> Args | None:
    pts = scene["points"]
    if len(pts) < 2:
        return None
    i, j = sorted(int(k) for k in rng.choice(len(pts), size=2, replace=False))
    return {"a": pts[i]["name"], "b": pts[j]["name"]}


def _unique_x(scene: Scene, rng: np.random.Generator) -> Args | None:
    xs = [p["x"] for p in scene["points"]]
    unique = [x for x in xs if xs.count(x) == 1]
    return {"x": unique[int(rng.integers(len(unique)))]} if unique else None


def _highest(scene: Scene, rng: np.random.Generator) -> Args | None:
    ys = [p["y"] for p in scene["points"]]
    return {} if len(ys) > 1 and ys.count(max(ys)) == 1 else None


def _length(scene: Scene, a: dict[str, Any]) -> int:
    p, q = _point(scene, a["a"]), _point(scene, a["b"])
    return abs(p["x"] - q["x"]) + abs(p["y"] - q["y"])


def _distance(scene: Scene, a: dict[str, Any]) -> str:
    p, q = _point(scene, a["a"]), _point(scene, a["b"])
    return surd((p["x"] - q["x"]) ** 2 + (p["y"] - q["y"]) ** 2)


def surd(square: int) -> str:
    """sqrt(square) in simplest radical form: 5, 2√5, √2."""
    outside, inside = 1, square
    for f in range(int(math.isqrt(square)), 1, -1):
        if inside % (f * f) == 0:
            outside, inside = f, inside // (f * f)
            break
    if inside == 1:
        return str(outside)
    return f"√{inside}" if outside == 1 else f"{outside}√{inside}"


def _inside(scene: Scene) -> int:
    r = scene["rect"]
    return sum(r["x0"] < p["x"] < r["x0"] + r["w"] and r["y0"] < p["y"] < r["y0"] + r["h"] for p in scene["points"])


KINDS = {
    "point_x": Kind(
        "point_x", "read", _any_point,
        lambda s, a: f"What is the x-coordinate of {_ref(_point(s, a['p']))}?",
        lambda s, a: _point(s, a["p"])["x"], reverse="which_at_x", extend="seg_length",
    ),
    "point_y": Kind(
        "point_y", "read", _any_point,
        lambda s, a: f"What is the y-coordinate of {_ref(_point(s, a['p']))}?",
        lambda s, a: _point(s, a["p"])["y"], reverse="which_at_x", extend="seg_length",
    ),
    "which_at_x": Kind(
        "which_at_x", "find", _unique_x,
        lambda s, a: f"Which point has x-coordinate {a['x']}? Answer with its colour.",
        lambda s, a: next(p["colour"] for p in s["points"] if p["x"] == a["x"]),
        answer_type=AnswerType.TEXT, reverse="point_x", extend="seg_length",
    ),
    "highest": Kind(
        "highest", "extremum", _highest,
        lambda s, a: "Which point has the largest y-coordinate? Answer with its colour.",
        lambda s, a: max(s["points"], key=lambda p: p["y"])["colour"],
        answer_type=AnswerType.TEXT, reverse="point_y", extend="distance",
    ),
    "seg_length": Kind(
        "seg_length", "difference", _aligned_pair,
        lambda s, a: f"What is the length of the segment from {_ref(_point(s, a['a']))} to {_ref(_point(s, a['b']))}?",
        _length, reverse="point_x", extend="distance",
    ),
    "distance": Kind(
        "distance", "distance", _any_pair,
        lambda s, a: f"What is the distance between {_ref(_point(s, a['a']))} and {_ref(_point(s, a['b']))}? "
        "Give an exact value (use √ for square roots).",
        _distance, answer_type=AnswerType.EXPRESSION, reverse="seg_length", extend="distance",
    ),
    "rect_area": Kind(
        "rect_area", "product", lambda s, r: {},
        lambda s, a: "What is the area of the shaded rectangle, in square units?",
        lambda s, a: s["rect"]["w"] * s["rect"]["h"], reverse="rect_side", extend="rect_perimeter",
    ),
    "rect_side": Kind(
        "rect_side", "product", lambda s, r: {"area": s["rect"]["w"] * s["rect"]["h"]},
        lambda s, a: f"The shaded rectangle has an area of {a['area']} square units. "
        "How tall is it, given the width you can read from the grid?",
        lambda s, a: a["area"] // s["rect"]["w"], reverse="rect_area", extend="rect_perimeter",
    ),
    "rect_perimeter": Kind(
        "rect_perimeter", "sum", lambda s, r: {},
        lambda s, a: "What is the perimeter of the shaded rectangle?",
        lambda s, a: 2 * (s["rect"]["w"] + s["rect"]["h"]), reverse="rect_side", extend="rect_area",
    ),
    "count_inside": Kind(
        "count_inside", "count", lambda s, r: {},
        lambda s, a: "How many of the points lie strictly inside the shaded rectangle?",
        lambda s, a: _inside(s), reverse="point_x", extend="count_inside",
    ),
}


class Grid(Family):
    name = "grid"
    domain = "geometry"
    aliases = ("coordinate", "rectangle", "point")
    kinds = KINDS

    def knobs(self, difficulty: int) -> dict[str, Any]:
        return dict(KNOBS[difficulty])

    def scene(self, rng: np.random.Generator, difficulty: int, knobs: dict[str, Any] | None = None) -> Scene:
        k = knobs or KNOBS[difficulty]
        return self._make(rng, k["size"], k["points"], k["side"])

    def _make(self, rng: np.random.Generator, size: int, n_points: int, side: int) -> Scene:
        w, h = (int(v) for v in rng.integers(1, side + 1, size=2))
        rect = {"x0": int(rng.integers(0, size - w + 1)), "y0": int(rng.integers(0, size - h + 1)), "w": w, "h": h}
        scene: Scene = {"size": size, "rect": rect, "points": []}
        for _ in range(n_points):
            scene = self._add_point(scene, rng)
        return scene

    def _add_point(self, scene: Scene, rng: np.random.Generator) -> Scene:
        size, points = scene["size"], scene["points"]
        taken = {(p["x"], p["y"]) for p in points}
        for _ in range(100):
            x, y = (int(v) for v in rng.integers(1, size, size=2))
            if points and rng.random() < 0.5:  # line up with an earlier point: lengths become readable
                anchor = points[int(rng.integers(len(points)))]
                x, y = (anchor["x"], y) if rng.random() < 0.5 else (x, anchor["y"])
            if (x, y) not in taken:
                break
        else:
            return scene
        i = len(points)
        return {**scene, "points": [*points, {"name": NAMES[i], "colour": POINT_COLOURS[i], "x": x, "y": y}]}

    def vary(self, scene: Scene, rng: np.random.Generator) -> Scene:
        side = max(scene["rect"]["w"], scene["rect"]["h"], 3)
        return self._make(rng, scene["size"], len(scene["points"]), side)

    def extend_scene(self, scene: Scene, rng: np.random.Generator) -> Scene:
        if len(scene["points"]) >= len(NAMES):
            return scene
        return self._add_point(scene, rng)

    def draw(self, scene: Scene) -> Figure:
        fig, ax = canvas((0.11, 0.11, 0.84, 0.84))  # room for the x label below the ticks
        size, r = scene["size"], scene["rect"]
        ax.add_patch(Rectangle((r["x0"], r["y0"]), r["w"], r["h"], facecolor=PALETTE["yellow"], alpha=0.6,
                               edgecolor=PALETTE["orange"], linewidth=2.5, zorder=2))
        for p in scene["points"]:
            ax.scatter([p["x"]], [p["y"]], s=140, color=PALETTE[p["colour"]], zorder=4, edgecolors="white")
            ax.annotate(p["name"], (p["x"], p["y"]), textcoords="offset points", xytext=(7, 7),
                        fontsize=FONT_SIZE + 1, fontweight="bold", color=PALETTE[p["colour"]], zorder=5)
        ax.set_xlim(0, size)
        ax.set_ylim(0, size)
        ax.set_xticks(range(size + 1))
        ax.set_yticks(range(size + 1))
        ax.set_aspect("equal")
        ax.grid(color="#999999", linewidth=1.0, zorder=0)
        ax.set_xlabel("x", fontsize=FONT_SIZE)
        ax.set_ylabel("y", fontsize=FONT_SIZE, rotation=0)
        return fig

    def distractors(self, scene: Scene, kind: str, args: Args, answer: Any, rng: np.random.Generator) -> list[Any]:
        if kind in ("which_at_x", "highest"):
            return [p["colour"] for p in scene["points"] if p["colour"] != answer] + [
                c for c in POINT_COLOURS if c != answer
            ]
        if kind == "distance":
            pa, pb = _point(scene, args["a"]), _point(scene, args["b"])
            sq = (pa["x"] - pb["x"]) ** 2 + (pa["y"] - pb["y"]) ** 2
            return [surd(sq + 1), surd(sq * 2), surd(max(1, sq - 1)), str(abs(pa["x"] - pb["x"]) + abs(pa["y"] - pb["y"]))]
        coords = [p["x"] for p in scene["points"]] + [p["y"] for p in scene["points"]]
        return [c for c in coords if c != answer] + numeric_distractors(answer, rng, step=1)

    def solution(self, scene: Scene, kind: str, args: Args, value: Any) -> str:
        points = "; ".join(f"{p['name']} ({p['colour']}) = ({p['x']}, {p['y']})" for p in scene["points"])
        r = scene["rect"]
        return (f"From the grid: {points}; the rectangle spans x {r['x0']}..{r['x0'] + r['w']}, "
                f"y {r['y0']}..{r['y0'] + r['h']}. So the answer is {value}.")
