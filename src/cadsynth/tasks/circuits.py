"""Physics: resistor circuits (series, parallel, series-parallel) drawn as schematics; Ohm's law and power.

A scene is a *layout* (the series items of the main loop, each a resistor or a parallel block of branches) and
the *netlist* it implies (numbered nodes, the source between node 1 (+) and node 0 (-), one element per
resistor with its resistance). Every printed quantity (source voltage, each resistance) and every answer has at
most one decimal: the source voltage is chosen so that all currents, voltages and powers come out clean.
Questions a scene cannot carry unambiguously (a voltage that is just the source's, a current several
resistors share) are declined.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cadsynth.records import AnswerType
from cadsynth.tasks.base import PALETTE, Args, Family, Kind, Scene
from cadsynth.tasks.render import FONT_SIZE, canvas

# Layout templates: "r" is a resistor; {"par": [[...], [...]]} a parallel block of series branches.
R = "r"
TEMPLATES: dict[int, list[list[Any]]] = {
    2: [[R, R], [{"par": [[R], [R]]}]],
    3: [[R, {"par": [[R], [R]]}], [{"par": [[R], [R]]}, R], [{"par": [[R, R], [R]]}]],
    4: [
        [R, {"par": [[R], [R]]}, R],
        [R, {"par": [[R], [R, R]]}],
        [{"par": [[R, R], [R, R]]}],
        [{"par": [[R], [R]]}, {"par": [[R], [R]]}],
        [R, {"par": [[R], [R], [R]]}],
    ],
}
MAX_RESISTORS = 5

KNOBS = {
    1: {"resistors": (2, 2), "ohms": [2, 3, 4, 6, 8, 10, 12], "vmax": 24, "styles": ("zigzag",)},
    2: {"resistors": (3, 3), "ohms": [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20], "vmax": 36, "styles": ("zigzag", "box")},
    3: {"resistors": (4, 4), "ohms": list(range(1, 25)), "vmax": 60, "styles": ("zigzag", "box")},
}
UNITS = {"resistance": "Ω", "current": "A", "voltage": "V", "power": "W"}


# ---------------------------------------------------------------------------------------------------------
# Structure: names, netlist, reduction
# ---------------------------------------------------------------------------------------------------------


def _name_layout(template: list[Any]) -> list[Any]:
    """The template with resistors named R1, R2, ... in drawing order (series items, then branch by branch)."""
    count = 0

    def name() -> str:
        nonlocal count
        count += 1
        return f"R{count}"

    out: list[Any] = []
    for item in template:
        if item == R:
            out.append(name())
        else:
            out.append({"par": [[name() for _ in branch] for branch in item["par"]]})
    return out


def _names(layout: list[Any]) -> list[str]:
    out: list[str] = []
    for item in layout:
        if isinstance(item, str):
            out.append(item)
        else:
            for branch in item["par"]:
                out.extend(branch)
    return out


def _netlist(layout: list[Any], ohms: dict[str, int], volts: float) -> dict[str, Any]:
    """Nodes and elements: the source from node 1 (+) to node 0 (-), the loop returning to node 0."""
    nodes = 2
    elements: list[dict[str, Any]] = []

    def new() -> int:
        nonlocal nodes
        nodes += 1
        return nodes - 1

    current = 1
    for i, item in enumerate(layout):
        last = i == len(layout) - 1
        end = 0 if last else new()
        branches = [[item]] if isinstance(item, str) else item["par"]
        for branch in branches:
            a = current
            for j, name in enumerate(branch):
                b = end if j == len(branch) - 1 else new()
                elements.append({"name": name, "a": a, "b": b, "ohms": ohms[name]})
                a = b
        current = end
    return {"nodes": nodes, "source": {"plus": 1, "minus": 0, "volts": volts}, "elements": elements}


def _ohms(scene: Scene) -> dict[str, int]:
    return {e["name"]: e["ohms"] for e in scene["netlist"]["elements"]}


def _volts(scene: Scene) -> Fraction:
    return Fraction(str(scene["netlist"]["source"]["volts"]))


def _item_r(item: Any, ohms: dict[str, Any]) -> Fraction:
    if isinstance(item, str):
        return Fraction(ohms[item])
    return 1 / sum(1 / sum(Fraction(ohms[n]) for n in branch) for branch in item["par"])


def _req(layout: list[Any], ohms: dict[str, Any]) -> Fraction:
    return sum((_item_r(item, ohms) for item in layout), Fraction(0))


def _analyse(layout: list[Any], ohms: dict[str, Any], volts: Fraction) -> dict[str, Any]:
    """Series-parallel reduction: equivalent resistance, total current, and (I, V, P) of every resistor."""
    req = _req(layout, ohms)
    total = volts / req
    each: dict[str, tuple[Fraction, Fraction, Fraction]] = {}
    for item in layout:
        drop = total * _item_r(item, ohms)
        branches = [[item]] if isinstance(item, str) else item["par"]
        for branch in branches:
            current = drop / sum(Fraction(ohms[n]) for n in branch)
            for name in branch:
                v = current * ohms[name]
                each[name] = (current, v, current * v)
    return {"req": req, "current": total, "power": volts * total, "each": each}


def analyse(scene: Scene) -> dict[str, Any]:
    return _analyse(scene["layout"], _ohms(scene), _volts(scene))


def _clean(x: Fraction) -> bool:
    return (x * 10).denominator == 1


def _num(x: Fraction | float) -> float:
    return round(float(x), 1)


def _all_clean(result: dict[str, Any]) -> bool:
    values = [result["req"], result["current"], result["power"]]
    for triple in result["each"].values():
        values.extend(triple)
    return all(_clean(v) for v in values)


# ---------------------------------------------------------------------------------------------------------
# Questions
# ---------------------------------------------------------------------------------------------------------


def fmt(value: float, unit: str = "") -> str:
    v = round(float(value), 1)
    text = str(int(v)) if v.is_integer() else f"{v:.1f}"
    return f"{text}{unit}"


def _pick(rng: np.random.Generator, items: list[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _ask_resistor(quantity: int):
    """A named resistor whose quantity (0 current, 1 voltage, 2 power) is not simply a printed value."""

    def ask(scene: Scene, rng: np.random.Generator) -> Args | None:
        result, volts = analyse(scene), _volts(scene)
        names = [n for n, t in result["each"].items() if not (quantity == 1 and t[1] == volts)]
        return {"name": _pick(rng, names)} if names else None

    return ask


def _ask_which(quantity: int):
    """A current (voltage) that exactly one resistor has, and that is not the source's own voltage."""

    def ask(scene: Scene, rng: np.random.Generator) -> Args | None:
        result, volts = analyse(scene), _volts(scene)
        values = [t[quantity] for t in result["each"].values()]
        unique = [v for v in values if values.count(v) == 1 and not (quantity == 1 and v == volts)]
        if not unique or len(values) < 2:
            return None
        return {"value": _num(_pick(rng, unique))}

    return ask


