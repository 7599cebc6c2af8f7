"""Plane geometry: right and isosceles triangles, polygons, rectangles, circles, triangles with a height.

A scene holds 1-4 figures, each in its own panel, with lettered vertices and its given lengths or angles
written beside the sides and corners. Figures with two ways of being given come in pairs inside one scene (a
right triangle with both legs marked next to one with the hypotenuse and a leg marked, an isosceles triangle
with its apex angle marked next to one with a base angle marked, ...), so a question and its logical reverse
can both be asked about the same picture. Auxiliary constructions (a rectangle's diagonal, a triangle's
median, the extension of an isosceles triangle's base) are drawn dashed when the scene has them.

Lengths are plain numbers (no units); angles are whole degrees; π is taken as 3.14 and said so.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Polygon

from cadsynth.records import AnswerType
from cadsynth.tasks.base import PALETTE, Args, Family, Kind, Scene
from cadsynth.tasks.functions import fmt_number
from cadsynth.tasks.render import FONT_SIZE, canvas

LETTERS = "ACDEFGHJKMNPRTUVWXY"  # no B, I, L, O, S, Z: OCR reads them as digits
PI = Fraction(314, 100)
TRIPLES = {1: [(3, 4, 5), (6, 8, 10)], 2: [(3, 4, 5), (6, 8, 10), (5, 12, 13), (9, 12, 15), (8, 15, 17)]}
PAIRED = {"right": ("legs", "hyp"), "iso": ("apex", "base"), "rect": ("sides", "area"), "tri": ("sides", "area")}
AUX = {"rect": "diagonal", "tri": "median", "iso": "extension"}
MAX_FIGURES = 4
FIGURE_COLOURS = {"right": "blue", "iso": "red", "poly": "green", "rect": "purple", "circle": "orange",
                  "tri": "sky blue"}

KNOBS = {
    1: {"figures": (2, 2), "sides": (3, 4), "types": ("right", "iso", "poly", "rect", "circle", "tri"),
        "surds": False, "angle_step": 10, "vmax": 10, "diameter": False},
    2: {"figures": (2, 3), "sides": (4, 5), "types": ("right", "iso", "poly", "rect", "circle", "tri"),
        "surds": False, "angle_step": 2, "vmax": 14, "diameter": True},
    3: {"figures": (3, 4), "sides": (5, 6), "types": ("right", "iso", "poly", "rect", "circle", "tri"),
        "surds": True, "angle_step": 1, "vmax": 16, "diameter": True},
}


def surd(square: int) -> str:
    """sqrt(square) in simplest radical form: 5, 2√5, √2."""
    outside, inside = 1, square
    for f in range(math.isqrt(square), 1, -1):
        if inside % (f * f) == 0:
            outside, inside = f, inside // (f * f)
            break
    if inside == 1:
        return str(outside)
    return f"√{inside}" if outside == 1 else f"{outside}√{inside}"


def _pick(rng: np.random.Generator, items: list[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _figs(scene: Scene, kind: str, given: str | None = None, aux: bool | None = None) -> list[int]:
    return [i for i, f in enumerate(scene["figures"]) if f["type"] == kind and (given is None or f["given"] == given)
            and (aux is None or f["aux"] == aux)]


def _asker(kind: str, given: str | None = None, aux: bool | None = None, extra=None):
    def ask(scene: Scene, rng: np.random.Generator) -> Args | None:
        options = [i for i in _figs(scene, kind, given, aux) if extra is None or extra(scene["figures"][i])]
        return {"fig": _pick(rng, options)} if options else None

    return ask


def _fig(scene: Scene, args: Args) -> dict[str, Any]:
    return scene["figures"][args["fig"]]


def _nm(f: dict[str, Any]) -> str:
    return "".join(f["names"][: {"right": 3, "iso": 3, "tri": 3, "rect": 4, "circle": 1}.get(f["type"], len(f["names"]))])


# Right triangle P Q R with the right angle at R: legs QR (a) and PR (b), hypotenuse PQ. Squares stored.
def _right_unknown(f: dict[str, Any]) -> str:
    return "c2" if f["given"] == "legs" else "b2"


def _solve_right(s: Scene, a: Args) -> str:
    f = _fig(s, a)
    return surd(f[_right_unknown(f)])


def _right_perimeter(s: Scene, a: Args) -> int:
    f = _fig(s, a)
    return sum(math.isqrt(f[k]) for k in ("a2", "b2", "c2"))


def _integer_sides(f: dict[str, Any]) -> bool:
    return all(math.isqrt(f[k]) ** 2 == f[k] for k in ("a2", "b2", "c2"))


def _side(f: dict[str, Any], which: str) -> str:
    p, q, r = f["names"][:3]
    return {"a2": q + r, "b2": p + r, "c2": p + q}[which]


# Isosceles triangle A B C with apex A (AB = AC).
def _base_angle(f: dict[str, Any]) -> int:
    return (180 - f["apex"]) // 2


# Polygons: interior angles, one unmarked.
def _angle_sum(f: dict[str, Any]) -> int:
    return 180 * (len(f["angles"]) - 2)


def _tri_area(f: dict[str, Any]) -> Fraction:
    return Fraction(f["base"] * f["height"], 2)


KINDS = {
    "hypotenuse": Kind(
        "hypotenuse", "distance", _asker("right", "legs"),
        lambda s, a: f"In right triangle {_nm(_fig(s, a))} (right angle at {_fig(s, a)['names'][2]}), how long is "
        f"{_side(_fig(s, a), 'c2')}? Give an exact value (use √ for square roots).",
        _solve_right, answer_type=AnswerType.EXPRESSION, reverse="leg", extend="right_perimeter",
    ),
    "leg": Kind(
        "leg", "distance", _asker("right", "hyp"),
        lambda s, a: f"In right triangle {_nm(_fig(s, a))} (right angle at {_fig(s, a)['names'][2]}), how long is "
        f"{_side(_fig(s, a), 'b2')}? Give an exact value (use √ for square roots).",
        _solve_right, answer_type=AnswerType.EXPRESSION, reverse="hypotenuse", extend="right_perimeter",
    ),
    "right_perimeter": Kind(
        "right_perimeter", "sum", _asker("right", extra=_integer_sides),
        lambda s, a: f"What is the perimeter of right triangle {_nm(_fig(s, a))}?",
        _right_perimeter, reverse="leg", extend="right_perimeter",
    ),
    "base_angle": Kind(
        "base_angle", "difference", _asker("iso", "apex"),
        lambda s, a: f"Triangle {_nm(_fig(s, a))} is isosceles with {_fig(s, a)['names'][0]}{_fig(s, a)['names'][1]}"
        f" = {_fig(s, a)['names'][0]}{_fig(s, a)['names'][2]}. What is angle {_fig(s, a)['names'][1]}, in degrees?",
        lambda s, a: _base_angle(_fig(s, a)), reverse="apex_angle", extend="exterior_angle",
    ),
    "apex_angle": Kind(
        "apex_angle", "difference", _asker("iso", "base"),
        lambda s, a: f"Triangle {_nm(_fig(s, a))} is isosceles with {_fig(s, a)['names'][0]}{_fig(s, a)['names'][1]}"
        f" = {_fig(s, a)['names'][0]}{_fig(s, a)['names'][2]}. What is angle {_fig(s, a)['names'][0]}, in degrees?",
        lambda s, a: _fig(s, a)["apex"], reverse="base_angle", extend="exterior_angle",
    ),
    "exterior_angle": Kind(
        "exterior_angle", "difference", _asker("iso", aux=True),
        lambda s, a: f"Triangle {_nm(_fig(s, a))} is isosceles with {_fig(s, a)['names'][0]}{_fig(s, a)['names'][1]}"
        f" = {_fig(s, a)['names'][0]}{_fig(s, a)['names'][2]}, and side {_fig(s, a)['names'][1]}"
        f"{_fig(s, a)['names'][2]} is extended to {_fig(s, a)['names'][3]}. What is angle "
        f"{_fig(s, a)['names'][0]}{_fig(s, a)['names'][2]}{_fig(s, a)['names'][3]}, in degrees?",
        lambda s, a: 180 - _base_angle(_fig(s, a)), reverse="base_angle", extend="exterior_angle",
    ),
    "missing_angle": Kind(
        "missing_angle", "difference", _asker("poly"),
        lambda s, a: f"In polygon {_nm(_fig(s, a))}, what is the unmarked interior angle at "
        f"{_fig(s, a)['names'][_fig(s, a)['missing']]}, in degrees?",
        lambda s, a: _fig(s, a)["angles"][_fig(s, a)["missing"]], reverse="angle_sum", extend="missing_angle",
    ),
    "angle_sum": Kind(
        "angle_sum", "count", _asker("poly"),
        lambda s, a: f"What is the sum of the interior angles of polygon {_nm(_fig(s, a))}, in degrees?",
        lambda s, a: _angle_sum(_fig(s, a)), reverse="missing_angle", extend="missing_angle",
    ),
    "rect_area": Kind(
        "rect_area", "product", _asker("rect", "sides"),
        lambda s, a: f"What is the area of rectangle {_nm(_fig(s, a))}?",
        lambda s, a: _fig(s, a)["w"] * _fig(s, a)["h"], reverse="rect_side", extend="rect_diagonal",
    ),
    "rect_side": Kind(
        "rect_side", "product", _asker("rect", "area"),
        lambda s, a: f"Rectangle {_nm(_fig(s, a))} has an area of {_fig(s, a)['w'] * _fig(s, a)['h']}. "
        f"How long is side {_fig(s, a)['names'][1]}{_fig(s, a)['names'][2]}?",
        lambda s, a: _fig(s, a)["h"], reverse="rect_area", extend="rect_diagonal",
    ),
    "rect_diagonal": Kind(
        "rect_diagonal", "distance", _asker("rect", "sides", aux=True),
        lambda s, a: f"How long is the dashed diagonal {_fig(s, a)['names'][0]}{_fig(s, a)['names'][2]} of rectangle "
        f"{_nm(_fig(s, a))}? Give an exact value (use √ for square roots).",
        lambda s, a: surd(_fig(s, a)["w"] ** 2 + _fig(s, a)["h"] ** 2), answer_type=AnswerType.EXPRESSION,
        reverse="rect_side", extend="rect_diagonal",
    ),
    "circle_area": Kind(
        "circle_area", "product", _asker("circle"),
        lambda s, a: f"What is the area of the circle with centre {_nm(_fig(s, a))}? Use π = 3.14.",
        lambda s, a: PI * _fig(s, a)["r"] ** 2, answer_type=AnswerType.NUMBER,
        reverse="circumference", extend="circle_area",
    ),
    "circumference": Kind(
        "circumference", "product", _asker("circle"),
        lambda s, a: f"What is the circumference of the circle with centre {_nm(_fig(s, a))}? Use π = 3.14.",
        lambda s, a: 2 * PI * _fig(s, a)["r"], answer_type=AnswerType.NUMBER,
        reverse="circle_area", extend="circle_area",
    ),
    "tri_area": Kind(
        "tri_area", "product", _asker("tri", "sides"),
        lambda s, a: f"{_fig(s, a)['names'][0]}{_fig(s, a)['names'][3]} is the height of triangle "
        f"{_nm(_fig(s, a))}. What is the area of triangle {_nm(_fig(s, a))}?",
        lambda s, a: _tri_area(_fig(s, a)), answer_type=AnswerType.NUMBER, reverse="tri_height",
        extend="median_area",
    ),
    "tri_height": Kind(
        "tri_height", "product", _asker("tri", "area"),
        lambda s, a: f"Triangle {_nm(_fig(s, a))} has an area of {fmt_number(_tri_area(_fig(s, a)))}. How long is "
        f"its height {_fig(s, a)['names'][0]}{_fig(s, a)['names'][3]}?",
        lambda s, a: _fig(s, a)["height"], reverse="tri_area", extend="median_area",
    ),
    "median_area": Kind(
        "median_area", "ratio", _asker("tri", aux=True),
        lambda s, a: f"In triangle {_nm(_fig(s, a))}, {_fig(s, a)['names'][4]} is the midpoint of "
        f"{_fig(s, a)['names'][1]}{_fig(s, a)['names'][2]}"
        + (f" and the area of the triangle is {fmt_number(_tri_area(_fig(s, a)))}" if _fig(s, a)["given"] == "area"
           else "") + f". What is the area of triangle {_fig(s, a)['names'][0]}{_fig(s, a)['names'][1]}"
        f"{_fig(s, a)['names'][4]}?",
        lambda s, a: _tri_area(_fig(s, a)) / 2, answer_type=AnswerType.NUMBER, reverse="tri_area",
        extend="median_area",
    ),
}

ANGLE_KINDS = {"base_angle", "apex_angle", "exterior_angle", "missing_angle", "angle_sum"}


# ---------------------------------------------------------------------------------------------------------
# Scenes
# ---------------------------------------------------------------------------------------------------------


def _can_aux(kind: str, given: str) -> bool:
    """Whether a figure has an auxiliary construction to draw (a rectangle given by its area has none)."""
    return kind in AUX and not (kind == "rect" and given == "area")


def _letters_needed(kind: str, n_sides: int = 0) -> int:
    return {"right": 3, "iso": 4, "poly": n_sides, "rect": 4, "circle": 1, "tri": 5}[kind]


def _values(kind: str, given: str, k: dict[str, Any], rng: np.random.Generator, n_sides: int = 0) -> dict[str, Any]:
    vmax = int(k["vmax"])
    if kind == "right":
        if k["surds"] and rng.random() < 0.6:
            if given == "legs":
                a, b = (int(v) for v in rng.integers(2, vmax // 2 + 2, size=2))
                return {"a2": a * a, "b2": b * b, "c2": a * a + b * b}
            c = int(rng.integers(5, vmax // 2 + 4))
            a = int(rng.integers(2, c))
            return {"a2": a * a, "b2": c * c - a * a, "c2": c * c}
        triples = TRIPLES[1 if k["angle_step"] >= 10 else 2]
        a, b, c = _pick(rng, triples)
        if rng.random() < 0.5:
            a, b = b, a
        return {"a2": a * a, "b2": b * b, "c2": c * c}
    if kind == "iso":
        step = int(k["angle_step"])
        apexes = [x for x in range(40, 121) if x % 2 == 0 and x % step == 0 and ((180 - x) // 2) % min(step, 10) == 0]
        if given == "base":
            apexes = [x for x in range(40, 121) if x % 2 == 0 and ((180 - x) // 2) % step == 0]
        return {"apex": int(_pick(rng, apexes))}
    if kind == "poly":
        return {"angles": _polygon_angles(rng, n_sides, int(k["angle_step"])),
                "missing": int(rng.integers(n_sides))}
    if kind == "rect":
        for _ in range(100):
            w, h = (int(v) for v in rng.integers(2, vmax + 1, size=2))
            if 0.6 <= w / h <= 1.7 and w != h:
                return {"w": w, "h": h}
        return {"w": 4, "h": 3}
    if kind == "circle":
        return {"r": int(rng.integers(2, vmax // 2 + 2))}
    base = 2 * int(rng.integers(2, vmax // 2 + 1))
    height = int(rng.integers(2, vmax + 1))
    side = int(_pick(rng, [-1, 1]))
    return {"base": base, "height": height, "foot": round(0.5 + side * float(rng.uniform(0.22, 0.32)), 3)}


def _polygon_angles(rng: np.random.Generator, n: int, step: int) -> list[int]:
    """Interior angles of a convex n-gon inscribed in a circle, each a multiple of `step`, summing to (n-2)*180.

    The central angles g_i between consecutive vertices are multiples of 2*step (sum 360); the interior angle at
    vertex i is 180 - (g_(i-1) + g_i) / 2, so the figure is drawn exactly to scale.
    """
    unit = 2 * step if (360 // n) % (2 * step) == 0 or step < 10 else 20
    mean = 360 / n
    for _ in range(500):
        spread = 0.3 if n <= 4 else 0.17
        gaps = [int(round(float(rng.uniform(1 - spread, 1 + spread)) * mean / unit)) * unit for _ in range(n - 1)]
        last = 360 - sum(gaps)
        if (1 - spread - 0.05) * mean <= last <= (1 + spread + 0.05) * mean and all(g > 0 for g in gaps):
            gaps.append(last)
            angles = [180 - (gaps[i - 1] + gaps[i]) // 2 for i in range(n)]
            if all(a % step == 0 and 30 <= a <= 160 for a in angles):
                return angles
    return [180 - 360 // n] * n if 360 % n == 0 else [180 * (n - 2) // n] * (n - 1) + [180 * (n - 2) - 180 * (n - 2) // n * (n - 1)]


class Geometry(Family):
    name = "geometry"
    domain = "math"
    kinds = KINDS
    aliases = ("geometry", "triangle", "pythagoras", "hypotenuse", "isosceles", "polygon", "interior angle",
               "rectangle", "circumference", "area of a circle", "plane geometry")
    size_knob = "figures"
    size_nouns = ("figures", "shapes")

    def knobs(self, difficulty: int) -> dict[str, Any]:
        return dict(KNOBS[difficulty])

    def scene(self, rng: np.random.Generator, difficulty: int, knobs: dict[str, Any] | None = None) -> Scene:
        k = dict(knobs or KNOBS[difficulty])
        count = int(rng.integers(k["figures"][0], k["figures"][1] + 1))
        scene = self._empty(k)
        while len(scene["figures"]) < count:
            kind = str(_pick(rng, list(k["types"])))
            if kind in PAIRED and count - len(scene["figures"]) >= 2:
                for given in PAIRED[kind]:
                    scene = self._add(scene, rng, kind, given)
            else:
                given = str(_pick(rng, list(PAIRED.get(kind, ("-",)))))
                if kind == "circle":
                    given = str(_pick(rng, ["r", "d"] if k["diameter"] else ["r"]))
                scene = self._add(scene, rng, kind, given)
        return scene

    def _empty(self, k: dict[str, Any]) -> Scene:
        return {"figures": [], "sides": list(k["sides"]), "surds": bool(k["surds"]), "angle_step": int(k["angle_step"]),
                "vmax": int(k["vmax"])}

    def _used(self, scene: Scene) -> int:
        return sum(len(f["names"]) for f in scene["figures"])

    def _add(self, scene: Scene, rng: np.random.Generator, kind: str, given: str, aux: bool | None = None,
             n_sides: int | None = None) -> Scene:
        if len(scene["figures"]) >= MAX_FIGURES:
            return scene
        if kind == "poly" and n_sides is None:
            n_sides = int(rng.integers(scene["sides"][0], scene["sides"][1] + 1))
        need = _letters_needed(kind, n_sides or 0)
        start = self._used(scene)
        if start + need > len(LETTERS):
            return scene
        names = list(LETTERS[start : start + need])
        if aux is None:
            aux = bool(rng.random() < 0.5)
        aux = aux and _can_aux(kind, given)
        fig = {"type": kind, "given": given, "aux": bool(aux), "names": names, "flip": bool(rng.random() < 0.5),
               **_values(kind, given, scene, rng, n_sides or 0)}
        return {**scene, "figures": [*scene["figures"], fig]}

    def vary(self, scene: Scene, rng: np.random.Generator) -> Scene:
        fresh: Scene = {**scene, "figures": []}
        for f in scene["figures"]:
            fresh = self._add(fresh, rng, f["type"], f["given"], f["aux"], len(f["angles"]) if f["type"] == "poly" else None)
        return fresh

    def extend_scene(self, scene: Scene, rng: np.random.Generator) -> Scene:
        """One more auxiliary construction on a figure that lacks it, else one more figure."""
        bare = [i for i, f in enumerate(scene["figures"]) if _can_aux(f["type"], f["given"]) and not f["aux"]]
        if bare:
            i = _pick(rng, bare)
            figures = [dict(f) for f in scene["figures"]]
            figures[i]["aux"] = True
            return {**scene, "figures": figures}
        room = len(LETTERS) - self._used(scene)
        kinds = [k for k in ("right", "iso", "poly", "rect", "circle", "tri")
                 if _letters_needed(k, scene["sides"][0]) <= room]
        if not kinds or len(scene["figures"]) >= MAX_FIGURES:
            return scene
        kind = str(_pick(rng, kinds))
        given = {"circle": "r", "poly": "-"}.get(kind) or str(_pick(rng, list(PAIRED[kind])))
        sides = int(rng.integers(scene["sides"][0], min(scene["sides"][1], room) + 1)) if kind == "poly" else None
        return self._add(scene, rng, kind, given, aux=False, n_sides=sides)

    def element_count(self, scene: Scene) -> int:
        """Figures plus auxiliary constructions: what `extend_scene` grows by one."""
        return len(scene["figures"]) + sum(f["aux"] for f in scene["figures"])

    # -----------------------------------------------------------------------------------------------------
    # Drawing
    # -----------------------------------------------------------------------------------------------------

    def draw(self, scene: Scene) -> Figure:
        fig, ax = canvas((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.axis("off")
        n = len(scene["figures"])
        if n == 1:
            cells = [(0.1, 0.1, 0.9)]
        elif n == 2:
            cells = [(0.0, 0.25, 0.5), (0.5, 0.25, 0.5)]
        else:
            cells = [(0.0, 0.5, 0.5), (0.5, 0.5, 0.5), (0.0, 0.0, 0.5), (0.5, 0.0, 0.5)]
        for f, (x0, y0, size) in zip(scene["figures"], cells, strict=False):
            _draw_figure(ax, f, x0, y0, size)
        return fig

    def distractors(self, scene: Scene, kind: str, args: Args, answer: Any, rng: np.random.Generator) -> list[Any]:
        f = _fig(scene, args)
        if kind in ("hypotenuse", "leg"):
            a2, b2, c2 = f["a2"], f["b2"], f["c2"]
            wrong = [a2 + b2, c2 - a2, abs(c2 - b2) or 1, (math.isqrt(a2) + math.isqrt(b2)) ** 2 if kind == "hypotenuse"
                     else (math.isqrt(c2) - math.isqrt(a2)) ** 2 or 1, 2 * f[_right_unknown(f)], f[_right_unknown(f)] + 1]
            return [surd(w) for w in wrong if surd(w) != answer]
        if kind == "rect_diagonal":
            w, h = f["w"], f["h"]
            return [surd(x) for x in ((w + h) ** 2, w * w + h * h + 1, 2 * (w * w + h * h), abs(w * w - h * h) or 2)]
        if kind in ("circle_area", "circumference"):
            r = f["r"]
            pool = [PI * r * r, 2 * PI * r, PI * r, PI * 4 * r * r, 2 * PI * r * r, PI * (r + 1) ** 2]
            return [v for v in pool if v != answer]
        if kind in ANGLE_KINDS:
            pool = [180 - answer, 90 - answer, answer + 10, answer - 10, 2 * answer, answer // 2, 360 - answer,
                    answer + 180]
            return [v for v in pool if v > 0 and v != answer]
        pool = [2 * answer, answer + 1, answer - 1, answer + 2, Fraction(answer) / 2, answer * 3]
        return [v for v in pool if v > 0 and v != answer]

    def format_answer(self, kind: str, value: Any) -> str:
        if isinstance(value, str):
            return value
        text = fmt_number(value)
        return f"{text}°" if kind in ANGLE_KINDS else text

    def solution(self, scene: Scene, kind: str, args: Args, value: Any) -> str:
        f = _fig(scene, args)
        answer = self.format_answer(kind, value)
        if f["type"] == "right":
            a, b, c = (surd(f[k]) for k in ("a2", "b2", "c2"))
            step = (f"By Pythagoras {_side(f, 'c2')}^2 = {_side(f, 'a2')}^2 + {_side(f, 'b2')}^2: the sides are "
                    f"{_side(f, 'a2')} = {a}, {_side(f, 'b2')} = {b}, {_side(f, 'c2')} = {c}")
        elif f["type"] == "iso":
            base = _base_angle(f)
            step = (f"The base angles of an isosceles triangle are equal and the angles sum to 180°: apex "
                    f"{f['apex']}°, base angles {base}° each; an exterior angle at the base is 180° - {base}°")
        elif f["type"] == "poly":
            n = len(f["angles"])
            marked = [a for i, a in enumerate(f["angles"]) if i != f["missing"]]
            step = (f"The interior angles of a {n}-gon sum to ({n} - 2) x 180° = {_angle_sum(f)}°; the marked angles "
                    f"add to {sum(marked)}°")
        elif f["type"] == "rect":
            step = (f"The rectangle is {f['w']} by {f['h']}: area {f['w'] * f['h']}, diagonal by Pythagoras "
                    f"√({f['w']}^2 + {f['h']}^2)")
        elif f["type"] == "circle":
            step = f"The radius is {f['r']}: area = 3.14 x r^2, circumference = 2 x 3.14 x r"
        else:
            step = (f"Area = base x height / 2 = {f['base']} x {f['height']} / 2 = {fmt_number(_tri_area(f))}; "
                    "a median splits a triangle into two halves of equal area")
        return f"{step}. So the answer is {answer}."


# ---------------------------------------------------------------------------------------------------------
# Figure geometry (value coordinates) and drawing in a panel
# ---------------------------------------------------------------------------------------------------------


def _shape(f: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Vertex positions in value units."""
    names, kind = f["names"], f["type"]
    if kind == "right":
        a, b = math.sqrt(f["a2"]), math.sqrt(f["b2"])
        b = a * min(max(b / a, 0.6), 1.6)  # drawn not quite to scale: no needle-thin triangles
        p, q, r = names[:3]
        return {r: (0.0, 0.0), q: (a, 0.0), p: (0.0, b)}
    if kind == "iso":
        base = math.radians(_base_angle(f))
        a, b, c = names[:3]
        return {a: (0.0, math.tan(base)), b: (-1.0, 0.0), c: (1.0, 0.0)}
    if kind == "poly":
        gaps = _poly_gaps(f["angles"])
        pts, theta = {}, 90.0 - gaps[0] / 2
        for i in range(len(gaps)):
            pts[names[i]] = (math.cos(math.radians(theta)), math.sin(math.radians(theta)))
            theta += gaps[i]
        return pts
    if kind == "rect":
        a, b, c, d = names[:4]
        return {a: (0.0, 0.0), b: (float(f["w"]), 0.0), c: (float(f["w"]), float(f["h"])), d: (0.0, float(f["h"]))}
    if kind == "circle":
        return {names[0]: (0.0, 0.0)}
    a, b, c = names[:3]
    t = f["foot"] * f["base"]
    height = f["base"] * min(max(f["height"] / f["base"], 0.55), 1.0)  # not quite to scale
    return {a: (t, height), b: (0.0, 0.0), c: (float(f["base"]), 0.0)}


