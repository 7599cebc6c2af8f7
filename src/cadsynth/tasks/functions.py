"""Function graphs on a square grid: lines and parabolas named f, g, h; values, roots, slopes, extrema, intersections.

Every graph passes through grid points so the values a question needs read exactly: a line is stored as a
grid point and a slope p/q (q steps right, p steps up), a parabola as its vertex (a grid point) and a leading
coefficient of +-1 or +-1/2. Questions only name x-values where the graph sits on a grid intersection inside the
window, and count roots or intersections only when every one of them lies inside the window.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cadsynth.records import AnswerType
from cadsynth.tasks.base import PALETTE, Args, Family, Kind, Scene, numeric_distractors
from cadsynth.tasks.render import FONT_SIZE, canvas

NAMES = "fgh"
COLOURS = ["blue", "red", "green"]
MAX_GRAPHS = 3

KNOBS = {
    1: {"graphs": (1, 1), "n": 6, "types": ("line", "parabola"), "slope_dens": (1,), "a_values": (1,)},
    2: {"graphs": (1, 2), "n": 6, "types": ("line", "parabola"), "slope_dens": (1, 2), "a_values": (1,)},
    3: {"graphs": (2, 2), "n": 7, "types": ("line", "parabola"), "slope_dens": (1, 2, 3), "a_values": (1, 2)},
}


# ---------------------------------------------------------------------------------------------------------
# Shared helpers (also used by the conics family): exact numbers and the coordinate grid
# ---------------------------------------------------------------------------------------------------------


def frac(pair: list[int] | Fraction | int) -> Fraction:
    """A Fraction from the JSON form [num, den] (or a number)."""
    if isinstance(pair, list):
        return Fraction(pair[0], pair[1])
    return Fraction(pair)


def pair(x: Fraction) -> list[int]:
    """The JSON form of a Fraction."""
    x = Fraction(x)
    return [int(x.numerator), int(x.denominator)]


def fmt_number(x: Fraction | int) -> str:
    """An exact number as a short answer: '3', '-2.5', '0.25', otherwise a fraction '-2/3'."""
    x = Fraction(x)
    if x.denominator == 1:
        return str(x.numerator)
    den = x.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    if den == 1 and x.denominator <= 100:  # a short terminating decimal
        text = f"{float(x):.2f}".rstrip("0").rstrip(".")
        return text
    return f"{x.numerator}/{x.denominator}"


def fmt_point(x: Fraction | int, y: Fraction | int) -> str:
    return f"({fmt_number(x)}, {fmt_number(y)})"


def grid_axes(ax: Axes, n: int) -> None:
    """A square window [-n-0.5, n+0.5]^2 with a gridline and a tick label at every integer, bold axes at 0."""
    ax.set_xlim(-n - 0.5, n + 0.5)
    ax.set_ylim(-n - 0.5, n + 0.5)
    ax.set_xticks(range(-n, n + 1))
    ax.set_yticks(range(-n, n + 1))
    ax.tick_params(labelsize=FONT_SIZE - 1, length=3, pad=2)
    ax.set_aspect("equal")
    ax.grid(color="#BBBBBB", linewidth=0.8, zorder=0)
    ax.axhline(0, color="#333333", linewidth=1.6, zorder=1)
    ax.axvline(0, color="#333333", linewidth=1.6, zorder=1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


# ---------------------------------------------------------------------------------------------------------
# Graphs
# ---------------------------------------------------------------------------------------------------------


def _graph(scene: Scene, name: str) -> dict[str, Any]:
    return next(g for g in scene["graphs"] if g["name"] == name)


def value(g: dict[str, Any], x: Fraction | int) -> Fraction:
    x = Fraction(x)
    if g["type"] == "line":
        return g["y0"] + frac(g["m"]) * (x - g["x0"])
    return frac(g["a"]) * (x - g["h"]) ** 2 + g["k"]


def coefficients(g: dict[str, Any]) -> tuple[Fraction, Fraction, Fraction]:
    """(A, B, C) with g(x) = A x^2 + B x + C."""
    if g["type"] == "line":
        m = frac(g["m"])
        return Fraction(0), m, g["y0"] - m * g["x0"]
    a = frac(g["a"])
    return a, -2 * a * g["h"], a * g["h"] ** 2 + g["k"]


def real_roots(a: Fraction, b: Fraction, c: Fraction) -> list[float] | None:
    """Real solutions of a x^2 + b x + c = 0 (sorted floats); None when every x solves it."""
    if a == 0:
        if b == 0:
            return None if c == 0 else []
        return [float(-c / b)]
    disc = b * b - 4 * a * c
    if disc < 0:
        return []
    if disc == 0:
        return [float(-b / (2 * a))]
    root = math.sqrt(float(disc))
    return sorted([(-float(b) - root) / (2 * float(a)), (-float(b) + root) / (2 * float(a))])


def rational_roots(a: Fraction, b: Fraction, c: Fraction) -> list[Fraction] | None:
    """The solutions when all of them are rational, else None."""
    if a == 0:
        return [-c / b] if b != 0 else None
    disc = b * b - 4 * a * c
    if disc < 0:
        return []
    num, den = math.isqrt(disc.numerator), math.isqrt(disc.denominator)
    if num * num != disc.numerator or den * den != disc.denominator:
        return None
    r = Fraction(num, den)
    return sorted({(-b - r) / (2 * a), (-b + r) / (2 * a)})


def _inside(scene: Scene, v: float, margin: float = 0.6) -> bool:
    return abs(v) <= scene["n"] - margin


def _grid_xs(scene: Scene, g: dict[str, Any]) -> list[int]:
    """Integer x in the window where the graph is at an integer y inside the window."""
    n = scene["n"]
    out = []
    for x in range(-n, n + 1):
        y = value(g, x)
        if y.denominator == 1 and abs(y) <= n:
            out.append(x)
    return out


def _roots(g: dict[str, Any]) -> list[float]:
    return real_roots(*coefficients(g)) or []


def _crossings(f: dict[str, Any], g: dict[str, Any]) -> list[float] | None:
    a1, b1, c1 = coefficients(f)
    a2, b2, c2 = coefficients(g)
    return real_roots(a1 - a2, b1 - b2, c1 - c2)


def _pick(rng: np.random.Generator, items: list[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


# ---------------------------------------------------------------------------------------------------------
# ask: the arguments of a question, or None when the picture cannot carry it unambiguously
# ---------------------------------------------------------------------------------------------------------


def _ask_value(scene: Scene, rng: np.random.Generator) -> Args | None:
    options = [(g["name"], x) for g in scene["graphs"] for x in _grid_xs(scene, g) if abs(x) < scene["n"]
               and abs(value(g, x)) < scene["n"]]
    if not options:
        return None
    name, x = _pick(rng, options)
    return {"f": name, "x": x}


def _ask_solve(scene: Scene, rng: np.random.Generator) -> Args | None:
    options = [(g["name"], int(value(g, x))) for g in scene["graphs"] if g["type"] == "line"
               for x in _grid_xs(scene, g) if abs(x) < scene["n"] and abs(value(g, x)) < scene["n"]]
    if not options:
        return None
    name, v = _pick(rng, options)
    return {"f": name, "v": v}


def _ask_root(scene: Scene, rng: np.random.Generator) -> Args | None:
    options = []
    for g in scene["graphs"]:
        roots = rational_roots(*coefficients(g))
        if roots and all(r.denominator == 1 and _inside(scene, float(r)) for r in roots):
            options.append(g["name"])
    return {"f": _pick(rng, options)} if options else None


def _ask_num_roots(scene: Scene, rng: np.random.Generator) -> Args | None:
    options = [g["name"] for g in scene["graphs"] if g["type"] == "parabola"
               and all(_inside(scene, r) for r in _roots(g))]
    return {"f": _pick(rng, options)} if options else None


def _ask_line(scene: Scene, rng: np.random.Generator) -> Args | None:
    options = [g["name"] for g in scene["graphs"] if g["type"] == "line"]
    return {"f": _pick(rng, options)} if options else None


def _ask_parabola(scene: Scene, rng: np.random.Generator) -> Args | None:
    options = [g["name"] for g in scene["graphs"] if g["type"] == "parabola"
               and _inside(scene, g["h"], 0.9) and _inside(scene, g["k"], 0.9)]
    return {"f": _pick(rng, options)} if options else None


def _ask_difference(scene: Scene, rng: np.random.Generator) -> Args | None:
    graphs, n = scene["graphs"], scene["n"]
    options = []
    for f in graphs:
        for g in graphs:
            if f is g:
                continue
            for x in set(_grid_xs(scene, f)) & set(_grid_xs(scene, g)):
                if abs(x) < n and abs(value(f, x)) < n and abs(value(g, x)) < n and value(f, x) > value(g, x):
                    options.append((f["name"], g["name"], x))
    if not options:
        return None
    f, g, x = _pick(rng, sorted(options))
    return {"f": f, "g": g, "x": x}


def _pairs(scene: Scene) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    graphs = scene["graphs"]
    return [(f, g) for i, f in enumerate(graphs) for g in graphs[i + 1 :]]


def _ask_intersection(scene: Scene, rng: np.random.Generator) -> Args | None:
    options = []
    for f, g in _pairs(scene):
        a1, b1, c1 = coefficients(f)
        a2, b2, c2 = coefficients(g)
        xs = rational_roots(a1 - a2, b1 - b2, c1 - c2)
        if not xs or any(x.denominator != 1 or not _inside(scene, float(x)) for x in xs):
            continue
        if any(value(f, x).denominator != 1 or not _inside(scene, float(value(f, x))) for x in xs):
            continue
        options.append((f["name"], g["name"], len(xs)))
    if not options:
        return None
    f, g, count = _pick(rng, options)
    return {"f": f, "g": g, "which": "larger" if count == 2 else "only"}


def _ask_num_intersections(scene: Scene, rng: np.random.Generator) -> Args | None:
    options = []
    for f, g in _pairs(scene):
        xs = _crossings(f, g)
        if xs is None or any(not _inside(scene, x) or not _inside(scene, float(value(f, Fraction(x)))) for x in xs):
            continue
        if len(xs) == 2 and xs[1] - xs[0] < 0.8:  # two crossings too close to tell apart
            continue
        options.append((f["name"], g["name"]))
    if not options:
        return None
    f, g = _pick(rng, options)
    return {"f": f, "g": g}


# ---------------------------------------------------------------------------------------------------------
# solve
# ---------------------------------------------------------------------------------------------------------


def _solve_value(s: Scene, a: Args) -> int:
    return int(value(_graph(s, a["f"]), a["x"]))


def _solve_x(s: Scene, a: Args) -> int:
    g = _graph(s, a["f"])
    return int(g["x0"] + (a["v"] - g["y0"]) / frac(g["m"]))


def _solve_root(s: Scene, a: Args) -> int:
    return int(max(rational_roots(*coefficients(_graph(s, a["f"])))))


def _solve_intersection(s: Scene, a: Args) -> str:
    f, g = _graph(s, a["f"]), _graph(s, a["g"])
    a1, b1, c1 = coefficients(f)
    a2, b2, c2 = coefficients(g)
    x = max(rational_roots(a1 - a2, b1 - b2, c1 - c2))
    return fmt_point(x, value(f, x))


def _root_text(s: Scene, a: Args) -> str:
    g = _graph(s, a["f"])
    if len(rational_roots(*coefficients(g))) == 2:
        return f"The graph of {a['f']} crosses the x-axis twice. What is the larger x-intercept of {a['f']}?"
    return f"At what value of x does the graph of {a['f']} meet the x-axis?"


def _extremum_word(s: Scene, a: Args) -> str:
    return "minimum" if frac(_graph(s, a["f"])["a"]) > 0 else "maximum"


def _intersection_text(s: Scene, a: Args) -> str:
    if a["which"] == "larger":
        return (f"The graphs of {a['f']} and {a['g']} meet at two points. What are the coordinates of the one with "
                "the larger x-coordinate? Answer as (x, y).")
    return f"At which point do the graphs of {a['f']} and {a['g']} meet? Answer as (x, y)."


KINDS = {
    "value_at": Kind(
        "value_at", "read", _ask_value,
        lambda s, a: f"Using the graph, what is {a['f']}({a['x']})?",
        _solve_value, reverse="solve_for_x", extend="difference",
    ),
    "solve_for_x": Kind(
        "solve_for_x", "find", _ask_solve,
        lambda s, a: f"For which value of x is {a['f']}(x) = {a['v']}?",
        _solve_x, reverse="value_at", extend="intersection",
    ),
    "root": Kind(
        "root", "read", _ask_root, _root_text, _solve_root, reverse="value_at", extend="num_roots",
    ),
    "num_roots": Kind(
        "num_roots", "count", _ask_num_roots,
        lambda s, a: f"How many times does the graph of {a['f']} meet the x-axis?",
        lambda s, a: len(_roots(_graph(s, a["f"]))), reverse="root", extend="num_intersections",
    ),
    "slope": Kind(
        "slope", "ratio", _ask_line,
        lambda s, a: f"What is the slope of the line {a['f']}? Give an exact value (a fraction if needed).",
        lambda s, a: frac(_graph(s, a["f"])["m"]), answer_type=AnswerType.NUMBER,
        reverse="value_at", extend="intersection",
    ),
    "extremum": Kind(
        "extremum", "extremum", _ask_parabola,
        lambda s, a: f"What is the {_extremum_word(s, a)} value of {a['f']}?",
        lambda s, a: _graph(s, a["f"])["k"], reverse="vertex_x", extend="difference",
    ),
    "vertex_x": Kind(
        "vertex_x", "find", _ask_parabola,
        lambda s, a: f"At which value of x does {a['f']} reach its {_extremum_word(s, a)}?",
        lambda s, a: _graph(s, a["f"])["h"], reverse="extremum", extend="num_roots",
    ),
    "difference": Kind(
        "difference", "difference", _ask_difference,
        lambda s, a: f"Using the graphs, what is {a['f']}({a['x']}) - {a['g']}({a['x']})?",
        lambda s, a: int(value(_graph(s, a["f"]), a["x"]) - value(_graph(s, a["g"]), a["x"])),
        reverse="value_at", extend="difference",
    ),
    "intersection": Kind(
        "intersection", "find", _ask_intersection, _intersection_text, _solve_intersection,
        answer_type=AnswerType.EXPRESSION, reverse="value_at", extend="num_intersections",
    ),
    "num_intersections": Kind(
        "num_intersections", "count", _ask_num_intersections,
        lambda s, a: f"How many points do the graphs of {a['f']} and {a['g']} have in common?",
        lambda s, a: len(_crossings(_graph(s, a["f"]), _graph(s, a["g"]))),
        reverse="intersection", extend="num_intersections",
    ),
}


class Functions(Family):
    name = "functions"
    domain = "math"
    kinds = KINDS
    aliases = ("function graph", "graph of", "functions", "parabola", "linear function", "quadratic",
               "x-intercept", "f(x)")
    size_knob = "graphs"
    size_nouns = ("graphs", "functions", "curves")

    def knobs(self, difficulty: int) -> dict[str, Any]:
        return dict(KNOBS[difficulty])

    def scene(self, rng: np.random.Generator, difficulty: int, knobs: dict[str, Any] | None = None) -> Scene:
        k = knobs or KNOBS[difficulty]
        count = int(rng.integers(k["graphs"][0], k["graphs"][1] + 1))
        scene: Scene = {"n": int(k["n"]), "slope_dens": list(k["slope_dens"]), "a_values": list(k["a_values"]),
                        "graphs": []}
        for _ in range(count):
            scene = self._add(scene, rng, str(_pick(rng, list(k["types"]))))
        return scene

    def _new_graph(self, scene: Scene, rng: np.random.Generator, kind: str) -> dict[str, Any]:
        n = scene["n"]
        if kind == "line":
            q = int(_pick(rng, scene["slope_dens"]))
            p = int(rng.integers(1, 4 if q == 1 else 2 * q + 1)) * int(_pick(rng, [-1, 1]))
            x0, y0 = (int(v) for v in rng.integers(-n + 2, n - 1, size=2))
            return {"type": "line", "x0": x0, "y0": y0, "m": pair(Fraction(p, q))}
        den = int(_pick(rng, scene["a_values"]))
        a = Fraction(int(_pick(rng, [-1, 1])), den)
        h = int(rng.integers(-n + 2, n - 1))
        k = int(rng.integers(-n + 2, n - 1))
        return {"type": "parabola", "a": pair(a), "h": h, "k": k}

    def _ok(self, scene: Scene, g: dict[str, Any]) -> bool:
        """A usable new graph: two grid points in view, distinct from the others, not parallel-identical."""
        if len(_grid_xs(scene, g)) < 3:
            return False
        for other in scene["graphs"]:
            if coefficients(other) == coefficients(g):
                return False
        return True

    def _add(self, scene: Scene, rng: np.random.Generator, kind: str) -> Scene:
        i = len(scene["graphs"])
        if i >= MAX_GRAPHS:
            return scene
        for _ in range(200):
            g = self._new_graph(scene, rng, kind)
            if self._ok(scene, g):
                break
        else:
            return scene
        g = {"name": NAMES[i], "colour": COLOURS[i], **g}
        return {**scene, "graphs": [*scene["graphs"], g]}

    def vary(self, scene: Scene, rng: np.random.Generator) -> Scene:
        fresh: Scene = {**scene, "graphs": []}
        for g in scene["graphs"]:
            fresh = self._add(fresh, rng, g["type"])
        return fresh

    def extend_scene(self, scene: Scene, rng: np.random.Generator) -> Scene:
        types = [g["type"] for g in scene["graphs"]]
        kind = "parabola" if types.count("line") > types.count("parabola") else "line"  # the mix makes crossings
        return self._add(scene, rng, kind)

    # -----------------------------------------------------------------------------------------------------

    def _label_spot(self, scene: Scene, g: dict[str, Any], taken: list[tuple[float, float]]) -> tuple[float, float]:
        """Where to write a graph's name: beside the curve, inside the window, clear of every curve and name."""
        n = scene["n"]
        xs = np.linspace(-n - 0.5, n + 0.5, 300)
        curve_pts = []
        for o in scene["graphs"]:
            a, b, c = (float(v) for v in coefficients(o))
            ys = a * xs**2 + b * xs + c
            keep = np.abs(ys) <= n + 1
            curve_pts.append(np.stack([xs[keep], ys[keep]], axis=1))
        axes = np.linspace(-n - 0.5, n + 0.5, 60)
        curve_pts += [np.stack([axes, 0 * axes], axis=1), np.stack([0 * axes, axes], axis=1)]  # keep the axes clear
        cloud = np.concatenate(curve_pts)
        a, b, c = (float(v) for v in coefficients(g))
        best, best_score = (0.0, 0.0), -1e9
        for x in np.linspace(-n + 0.8, n - 0.8, 6 * n):
            y = a * x * x + b * x + c
            for dx, dy in ((0.0, 0.8), (0.0, -0.8), (1.2, 0.0), (-1.2, 0.0), (1.0, 0.6), (-1.0, 0.6), (1.0, -0.6),
                           (-1.0, -0.6)):
                lx, ly = x + dx, y + dy
                if abs(lx) > n - 1.0 or abs(ly) > n - 0.5:
                    continue
                clear = float(np.min(np.hypot((cloud[:, 0] - lx) / 1.6, cloud[:, 1] - ly)))  # the label is wide
                names = min([math.hypot(lx - tx, ly - ty) for tx, ty in taken] + [9.0])
                score = min(clear, 0.7) * 10 + min(names, 3.0) - 0.05 * (abs(lx) + abs(ly))
                if score > best_score:
                    best, best_score = (round(float(lx), 3), round(float(ly), 3)), score
        return best

    def draw(self, scene: Scene) -> Figure:
        fig, ax = canvas((0.08, 0.07, 0.9, 0.9))
        n = scene["n"]
        grid_axes(ax, n)
        xs = np.linspace(-n - 0.5, n + 0.5, 400)
        taken: list[tuple[float, float]] = []
        for g in scene["graphs"]:
            a, b, c = (float(v) for v in coefficients(g))
            ys = a * xs**2 + b * xs + c
            ys[np.abs(ys) > n + 2] = np.nan
            colour = PALETTE[g["colour"]]
            ax.plot(xs, ys, color=colour, linewidth=2.6, zorder=3)
            lx, ly = self._label_spot(scene, g, taken)
            taken.append((lx, ly))
            ax.text(lx, ly, f"{g['name']}(x)", color=colour, fontsize=FONT_SIZE + 2, fontweight="bold",
                    ha="center", va="center", zorder=5,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.9})
        return fig

    def distractors(self, scene: Scene, kind: str, args: Args, answer: Any, rng: np.random.Generator) -> list[Any]:
        if kind == "intersection":
            f = _graph(scene, args["f"])
            pts = [(x, int(value(f, x))) for x in _grid_xs(scene, f)]
            inner = answer.strip("()").split(", ")
            x, y = Fraction(inner[0]), Fraction(inner[1])
            pool = [fmt_point(y, x), fmt_point(x, -y), fmt_point(-x, y), fmt_point(x + 1, y), fmt_point(x, y + 1)]
            pool += [fmt_point(px, py) for px, py in pts]
            return [p for p in pool if p != answer]
        if kind == "slope":
            m = Fraction(answer)
            pool = [-m, 1 / m, -1 / m, m + 1, m - 1, 2 * m]
            return [p for p in pool if p != m]
        if kind in ("num_roots", "num_intersections"):
            return [v for v in (0, 1, 2, 3) if v != answer]
        pool = numeric_distractors(answer, rng, step=1)
        pool += [-answer, answer + 3, answer - 3]
        return [p for p in pool if p != answer]

    def format_answer(self, kind: str, value: Any) -> str:
        if isinstance(value, str):
            return value
        return fmt_number(value)

    def solution(self, scene: Scene, kind: str, args: Args, value: Any) -> str:
        parts = []
        for g in scene["graphs"]:
            a, b, c = coefficients(g)
            if g["type"] == "line":
                parts.append(f"{g['name']} is the line through ({g['x0']}, {g['y0']}) with slope {fmt_number(b)}")
            else:
                parts.append(f"{g['name']} is the parabola with vertex ({g['h']}, {g['k']}) and "
                             f"{g['name']}(x) = {fmt_number(a)}(x - {g['h']})^2 + {g['k']}")
        answer = self.format_answer(kind, value)
        return f"From the grid: {'; '.join(parts)}. So the answer is {answer}."
