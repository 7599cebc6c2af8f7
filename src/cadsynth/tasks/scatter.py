"""Chart understanding: scatter plots on a unit grid with a dashed divider; counting, reading, trend.

Points sit on grid intersections (integer coordinates, every gridline ticked) and are told apart by colour and
marker. The divider is either one dashed line (horizontal or diagonal, y = m x + c) or two dashed lines that
split the plot into four quadrants; no point ever lies on a divider, so "above" and "in the upper-right
quadrant" are never ambiguous. The cloud follows an increasing or decreasing trend plus noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from cadsynth.records import AnswerType
from cadsynth.tasks.base import PALETTE, Args, Family, Kind, Scene, numeric_distractors
from cadsynth.tasks.render import FONT_SIZE, canvas

POINT_COLOURS = ["blue", "orange", "green"]
MARKERS = {"blue": "o", "orange": "s", "green": "^"}
QUADRANTS = ("upper right", "upper left", "lower left", "lower right")
TRENDS = ("increasing", "decreasing")
MAX_POINTS = 14
MIN_CORRELATION = 0.7  # weaker clouds carry no trend question

# dividers: "flat" (y = c), "diagonal" (y = x + c or y = -x + c), "cross" (x = a and y = b)
KNOBS = {
    1: {"points": (5, 6), "colours": 2, "size": 8, "noise": 0.8, "dividers": ("flat", "cross")},
    2: {"points": (7, 9), "colours": 2, "size": 10, "noise": 1.2, "dividers": ("flat", "diagonal", "cross")},
    3: {"points": (10, 12), "colours": 3, "size": 10, "noise": 1.6, "dividers": ("diagonal", "cross")},
}


# ---------------------------------------------------------------------------------------------------------
# Geometry of the scene
# ---------------------------------------------------------------------------------------------------------


def _on_divider(divider: dict[str, Any], x: int, y: int) -> bool:
    if divider["kind"] == "cross":
        return x == divider["x"] or y == divider["y"]
    return y == divider["m"] * x + divider["c"]


def _region_of(divider: dict[str, Any], p: dict[str, Any]) -> str:
    if divider["kind"] == "cross":
        vertical = "upper" if p["y"] > divider["y"] else "lower"
        return f"{vertical} {'right' if p['x'] > divider['x'] else 'left'}"
    return "above" if p["y"] > divider["m"] * p["x"] + divider["c"] else "below"


def _region_text(region: str) -> str:
    if region in ("above", "below"):
        return f"{region} the dashed line"
    return f"in the {region} quadrant formed by the two dashed lines"


def _in_region(scene: Scene, region: str) -> list[dict[str, Any]]:
    return [p for p in scene["points"] if _region_of(scene["divider"], p) == region]


def _colour_counts(scene: Scene) -> dict[str, int]:
    return {c: sum(p["colour"] == c for p in scene["points"]) for c in scene["colours"]}


def _correlation(scene: Scene) -> float:
    xs = np.array([p["x"] for p in scene["points"]], dtype=float)
    ys = np.array([p["y"] for p in scene["points"]], dtype=float)
    if xs.std() == 0 or ys.std() == 0:
        return 0.0
    return float(np.corrcoef(xs, ys)[0, 1])


def _pick(items: list[Any], rng: np.random.Generator) -> Any:
    return items[int(rng.integers(len(items)))]


# ---------------------------------------------------------------------------------------------------------
# Question arguments
# ---------------------------------------------------------------------------------------------------------


def _regions(scene: Scene) -> list[str]:
    return list(QUADRANTS) if scene["divider"]["kind"] == "cross" else ["above", "below"]


def _any_region(scene: Scene, rng: np.random.Generator) -> Args:
    return {"region": _pick(_regions(scene), rng)}


def _any_colour(scene: Scene, rng: np.random.Generator) -> Args:
    return {"colour": _pick(scene["colours"], rng)}


def _colour_region(scene: Scene, rng: np.random.Generator) -> Args:
    return {"colour": _pick(scene["colours"], rng), "region": _pick(_regions(scene), rng)}


def _unique_most(scene: Scene, rng: np.random.Generator) -> Args | None:
    counts = list(_colour_counts(scene).values())
    return {} if counts.count(max(counts)) == 1 else None


def _unique_highest(scene: Scene, rng: np.random.Generator) -> Args | None:
    ys = [p["y"] for p in scene["points"]]
    return {} if ys.count(max(ys)) == 1 else None


def _any_point(scene: Scene, rng: np.random.Generator) -> Args:
    p = _pick(scene["points"], rng)
    return {"x": p["x"], "y": p["y"]}


def _unique_x(scene: Scene, rng: np.random.Generator) -> Args | None:
    xs = [p["x"] for p in scene["points"]]
    unique = [x for x in xs if xs.count(x) == 1]
    return {"x": _pick(unique, rng)} if unique else None


def _unique_y(scene: Scene, rng: np.random.Generator) -> Args | None:
    ys = [p["y"] for p in scene["points"]]
    unique = [y for y in ys if ys.count(y) == 1]
    return {"y": _pick(unique, rng)} if unique else None


def _clear_trend(scene: Scene, rng: np.random.Generator) -> Args | None:
    return {} if abs(_correlation(scene)) >= MIN_CORRELATION else None


def _highest(scene: Scene) -> dict[str, Any]:
    return max(scene["points"], key=lambda p: p["y"])


def _coords(x: int, y: int) -> str:
    return f"({x}, {y})"


KINDS = {
    "count_colour": Kind(
        "count_colour", "count", _any_colour,
        lambda s, a: f"How many {a['colour']} points are there in the scatter plot?",
        lambda s, a: _colour_counts(s)[a["colour"]], reverse="colour_most", extend="count_colour_region",
    ),
    "count_region": Kind(
        "count_region", "count", _any_region,
        lambda s, a: f"How many points lie {_region_text(a['region'])}?",
        lambda s, a: len(_in_region(s, a["region"])), reverse="count_colour", extend="count_colour_region",
    ),
    "count_colour_region": Kind(
        "count_colour_region", "count", _colour_region,
        lambda s, a: f"How many {a['colour']} points lie {_region_text(a['region'])}?",
        lambda s, a: sum(p["colour"] == a["colour"] for p in _in_region(s, a["region"])),
        reverse="count_region", extend="count_colour_region",
    ),
    "colour_most": Kind(
        "colour_most", "find", _unique_most,
        lambda s, a: "Which colour has the most points? Answer with the colour.",
        lambda s, a: max(_colour_counts(s).items(), key=lambda kv: kv[1])[0],
        answer_type=AnswerType.TEXT, reverse="count_colour", extend="count_colour_region",
    ),
    "highest_point": Kind(
        "highest_point", "extremum", _unique_highest,
        lambda s, a: "What are the coordinates of the highest point? Answer as (x, y).",
        lambda s, a: _coords(_highest(s)["x"], _highest(s)["y"]),
        answer_type=AnswerType.TEXT, reverse="colour_at", extend="y_range",
    ),
    "colour_at": Kind(
        "colour_at", "find", _any_point,
        lambda s, a: f"What colour is the point at {_coords(a['x'], a['y'])}?",
        lambda s, a: next(p["colour"] for p in s["points"] if (p["x"], p["y"]) == (a["x"], a["y"])),
        answer_type=AnswerType.TEXT, reverse="highest_point", extend="count_colour",
    ),
    "read_y": Kind(
        "read_y", "read", _unique_x,
        lambda s, a: f"What is the y-coordinate of the point whose x-coordinate is {a['x']}?",
        lambda s, a: next(p["y"] for p in s["points"] if p["x"] == a["x"]), reverse="read_x", extend="y_range",
    ),
    "read_x": Kind(
        "read_x", "read", _unique_y,
        lambda s, a: f"What is the x-coordinate of the point whose y-coordinate is {a['y']}?",
        lambda s, a: next(p["x"] for p in s["points"] if p["y"] == a["y"]), reverse="read_y", extend="y_range",
    ),
    "y_range": Kind(
        "y_range", "difference", lambda s, r: {},
        lambda s, a: "What is the difference between the largest and the smallest y-coordinate of the points?",
        lambda s, a: max(p["y"] for p in s["points"]) - min(p["y"] for p in s["points"]),
        reverse="highest_point", extend="y_range",
    ),
    "trend": Kind(
        "trend", "trend", _clear_trend,
        lambda s, a: "As x increases, does y generally increase or decrease? "
        "Answer 'increasing' or 'decreasing'.",
        lambda s, a: "increasing" if _correlation(s) > 0 else "decreasing",
        answer_type=AnswerType.TEXT, reverse="highest_point", extend="trend",
    ),
}


class Scatter(Family):
    name = "scatter"
    domain = "chart"
    kinds = KINDS
    aliases = ("scatter plot", "scatter", "scatterplot", "scatter graph", "trend", "correlation")
    size_knob = "points"
    size_nouns = ("points", "dots", "data points")

    def knobs(self, difficulty: int) -> dict[str, Any]:
        return dict(KNOBS[difficulty])

    def scene(self, rng: np.random.Generator, difficulty: int, knobs: dict[str, Any] | None = None) -> Scene:
        k = knobs or KNOBS[difficulty]
        n = max(2, min(int(rng.integers(k["points"][0], k["points"][1] + 1)), MAX_POINTS))
        return self._make(rng, n, k["size"], min(k["colours"], len(POINT_COLOURS)), float(k["noise"]),
                          str(_pick(list(k["dividers"]), rng)))

    def _divider(self, rng: np.random.Generator, size: int, style: str, sign: int) -> dict[str, Any]:
        mid = size // 2
        if style == "cross":
            return {"kind": "cross", "x": int(rng.integers(mid - 1, mid + 2)), "y": int(rng.integers(mid - 1, mid + 2))}
        if style == "flat":
            return {"kind": "line", "m": 0, "c": int(rng.integers(mid - 1, mid + 2))}
        m = int(_pick([1, -1], rng)) if rng.random() < 0.5 else sign  # often along the trend, sometimes across
        c = int(rng.integers(-1, 2)) + (0 if m == 1 else size)
        return {"kind": "line", "m": m, "c": c}

    def _make(self, rng: np.random.Generator, n: int, size: int, n_colours: int, noise: float,
              style: str) -> Scene:
        sign = int(_pick([1, -1], rng))
        slope = sign * float(rng.uniform(0.5, 1.0))
        scene: Scene = {
            "size": size,
            "colours": POINT_COLOURS[:n_colours],
            "trend": {"slope": round(slope, 3), "noise": noise},
            "divider": self._divider(rng, size, style, sign),
            "points": [],
        }
        while len(scene["points"]) < n:
            grown = self._add_point(scene, rng)
            if grown is scene:
                break
            scene = grown
        for i, colour in enumerate(scene["colours"]):  # every colour present
            if i < len(scene["points"]):
                scene["points"][i]["colour"] = colour
        return scene

    def _add_point(self, scene: Scene, rng: np.random.Generator) -> Scene:
        size, slope, noise = scene["size"], scene["trend"]["slope"], scene["trend"]["noise"]
        taken = {(p["x"], p["y"]) for p in scene["points"]}
        centre = size / 2
        for _ in range(200):
            x = int(rng.integers(1, size))
            y = int(round(centre + slope * (x - centre) + rng.normal(0, noise)))
            if 1 <= y <= size - 1 and (x, y) not in taken and not _on_divider(scene["divider"], x, y):
                colour = str(_pick(scene["colours"], rng))
                return {**scene, "points": [*scene["points"], {"x": x, "y": y, "colour": colour}]}
        return scene

    def vary(self, scene: Scene, rng: np.random.Generator) -> Scene:
        style = "cross" if scene["divider"]["kind"] == "cross" else ("flat" if scene["divider"]["m"] == 0 else "diagonal")
        return self._make(rng, len(scene["points"]), scene["size"], len(scene["colours"]), scene["trend"]["noise"],
                          style)

    def extend_scene(self, scene: Scene, rng: np.random.Generator) -> Scene:
        if len(scene["points"]) >= MAX_POINTS:
            return scene
        return self._add_point(scene, rng)

    def draw(self, scene: Scene) -> Figure:
        fig, ax = canvas((0.11, 0.11, 0.84, 0.84))  # room for the x label below the ticks
        size, divider = scene["size"], scene["divider"]
        line = {"color": "#333333", "linestyle": (0, (6, 4)), "linewidth": 2.0, "zorder": 2}
        if divider["kind"] == "cross":
            ax.axvline(divider["x"], **line)
            ax.axhline(divider["y"], **line)
        else:
            xs = np.array([0.0, float(size)])
            ax.plot(xs, divider["m"] * xs + divider["c"], **line)
        for colour in scene["colours"]:
            pts = [p for p in scene["points"] if p["colour"] == colour]
            if pts:
                ax.scatter([p["x"] for p in pts], [p["y"] for p in pts], s=110, marker=MARKERS[colour],
                           color=PALETTE[colour], edgecolors="white", linewidths=0.8, zorder=4)
        ax.set_xlim(0, size)
        ax.set_ylim(0, size)
        ax.set_xticks(range(size + 1))
        ax.set_yticks(range(size + 1))
        ax.set_aspect("equal")
        ax.grid(color="#BBBBBB", linewidth=0.9, zorder=0)
        ax.set_xlabel("x", fontsize=FONT_SIZE)
        ax.set_ylabel("y", fontsize=FONT_SIZE, rotation=0)
        return fig

    def distractors(self, scene: Scene, kind: str, args: Args, answer: Any, rng: np.random.Generator) -> list[Any]:
        if kind == "trend":
            return [t for t in TRENDS if t != answer] + ["no trend", "constant"]
        if kind in ("colour_most", "colour_at"):
            return [c for c in POINT_COLOURS if c != answer] + ["purple", "red"]
        if kind == "highest_point":
            top = _highest(scene)
            others = sorted((p for p in scene["points"] if p is not top), key=lambda p: -p["y"])[:2]
            return [_coords(top["y"], top["x"]), _coords(top["x"] + 1, top["y"]), _coords(top["x"], top["y"] - 1),
                    *(_coords(p["x"], p["y"]) for p in others)]
        if kind in ("read_x", "read_y"):
            coords = [p["x"] for p in scene["points"]] + [p["y"] for p in scene["points"]]
            return [c for c in coords if c != answer] + numeric_distractors(answer, rng, step=1)
        return [len(scene["points"]) - answer] + numeric_distractors(answer, rng, step=1)

    def format_answer(self, kind: str, value: Any) -> str:
        return str(value)

    def solution(self, scene: Scene, kind: str, args: Args, value: Any) -> str:
        pts = "; ".join(f"{p['colour']} ({p['x']}, {p['y']})" for p in sorted(scene["points"],
                                                                             key=lambda p: (p["x"], p["y"])))
        d = scene["divider"]
        if d["kind"] == "cross":
            where = f"the dashed lines are x = {d['x']} and y = {d['y']}"
        else:
            slope = {0: "", 1: "x", -1: "-x"}[d["m"]]
            offset = "" if d["c"] == 0 and slope else (f" {'+' if d['c'] >= 0 else '-'} {abs(d['c'])}" if slope
                                                       else str(d["c"]))
            where = f"the dashed line is y = {slope}{offset}"
        return f"Reading the points off the grid: {pts}; {where}. So the answer is {self.format_answer(kind, value)}."