def _ask_source_for_current(scene: Scene, rng: np.random.Generator) -> Args | None:
    result, volts = analyse(scene), _volts(scene)
    req = result["req"]
    options = []
    for tenths in range(5, 101, 5):  # 0.5 A to 10 A
        x = Fraction(tenths, 10)
        if x != result["current"] and _clean(x * req) and x * req != volts:
            options.append(_num(x))
    return {"current": _pick(rng, options)} if options else None


def _replaced(scene: Scene, name: str, new: Fraction) -> dict[str, Any]:
    ohms = {**_ohms(scene), name: new}
    return _analyse(scene["layout"], ohms, _volts(scene))


def _ask_replace(scene: Scene, rng: np.random.Generator) -> Args | None:
    ohms = _ohms(scene)
    current = analyse(scene)["current"]
    options = []
    for name, old in ohms.items():
        for halves in range(1, 61):  # 0.5 to 30 ohms
            new = Fraction(halves, 2)
            if new == old:
                continue
            x = _replaced(scene, name, new)["current"]
            if _clean(x) and x != current:
                options.append((name, _num(x)))
    if not options:
        return None
    name, x = _pick(rng, options)
    return {"name": name, "current": x}


def _solve_replace(scene: Scene, args: Args) -> float:
    """The new resistance: total current falls strictly as one resistance grows, so bisect (exactly)."""
    target = Fraction(str(args["current"]))
    lo, hi = Fraction(0), Fraction(10_000)
    for _ in range(200):
        mid = (lo + hi) / 2
        if _replaced(scene, args["name"], mid)["current"] > target:
            lo = mid
        else:
            hi = mid
        if hi - lo < Fraction(1, 10_000):
            break
    return _num((lo + hi) / 2)