def _poly_gaps(angles: list[int]) -> list[float]:
    """The central angles (degrees) between vertex i and i+1 of the inscribed polygon with these angles."""
    n = len(angles)
    # g_(i-1) + g_i = 360 - 2 a_i: solve the cyclic system by least squares (exact when consistent)
    m = np.zeros((n + 1, n))
    rhs = np.zeros(n + 1)
    for i in range(n):
        m[i, i] = m[i, i - 1] = 1
        rhs[i] = 360 - 2 * angles[i]
    m[n, :] = 1
    rhs[n] = 360
    gaps = np.linalg.lstsq(m, rhs, rcond=None)[0]
    return [float(g) for g in gaps]


def _draw_figure(ax, f: dict[str, Any], x0: float, y0: float, size: float) -> None:
    pts = _shape(f)
    if f["flip"] and f["type"] in ("right", "tri", "poly"):
        pts = {k: (-x, y) for k, (x, y) in pts.items()}
    margin = (0.2 if f["type"] == "tri" else 0.16) * size
    if f["type"] == "circle":
        scale, cx, cy = (size - 2 * margin) / (2 * f["r"]), x0 + size / 2, y0 + size / 2
        _draw_circle(ax, f, cx, cy, scale * f["r"])
        return
    extra = [(1.9, 0.0)] if f["type"] == "iso" and f["aux"] else []  # room for the extended base and its letter
    xs, ys = [p[0] for p in [*pts.values(), *extra]], [p[1] for p in [*pts.values(), *extra]]
    extent = max(max(xs) - min(xs), max(ys) - min(ys))
    scale = (size - 2 * margin) / extent
    ox = x0 + size / 2 - scale * (max(xs) + min(xs)) / 2
    oy = y0 + size / 2 - scale * (max(ys) + min(ys)) / 2 + (0.06 * size if f["type"] == "tri" else 0.0)
    p = {k: (ox + scale * x, oy + scale * y) for k, (x, y) in pts.items()}
    colour = PALETTE[FIGURE_COLOURS[f["type"]]]
    names = f["names"]
    order = names[: len(pts)]
    ax.add_patch(Polygon([p[k] for k in order], closed=True, facecolor=colour, alpha=0.12, edgecolor="none"))
    ax.add_patch(Polygon([p[k] for k in order], closed=True, fill=False, edgecolor=colour, linewidth=2.4))
    centre = (sum(v[0] for v in p.values()) / len(p), sum(v[1] for v in p.values()) / len(p))
    fs = FONT_SIZE if size < 0.6 else FONT_SIZE + 2
    for k in order:
        _vertex_label(ax, k, p[k], centre, fs)
    kind = f["type"]
    if kind == "right":
        pn, qn, rn = names[:3]
        _right_mark(ax, p[rn], p[qn], p[pn], 0.035 * size / 0.5)
        marks = ("a2", "b2") if f["given"] == "legs" else ("a2", "c2")
        ends = {"a2": (qn, rn), "b2": (pn, rn), "c2": (pn, qn)}
        for m in marks:
            _side_label(ax, str(math.isqrt(f[m])), p[ends[m][0]], p[ends[m][1]], centre, fs)
    elif kind == "iso":
        an, bn, cn = names[:3]
        for end in (bn, cn):
            _tick(ax, p[an], p[end], colour)
        if f["aux"]:
            xn = names[3]
            far = (ox + scale * 1.65, p[cn][1])
            ax.plot([p[cn][0], far[0]], [p[cn][1], far[1]], color=colour, linewidth=2, linestyle="--")
            ax.text(far[0] + 0.012, far[1], xn, fontsize=fs + 1, fontweight="bold", ha="left", va="center")
        if f["given"] == "apex":
            _angle_label(ax, f"{f['apex']}°", p[an], p[bn], p[cn], fs, _angle_dist(f["apex"], size))
        else:
            _angle_label(ax, f"{_base_angle(f)}°", p[bn], p[an], p[cn], fs, _angle_dist(_base_angle(f), size))
    elif kind == "poly":
        n = len(f["angles"])
        for i in range(n):
            if i == f["missing"]:
                continue
            _angle_label(ax, f"{f['angles'][i]}°", p[names[i]], p[names[i - 1]], p[names[(i + 1) % n]], fs - 1,
                         _angle_dist(f["angles"][i], size))
    elif kind == "rect":
        an, bn, cn, dn = names[:4]
        _side_label(ax, str(f["w"]), p[an], p[bn], centre, fs)
        if f["given"] == "sides":
            _side_label(ax, str(f["h"]), p[bn], p[cn], centre, fs)
            if f["aux"]:
                ax.plot([p[an][0], p[cn][0]], [p[an][1], p[cn][1]], color=colour, linewidth=2, linestyle="--")
    else:  # triangle with its height AD (and median AM)
        an, bn, cn, dn, mn = names[:5]
        base_y = p[bn][1]
        foot = (p[an][0], base_y)
        ax.plot([p[an][0], foot[0]], [p[an][1], foot[1]], color=colour, linewidth=2, linestyle="--")
        _right_mark(ax, foot, (p[cn][0], base_y), p[an], 0.03 * size / 0.5)
        ax.text(foot[0], base_y - 0.032, dn, fontsize=fs, fontweight="bold", ha="center", va="center")
        mid = ((p[bn][0] + p[cn][0]) / 2, base_y)
        ax.text(mid[0], base_y - 0.085, str(f["base"]), fontsize=fs, ha="center", va="center",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
        if f["aux"]:
            ax.plot([p[an][0], mid[0]], [p[an][1], mid[1]], color=colour, linewidth=2, linestyle=":")
            ax.text(mid[0], base_y - 0.032, mn, fontsize=fs, fontweight="bold", ha="center", va="center")
        if f["given"] == "sides":
            side = -1 if mid[0] > foot[0] else 1
            ax.text(foot[0] + side * 0.03, base_y + 0.45 * (p[an][1] - base_y), str(f["height"]), fontsize=fs,
                    ha="right" if side < 0 else "left", va="center",
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})


