"""Chart understanding on tables drawn as images: read a cell, compare, difference, percent change, sums.

The kinds reuse the computation classes of the chart families (`bars`): reading a cell is "read", a percent
change between two columns is "ratio", a row or column total is "sum"... so isomorphic transfer moves
"percent change on a chart" to "percent change on a table". Every number is printed in its cell.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cadsynth.records import AnswerType
from cadsynth.tasks.base import Args, Family, Kind, Scene, numeric_distractors
from cadsynth.tasks.render import FONT_SIZE, canvas

TOPICS = [
    ("Books sold", "shop", "shops", ["North", "South", "East", "West", "Central", "Harbour", "Airport"]),
    ("Rainfall (mm)", "city", "cities", ["Leeds", "York", "Bath", "Hull", "Derby", "Ely", "Wells"]),
    ("Tickets sold", "team", "teams", ["Lions", "Tigers", "Bears", "Wolves", "Hawks", "Sharks", "Eagles"]),
    ("Visitors", "museum", "museums", ["Art", "Science", "History", "Toys", "Ocean", "Space", "Music"]),
]
COLUMN_SETS = [["2021", "2022", "2023", "2024"], ["Jan", "Feb", "Mar", "Apr"], ["Q1", "Q2", "Q3", "Q4"]]
MAX_ROWS = 7
PERCENTS = (-50, -40, -25, -20, -10, 10, 20, 25, 40, 50, 60, 75, 100)

KNOBS = {
    1: {"rows": (3, 3), "cols": (2, 2), "step": 10, "vmax": 100},
    2: {"rows": (4, 4), "cols": (3, 3), "step": 5, "vmax": 200},
    3: {"rows": (5, 6), "cols": (3, 4), "step": 1, "vmax": 500},
}


def _cell(scene: Scene, row: str, col: str) -> int:
    return scene["values"][scene["rows"].index(row)][scene["cols"].index(col)]


def _column(scene: Scene, col: str) -> list[int]:
    j = scene["cols"].index(col)
    return [row[j] for row in scene["values"]]


def _row_totals(scene: Scene) -> list[int]:
    return [sum(row) for row in scene["values"]]


def _pct(a: int, b: int) -> int:
    return (100 * (b - a)) // a


def _pick(items: list[Any], rng: np.random.Generator) -> Any:
    return items[int(rng.integers(len(items)))]


def _any_cell(scene: Scene, rng: np.random.Generator) -> Args:
    return {"row": _pick(scene["rows"], rng), "col": _pick(scene["cols"], rng)}


def _any_col(scene: Scene, rng: np.random.Generator) -> Args:
    return {"col": _pick(scene["cols"], rng)}


def _any_row(scene: Scene, rng: np.random.Generator) -> Args:
    return {"row": _pick(scene["rows"], rng)}


def _unique_in_column(scene: Scene, rng: np.random.Generator) -> Args | None:
    options = [(c, v) for c in scene["cols"] for v in _column(scene, c) if _column(scene, c).count(v) == 1]
    if not options:
        return None
    col, v = _pick(options, rng)
    return {"col": col, "v": v}


def _row_pair(scene: Scene, rng: np.random.Generator) -> Args | None:
    options = [(a, b, c) for c in scene["cols"] for a in scene["rows"] for b in scene["rows"]
               if _cell(scene, a, c) > _cell(scene, b, c)]
    if not options:
        return None
    a, b, c = _pick(options, rng)
    return {"a": a, "b": b, "col": c}


def _column_change(scene: Scene, rng: np.random.Generator) -> Args | None:
    cols = scene["cols"]
    options = []
    for r in scene["rows"]:
        for i in range(len(cols)):
            for j in range(i + 1, len(cols)):
                a, b = _cell(scene, r, cols[i]), _cell(scene, r, cols[j])
                if a != b and (100 * (b - a)) % a == 0:
                    options.append((r, cols[i], cols[j]))
    if not options:
        return None
    r, a, b = _pick(options, rng)
    return {"row": r, "a": a, "b": b}


def _unique_max_in_column(scene: Scene, rng: np.random.Generator) -> Args | None:
    options = [c for c in scene["cols"] if _column(scene, c).count(max(_column(scene, c))) == 1]
    return {"col": _pick(options, rng)} if options else None


def _unique_max_total(scene: Scene, rng: np.random.Generator) -> Args | None:
    totals = _row_totals(scene)
    return {} if totals.count(max(totals)) == 1 else None


def _threshold(scene: Scene, rng: np.random.Generator) -> Args:
    col = _pick(scene["cols"], rng)
    column = _column(scene, col)
    step = 10 if max(column) <= 200 else 50
    lo, hi = min(column) // step, max(column) // step + 1
    return {"col": col, "t": int(rng.integers(lo, hi)) * step}


def _row_of(scene: Scene, col: str, v: int) -> str:
    return scene["rows"][_column(scene, col).index(v)]


KINDS = {
    "cell": Kind(
        "cell", "read", _any_cell,
        lambda s, a: f"According to the table, what is the value for {a['row']} in {a['col']}?",
        lambda s, a: _cell(s, a["row"], a["col"]), reverse="find_row", extend="difference",
    ),
    "find_row": Kind(
        "find_row", "find", _unique_in_column,
        lambda s, a: f"According to the table, which {s['row_noun']} has the value {a['v']} in {a['col']}?",
        lambda s, a: _row_of(s, a["col"], a["v"]),
        answer_type=AnswerType.TEXT, reverse="cell", extend="difference",
    ),
    "difference": Kind(
        "difference", "difference", _row_pair,
        lambda s, a: f"In {a['col']}, how much greater is the value for {a['a']} than the value for {a['b']}?",
        lambda s, a: _cell(s, a["a"], a["col"]) - _cell(s, a["b"], a["col"]), reverse="cell",
        extend="percent_change",
    ),
    "percent_change": Kind(
        "percent_change", "ratio", _column_change,
        lambda s, a: f"For {a['row']}, by what percent does the value change from {a['a']} to {a['b']}? "
        "Answer with a percentage (negative for a decrease).",
        lambda s, a: _pct(_cell(s, a["row"], a["a"]), _cell(s, a["row"], a["b"])),
        answer_type=AnswerType.NUMBER, reverse="cell", extend="percent_change",
    ),
    "row_total": Kind(
        "row_total", "sum", _any_row,
        lambda s, a: f"What is the sum of all the values in the {a['row']} row?",
        lambda s, a: sum(s["values"][s["rows"].index(a["row"])]), reverse="cell", extend="which_max_total",
    ),
    "col_total": Kind(
        "col_total", "sum", _any_col,
        lambda s, a: f"What is the sum of all the values in the {a['col']} column?",
        lambda s, a: sum(_column(s, a["col"])), reverse="cell", extend="range",
    ),
    "max_value": Kind(
        "max_value", "extremum", _unique_max_in_column,
        lambda s, a: f"What is the highest value in the {a['col']} column?",
        lambda s, a: max(_column(s, a["col"])), reverse="which_max", extend="range",
    ),
    "which_max": Kind(
        "which_max", "find", _unique_max_in_column,
        lambda s, a: f"Which {s['row_noun']} has the highest value in {a['col']}?",
        lambda s, a: _row_of(s, a["col"], max(_column(s, a["col"]))),
        answer_type=AnswerType.TEXT, reverse="max_value", extend="range",
    ),
    "range": Kind(
        "range", "difference", _any_col,
        lambda s, a: f"In the {a['col']} column, what is the difference between the highest and the lowest value?",
        lambda s, a: max(_column(s, a["col"])) - min(_column(s, a["col"])), reverse="max_value",
        extend="col_total",
    ),
    "count_above": Kind(
        "count_above", "count", _threshold,
        lambda s, a: f"How many {s['row_nouns']} have a value greater than {a['t']} in {a['col']}?",
        lambda s, a: sum(v > a["t"] for v in _column(s, a["col"])), reverse="max_value", extend="col_total",
    ),
    "which_max_total": Kind(
        "which_max_total", "find", _unique_max_total,
        lambda s, a: f"Which {s['row_noun']} has the largest total across all the columns?",
        lambda s, a: s["rows"][_row_totals(s).index(max(_row_totals(s)))],
        answer_type=AnswerType.TEXT, reverse="row_total", extend="which_max_total",
    ),
}


class Table(Family):
    name = "table"
    domain = "chart"
    kinds = KINDS
    aliases = ("table", "data table", "rows and columns", "cell", "spreadsheet")
    size_knob = "rows"
    size_nouns = ("rows",)

    def knobs(self, difficulty: int) -> dict[str, Any]:
        return dict(KNOBS[difficulty])

    def scene(self, rng: np.random.Generator, difficulty: int, knobs: dict[str, Any] | None = None) -> Scene:
        k = knobs or KNOBS[difficulty]
        n_rows = max(2, min(int(rng.integers(k["rows"][0], k["rows"][1] + 1)), MAX_ROWS))
        n_cols = min(int(rng.integers(k["cols"][0], k["cols"][1] + 1)), 4)
        return self._make(rng, n_rows, n_cols, k["step"], k["vmax"])

    def _draw_value(self, rng: np.random.Generator, step: int, vmax: int) -> int:
        lo = max(step, 10)
        return int(rng.integers(lo // step, vmax // step + 1)) * step

    def _make(self, rng: np.random.Generator, n_rows: int, n_cols: int, step: int, vmax: int) -> Scene:
        title, noun, nouns, names = TOPICS[int(rng.integers(len(TOPICS)))]
        cols = COLUMN_SETS[int(rng.integers(len(COLUMN_SETS)))][:n_cols]
        values = [[self._draw_value(rng, step, vmax) for _ in cols] for _ in range(n_rows)]
        self._plant_change(values, rng, step, vmax)
        return {"title": title, "row_noun": noun, "row_nouns": nouns, "rows": names[:n_rows], "cols": cols,
                "values": values, "step": step, "vmax": vmax}

    def _plant_change(self, values: list[list[int]], rng: np.random.Generator, step: int, vmax: int) -> None:
        """One row whose value changes by a whole percent between two columns (less regular values need it)."""
        r = int(rng.integers(len(values)))
        i, j = sorted(int(k) for k in rng.choice(len(values[r]), size=2, replace=False))
        for _ in range(50):
            a = int(rng.integers(1, vmax // 20 + 1)) * 20
            p = int(_pick(list(PERCENTS), rng))
            b = a * (100 + p) // 100
            if a * (100 + p) % 100 == 0 and b % step == 0 and 10 <= b <= vmax and a % step == 0:
                values[r][i], values[r][j] = a, b
                return

    def vary(self, scene: Scene, rng: np.random.Generator) -> Scene:
        return self._make(rng, len(scene["rows"]), len(scene["cols"]), scene["step"], scene["vmax"])

    def extend_scene(self, scene: Scene, rng: np.random.Generator) -> Scene:
        n = len(scene["rows"])
        if n >= MAX_ROWS:
            return scene
        names = next(names for title, _, _, names in TOPICS if title == scene["title"])
        row = [self._draw_value(rng, scene["step"], scene["vmax"]) for _ in scene["cols"]]
        return {**scene, "rows": names[: n + 1], "values": [*scene["values"], row]}

    def draw(self, scene: Scene) -> Figure:
        fig, ax = canvas((0.04, 0.03, 0.92, 0.84))
        ax.set_axis_off()
        rows, cols = scene["rows"], scene["cols"]
        first = 0.34 if len(cols) <= 3 else 0.28
        width = (1 - first) / len(cols)
        height = min(0.13, 1 / (len(rows) + 1))
        ax.set_xlim(0, 1)
        ax.set_ylim(1, 0)  # rows go down
        lefts = [0.0] + [first + k * width for k in range(len(cols))]
        widths = [first] + [width] * len(cols)
        header = [scene["row_noun"].capitalize(), *cols]
        for r, cells in enumerate([header] + [[name, *map(str, vals)] for name, vals in
                                              zip(rows, scene["values"], strict=True)]):
            top = r * height
            for k, text in enumerate(cells):
                shaded = r == 0 or k == 0
                ax.add_patch(Rectangle((lefts[k], top), widths[k], height, facecolor="#E6E6E6" if shaded else "white",
                                       edgecolor="#444444", linewidth=1.2))
                ax.text(lefts[k] + widths[k] / 2, top + height / 2, text, ha="center", va="center",
                        fontsize=FONT_SIZE + 1, fontweight="bold" if shaded else "normal")
        fig.text(0.5, 0.955, scene["title"], ha="center", va="top", fontsize=FONT_SIZE + 3)
        return fig

    def distractors(self, scene: Scene, kind: str, args: Args, answer: Any, rng: np.random.Generator) -> list[Any]:
        if KINDS[kind].answer_type is AnswerType.TEXT:
            names = next(names for title, _, _, names in TOPICS if title == scene["title"])
            return [r for r in scene["rows"] if r != answer] + [n for n in names if n not in scene["rows"]]
        if kind == "percent_change":
            return [answer + 25, answer - 25, -answer, answer * 2, answer + 50, answer + 10]
        if kind == "count_above":
            return [len(scene["rows"]) - answer] + numeric_distractors(answer, rng, step=1)
        if kind in ("row_total", "col_total"):
            present = [sum(row) for row in scene["values"]] + [sum(c) for c in zip(*scene["values"], strict=True)]
        else:
            present = [v for row in scene["values"] for v in row]
        step = 10 if answer >= 20 and answer % 10 == 0 else (5 if answer % 5 == 0 and answer >= 10 else 1)
        return [p for p in present if p != answer] + numeric_distractors(answer, rng, step=step)

    def format_answer(self, kind: str, value: Any) -> str:
        return f"{value}%" if kind == "percent_change" else str(value)

    def solution(self, scene: Scene, kind: str, args: Args, value: Any) -> str:
        rows = "; ".join(f"{name}: " + ", ".join(f"{c} = {v}" for c, v in zip(scene["cols"], vals, strict=True))
                         for name, vals in zip(scene["rows"], scene["values"], strict=True))
        return f"Reading the table: {rows}. So the answer is {self.format_answer(kind, value)}."