def _which(quantity: int):
    def solve(scene: Scene, args: Args) -> str:
        each = analyse(scene)["each"]
        return next(n for n, t in each.items() if _num(t[quantity]) == args["value"])

    return solve


KINDS = {
    "equivalent_resistance": Kind(
        "equivalent_resistance", "sum", lambda s, r: {},
        lambda s, a: "What is the equivalent resistance of the resistor network connected to the source?",
        lambda s, a: _num(analyse(s)["req"]), AnswerType.NUMBER,
        reverse="replace_resistor", extend="total_current",
    ),
    "total_current": Kind(
        "total_current", "ratio", lambda s, r: {},
        lambda s, a: "What is the total current supplied by the source?",
        lambda s, a: _num(analyse(s)["current"]), AnswerType.NUMBER,
        reverse="source_for_current", extend="total_power",
    ),
    "voltage_across": Kind(
        "voltage_across", "product", _ask_resistor(1),
        lambda s, a: f"What is the voltage across resistor {a['name']}?",
        lambda s, a: _num(analyse(s)["each"][a["name"]][1]), AnswerType.NUMBER,
        reverse="which_voltage", extend="resistor_power",
    ),
    "current_through": Kind(
        "current_through", "ratio", _ask_resistor(0),
        lambda s, a: f"What is the current through resistor {a['name']}?",
        lambda s, a: _num(analyse(s)["each"][a["name"]][0]), AnswerType.NUMBER,
        reverse="which_current", extend="resistor_power",
    ),
    "resistor_power": Kind(
        "resistor_power", "product", _ask_resistor(2),
        lambda s, a: f"How much power is dissipated in resistor {a['name']}?",
        lambda s, a: _num(analyse(s)["each"][a["name"]][2]), AnswerType.NUMBER,
        reverse="current_through", extend="total_power",
    ),
    "total_power": Kind(
        "total_power", "product", lambda s, r: {},
        lambda s, a: "What is the total power delivered by the source?",
        lambda s, a: _num(analyse(s)["power"]), AnswerType.NUMBER,
        reverse="total_current", extend="total_power",
    ),
    "source_for_current": Kind(
        "source_for_current", "product", _ask_source_for_current,
        lambda s, a: f"The source is replaced by another one so that the total current becomes {fmt(a['current'], 'A')}. "
        "What is the voltage of the new source?",
        lambda s, a: _num(Fraction(str(a["current"])) * analyse(s)["req"]), AnswerType.NUMBER,
        reverse="total_current", extend="source_for_current",
    ),
    "replace_resistor": Kind(
        "replace_resistor", "difference", _ask_replace,
        lambda s, a: f"Resistor {a['name']} is replaced by a new resistor so that the total current from the source "
        f"becomes {fmt(a['current'], 'A')}. What is the resistance of the new resistor?",
        _solve_replace, AnswerType.NUMBER,
        reverse="equivalent_resistance", extend="replace_resistor",
    ),
    "which_current": Kind(
        "which_current", "find", _ask_which(0),
        lambda s, a: f"Which resistor carries a current of {fmt(a['value'], 'A')}? Answer with its name.",
        _which(0), AnswerType.TEXT, reverse="current_through", extend="resistor_power",
    ),
    "which_voltage": Kind(
        "which_voltage", "find", _ask_which(1),
        lambda s, a: f"Across which resistor is the voltage {fmt(a['value'], 'V')}? Answer with its name.",
        _which(1), AnswerType.TEXT, reverse="voltage_across", extend="resistor_power",
    ),
}
KIND_UNITS = {
    "equivalent_resistance": "Ω", "total_current": "A", "voltage_across": "V", "current_through": "A",
    "resistor_power": "W", "total_power": "W", "source_for_current": "V", "replace_resistor": "Ω",
}


