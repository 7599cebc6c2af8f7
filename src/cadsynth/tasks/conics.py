"""Analytic geometry on a coordinate grid: labelled points, a circle and a parabola x^2 = 4p y (shifted).

Points sit on grid intersections and carry a letter; the circle has its centre on a grid point and an integer
radius; the parabola's vertex is a grid point and it passes through grid points (drawn as small dots), so its
focal length p can be worked out from the picture. Questions: distance, midpoint, slope, the other endpoint of a
segment, a point on a line, triangle area, the farthest point, the circle's centre and radius, points on the
circle, the parabola's focus and directrix and the focal distance of a point on it.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from cadsynth.records import AnswerType
from cadsynth.tasks.base import PALETTE, Args, Family, Kind, Scene, numeric_distractors
from cadsynth.tasks.functions import fmt_number, fmt_point, frac, grid_axes, pair
from cadsynth.tasks.render import FONT_SIZE, canvas

NAMES = "ACDEFGHK"  # no B (OCR reads it as 8)
POINT_COLOURS = ["blue", "red", "green", "purple", "black", "blue", "red", "green"]
MAX_POINTS = len(NAMES)

KNOBS = {
    1: {"points": (2, 3), "n": 5, "curves": 1, "shift": False, "p_values": ((1, 2), (1, 1))},
    2: {"points": (3, 4), "n": 6, "curves": 1, "shift": True, "p_values": ((1, 2), (1, 1), (1, 4))},
    3: {"points": (4, 5), "n": 7, "curves": 2, "shift": True, "p_values": ((1, 4), (1, 2), (1, 1), (2, 1))},
}


def surd(square: int) -> str:
    """sqrt(square) in simplest radical form: 5, 2√5, √2."""
    outside, inside = 1, square
    for f in range(int(np.sqrt(square)) + 1, 1, -1):
        if inside % (f * f) == 0:
            outside, inside = f, inside // (f * f)
            break
    if inside == 1:
        return str(outside)
    return f"√{inside}" if outside == 1 else f"{outside}√{inside}"


def _point(scene: Scene, name: str) -> dict[str, Any]:
    return next(p for p in scene["points"] if p["name"] == name)


def _pick(rng: np.random.Generator, items: list[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _sq(p: dict[str, Any], q: dict[str, Any]) -> int:
    return (p["x"] - q["x"]) ** 2 + (p["y"] - q["y"]) ** 2


def _parabola_y(par: dict[str, Any], x: int | Fraction) -> Fraction:
    return Fraction(x - par["h"]) ** 2 / (4 * frac(par["p"])) + par["k"]


def _on_parabola(scene: Scene, p: dict[str, Any]) -> bool:
    par = scene["parabola"]
    return par is not None and _parabola_y(par, p["x"]) == p["y"]


def _on_circle(scene: Scene, p: dict[str, Any]) -> bool:
    c = scene["circle"]
    return c is not None and (p["x"] - c["cx"]) ** 2 + (p["y"] - c["cy"]) ** 2 == c["r"] ** 2


def _two(scene: Scene, rng: np.random.Generator) -> tuple[str, str] | None:
    pts = scene["points"]
    if len(pts) < 2:
        return None
    i, j = sorted(int(k) for k in rng.choice(len(pts), size=2, replace=False))
    return pts[i]["name"], pts[j]["name"]


# ---------------------------------------------------------------------------------------------------------
# ask
# ---------------------------------------------------------------------------------------------------------


def _ask_pair(scene: Scene, rng: np.random.Generator) -> Args | None:
    two = _two(scene, rng)
    return {"a": two[0], "b": two[1]} if two else None


def _ask_slope(scene: Scene, rng: np.random.Generator) -> Args | None:
    pts = scene["points"]
    pairs = [(p["name"], q["name"]) for i, p in enumerate(pts) for q in pts[i + 1 :] if p["x"] != q["x"]]
    if not pairs:
        return None
    a, b = _pick(rng, pairs)
    return {"a": a, "b": b}


def _ask_endpoint(scene: Scene, rng: np.random.Generator) -> Args | None:
    two = _two(scene, rng)
    if not two:
        return None
    a, m = two if rng.random() < 0.5 else two[::-1]
    return {"a": a, "m": m}


def _ask_point_on_line(scene: Scene, rng: np.random.Generator) -> Args:
    p = _pick(rng, scene["points"])
    q = int(_pick(rng, [1, 1, 2]))
    m = Fraction(int(rng.integers(1, 4)) * int(_pick(rng, [-1, 1])), q)
    step = int(_pick(rng, [-2, 2, 4, -4])) * q
    return {"a": p["name"], "m": pair(m), "x": p["x"] + step}


def _ask_triangle(scene: Scene, rng: np.random.Generator) -> Args | None:
    pts = scene["points"]
    triples = [(p, q, r) for i, p in enumerate(pts) for j, q in enumerate(pts[i + 1 :], i + 1) for r in pts[j + 1 :]
               if (q["x"] - p["x"]) * (r["y"] - p["y"]) != (r["x"] - p["x"]) * (q["y"] - p["y"])]
    if not triples:
        return None
    p, q, r = _pick(rng, triples)
    return {"a": p["name"], "b": q["name"], "c": r["name"]}


def _ask_farthest(scene: Scene, rng: np.random.Generator) -> Args | None:
    pts = scene["points"]
    if len(pts) < 3:
        return None
    options = []
    for p in pts:
        d = sorted((_sq(p, q) for q in pts if q is not p), reverse=True)
        if d[0] != d[1]:
            options.append(p["name"])
    return {"a": _pick(rng, options)} if options else None


def _ask_circle(scene: Scene, rng: np.random.Generator) -> Args | None:
    return {} if scene["circle"] is not None else None


def _ask_on_circle(scene: Scene, rng: np.random.Generator) -> Args | None:
    return {} if scene["circle"] is not None and len(scene["points"]) >= 2 else None


def _ask_parabola(scene: Scene, rng: np.random.Generator) -> Args | None:
    return {} if scene["parabola"] is not None else None


def _ask_focal(scene: Scene, rng: np.random.Generator) -> Args | None:
    on = [p["name"] for p in scene["points"] if _on_parabola(scene, p)]
    return {"a": _pick(rng, on)} if on else None


# ---------------------------------------------------------------------------------------------------------
# solve
# ---------------------------------------------------------------------------------------------------------


def _solve_distance(s: Scene, a: Args) -> str:
    return surd(_sq(_point(s, a["a"]), _point(s, a["b"])))


def _solve_midpoint(s: Scene, a: Args) -> str:
    p, q = _point(s, a["a"]), _point(s, a["b"])
    return fmt_point(Fraction(p["x"] + q["x"], 2), Fraction(p["y"] + q["y"], 2))


def _solve_endpoint(s: Scene, a: Args) -> str:
    p, m = _point(s, a["a"]), _point(s, a["m"])
    return fmt_point(2 * m["x"] - p["x"], 2 * m["y"] - p["y"])


def _solve_slope(s: Scene, a: Args) -> Fraction:
    p, q = _point(s, a["a"]), _point(s, a["b"])
    return Fraction(q["y"] - p["y"], q["x"] - p["x"])


def _solve_point_on_line(s: Scene, a: Args) -> Fraction:
    p = _point(s, a["a"])
    return p["y"] + frac(a["m"]) * (a["x"] - p["x"])


def _solve_triangle(s: Scene, a: Args) -> Fraction:
    p, q, r = (_point(s, a[k]) for k in "abc")
    cross = (q["x"] - p["x"]) * (r["y"] - p["y"]) - (r["x"] - p["x"]) * (q["y"] - p["y"])
    return Fraction(abs(cross), 2)


def _solve_farthest(s: Scene, a: Args) -> str:
    p = _point(s, a["a"])
    return max((q for q in s["points"] if q is not p), key=lambda q: _sq(p, q))["name"]


def _focus_y(s: Scene) -> Fraction:
    par = s["parabola"]
    return par["k"] + frac(par["p"])


def _directrix(s: Scene) -> Fraction:
    par = s["parabola"]
    return par["k"] - frac(par["p"])


KINDS = {
    "distance": Kind(
        "distance", "distance", _ask_pair,
        lambda s, a: f"What is the distance between points {a['a']} and {a['b']}? "
        "Give an exact value (use √ for square roots).",
        _solve_distance, answer_type=AnswerType.EXPRESSION, reverse="endpoint", extend="triangle_area",
    ),
    "midpoint": Kind(
        "midpoint", "sum", _ask_pair,
        lambda s, a: f"What are the coordinates of the midpoint of segment {a['a']}{a['b']}? Answer as (x, y).",
        _solve_midpoint, answer_type=AnswerType.EXPRESSION, reverse="endpoint", extend="distance",
    ),
    "endpoint": Kind(
        "endpoint", "sum", _ask_endpoint,
        lambda s, a: f"Point {a['m']} is the midpoint of a segment from point {a['a']} to a point P (not drawn). "
        "What are the coordinates of P? Answer as (x, y).",
        _solve_endpoint, answer_type=AnswerType.EXPRESSION, reverse="midpoint", extend="distance",
    ),
    "slope": Kind(
        "slope", "ratio", _ask_slope,
        lambda s, a: f"What is the slope of the line through points {a['a']} and {a['b']}? "
        "Give an exact value (a fraction if needed).",
        _solve_slope, answer_type=AnswerType.NUMBER, reverse="point_on_line", extend="triangle_area",
    ),
    "point_on_line": Kind(
        "point_on_line", "product", _ask_point_on_line,
        lambda s, a: f"A line through point {a['a']} has slope {fmt_number(frac(a['m']))}. "
        f"What is the y-coordinate of the point on this line with x-coordinate {a['x']}?",
        _solve_point_on_line, answer_type=AnswerType.NUMBER, reverse="slope", extend="slope",
    ),
    "triangle_area": Kind(
        "triangle_area", "product", _ask_triangle,
        lambda s, a: f"What is the area of triangle {a['a']}{a['b']}{a['c']}, in square units?",
        _solve_triangle, answer_type=AnswerType.NUMBER, reverse="distance", extend="triangle_area",
    ),
    "farthest": Kind(
        "farthest", "extremum", _ask_farthest,
        lambda s, a: f"Which labelled point is farthest from point {a['a']}? Answer with its letter.",
        _solve_farthest, answer_type=AnswerType.TEXT, reverse="distance", extend="distance",
    ),
    "circle_centre": Kind(
        "circle_centre", "read", _ask_circle,
        lambda s, a: "What are the coordinates of the centre of the circle? Answer as (x, y).",
        lambda s, a: fmt_point(s["circle"]["cx"], s["circle"]["cy"]), answer_type=AnswerType.EXPRESSION,
        reverse="circle_radius", extend="on_circle",
    ),
    "circle_radius": Kind(
        "circle_radius", "read", _ask_circle,
        lambda s, a: "What is the radius of the circle?",
        lambda s, a: s["circle"]["r"], reverse="circle_centre", extend="on_circle",
    ),
    "on_circle": Kind(
        "on_circle", "count", _ask_on_circle,
        lambda s, a: "How many of the labelled points lie on the circle?",
        lambda s, a: sum(_on_circle(s, p) for p in s["points"]), reverse="circle_radius", extend="on_circle",
    ),
    "focus_y": Kind(
        "focus_y", "read", _ask_parabola,
        lambda s, a: "The parabola has the form (x - h)^2 = 4p(y - k). What is the y-coordinate of its focus?",
        lambda s, a: _focus_y(s), answer_type=AnswerType.NUMBER, reverse="directrix", extend="focal_distance",
    ),
    "directrix": Kind(
        "directrix", "read", _ask_parabola,
        lambda s, a: "The parabola has the form (x - h)^2 = 4p(y - k). Its directrix is the line y = c. "
        "What is c?",
        lambda s, a: _directrix(s), answer_type=AnswerType.NUMBER, reverse="focus_y", extend="focal_distance",
    ),
    "focal_distance": Kind(
        "focal_distance", "distance", _ask_focal,
        lambda s, a: f"Point {a['a']} lies on the parabola. How far is {a['a']} from the focus of the parabola?",
        lambda s, a: abs(_point(s, a["a"])["y"] - _directrix(s)), answer_type=AnswerType.NUMBER,
        reverse="focus_y", extend="focal_distance",
    ),
}


def _circle_lattice(c: dict[str, Any]) -> list[tuple[int, int]]:
    r = c["r"]
    return [(c["cx"] + dx, c["cy"] + dy) for dx in range(-r, r + 1) for dy in range(-r, r + 1) if dx * dx + dy * dy == r * r]


class Conics(Family):
    name = "conics"
    domain = "math"
    kinds = KINDS
    aliases = ("conic", "conics", "parabola", "focus", "directrix", "midpoint", "distance formula", "slope",
               "analytic geometry", "coordinate geometry", "circle equation")
    size_knob = "points"
    size_nouns = ("points",)

    def knobs(self, difficulty: int) -> dict[str, Any]:
        return dict(KNOBS[difficulty])

    def scene(self, rng: np.random.Generator, difficulty: int, knobs: dict[str, Any] | None = None) -> Scene:
        k = knobs or KNOBS[difficulty]
        count = int(rng.integers(k["points"][0], k["points"][1] + 1))
        if k["curves"] >= 2:
            curves = ["circle", "parabola"]
        else:
            curves = [str(_pick(rng, ["circle", "parabola"]))]
        return self._make(rng, int(k["n"]), count, curves, bool(k["shift"]), [list(p) for p in k["p_values"]])

    def _make(self, rng: np.random.Generator, n: int, count: int, curves: list[str], shift: bool,
              p_values: list[list[int]]) -> Scene:
        scene: Scene = {"n": n, "shift": shift, "p_values": p_values, "circle": None, "parabola": None, "points": []}
        if "circle" in curves:
            r = int(rng.integers(2, min(5, n - 1) + 1))
            lim = n - r - 1 if shift else 0
            cx, cy = (int(v) for v in rng.integers(-lim, lim + 1, size=2)) if lim > 0 else (0, 0)
            scene["circle"] = {"cx": cx, "cy": cy, "r": r}
        if "parabola" in curves:
            num, den = p_values[int(rng.integers(len(p_values)))]
            sign = int(_pick(rng, [-1, 1])) if shift else 1
            p = Fraction(sign * num, den)
            h = int(rng.integers(-2, 3)) if shift else 0
            k = int(rng.integers(-n + 1, 0)) if p > 0 else int(rng.integers(1, n))
            if not shift:
                k = 0 if p > 0 else k
            scene["parabola"] = {"h": h, "k": k, "p": pair(p)}
        for _ in range(count):
            scene = self._add_point(scene, rng)
        return scene

    def _parabola_lattice(self, scene: Scene) -> list[tuple[int, int]]:
        par, n = scene["parabola"], scene["n"]
        out = []
        for x in range(-n, n + 1):
            y = _parabola_y(par, x)
            if y.denominator == 1 and abs(y) <= n:
                out.append((x, int(y)))
        return out

    def _add_point(self, scene: Scene, rng: np.random.Generator) -> Scene:
        points, n = scene["points"], scene["n"]
        if len(points) >= MAX_POINTS:
            return scene
        lim = n - 1
        for _ in range(200):
            x, y = (int(v) for v in rng.integers(-lim, lim + 1, size=2))
            roll = rng.random()
            if scene["circle"] is not None and roll < 0.3:
                x, y = _pick(rng, _circle_lattice(scene["circle"]))
            elif scene["parabola"] is not None and roll < 0.55:
                on = [(a, b) for a, b in self._parabola_lattice(scene) if (a, b) != (scene["parabola"]["h"],
                                                                                 scene["parabola"]["k"])]
                if on:
                    x, y = _pick(rng, on)
            if abs(x) > lim or abs(y) > lim:
                continue
            if all(max(abs(x - p["x"]), abs(y - p["y"])) >= 2 for p in points):
                break
        else:
            return scene
        i = len(points)
        return {**scene, "points": [*points, {"name": NAMES[i], "colour": POINT_COLOURS[i], "x": x, "y": y}]}

    def vary(self, scene: Scene, rng: np.random.Generator) -> Scene:
        curves = [c for c in ("circle", "parabola") if scene[c] is not None]
        return self._make(rng, scene["n"], len(scene["points"]), curves, scene["shift"], scene["p_values"])

    def extend_scene(self, scene: Scene, rng: np.random.Generator) -> Scene:
        return self._add_point(scene, rng)

    def draw(self, scene: Scene) -> Figure:
        fig, ax = canvas((0.08, 0.07, 0.9, 0.9))
        n = scene["n"]
        grid_axes(ax, n)
        if scene["circle"] is not None:
            c = scene["circle"]
            ax.add_patch(Circle((c["cx"], c["cy"]), c["r"], fill=False, edgecolor=PALETTE["orange"], linewidth=2.6,
                                zorder=2))
            ax.scatter([c["cx"]], [c["cy"]], s=30, color=PALETTE["orange"], zorder=3)
        if scene["parabola"] is not None:
            par = scene["parabola"]
            xs = np.linspace(-n - 0.5, n + 0.5, 400)
            ys = (xs - par["h"]) ** 2 / (4 * float(frac(par["p"]))) + par["k"]
            ys[np.abs(ys) > n + 2] = np.nan
            ax.plot(xs, ys, color=PALETTE["sky blue"], linewidth=2.6, zorder=2)
            lattice = self._parabola_lattice(scene)
            ax.scatter([x for x, _ in lattice], [y for _, y in lattice], s=22, color=PALETTE["sky blue"],
                       edgecolors="black", linewidths=0.6, zorder=3)
        for p in scene["points"]:
            colour = PALETTE[p["colour"]]
            ax.scatter([p["x"]], [p["y"]], s=90, color=colour, edgecolors="white", zorder=4)
            ax.text(p["x"] + 0.25, p["y"] + 0.25, p["name"], color="black", fontsize=FONT_SIZE + 3, fontweight="bold",
                    ha="left", va="bottom", zorder=5,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.3, "alpha": 0.85})
        return fig

    def distractors(self, scene: Scene, kind: str, args: Args, answer: Any, rng: np.random.Generator) -> list[Any]:
        if kind == "farthest":
            return [p["name"] for p in scene["points"] if p["name"] not in (answer, args["a"])] + [args["a"]]
        if kind == "distance":
            sq = _sq(_point(scene, args["a"]), _point(scene, args["b"]))
            p, q = _point(scene, args["a"]), _point(scene, args["b"])
            manhattan = abs(p["x"] - q["x"]) + abs(p["y"] - q["y"])
            return [surd(sq + 1), surd(2 * sq), surd(max(1, sq - 1)), str(manhattan), surd(sq + 4)]
        if isinstance(answer, str):  # a point (x, y)
            inner = answer.strip("()").split(", ")
            x, y = Fraction(inner[0]), Fraction(inner[1])
            pool = [fmt_point(y, x), fmt_point(-x, y), fmt_point(x, -y), fmt_point(x + 1, y), fmt_point(x, y - 1),
                    fmt_point(x / 2, y / 2) if kind == "endpoint" else fmt_point(2 * x, 2 * y)]
            return [p for p in pool if p != answer]
        if kind == "slope":
            m = Fraction(answer)
            return [p for p in (-m, 1 / m if m else 1, -1 / m if m else -1, m + 1, 2 * m + 1) if p != m]
        if kind in ("focus_y", "directrix", "focal_distance"):
            par = scene["parabola"]
            p = frac(par["p"])
            pool = [par["k"] + p, par["k"] - p, par["k"] + 2 * p, par["k"] - 2 * p, par["k"] + 4 * p, answer + 1,
                    answer - 1, answer + p, answer + 2 * p]
            return [v for v in pool if v != answer]
        if kind == "triangle_area":
            return [v for v in (2 * answer, answer + Fraction(1, 2), answer - Fraction(1, 2), answer + 1, answer / 2)
                    if v != answer and v > 0]
        pool = numeric_distractors(answer, rng, step=1) + [answer + 3]
        return [v for v in pool if v != answer]

    def format_answer(self, kind: str, value: Any) -> str:
        return value if isinstance(value, str) else fmt_number(value)

    def solution(self, scene: Scene, kind: str, args: Args, value: Any) -> str:
        parts = [f"{p['name']} = ({p['x']}, {p['y']})" for p in scene["points"]]
        if scene["circle"] is not None:
            c = scene["circle"]
            parts.append(f"the circle has centre ({c['cx']}, {c['cy']}) and radius {c['r']}")
        if scene["parabola"] is not None:
            par = scene["parabola"]
            p = frac(par["p"])
            parts.append(f"the parabola has vertex ({par['h']}, {par['k']}) and 4p = {fmt_number(4 * p)} "
                         f"(p = {fmt_number(p)}), so the focus is ({par['h']}, {fmt_number(par['k'] + p)}) and the "
                         f"directrix is y = {fmt_number(par['k'] - p)}")
        return f"From the grid: {'; '.join(parts)}. So the answer is {self.format_answer(kind, value)}."