def _angle_dist(angle: float, size: float) -> float:
    """How far along the bisector an angle's label sits: far enough for the label to clear both arms."""
    return min(max(0.03 / math.sin(math.radians(angle / 2)), 0.04), 0.09) * size / 0.5


def _unit(dx: float, dy: float) -> tuple[float, float]:
    norm = math.hypot(dx, dy) or 1.0
    return dx / norm, dy / norm


def _vertex_label(ax, name: str, at: tuple[float, float], centre: tuple[float, float], fs: int) -> None:
    ux, uy = _unit(at[0] - centre[0], at[1] - centre[1])
    ax.text(at[0] + 0.035 * ux, at[1] + 0.035 * uy, name, fontsize=fs + 1, fontweight="bold", ha="center",
            va="center")


def _side_label(ax, text: str, a, b, centre, fs: int) -> None:
    mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    nx, ny = _unit(-(b[1] - a[1]), b[0] - a[0])
    if (mx - centre[0]) * nx + (my - centre[1]) * ny < 0:
        nx, ny = -nx, -ny
    ax.text(mx + 0.035 * nx, my + 0.035 * ny, text, fontsize=fs, ha="center", va="center",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})


def _angle_label(ax, text: str, at, a, b, fs: int, dist: float) -> None:
    ux, uy = _unit(a[0] - at[0], a[1] - at[1])
    vx, vy = _unit(b[0] - at[0], b[1] - at[1])
    bx, by = _unit(ux + vx, uy + vy)
    ax.text(at[0] + dist * bx, at[1] + dist * by, text, fontsize=fs, ha="center", va="center")


