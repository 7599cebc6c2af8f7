"""Chart understanding: bar and line charts with gridlines; read, compare, difference, percent change.

Categories are ordered (weekdays for bars, years for lines), so a question that names a category is answerable
from its position; values sit on gridlines so they can be read off the chart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from cadsynth.records import AnswerType
from cadsynth.tasks.base import PALETTE, Args, Family, Kind, Scene, numeric_distractors
from cadsynth.tasks.render import FONT_SIZE, canvas

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
YEARS = ["2019", "2020", "2021", "2022", "2023", "2024"]
TOPICS = [("Visitors", "people"), ("Sales", "units"), ("Rainfall", "mm"), ("Orders", "orders")]
BAR_COLOURS = ["blue", "orange", "green", "red", "purple", "sky blue"]

KNOBS = {
    1: {"bars": (3, 3), "vmax": 50, "styles": ("bar",)},
    2: {"bars": (4, 4), "vmax": 70, "styles": ("bar",)},
    3: {"bars": (5, 6), "vmax": 90, "styles": ("bar", "line")},
}


def _noun(scene: Scene) -> str:
    return "day" if scene["style"] == "bar" else "year"


def _index(scene: Scene, label: str) -> int:
    return scene["labels"].index(label)


def _value(scene: Scene, label: str) -> int:
    return scene["values"][_index(scene, label)]


def _two_labels(scene: Scene, rng: np.random.Generator) -> Args | None:
    values = scene["values"]
    pairs = [(a, b) for a in range(len(values)) for b in range(len(values)) if values[a] > values[b]]
    if not pairs:
        return None
    a, b = pairs[int(rng.integers(len(pairs)))]
    return {"a": scene["labels"][a], "b": scene["labels"][b]}


def _unique_value_label(scene: Scene, rng: np.random.Generator) -> Args | None:
    values = scene["values"]
    unique = [i for i, v in enumerate(values) if values.count(v) == 1]
    if not unique:
        return None
    return {"label": scene["labels"][unique[int(rng.integers(len(unique)))]]}


def _unique_value(scene: Scene, rng: np.random.Generator) -> Args | None:
    picked = _unique_value_label(scene, rng)
    return {"v": _value(scene, picked["label"])} if picked else None


def _percent_pair(scene: Scene, rng: np.random.Generator) -> Args | None:
    values, labels = scene["values"], scene["labels"]
    pairs = [
        (a, b)
        for a in range(len(values))
        for b in range(a + 1, len(values))
        if values[a] != values[b] and (100 * (values[b] - values[a])) % values[a] == 0
    ]
    if not pairs:
        return None
    a, b = pairs[int(rng.integers(len(pairs)))]
    return {"a": labels[a], "b": labels[b]}


def _threshold(scene: Scene, rng: np.random.Generator) -> Args:
    return {"t": int(rng.choice([10, 20, 30, 40, 50, 60, 70, 80][: max(1, scene["ymax"] // 10 - 2)]))}


def _unique_max(scene: Scene, rng: np.random.Generator) -> Args | None:
    values = scene["values"]
    return {} if values.count(max(values)) == 1 else None


KINDS = {
    "max_value": Kind(
        "max_value", "extremum", lambda s, r: {},
        lambda s, a: "What is the highest value shown in the chart?",
        lambda s, a: max(s["values"]), reverse="which_max", extend="range",
    ),
    "value_at": Kind(
        "value_at", "read", lambda s, r: {"label": s["labels"][int(r.integers(len(s["labels"])))]},
        lambda s, a: f"What is the value for {a['label']}?",
        lambda s, a: _value(s, a["label"]), reverse="find_label", extend="difference",
    ),
    "which_max": Kind(
        "which_max", "find", _unique_max,
        lambda s, a: f"Which {_noun(s)} has the highest value?",
        lambda s, a: s["labels"][s["values"].index(max(s["values"]))],
        answer_type=AnswerType.TEXT, reverse="max_value", extend="range",
    ),
    "find_label": Kind(
        "find_label", "find", _unique_value,
        lambda s, a: f"Which {_noun(s)} has a value of {a['v']}?",
        lambda s, a: s["labels"][s["values"].index(a["v"])],
        answer_type=AnswerType.TEXT, reverse="value_at", extend="difference",
    ),
    "difference": Kind(
        "difference", "difference", _two_labels,
        lambda s, a: f"How much greater is the value for {a['a']} than the value for {a['b']}?",
        lambda s, a: _value(s, a["a"]) - _value(s, a["b"]), reverse="value_at", extend="percent_change",
    ),
    "range": Kind(
        "range", "difference", lambda s, r: {},
        lambda s, a: "What is the difference between the highest and the lowest value?",
        lambda s, a: max(s["values"]) - min(s["values"]), reverse="max_value", extend="total",
    ),
    "count_above": Kind(
        "count_above", "count", _threshold,
        lambda s, a: f"How many {_noun(s)}s have a value greater than {a['t']}?",
        lambda s, a: sum(v > a["t"] for v in s["values"]), reverse="max_value", extend="total",
    ),
    "total": Kind(
        "total", "sum", lambda s, r: {},
        lambda s, a: "What is the sum of all the values in the chart?",
        lambda s, a: sum(s["values"]), reverse="value_at", extend="percent_change",
    ),
    "percent_change": Kind(
        "percent_change", "ratio", _percent_pair,
        lambda s, a: f"By what percent does the value change from {a['a']} to {a['b']}? "
        "Answer with a percentage (negative for a decrease).",
        lambda s, a: (100 * (_value(s, a["b"]) - _value(s, a["a"]))) // _value(s, a["a"]),
        answer_type=AnswerType.NUMBER, reverse="value_at", extend="percent_change",
    ),
}


class Bars(Family):
    name = "bars"
    domain = "chart"
    aliases = ("bar chart", "line chart", "chart")
    size_knob = "bars"
    size_nouns = ("bars", "days", "years")
    kinds = KINDS

    def knobs(self, difficulty: int) -> dict[str, Any]:
        return dict(KNOBS[difficulty])

    def scene(self, rng: np.random.Generator, difficulty: int, knobs: dict[str, Any] | None = None) -> Scene:
        knobs = knobs or KNOBS[difficulty]
        n = int(rng.integers(knobs["bars"][0], knobs["bars"][1] + 1))
        style = str(rng.choice(knobs["styles"]))
        return self._make(rng, n, style, knobs["vmax"])

    def _make(self, rng: np.random.Generator, n: int, style: str, vmax: int) -> Scene:
        labels = (DAYS if style == "bar" else YEARS)[:n]
        values = [int(v) * 10 for v in rng.integers(1, vmax // 10 + 1, size=n)]
        topic, unit = TOPICS[int(rng.integers(len(TOPICS)))]
        return {
            "style": style,
            "labels": labels,
            "values": values,
            "ymax": vmax + 10,
            "topic": topic,
            "unit": unit,
            "colours": BAR_COLOURS[:n],
        }

    def vary(self, scene: Scene, rng: np.random.Generator) -> Scene:
        return self._make(rng, len(scene["values"]), scene["style"], scene["ymax"] - 10)

    def extend_scene(self, scene: Scene, rng: np.random.Generator) -> Scene:
        n = len(scene["values"])
        if n >= len(DAYS):
            return scene
        labels = (DAYS if scene["style"] == "bar" else YEARS)[: n + 1]
        value = int(rng.integers(1, (scene["ymax"] - 10) // 10 + 1)) * 10
        return {**scene, "labels": labels, "values": [*scene["values"], value], "colours": BAR_COLOURS[: n + 1]}

    def draw(self, scene: Scene) -> Figure:
        fig, ax = canvas((0.15, 0.12, 0.81, 0.8))  # room for 3-digit ticks and the y label inside the image
        x = np.arange(len(scene["values"]))
        colours = [PALETTE[c] for c in scene["colours"]]
        if scene["style"] == "bar":
            ax.bar(x, scene["values"], width=0.7, color=colours, zorder=3)
        else:
            ax.plot(x, scene["values"], color=PALETTE["blue"], linewidth=3, zorder=3)
            ax.scatter(x, scene["values"], s=90, color=PALETTE["blue"], zorder=4)
        ax.set_xticks(x, scene["labels"])
        ax.set_xlim(-0.6, len(x) - 0.4)
        ax.set_ylim(0, scene["ymax"])
        ax.set_yticks(range(0, scene["ymax"] + 1, 10))
        ax.grid(axis="y", color="#888888", linewidth=1.2, zorder=0)
        ax.set_ylabel(f"{scene['topic']} ({scene['unit']})", fontsize=FONT_SIZE)
        ax.set_title(scene["topic"], fontsize=FONT_SIZE + 2)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return fig

    def distractors(self, scene: Scene, kind: str, args: Args, answer: Any, rng: np.random.Generator) -> list[Any]:
        if KINDS[kind].answer_type is AnswerType.TEXT:
            return [label for label in scene["labels"] if label != answer]
        if kind == "percent_change":
            return [answer + 25, answer - 25, -answer, answer * 2, answer + 50]
        present = [v for v in scene["values"] if v != answer]
        return present + numeric_distractors(answer, rng)

    def format_answer(self, kind: str, value: Any) -> str:
        return f"{value}%" if kind == "percent_change" else str(value)

    def solution(self, scene: Scene, kind: str, args: Args, value: Any) -> str:
        reading = ", ".join(f"{lab} = {v}" for lab, v in zip(scene["labels"], scene["values"], strict=True))
        return f"Reading the chart against the gridlines: {reading}. So the answer is {self.format_answer(kind, value)}."
