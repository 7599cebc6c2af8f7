"""Chart understanding: pie charts with a percentage printed in each slice and a legend naming the slices.

Shares are whole percents summing to 100; the title gives the total ("Total: 400 students"), chosen so that
every slice's amount (total x share / 100) is a whole number. Slices are told apart by the legend's colours.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cadsynth.records import AnswerType
from cadsynth.tasks.base import PALETTE, Args, Family, Kind, Scene, numeric_distractors
from cadsynth.tasks.render import FONT_SIZE, canvas

TOPICS = [
    ("Travel to school", "students", ["Bus", "Car", "Bike", "Walk", "Train", "Tram", "Scooter"]),
    ("Favourite fruit", "people", ["Apple", "Banana", "Grape", "Mango", "Pear", "Kiwi", "Peach"]),
    ("Pets owned", "families", ["Dog", "Cat", "Fish", "Bird", "Rabbit", "Hamster", "Turtle"]),
    ("Club sports", "members", ["Football", "Tennis", "Swimming", "Chess", "Golf", "Judo", "Rowing"]),
]
SLICE_COLOURS = ["blue", "orange", "green", "red", "purple", "sky blue", "yellow"]
MAX_SLICES = 7

# unit: every share is a multiple of it; low: the smallest share; totals: (lo, hi, step) of the title's total
KNOBS = {
    1: {"slices": (3, 3), "unit": 10, "low": 10, "totals": (100, 500, 100)},
    2: {"slices": (4, 4), "unit": 5, "low": 10, "totals": (60, 400, 20)},
    3: {"slices": (5, 6), "unit": 2, "low": 6, "totals": (150, 900, 50)},
}


def _share(scene: Scene, label: str) -> int:
    return scene["shares"][scene["labels"].index(label)]


def _count(scene: Scene, label: str) -> int:
    return scene["total"] * _share(scene, label) // 100


def _counts(scene: Scene) -> list[int]:
    return [scene["total"] * s // 100 for s in scene["shares"]]


def _pick(items: list[Any], rng: np.random.Generator) -> Any:
    return items[int(rng.integers(len(items)))]


def _any_label(scene: Scene, rng: np.random.Generator) -> Args:
    return {"label": _pick(scene["labels"], rng)}


def _unique_share(scene: Scene, rng: np.random.Generator) -> Args | None:
    shares = scene["shares"]
    unique = [s for s in shares if shares.count(s) == 1]
    return {"v": _pick(unique, rng)} if unique else None


def _unique_count(scene: Scene, rng: np.random.Generator) -> Args | None:
    counts = _counts(scene)
    unique = [c for c in counts if counts.count(c) == 1]
    return {"c": _pick(unique, rng)} if unique else None


def _larger_pair(scene: Scene, rng: np.random.Generator) -> Args | None:
    labels = scene["labels"]
    pairs = [(a, b) for a in labels for b in labels if _share(scene, a) > _share(scene, b)]
    if not pairs:
        return None
    a, b = _pick(pairs, rng)
    return {"a": a, "b": b}


def _any_pair(scene: Scene, rng: np.random.Generator) -> Args:
    i, j = sorted(int(k) for k in rng.choice(len(scene["labels"]), size=2, replace=False))
    return {"a": scene["labels"][i], "b": scene["labels"][j]}


def _multiple_pair(scene: Scene, rng: np.random.Generator) -> Args | None:
    labels = scene["labels"]
    pairs = [(a, b) for a in labels for b in labels
             if _share(scene, a) > _share(scene, b) and _share(scene, a) % _share(scene, b) == 0]
    if not pairs:
        return None
    a, b = _pick(pairs, rng)
    return {"a": a, "b": b}


def _unique_max(scene: Scene, rng: np.random.Generator) -> Args | None:
    shares = scene["shares"]
    return {} if shares.count(max(shares)) == 1 else None


KINDS = {
    "share": Kind(
        "share", "read", _any_label,
        lambda s, a: f"What percentage does the {a['label']} slice represent?",
        lambda s, a: _share(s, a["label"]), answer_type=AnswerType.NUMBER, reverse="find_share",
        extend="share_difference",
    ),
    "find_share": Kind(
        "find_share", "find", _unique_share,
        lambda s, a: f"Which slice represents {a['v']}% of the {s['noun']}?",
        lambda s, a: s["labels"][s["shares"].index(a["v"])],
        answer_type=AnswerType.TEXT, reverse="share", extend="share_difference",
    ),
    "share_difference": Kind(
        "share_difference", "difference", _larger_pair,
        lambda s, a: f"How many percentage points larger is the {a['a']} slice than the {a['b']} slice?",
        lambda s, a: _share(s, a["a"]) - _share(s, a["b"]), reverse="share", extend="count_difference",
    ),
    "largest": Kind(
        "largest", "find", _unique_max,
        lambda s, a: "Which slice is the largest?",
        lambda s, a: s["labels"][s["shares"].index(max(s["shares"]))],
        answer_type=AnswerType.TEXT, reverse="max_share", extend="count_of",
    ),
    "max_share": Kind(
        "max_share", "extremum", _unique_max,
        lambda s, a: "What is the largest percentage shown in the pie chart?",
        lambda s, a: max(s["shares"]), answer_type=AnswerType.NUMBER, reverse="largest", extend="count_of",
    ),
    "count_of": Kind(
        "count_of", "product", _any_label,
        lambda s, a: f"Using the total given in the title, how many {s['noun']} does the {a['label']} slice "
        "represent?",
        lambda s, a: _count(s, a["label"]), reverse="which_count", extend="count_difference",
    ),
    "which_count": Kind(
        "which_count", "find", _unique_count,
        lambda s, a: f"Using the total given in the title, which slice represents exactly {a['c']} {s['noun']}?",
        lambda s, a: s["labels"][_counts(s).index(a["c"])],
        answer_type=AnswerType.TEXT, reverse="count_of", extend="count_difference",
    ),
    "count_difference": Kind(
        "count_difference", "difference", _larger_pair,
        lambda s, a: f"Using the total given in the title, how many more {s['noun']} are in the {a['a']} slice "
        f"than in the {a['b']} slice?",
        lambda s, a: _count(s, a["a"]) - _count(s, a["b"]), reverse="count_of", extend="combined_count",
    ),
    "combined_share": Kind(
        "combined_share", "sum", _any_pair,
        lambda s, a: f"What percentage do the {a['a']} and {a['b']} slices represent together?",
        lambda s, a: _share(s, a["a"]) + _share(s, a["b"]), answer_type=AnswerType.NUMBER,
        reverse="share", extend="combined_count",
    ),
    "combined_count": Kind(
        "combined_count", "sum", _any_pair,
        lambda s, a: f"Using the total given in the title, how many {s['noun']} are in the {a['a']} and "
        f"{a['b']} slices together?",
        lambda s, a: _count(s, a["a"]) + _count(s, a["b"]), reverse="combined_share", extend="combined_count",
    ),
    "times": Kind(
        "times", "ratio", _multiple_pair,
        lambda s, a: f"How many times as large as the {a['b']} slice is the {a['a']} slice?",
        lambda s, a: _share(s, a["a"]) // _share(s, a["b"]), reverse="share", extend="count_difference",
    ),
}
PERCENT_KINDS = ("share", "max_share", "combined_share")


def _split(rng: np.random.Generator, n: int, unit: int, low: int) -> list[int]:
    """n shares, multiples of `unit`, each at least `low`, summing to 100."""
    base = low // unit
    spare = 100 // unit - n * base
    extra = rng.multinomial(spare, rng.dirichlet(np.full(n, 1.5)))
    return [int((base + e) * unit) for e in extra]


class Pie(Family):
    name = "pie"
    domain = "chart"
    kinds = KINDS
    aliases = ("pie chart", "pie", "slice", "sector", "wedge")
    size_knob = "slices"
    size_nouns = ("slices", "sectors", "categories", "wedges")

    def knobs(self, difficulty: int) -> dict[str, Any]:
        return dict(KNOBS[difficulty])

    def scene(self, rng: np.random.Generator, difficulty: int, knobs: dict[str, Any] | None = None) -> Scene:
        k = knobs or KNOBS[difficulty]
        lo, hi = k["slices"]
        n = max(2, min(int(rng.integers(lo, hi + 1)), MAX_SLICES, 100 // k["low"]))
        return self._make(rng, n, k["unit"], k["low"], list(k["totals"]))

    def _make(self, rng: np.random.Generator, n: int, unit: int, low: int, totals: list[int]) -> Scene:
        topic, noun, names = TOPICS[int(rng.integers(len(TOPICS)))]
        lo, hi, step = totals
        return {
            "topic": topic,
            "noun": noun,
            "labels": names[:n],
            "colours": SLICE_COLOURS[:n],
            "shares": _split(rng, n, unit, low),
            "total": int(rng.integers(lo // step, hi // step + 1)) * step,
            "unit": unit,
            "low": low,
            "totals": totals,
        }

    def vary(self, scene: Scene, rng: np.random.Generator) -> Scene:
        return self._make(rng, len(scene["labels"]), scene["unit"], scene["low"], scene["totals"])

    def extend_scene(self, scene: Scene, rng: np.random.Generator) -> Scene:
        """One more slice, carved out of the largest one (the other slices keep their shares)."""
        n, unit, low = len(scene["labels"]), scene["unit"], scene["low"]
        shares = list(scene["shares"])
        big = shares.index(max(shares))
        room = (shares[big] - low) // unit  # units the largest slice can give while staying >= low
        if n >= MAX_SLICES or room * unit < low:
            return scene
        new = int(rng.integers(low // unit, room + 1)) * unit
        shares[big] -= new
        names = next(names for topic, _, names in TOPICS if topic == scene["topic"])
        return {**scene, "labels": names[: n + 1], "colours": SLICE_COLOURS[: n + 1], "shares": [*shares, new]}

    def draw(self, scene: Scene) -> Figure:
        fig, ax = canvas((0.02, 0.03, 0.62, 0.78))
        wedges, _ = ax.pie(scene["shares"], colors=[PALETTE[c] for c in scene["colours"]], startangle=90,
                           counterclock=False, radius=1.0, wedgeprops={"edgecolor": "white", "linewidth": 1.5})
        for wedge, share in zip(wedges, scene["shares"], strict=True):
            angle = np.deg2rad((wedge.theta1 + wedge.theta2) / 2)
            ax.text(0.68 * np.cos(angle), 0.68 * np.sin(angle), f"{share}%", ha="center", va="center",
                    fontsize=FONT_SIZE, bbox={"boxstyle": "round,pad=0.15", "facecolor": "white",
                                              "edgecolor": "none", "alpha": 0.9})
        ax.set_xlim(-1.05, 1.05)
        ax.set_ylim(-1.05, 1.05)
        ax.set_aspect("equal")
        n = len(scene["labels"])
        top = 0.43 + 0.038 * n  # the legend, centred on the pie's height
        for i, (label, colour) in enumerate(zip(scene["labels"], scene["colours"], strict=True)):
            y = top - i * 0.076
            fig.add_artist(Rectangle((0.67, y - 0.016), 0.045, 0.032, transform=fig.transFigure,
                                     facecolor=PALETTE[colour], edgecolor="#555555", linewidth=0.8))
            fig.text(0.73, y, label, ha="left", va="center", fontsize=FONT_SIZE)
        fig.text(0.5, 0.975, scene["topic"], ha="center", va="top", fontsize=FONT_SIZE + 2)
        fig.text(0.5, 0.91, f"Total: {scene['total']} {scene['noun']}", ha="center", va="top", fontsize=FONT_SIZE)
        return fig

    def distractors(self, scene: Scene, kind: str, args: Args, answer: Any, rng: np.random.Generator) -> list[Any]:
        labels = scene["labels"]
        if KINDS[kind].answer_type is AnswerType.TEXT:
            names = next(names for topic, _, names in TOPICS if topic == scene["topic"])
            return [lab for lab in labels if lab != answer] + [name for name in names if name not in labels]
        step = scene["unit"] if kind in (*PERCENT_KINDS, "share_difference") else 1
        if kind in PERCENT_KINDS:
            present = [*scene["shares"], 100 - answer]
        elif kind == "share_difference":
            present = [_share(scene, args["a"]) + _share(scene, args["b"]), _share(scene, args["a"])]
        elif kind == "times":
            present = [answer + 1, answer - 1, answer * 2, answer + 2]
        elif kind == "count_of":
            present = [*_counts(scene), _share(scene, args["label"])]
            step = 10 if answer >= 20 else 1
        else:  # counts of two slices
            present = [_count(scene, args["a"]), _count(scene, args["b"]), _share(scene, args["a"]) +
                       _share(scene, args["b"]), abs(_count(scene, args["a"]) - _count(scene, args["b"]))]
            step = 10 if answer >= 20 else 1
        return [p for p in present if p != answer and p > 0] + numeric_distractors(answer, rng, step=step)

    def format_answer(self, kind: str, value: Any) -> str:
        return f"{value}%" if kind in PERCENT_KINDS else str(value)

    def solution(self, scene: Scene, kind: str, args: Args, value: Any) -> str:
        parts = ", ".join(f"{lab} = {s}%" for lab, s in zip(scene["labels"], scene["shares"], strict=True))
        counts = ", ".join(f"{lab} = {scene['total']} x {s}% = {c}" for lab, s, c in
                           zip(scene["labels"], scene["shares"], _counts(scene), strict=True))
        text = f"Matching the legend's colours to the slices: {parts}."
        if kind in ("count_of", "which_count", "count_difference", "combined_count"):
            text += f" With the total of {scene['total']} {scene['noun']} from the title: {counts}."
        return f"{text} So the answer is {self.format_answer(kind, value)}."