def _right_mark(ax, at, a, b, s: float) -> None:
    ux, uy = _unit(a[0] - at[0], a[1] - at[1])
    vx, vy = _unit(b[0] - at[0], b[1] - at[1])
    corner = [(at[0] + s * ux, at[1] + s * uy), (at[0] + s * (ux + vx), at[1] + s * (uy + vy)),
              (at[0] + s * vx, at[1] + s * vy)]
    ax.plot([c[0] for c in corner], [c[1] for c in corner], color="black", linewidth=1.2)


def _tick(ax, a, b, colour: str) -> None:
    mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    nx, ny = _unit(-(b[1] - a[1]), b[0] - a[0])
    ax.plot([mx - 0.015 * nx, mx + 0.015 * nx], [my - 0.015 * ny, my + 0.015 * ny], color="black", linewidth=2)


def _draw_circle(ax, f: dict[str, Any], cx: float, cy: float, radius: float) -> None:
    colour = PALETTE[FIGURE_COLOURS["circle"]]
    ax.add_patch(Circle((cx, cy), radius, facecolor=colour, alpha=0.12, edgecolor="none"))
    ax.add_patch(Circle((cx, cy), radius, fill=False, edgecolor=colour, linewidth=2.4))
    ax.scatter([cx], [cy], s=25, color="black", zorder=4)
    fs = FONT_SIZE if radius < 0.3 else FONT_SIZE + 2
    ax.text(cx - 0.03, cy - 0.035, f["names"][0], fontsize=fs + 1, fontweight="bold", ha="center", va="center")
    if f["given"] == "d":
        ax.plot([cx - radius, cx + radius], [cy, cy], color="black", linewidth=1.8)
        ax.text(cx + radius / 2, cy + 0.03, str(2 * f["r"]), fontsize=fs, ha="center", va="center")
    else:
        ax.plot([cx, cx + radius], [cy, cy], color="black", linewidth=1.8)
        ax.text(cx + radius / 2, cy + 0.03, str(f["r"]), fontsize=fs, ha="center", va="center")
