"""Physics: a lever on a fulcrum with loads at marked distances; torques and balance (g = 10 N/kg).

The beam rests on a fulcrum at its middle. Each load is a box named A, B, ... standing on the beam, with its
weight (newtons) or mass (kilograms, at the top level) printed above it and its distance from the fulcrum
drawn as a dimension line below the beam. A downward arrow marked "F = ?" shows where a balancing force acts:
it is always on the side whose loads turn the lever less, so the balancing force is a positive number. Values
are chosen so that every answer has at most one decimal.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Polygon, Rectangle

from cadsynth.records import AnswerType
from cadsynth.tasks.base import PALETTE, Args, Family, Kind, Scene
from cadsynth.tasks.render import FONT_SIZE, canvas

G = 10  # N/kg
HALF = 5.0  # half-length of the beam, m
GAP = 1.5  # minimum spacing of marked points on one side, m
NAMES = "ABCDEF"
MAX_LOADS = 5

KNOBS = {
    1: {"loads": (1, 1), "both_sides": False, "step": 1.0, "newtons": [10, 20, 30, 40, 50, 60], "kg": False},
    2: {"loads": (2, 3), "both_sides": True, "step": 1.0, "newtons": list(range(10, 85, 5)), "kg": False},
    3: {"loads": (3, 4), "both_sides": True, "step": 0.5, "newtons": list(range(5, 125, 5)), "kg": True},
}
UNITS = {"torque": "Nm", "net_torque": "Nm", "balance_force": "N", "balance_distance": "m", "total_weight": "N",
         "support_force": "N"}


def fmt(value: Any, unit: str = "") -> str:
    v = round(float(value), 1)
    text = str(int(v)) if v.is_integer() else f"{v:.1f}"
    return f"{text}{unit}"


def _f(x: Any) -> Fraction:
    return Fraction(str(x))


def weight(load: dict[str, Any]) -> Fraction:
    return _f(load["value"]) * (G if load["unit"] == "kg" else 1)


def torques(scene: Scene) -> dict[str, Fraction]:
    out = {"left": Fraction(0), "right": Fraction(0)}
    for load in scene["loads"]:
        out[load["side"]] += weight(load) * _f(load["d"])
    return out


def other(side: str) -> str:
    return "right" if side == "left" else "left"


def balance_force(scene: Scene) -> Fraction:
    t = torques(scene)
    probe = scene["probe"]
    return (t[other(probe["side"])] - t[probe["side"]]) / _f(probe["d"])


def _clean(x: Fraction) -> bool:
    return (x * 10).denominator == 1


def _num(x: Fraction) -> float:
    return round(float(x), 1)


def _g_note(scene: Scene) -> str:
    return " Take g = 10 N/kg." if any(load["unit"] == "kg" for load in scene["loads"]) else ""


def _ask_load(scene: Scene, rng: np.random.Generator) -> Args | None:
    loads = scene["loads"]
    return {"name": loads[int(rng.integers(len(loads)))]["name"]} if loads else None


def _ask_net(scene: Scene, rng: np.random.Generator) -> Args | None:
    sides = {load["side"] for load in scene["loads"]}
    return {} if len(sides) == 2 else None  # with loads on one side only, the net torque is just their torque


def _ask_distance(scene: Scene, rng: np.random.Generator) -> Args | None:
    t = torques(scene)
    probe = scene["probe"]
    need = t[other(probe["side"])] - t[probe["side"]]
    options = []
    for force in range(5, 301, 5):
        d = need / force
        if _clean(d) and 0 < d <= HALF and d != _f(probe["d"]) and force != balance_force(scene):
            options.append(force)
    return {"force": options[int(rng.integers(len(options)))]} if options else None


def _load(scene: Scene, name: str) -> dict[str, Any]:
    return next(load for load in scene["loads"] if load["name"] == name)


KINDS = {
    "torque": Kind(
        "torque", "product", _ask_load,
        lambda s, a: f"What is the magnitude of the torque that load {a['name']} exerts about the fulcrum?"
        + _g_note(s),
        lambda s, a: _num(weight(_load(s, a["name"])) * _f(_load(s, a["name"])["d"])), AnswerType.NUMBER,
        reverse="balance_distance", extend="net_torque",
    ),
    "net_torque": Kind(
        "net_torque", "difference", _ask_net,
        lambda s, a: "Ignoring the force F, what is the magnitude of the net torque of the loads about the fulcrum?"
        + _g_note(s),
        lambda s, a: _num(abs(torques(s)["left"] - torques(s)["right"])), AnswerType.NUMBER,
        reverse="torque", extend="balance_force",
    ),
    "which_side": Kind(
        "which_side", "find", lambda s, r: {},
        lambda s, a: "Without the force F, which end of the lever would go down? Answer left or right.",
        lambda s, a: "left" if torques(s)["left"] > torques(s)["right"] else "right", AnswerType.TEXT,
        reverse="net_torque", extend="net_torque",
    ),
    "balance_force": Kind(
        "balance_force", "ratio", lambda s, r: {},
        lambda s, a: "What downward force F at the marked point keeps the lever balanced?" + _g_note(s),
        lambda s, a: _num(balance_force(s)), AnswerType.NUMBER,
        reverse="balance_distance", extend="support_force",
    ),
    "balance_distance": Kind(
        "balance_distance", "ratio", _ask_distance,
        lambda s, a: f"Instead of F, a single downward force of {a['force']} N is applied on the {s['probe']['side']} "
        "side. How far from the fulcrum must it act to balance the lever?" + _g_note(s),
        lambda s, a: _num((torques(s)[other(s["probe"]["side"])] - torques(s)[s["probe"]["side"]]) / a["force"]),
        AnswerType.NUMBER, reverse="balance_force", extend="balance_distance",
    ),
    "total_weight": Kind(
        "total_weight", "sum", lambda s, r: {},
        lambda s, a: "What is the total weight of all the loads on the lever?" + _g_note(s),
        lambda s, a: _num(sum((weight(load) for load in s["loads"]), Fraction(0))), AnswerType.NUMBER,
        reverse="torque", extend="support_force",
    ),
    "support_force": Kind(
        "support_force", "sum", lambda s, r: {},
        lambda s, a: "The lever is balanced by the force F. Ignoring the lever's own weight, what upward force does "
        "the fulcrum exert on it?" + _g_note(s),
        lambda s, a: _num(sum((weight(load) for load in s["loads"]), Fraction(0)) + balance_force(s)),
        AnswerType.NUMBER, reverse="balance_force", extend="support_force",
    ),
}


class Mechanics(Family):
    name = "mechanics"
    domain = "physics"
    kinds = KINDS
    aliases = ("lever", "fulcrum", "torque", "moment", "seesaw", "balance", "mechanics")
    size_knob = "loads"
    size_nouns = ("loads", "weights", "masses")

    def knobs(self, difficulty: int) -> dict[str, Any]:
        return dict(KNOBS[difficulty])

    def scene(self, rng: np.random.Generator, difficulty: int, knobs: dict[str, Any] | None = None) -> Scene:
        k = knobs or KNOBS[difficulty]
        lo, hi = (min(max(int(x), 1), MAX_LOADS) for x in k["loads"])
        n = int(rng.integers(lo, max(lo, hi) + 1))
        # at most three marked points a side (the force F counts on its side, the one with fewer loads)
        if k["both_sides"] and n >= 2:
            left = int(rng.integers(max(1, n - 3), min(3, n - 1) + 1))
        else:
            left = min(n, 3)
        sides = ["left"] * left + ["right"] * (n - left)
        units = ["kg" if k["kg"] and i % 2 == 1 else "N" for i in range(n)]
        return self._make(rng, sides, units, float(k["step"]), list(k["newtons"]))

    def _make(self, rng: np.random.Generator, sides: list[str], units: list[str], step: float,
              pool: list[int]) -> Scene:
        for _ in range(2000):
            # the probe goes on a side with room for one more marked point
            probe_side = "right" if sides.count("right") <= sides.count("left") else "left"
            if sides.count(probe_side) >= 3:
                continue
            positions = {}
            ok = True
            for side in ("left", "right"):
                count = sides.count(side) + (side == probe_side)
                spots = self._spots(rng, count, step)
                if spots is None:
                    ok = False
                    break
                positions[side] = spots
            if not ok:
                continue
            probe_d = positions[probe_side].pop()
            loads = []
            for i, (side, unit) in enumerate(zip(sides, units, strict=True)):
                value = int(pool[int(rng.integers(len(pool)))])
                if unit == "kg":
                    value = max(1, value // 10)
                loads.append({"name": NAMES[i], "side": side, "d": positions[side].pop(0), "value": value,
                              "unit": unit})
            loads.sort(key=lambda ld: (-1 if ld["side"] == "left" else 1) * ld["d"])  # names A, B, ... left to right
            for name, load in zip(NAMES, loads, strict=False):
                load["name"] = name
            scene = {"loads": loads, "probe": {"side": probe_side, "d": probe_d}, "step": step, "pool": pool}
            t = torques(scene)
            if t[probe_side] >= t[other(probe_side)]:
                continue
            force = balance_force(scene)
            if _clean(force) and force <= 400:
                return scene
        raise RuntimeError("mechanics: no clean lever found")

    @staticmethod
    def _spots(rng: np.random.Generator, count: int, step: float) -> list[float] | None:
        grid = [x * step for x in range(int(1 / step), int(HALF / step) + 1)]
        for _ in range(50):
            picked = sorted(float(x) for x in rng.choice(grid, size=count, replace=False))
            if all(b - a >= GAP for a, b in zip(picked, picked[1:], strict=False)):
                perm = [picked[i] for i in rng.permutation(count)]
                return perm
        return None

    def vary(self, scene: Scene, rng: np.random.Generator) -> Scene:
        loads = scene["loads"]
        return self._make(rng, [ld["side"] for ld in loads], [ld["unit"] for ld in loads], scene["step"],
                          scene["pool"])

    def extend_scene(self, scene: Scene, rng: np.random.Generator) -> Scene:
        """One more load (values re-chosen so that the balance stays clean)."""
        loads = scene["loads"]
        if len(loads) >= MAX_LOADS:
            return scene
        sides = [ld["side"] for ld in loads]
        units = [ld["unit"] for ld in loads]
        extra = "left" if sides.count("left") <= sides.count("right") else "right"
        return self._make(rng, [*sides, extra], [*units, "N"], scene["step"], scene["pool"])

    # ---- drawing -------------------------------------------------------------------------------------

    def draw(self, scene: Scene) -> Figure:
        fig, ax = canvas((0.01, 0.01, 0.98, 0.98))
        ax.set_axis_off()
        sx = {"left": -1, "right": 1}
        ax.add_patch(Rectangle((-HALF - 0.3, 0), 2 * HALF + 0.6, 0.18, facecolor="#999999", edgecolor="black",
                               linewidth=1.5, zorder=2))
        ax.add_patch(Polygon([(0, 0), (-0.45, -0.8), (0.45, -0.8)], closed=True, facecolor=PALETTE["orange"],
                             edgecolor="black", linewidth=1.5, zorder=2))
        size = FONT_SIZE - 1
        rows = {"left": 0, "right": 0}

        def dimension(side: str, d: float) -> None:
            y = -1.25 - 0.65 * rows[side]
            rows[side] += 1
            x = sx[side] * d
            ax.plot([x, x], [-0.05, y - 0.1], color="#555555", linewidth=1, linestyle=(0, (3, 2)))
            ax.add_patch(FancyArrowPatch((0, y), (x, y), arrowstyle="<|-|>", mutation_scale=10, color="black",
                                         linewidth=1.2))
            if d < 2:  # a short arrow: the label just beyond its end, away from the fulcrum
                ax.text(x + sx[side] * 0.12, y, fmt(d, " m"), ha="left" if side == "right" else "right",
                        va="center", fontsize=size)
            else:
                ax.text(x / 2, y + 0.06, fmt(d, " m"), ha="center", va="bottom", fontsize=size)

        ax.plot([0, 0], [-0.8, -1.25 - 0.65 * 2.6], color="#555555", linewidth=1, linestyle=(0, (3, 2)))
        for load in sorted(scene["loads"], key=lambda ld: ld["d"]):
            x = sx[load["side"]] * load["d"]
            ax.add_patch(Rectangle((x - 0.4, 0.18), 0.8, 0.7, facecolor=PALETTE["sky blue"], edgecolor="black",
                                   linewidth=1.5, zorder=3))
            ax.text(x, 0.53, load["name"], ha="center", va="center", fontsize=FONT_SIZE, zorder=4)
            ax.text(x, 1.0, fmt(load["value"], f" {load['unit']}"), ha="center", va="bottom", fontsize=size)
        probe = scene["probe"]
        px = sx[probe["side"]] * probe["d"]
        ax.add_patch(FancyArrowPatch((px, 1.4), (px, 0.2), arrowstyle="-|>", mutation_scale=18,
                                     color=PALETTE["red"], linewidth=2.5, zorder=3))
        ax.text(px, 1.5, "F = ?", ha="center", va="bottom", fontsize=FONT_SIZE, color="black")
        marks = sorted([(ld["side"], ld["d"]) for ld in scene["loads"]] + [(probe["side"], probe["d"])],
                       key=lambda m: m[1])
        for side, d in marks:
            dimension(side, d)
        low = -1.25 - 0.65 * max(rows.values()) - 0.2
        ax.set_xlim(-HALF - 0.6, HALF + 0.6)
        span = 2 * HALF + 1.2
        top = 2.2
        middle = (top + low) / 2
        ax.set_ylim(middle - span / 2, middle + span / 2)
        ax.set_aspect("equal")
        return fig

    # ---- answers -------------------------------------------------------------------------------------

    def format_answer(self, kind: str, value: Any) -> str:
        return fmt(value, UNITS[kind]) if kind in UNITS else str(value)

    def distractors(self, scene: Scene, kind: str, args: Args, answer: Any, rng: np.random.Generator) -> list[Any]:
        if kind == "which_side":
            return ["left" if answer == "right" else "right", "neither (it stays level)"]
        t = torques(scene)
        total = float(sum((weight(ld) for ld in scene["loads"]), Fraction(0)))
        pool: list[float] = []
        if kind == "torque":
            load = _load(scene, args["name"])
            pool += [float(weight(load)) + float(load["d"]), float(load["value"]) * float(load["d"])]
        elif kind == "net_torque":
            pool += [float(t["left"] + t["right"])]
        elif kind == "balance_force":
            pool += [float(t[other(scene["probe"]["side"])]) / float(scene["probe"]["d"]), total]
        elif kind == "balance_distance":
            pool += [float(scene["probe"]["d"])]
        elif kind == "total_weight":
            pool += [float(sum(_f(ld["value"]) for ld in scene["loads"]))]
        elif kind == "support_force":
            pool += [total, float(balance_force(scene)), total - float(balance_force(scene))]
        step = 0.5 if kind == "balance_distance" else (1.0 if answer < 20 else 10.0)
        pool += [answer + step, answer - step, answer * 2, answer / 2, answer + 2 * step]
        out: list[float] = []
        for p in pool:
            p = round(float(p), 1)
            if p > 0 and p != round(float(answer), 1) and p not in out:
                out.append(p)
        return out

    def solution(self, scene: Scene, kind: str, args: Args, value: Any) -> str:
        t = torques(scene)
        parts = ", ".join(f"{ld['name']}: {fmt(weight(ld), ' N')} × {fmt(ld['d'], ' m')}" for ld in scene["loads"])
        steps = [f"Torque = weight × distance from the fulcrum ({parts}"
                 + ("; a mass m weighs m × 10 N/kg" if _g_note(scene) else "") + ")."]
        steps.append(f"Left side: {fmt(t['left'], ' Nm')}; right side: {fmt(t['right'], ' Nm')}.")
        if kind in ("balance_force", "support_force"):
            steps.append(f"F × {fmt(scene['probe']['d'], ' m')} must make up the difference, so F = "
                         f"{fmt(balance_force(scene), ' N')}.")
        if kind == "support_force":
            steps.append("The fulcrum carries all the loads plus F.")
        if kind == "balance_distance":
            steps.append(f"The distance is the missing torque divided by {args['force']} N.")
        return " ".join(steps) + f" So the answer is {self.format_answer(kind, value)}."
