"""Chart understanding: grouped and stacked bar charts with a legend (2-3 series over ordered groups).

Every value is a multiple of 10 and every gridline carries a tick, so a bar top or a segment boundary can be
read off the y axis (a stacked segment is the difference of its two boundaries). Series are told apart by the
legend (name and colour); groups are ordered (years or months) and labelled under the bars.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cadsynth.records import AnswerType
from cadsynth.tasks.base import PALETTE, Args, Family, Kind, Scene, numeric_distractors
from cadsynth.tasks.render import FONT_SIZE, canvas

GROUP_SETS = {
    "year": ["2019", "2020", "2021", "2022", "2023", "2024"],
    "month": ["Jan", "Feb", "Mar", "Apr", "May", "Jun"],
}
TOPICS = [
    ("Fruit sold", "kg", ["Apples", "Pears", "Plums"]),
    ("Club members", "people", ["Boys", "Girls", "Adults"]),
    ("Books borrowed", "books", ["Fiction", "Science", "History"]),
    ("Energy use", "kWh", ["Heating", "Lighting", "Cooking"]),
]
SERIES_COLOURS = ["blue", "orange", "green", "purple"]
MAX_GROUPS = 6
MAX_SERIES = 3
STEP = 10

KNOBS = {
    1: {"groups": (3, 3), "series": (2, 2), "vmax": 50, "styles": ("grouped",)},
    2: {"groups": (4, 4), "series": (2, 3), "vmax": 50, "styles": ("grouped", "stacked")},
    3: {"groups": (4, 5), "series": (3, 3), "vmax": 40, "styles": ("grouped", "stacked")},
}


# ---------------------------------------------------------------------------------------------------------
# Reading the scene
# ---------------------------------------------------------------------------------------------------------


def _value(scene: Scene, series: str, group: str) -> int:
    return scene["values"][scene["series"].index(series)][scene["groups"].index(group)]


def _totals(scene: Scene) -> list[int]:
    return [sum(column) for column in zip(*scene["values"], strict=True)]


def _total(scene: Scene, group: str) -> int:
    return _totals(scene)[scene["groups"].index(group)]


def _pct(a: int, b: int) -> int:
    return (100 * (b - a)) // a


def _whole_pct(a: int, b: int) -> bool:
    return a != b and (100 * (b - a)) % a == 0


def _part(scene: Scene) -> str:
    return "segment" if scene["style"] == "stacked" else "bar"


def _pick(items: list[Any], rng: np.random.Generator) -> Any:
    return items[int(rng.integers(len(items)))]


# ---------------------------------------------------------------------------------------------------------
# Question arguments (None: the scene cannot carry the question unambiguously)
# ---------------------------------------------------------------------------------------------------------


def _any_cell(scene: Scene, rng: np.random.Generator) -> Args:
    return {"series": _pick(scene["series"], rng), "group": _pick(scene["groups"], rng)}


def _unique_in_series(scene: Scene, rng: np.random.Generator) -> Args | None:
    options = [(s, v) for s, row in zip(scene["series"], scene["values"], strict=True) for v in row
               if row.count(v) == 1]
    if not options:
        return None
    series, v = _pick(options, rng)
    return {"series": series, "v": v}


def _series_pair(scene: Scene, rng: np.random.Generator) -> Args | None:
    options = [(g, a, b) for g in scene["groups"] for a in scene["series"] for b in scene["series"]
               if _value(scene, a, g) > _value(scene, b, g)]
    if not options:
        return None
    g, a, b = _pick(options, rng)
    return {"group": g, "a": a, "b": b}


def _any_group(scene: Scene, rng: np.random.Generator) -> Args:
    return {"group": _pick(scene["groups"], rng)}


def _group_pair(scene: Scene, rng: np.random.Generator) -> Args | None:
    totals = dict(zip(scene["groups"], _totals(scene), strict=True))
    options = [(a, b) for a in totals for b in totals if totals[a] > totals[b]]
    if not options:
        return None
    a, b = _pick(options, rng)
    return {"a": a, "b": b}


def _unique_max_total(scene: Scene, rng: np.random.Generator) -> Args | None:
    totals = _totals(scene)
    return {} if totals.count(max(totals)) == 1 else None


def _ordered_series(scene: Scene, rng: np.random.Generator) -> Args:
    i, j = (int(k) for k in rng.choice(len(scene["series"]), size=2, replace=False))
    return {"a": scene["series"][i], "b": scene["series"][j]}


def _series_change(scene: Scene, rng: np.random.Generator) -> Args | None:
    groups = scene["groups"]
    options = [(s, groups[i], groups[j]) for s in scene["series"] for i in range(len(groups))
               for j in range(i + 1, len(groups)) if _whole_pct(_value(scene, s, groups[i]), _value(scene, s, groups[j]))]
    if not options:
        return None
    s, a, b = _pick(options, rng)
    return {"series": s, "a": a, "b": b}


def _total_change(scene: Scene, rng: np.random.Generator) -> Args | None:
    groups, totals = scene["groups"], _totals(scene)
    options = [(groups[i], groups[j]) for i in range(len(groups)) for j in range(i + 1, len(groups))
               if _whole_pct(totals[i], totals[j])]
    if not options:
        return None
    a, b = _pick(options, rng)
    return {"a": a, "b": b}


def _noun(scene: Scene) -> str:
    return scene["group_noun"]


def legend(fig: Figure, names: list[str], colours: list[str], y: float) -> None:
    """A one-row legend of colour swatches and names centred at height `y` (figure fraction).

    Drawn with plain patches and texts (a matplotlib legend would report each name twice to `text_boxes`).
    """
    slot = 0.8 / len(names)
    for i, (name, colour) in enumerate(zip(names, colours, strict=True)):
        x = 0.1 + i * slot + 0.02
        fig.add_artist(Rectangle((x, y - 0.014), 0.04, 0.028, transform=fig.transFigure, color=PALETTE[colour]))
        fig.text(x + 0.055, y, name, ha="left", va="center", fontsize=FONT_SIZE)


KINDS = {
    "segment": Kind(
        "segment", "read", _any_cell,
        lambda s, a: f"What is the value of the {a['series']} {_part(s)} for {a['group']}?",
        lambda s, a: _value(s, a["series"], a["group"]), reverse="find_group", extend="series_difference",
    ),
    "find_group": Kind(
        "find_group", "find", _unique_in_series,
        lambda s, a: f"For which {_noun(s)} is the {a['series']} value equal to {a['v']}?",
        lambda s, a: s["groups"][s["values"][s["series"].index(a["series"])].index(a["v"])],
        answer_type=AnswerType.TEXT, reverse="segment", extend="series_difference",
    ),
    "series_difference": Kind(
        "series_difference", "difference", _series_pair,
        lambda s, a: f"For {a['group']}, how much greater is the {a['a']} value than the {a['b']} value?",
        lambda s, a: _value(s, a["a"], a["group"]) - _value(s, a["b"], a["group"]),
        reverse="segment", extend="percent_change",
    ),
    "stack_total": Kind(
        "stack_total", "sum", _any_group,
        lambda s, a: f"What is the total of all the series for {a['group']}?",
        lambda s, a: _total(s, a["group"]), reverse="segment", extend="total_difference",
    ),
    "total_difference": Kind(
        "total_difference", "difference", _group_pair,
        lambda s, a: f"How much greater is the total of all the series for {a['a']} than for {a['b']}?",
        lambda s, a: _total(s, a["a"]) - _total(s, a["b"]), reverse="stack_total", extend="total_percent_change",
    ),
    "max_total": Kind(
        "max_total", "extremum", _unique_max_total,
        lambda s, a: f"What is the largest total of all the series for any one {_noun(s)}?",
        lambda s, a: max(_totals(s)), reverse="which_max_total", extend="total_difference",
    ),
    "which_max_total": Kind(
        "which_max_total", "find", _unique_max_total,
        lambda s, a: f"Which {_noun(s)} has the largest total of all the series?",
        lambda s, a: s["groups"][_totals(s).index(max(_totals(s)))],
        answer_type=AnswerType.TEXT, reverse="max_total", extend="total_difference",
    ),
    "count_greater": Kind(
        "count_greater", "count", _ordered_series,
        lambda s, a: f"In how many {_noun(s)}s is the {a['a']} value greater than the {a['b']} value?",
        lambda s, a: sum(_value(s, a["a"], g) > _value(s, a["b"], g) for g in s["groups"]),
        reverse="series_difference", extend="total_difference",
    ),
    "percent_change": Kind(
        "percent_change", "ratio", _series_change,
        lambda s, a: f"By what percent does the {a['series']} value change from {a['a']} to {a['b']}? "
        "Answer with a percentage (negative for a decrease).",
        lambda s, a: _pct(_value(s, a["series"], a["a"]), _value(s, a["series"], a["b"])),
        answer_type=AnswerType.NUMBER, reverse="segment", extend="total_percent_change",
    ),
    "total_percent_change": Kind(
        "total_percent_change", "ratio", _total_change,
        lambda s, a: f"By what percent does the total of all the series change from {a['a']} to {a['b']}? "
        "Answer with a percentage (negative for a decrease).",
        lambda s, a: _pct(_total(s, a["a"]), _total(s, a["b"])),
        answer_type=AnswerType.NUMBER, reverse="stack_total", extend="total_percent_change",
    ),
}
PERCENT_KINDS = ("percent_change", "total_percent_change")


class GroupedBars(Family):
    name = "groupedbars"
    domain = "chart"
    kinds = KINDS
    aliases = ("grouped bar", "stacked bar", "grouped bars", "stacked bars", "clustered bar", "legend")
    size_knob = "groups"
    size_nouns = ("groups", "categories", "years", "months")

    def knobs(self, difficulty: int) -> dict[str, Any]:
        return dict(KNOBS[difficulty])

    def scene(self, rng: np.random.Generator, difficulty: int, knobs: dict[str, Any] | None = None) -> Scene:
        k = knobs or KNOBS[difficulty]
        n_groups = max(2, int(rng.integers(k["groups"][0], k["groups"][1] + 1)))
        n_series = int(rng.integers(k["series"][0], k["series"][1] + 1))
        style = str(_pick(list(k["styles"]), rng))
        noun = str(_pick(list(GROUP_SETS), rng))
        return self._make(rng, min(n_groups, MAX_GROUPS), min(n_series, MAX_SERIES), style, noun, k["vmax"])

    def _make(self, rng: np.random.Generator, n_groups: int, n_series: int, style: str, noun: str,
              vmax: int) -> Scene:
        topic, unit, names = TOPICS[int(rng.integers(len(TOPICS)))]
        colours = [SERIES_COLOURS[int(i)] for i in rng.permutation(len(SERIES_COLOURS))[:n_series]]
        values = [[int(v) * STEP for v in rng.integers(1, vmax // STEP + 1, size=n_groups)] for _ in range(n_series)]
        return {
            "style": style,
            "group_noun": noun,
            "groups": GROUP_SETS[noun][:n_groups],
            "series": names[:n_series],
            "colours": colours,
            "values": values,
            "vmax": vmax,
            "topic": topic,
            "unit": unit,
        }

    def vary(self, scene: Scene, rng: np.random.Generator) -> Scene:
        return self._make(rng, len(scene["groups"]), len(scene["series"]), scene["style"], scene["group_noun"],
                          scene["vmax"])

    def extend_scene(self, scene: Scene, rng: np.random.Generator) -> Scene:
        """One more group (the next year or month); when the groups are full, one more series."""
        n_groups, n_series, top = len(scene["groups"]), len(scene["series"]), scene["vmax"] // STEP
        if n_groups < MAX_GROUPS:
            values = [[*row, int(rng.integers(1, top + 1)) * STEP] for row in scene["values"]]
            return {**scene, "groups": GROUP_SETS[scene["group_noun"]][: n_groups + 1], "values": values}
        if n_series < MAX_SERIES:
            names = next(names for topic, _, names in TOPICS if topic == scene["topic"])
            colour = next(c for c in SERIES_COLOURS if c not in scene["colours"])
            row = [int(v) * STEP for v in rng.integers(1, top + 1, size=n_groups)]
            return {**scene, "series": names[: n_series + 1], "colours": [*scene["colours"], colour],
                    "values": [*scene["values"], row]}
        return scene

    @staticmethod
    def ymax(scene: Scene) -> int:
        top = max(_totals(scene)) if scene["style"] == "stacked" else max(max(row) for row in scene["values"])
        return top + STEP

    def draw(self, scene: Scene) -> Figure:
        fig, ax = canvas((0.15, 0.1, 0.81, 0.72))  # the title and the legend sit above the axes
        groups, series, values = scene["groups"], scene["series"], scene["values"]
        x = np.arange(len(groups))
        n = len(series)
        width = 0.8 / n
        bottom = np.zeros(len(groups))
        for i, (name, colour, row) in enumerate(zip(series, scene["colours"], values, strict=True)):
            if scene["style"] == "stacked":
                ax.bar(x, row, width=0.6, bottom=bottom, color=PALETTE[colour], edgecolor="white", linewidth=1.5,
                       label=name, zorder=3)
                bottom = bottom + np.array(row)
            else:
                ax.bar(x + (i - (n - 1) / 2) * width, row, width=width * 0.92, color=PALETTE[colour], label=name,
                       zorder=3)
        ymax = self.ymax(scene)
        ax.set_xticks(x, groups)
        ax.set_xlim(-0.6, len(groups) - 0.4)
        ax.set_ylim(0, ymax)
        ax.set_yticks(range(0, ymax + 1, STEP))
        ax.tick_params(axis="y", labelsize=FONT_SIZE - 1 if ymax > 110 else FONT_SIZE)
        ax.grid(axis="y", color="#888888", linewidth=1.0, zorder=0)
        ax.set_ylabel(f"{scene['topic']} ({scene['unit']})", fontsize=FONT_SIZE)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        fig.text(0.5, 0.965, scene["topic"], ha="center", va="top", fontsize=FONT_SIZE + 2)
        legend(fig, series, scene["colours"], y=0.875)
        return fig

    def distractors(self, scene: Scene, kind: str, args: Args, answer: Any, rng: np.random.Generator) -> list[Any]:
        if KINDS[kind].answer_type is AnswerType.TEXT:
            shown = [g for g in scene["groups"] if g != answer]
            unshown = [g for g in GROUP_SETS[scene["group_noun"]] if g not in scene["groups"]]
            return shown + unshown
        if kind in PERCENT_KINDS:
            return [answer + 25, answer - 25, -answer, answer * 2, answer + 50, answer + 10]
        if kind in ("stack_total", "max_total"):
            present = [t for t in _totals(scene) if t != answer]
        elif kind == "count_greater":
            present = [len(scene["groups"]) - answer]
        else:
            present = [v for row in scene["values"] for v in row if v != answer]
        return present + numeric_distractors(answer, rng)

    def format_answer(self, kind: str, value: Any) -> str:
        return f"{value}%" if kind in PERCENT_KINDS else str(value)

    def solution(self, scene: Scene, kind: str, args: Args, value: Any) -> str:
        how = ("the top of each segment minus its bottom, against the gridlines" if scene["style"] == "stacked"
               else "each bar against the gridlines")
        rows = "; ".join(f"{name}: " + ", ".join(f"{g} = {v}" for g, v in zip(scene["groups"], row, strict=True))
                         for name, row in zip(scene["series"], scene["values"], strict=True))
        totals = ", ".join(f"{g} = {t}" for g, t in zip(scene["groups"], _totals(scene), strict=True))
        return (f"Reading {how} (series from the legend): {rows}. Totals per {_noun(scene)}: {totals}. "
                f"So the answer is {self.format_answer(kind, value)}.")