# ---------------------------------------------------------------------------------------------------------
# Family
# ---------------------------------------------------------------------------------------------------------


class Circuits(Family):
    name = "circuits"
    domain = "physics"
    kinds = KINDS
    aliases = ("circuit", "resistor", "resistance", "ohm's law", "series circuit", "parallel circuit", "current",
               "voltage")
    size_knob = "resistors"
    size_nouns = ("resistors", "resistances")

    def knobs(self, difficulty: int) -> dict[str, Any]:
        return dict(KNOBS[difficulty])

    def scene(self, rng: np.random.Generator, difficulty: int, knobs: dict[str, Any] | None = None) -> Scene:
        knobs = knobs or KNOBS[difficulty]
        lo, hi = (min(max(int(k), 2), MAX_RESISTORS) for k in knobs["resistors"])
        n = int(rng.integers(lo, max(lo, hi) + 1))
        if n in TEMPLATES:
            template = _pick(rng, TEMPLATES[n])
        else:  # five resistors (a description asked for them): a four-resistor network and one more in series
            template = [*_pick(rng, TEMPLATES[4]), R]
        style = str(_pick(rng, list(knobs["styles"])))
        return self._make(rng, _name_layout(template), style, list(knobs["ohms"]), int(knobs["vmax"]))

    def _make(self, rng: np.random.Generator, layout: list[Any], style: str, pool: list[int], vmax: int) -> Scene:
        names = _names(layout)
        for _ in range(5000):
            ohms = {n: int(_pick(rng, pool)) for n in names}
            req = _req(layout, ohms)
            if not _clean(req):
                continue
            # currents and voltages are linear in V: V must be a multiple of every denominator's non-10 part
            unit = _analyse(layout, ohms, Fraction(1))
            step = 1
            for triple in unit["each"].values():
                for q in triple[:2]:
                    den = q.denominator
                    step = math.lcm(step, den // math.gcd(den, 10))
            if step > vmax:
                continue
            volts_ok = []
            for v in range(step * max(1, -(-2 // step)), vmax + 1, step):
                result = _analyse(layout, ohms, Fraction(v))
                if _all_clean(result) and result["current"] <= 20:
                    volts_ok.append(v)
            if volts_ok:
                volts = int(_pick(rng, volts_ok))
                return {"layout": layout, "netlist": _netlist(layout, ohms, volts), "style": style,
                        "pool": pool, "vmax": vmax}
        raise RuntimeError("circuits: no clean values found")

    def vary(self, scene: Scene, rng: np.random.Generator) -> Scene:
        return self._make(rng, scene["layout"], scene["style"], scene["pool"], scene["vmax"])

    def extend_scene(self, scene: Scene, rng: np.random.Generator) -> Scene:
        """One more resistor in series at the end of the main loop (values re-chosen so answers stay clean)."""
        names = _names(scene["layout"])
        if len(names) >= MAX_RESISTORS + 1:
            return scene
        layout = [*scene["layout"], f"R{len(names) + 1}"]
        return self._make(rng, layout, scene["style"], scene["pool"], scene["vmax"])

    # ---- drawing -------------------------------------------------------------------------------------

    def draw(self, scene: Scene) -> Figure:
        fig, ax = canvas((0.01, 0.01, 0.98, 0.98))
        ax.set_axis_off()
        ohms = _ohms(scene)
        layout = scene["layout"]
        wire = {"color": "black", "linewidth": 2, "solid_capstyle": "round"}
        depth = max([1] + [len(item["par"]) for item in layout if isinstance(item, dict)])
        top, bottom = 0.0, -float(max(depth, 1)) - (0.0 if depth > 1 else 0.3)
        label_size = FONT_SIZE - 1
        style = scene["style"]

        def resistor(x0: float, x1: float, y: float, name: str) -> None:
            body = 0.5
            xc = (x0 + x1) / 2
            a, b = xc - body / 2, xc + body / 2
            ax.plot([x0, a], [y, y], **wire)
            ax.plot([b, x1], [y, y], **wire)
            if style == "box":
                ax.add_patch(Rectangle((a, y - 0.09), body, 0.18, facecolor="white", edgecolor="black",
                                       linewidth=2, zorder=3))
            else:
                xs = np.linspace(a, b, 9)
                ys = y + np.array([0, 0.1, -0.1, 0.1, -0.1, 0.1, -0.1, 0.1, 0]) * 1.0
                ax.plot(xs, ys, color="black", linewidth=2)
            ax.text(xc, y + 0.16, f"{name} = {ohms[name]}Ω", ha="center", va="bottom", fontsize=label_size,
                    color=PALETTE["black"])

        def vertical(x: float, y0: float, y1: float, name: str) -> None:
            body = 0.5
            yc = (y0 + y1) / 2
            a, b = yc + body / 2, yc - body / 2
            ax.plot([x, x], [y0, a], **wire)
            ax.plot([x, x], [b, y1], **wire)
            if style == "box":
                ax.add_patch(Rectangle((x - 0.09, b), 0.18, body, facecolor="white", edgecolor="black",
                                       linewidth=2, zorder=3))
            else:
                ys = np.linspace(a, b, 9)
                xs = x + np.array([0, 0.1, -0.1, 0.1, -0.1, 0.1, -0.1, 0.1, 0])
                ax.plot(xs, ys, color="black", linewidth=2)
            ax.text(x + 0.2, yc, f"{name} = {ohms[name]}Ω", ha="left", va="center", fontsize=label_size,
                    color=PALETTE["black"])

        def dot(x: float, y: float) -> None:
            ax.plot([x], [y], marker="o", markersize=7, color="black", zorder=4)

        # a last series resistor sits on the right-hand side of the loop (as in textbook drawings)
        side = layout[-1] if len(layout) > 1 and isinstance(layout[-1], str) else None
        x = 0.45
        ax.plot([0, x], [top, top], **wire)
        for item in (layout[:-1] if side else layout):
            if isinstance(item, str):
                resistor(x, x + 1, top, item)
                x += 1
                continue
            branches = item["par"]
            width = 1.2 * max(len(b) for b in branches)
            xa, xb = x + 0.2, x + 0.2 + width
            ax.plot([x, xa], [top, top], **wire)
            ax.plot([xa, xa], [top, top - (len(branches) - 1)], **wire)
            ax.plot([xb, xb], [top, top - (len(branches) - 1)], **wire)
            for j, branch in enumerate(branches):
                y = top - j
                cell = width / len(branch)
                for k, name in enumerate(branch):
                    resistor(xa + k * cell, xa + (k + 1) * cell, y, name)
                if 0 < j < len(branches) - 1 or j == 0:
                    dot(xa, y)
                    dot(xb, y)
            ax.plot([xb, xb + 0.2], [top, top], **wire)
            x = xb + 0.2
        end = x + 0.15
        ax.plot([x, end], [top, top], **wire)
        if side:
            vertical(end, top, bottom, side)
            label_right = end + 0.2 + 0.13 * len(f"{side} = {ohms[side]}Ω")
        else:
            ax.plot([end, end], [top, bottom], **wire)
            label_right = end
        ax.plot([end, 0], [bottom, bottom], **wire)
        # the source: a battery on the left side, long plate (+) on top
        mid = (top + bottom) / 2
        ax.plot([0, 0], [top, mid + 0.08], **wire)
        ax.plot([0, 0], [bottom, mid - 0.08], **wire)
        ax.plot([-0.2, 0.2], [mid + 0.08, mid + 0.08], color="black", linewidth=2.5)
        ax.plot([-0.1, 0.1], [mid - 0.08, mid - 0.08], color="black", linewidth=5)
        volts = scene["netlist"]["source"]["volts"]
        ax.text(-0.3, mid, fmt(volts, "V"), ha="right", va="center", fontsize=FONT_SIZE, color=PALETTE["black"])
        # equal scales, everything inside: room for the source label on the left and labels above the top wire
        left, right = -1.05, max(end, label_right) + 0.25
        low, high = bottom - 0.3, top + 0.55
        span = max(right - left, high - low)
        cx, cy = (left + right) / 2, (low + high) / 2
        ax.set_xlim(cx - span / 2, cx + span / 2)
        ax.set_ylim(cy - span / 2, cy + span / 2)
        ax.set_aspect("equal")
        return fig

    # ---- answers -------------------------------------------------------------------------------------

    def format_answer(self, kind: str, value: Any) -> str:
        if kind in KIND_UNITS:
            return fmt(value, KIND_UNITS[kind])
        return str(value)

    def distractors(self, scene: Scene, kind: str, args: Args, answer: Any, rng: np.random.Generator) -> list[Any]:
        if KINDS[kind].answer_type is AnswerType.TEXT:
            return [n for n in _names(scene["layout"]) if n != answer]
        result, volts = analyse(scene), float(_volts(scene))
        ohms = _ohms(scene)
        pool: list[float] = []
        if kind == "equivalent_resistance":
            pool += [sum(ohms.values()), float(1 / sum(Fraction(1, r) for r in ohms.values()))]
        elif kind in ("total_current", "current_through"):
            pool += [volts / r for r in ohms.values()] + [float(result["current"]) * 2]
        elif kind == "voltage_across":
            pool += [volts - answer, volts / len(ohms)]
        elif kind in ("resistor_power", "total_power"):
            pool += [answer / 2, volts * volts / sum(ohms.values())]
        elif kind == "source_for_current":
            pool += [float(Fraction(str(args["current"])) * sum(ohms.values())), float(volts)]
        elif kind == "replace_resistor":
            pool += [float(ohms[args["name"]]), volts / args["current"]]
        step = 1.0 if answer >= 2 else 0.5
        pool += [answer + step, answer - step, answer * 2, answer / 2, answer + 2 * step, answer * 1.5]
        out = []
        for p in pool:
            p = round(float(p), 1)
            if p > 0 and p != round(float(answer), 1) and p not in out:
                out.append(p)
        return out

    def solution(self, scene: Scene, kind: str, args: Args, value: Any) -> str:
        result = analyse(scene)
        answer = self.format_answer(kind, value)
        steps = [f"The resistors combine (series resistances add, parallel ones add as reciprocals) to an "
                 f"equivalent resistance of {fmt(result['req'], 'Ω')}."]
        volts = _volts(scene)
        if kind != "equivalent_resistance":
            steps.append(f"The source gives I = V/R = {fmt(volts, 'V')} / {fmt(result['req'], 'Ω')} = "
                         f"{fmt(result['current'], 'A')}.")
        if kind in ("voltage_across", "current_through", "resistor_power", "which_current", "which_voltage"):
            parts = ", ".join(f"{n}: {fmt(t[0], 'A')}, {fmt(t[1], 'V')}" for n, t in result["each"].items())
            steps.append(f"Splitting the current and voltage over the network: {parts}.")
        if kind in ("resistor_power",):
            steps.append("Power P = V·I.")
        if kind == "total_power":
            steps.append("Total power P = V·I.")
        if kind == "source_for_current":
            steps.append(f"The new source must give V = I·R = {fmt(args['current'], 'A')} × {fmt(result['req'], 'Ω')}.")
        if kind == "replace_resistor":
            steps.append(f"The new total resistance must be V/I = {fmt(volts, 'V')} / {fmt(args['current'], 'A')}; "
                         f"solving the network for {args['name']} gives its new value.")
        return " ".join(steps) + f" So the answer is {answer}."
