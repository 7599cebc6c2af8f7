"""Chemistry: ball-and-stick structures of real molecules; atom and bond counts, formulas, groups, molar masses.

Each molecule is a formula graph with 2D coordinates laid out here (heavy atoms on a grid, hydrogens placed in
the free directions around them, a hexagon for benzene rings). Atoms are drawn as coloured balls with the
element symbol inside, single bonds as one line and double bonds as two, with a key of the atom colours.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from cadsynth.answers import number
from cadsynth.records import AnswerType
from cadsynth.tasks.base import PALETTE, Args, Family, Kind, Scene
from cadsynth.tasks.render import FONT_SIZE, SIZE_PX, canvas

ELEMENTS = {  # symbol: (name, molar mass in g/mol, valence, ball colour, letter colour)
    "C": ("carbon", 12, 4, PALETTE["black"], "white"),
    "H": ("hydrogen", 1, 1, "white", PALETTE["black"]),
    "O": ("oxygen", 16, 2, PALETTE["red"], "white"),
    "N": ("nitrogen", 14, 3, PALETTE["blue"], "white"),
    "Cl": ("chlorine", 35.5, 1, PALETTE["green"], "white"),
}
ORDER = ["C", "H", "O", "N", "Cl"]  # legend order
GROUPS = ["alkane", "alkene", "arene", "alcohol", "aldehyde", "ketone", "carboxylic acid", "ester", "ether",
          "amine", "haloalkane"]
HEAVY_R, H_R = 17.0, 13.0  # ball radii in pixels
LEGEND_Y = 26.0  # legend row centre, pixels from the bottom
MAX_SCALE = 90.0  # pixels per bond length, at most

R = math.sqrt(3) / 2
LEFT_V = [(-R, 0.5), (-R, -0.5)]  # the two hydrogens of a =CH2 group drawn to the left
RIGHT_V = [(R, 0.5), (R, -0.5)]


def _chain(n: int, element_tail: list[tuple] | None = None) -> list[tuple]:
    return [("C", float(i), 0.0) for i in range(n)] + (element_tail or [])


def _bonds_chain(n: int) -> list[tuple[int, int, int]]:
    return [(i, i + 1, 1) for i in range(n - 1)]


def _ring(methyl: bool) -> tuple[list[tuple], list[tuple]]:
    atoms: list[tuple] = []
    for k in range(6):
        angle = math.radians(90 + 60 * k)
        c, s = math.cos(angle), math.sin(angle)
        radial = None if (methyl and k == 0) else [(c, s)]
        atoms.append(("C", round(c, 4), round(s, 4), radial))
    bonds = [(k, (k + 1) % 6, 2 if k % 2 == 0 else 1) for k in range(6)]
    if methyl:
        atoms.append(("C", 0.0, 2.0))
        bonds.append((0, 6, 1))
    return atoms, bonds


# name: (heavy atoms (element, x, y[, hydrogen directions]), bonds (i, j, order), group, other names, grows to)
LIBRARY: dict[str, tuple] = {
    "water": ([("O", 0.0, 0.0, [(-0.8, -0.6), (0.8, -0.6)])], [], None, [], "methanol"),
    "carbon dioxide": ([("O", -1.0, 0.0), ("C", 0.0, 0.0), ("O", 1.0, 0.0)], [(0, 1, 2), (1, 2, 2)], None, [], None),
    "ammonia": ([("N", 0.0, 0.0, [(-1, 0), (1, 0), (0, -1)])], [], None, [], "methylamine"),
    "hydrogen peroxide": ([("O", 0.0, 0.0), ("O", 1.0, 0.0)], [(0, 1, 1)], None, [], None),
    "formaldehyde": ([("C", 0.0, 0.0, [(-R, -0.5), (R, -0.5)]), ("O", 0.0, 1.0)], [(0, 1, 2)], "aldehyde",
                     ["methanal"], "acetaldehyde"),
    "methane": (_chain(1), [], "alkane", [], "ethane"),
    "chloromethane": (_chain(1, [("Cl", 1.0, 0.0)]), [(0, 1, 1)], "haloalkane", [], "chloroethane"),
    "dichloromethane": (_chain(1, [("Cl", 1.0, 0.0), ("Cl", -1.0, 0.0)]), [(0, 1, 1), (0, 2, 1)], "haloalkane",
                        [], None),
    "formic acid": ([("C", 0.0, 0.0), ("O", 0.0, 1.0), ("O", 1.0, 0.0)], [(0, 1, 2), (0, 2, 1)],
                    "carboxylic acid", ["methanoic acid"], "acetic acid"),
    "methanol": (_chain(1, [("O", 1.0, 0.0)]), [(0, 1, 1)], "alcohol", [], "ethanol"),
    "ethene": ([("C", 0.0, 0.0, LEFT_V), ("C", 1.0, 0.0, RIGHT_V)], [(0, 1, 2)], "alkene", [], "propene"),
    "acetaldehyde": (_chain(2, [("O", 1.0, 1.0)]), [(0, 1, 1), (1, 2, 2)], "aldehyde", ["ethanal"], "propanal"),
    "methylamine": (_chain(1, [("N", 1.0, 0.0)]), [(0, 1, 1)], "amine", [], "ethylamine"),
    "ethane": (_chain(2), _bonds_chain(2), "alkane", [], "propane"),
    "acetic acid": (_chain(2, [("O", 1.0, 1.0), ("O", 2.0, 0.0)]), [(0, 1, 1), (1, 2, 2), (1, 3, 1)],
                    "carboxylic acid", ["ethanoic acid"], "propanoic acid"),
    "methyl formate": ([("C", 0.0, 0.0), ("O", 0.0, 1.0), ("O", 1.0, 0.0), ("C", 2.0, 0.0)],
                       [(0, 1, 2), (0, 2, 1), (2, 3, 1)], "ester", ["methyl methanoate"], "methyl acetate"),
    "chloroethane": (_chain(2, [("Cl", 2.0, 0.0)]), [(0, 1, 1), (1, 2, 1)], "haloalkane", [], "1-chloropropane"),
    "ethanol": (_chain(2, [("O", 2.0, 0.0)]), [(0, 1, 1), (1, 2, 1)], "alcohol", [], "propan-1-ol"),
    "dimethyl ether": ([("C", 0.0, 0.0), ("O", 1.0, 0.0), ("C", 2.0, 0.0)], [(0, 1, 1), (1, 2, 1)], "ether",
                       ["methoxymethane"], "ethyl methyl ether"),
    "propene": ([("C", 0.0, 0.0, LEFT_V), ("C", 1.0, 0.0), ("C", 2.0, 0.0)], [(0, 1, 2), (1, 2, 1)], "alkene",
                ["propylene"], "but-1-ene"),
    "ethylamine": (_chain(2, [("N", 2.0, 0.0)]), [(0, 1, 1), (1, 2, 1)], "amine", [], "propylamine"),
    "acetone": (_chain(2, [("O", 1.0, 1.0), ("C", 2.0, 0.0)]), [(0, 1, 1), (1, 2, 2), (1, 3, 1)], "ketone",
                ["propanone"], "butanone"),
    "propanal": (_chain(3, [("O", 2.0, 1.0)]), [*_bonds_chain(3), (2, 3, 2)], "aldehyde", ["propionaldehyde"],
                 "butanal"),
    "propane": (_chain(3), _bonds_chain(3), "alkane", [], "butane"),
    "propanoic acid": (_chain(3, [("O", 2.0, 1.0), ("O", 3.0, 0.0)]), [*_bonds_chain(3), (2, 3, 2), (2, 4, 1)],
                       "carboxylic acid", ["propionic acid"], "butanoic acid"),
    "methyl acetate": (_chain(2, [("O", 1.0, 1.0), ("O", 2.0, 0.0), ("C", 3.0, 0.0)]),
                       [(0, 1, 1), (1, 2, 2), (1, 3, 1), (3, 4, 1)], "ester", ["methyl ethanoate"], "ethyl acetate"),
    "1-chloropropane": (_chain(3, [("Cl", 3.0, 0.0)]), [*_bonds_chain(3), (2, 3, 1)], "haloalkane",
                        ["propyl chloride"], None),
    "propan-1-ol": (_chain(3, [("O", 3.0, 0.0)]), [*_bonds_chain(3), (2, 3, 1)], "alcohol", ["1-propanol"],
                    "butan-1-ol"),
    "propan-2-ol": (_chain(3, [("O", 1.0, 1.0)]), [*_bonds_chain(3), (1, 3, 1)], "alcohol",
                    ["2-propanol", "isopropanol"], "butan-2-ol"),
    "ethyl methyl ether": (_chain(2, [("O", 2.0, 0.0), ("C", 3.0, 0.0)]), [(0, 1, 1), (1, 2, 1), (2, 3, 1)],
                           "ether", ["methoxyethane"], "diethyl ether"),
    "but-1-ene": ([("C", 0.0, 0.0, LEFT_V), ("C", 1.0, 0.0), ("C", 2.0, 0.0), ("C", 3.0, 0.0)],
                  [(0, 1, 2), (1, 2, 1), (2, 3, 1)], "alkene", ["1-butene"], "pent-1-ene"),
    "propylamine": (_chain(3, [("N", 3.0, 0.0)]), [*_bonds_chain(3), (2, 3, 1)], "amine", ["propan-1-amine"],
                    None),
    "butanal": (_chain(4, [("O", 3.0, 1.0)]), [*_bonds_chain(4), (3, 4, 2)], "aldehyde", ["butyraldehyde"], None),
    "butanone": (_chain(2, [("O", 1.0, 1.0), ("C", 2.0, 0.0), ("C", 3.0, 0.0)]),
                 [(0, 1, 1), (1, 2, 2), (1, 3, 1), (3, 4, 1)], "ketone", ["butan-2-one"], "pentan-2-one"),
    "benzene": (*_ring(False), "arene", [], "toluene"),
    "butane": (_chain(4), _bonds_chain(4), "alkane", [], "pentane"),
    "butanoic acid": (_chain(4, [("O", 3.0, 1.0), ("O", 4.0, 0.0)]), [*_bonds_chain(4), (3, 4, 2), (3, 5, 1)],
                      "carboxylic acid", ["butyric acid"], None),
    "ethyl acetate": (_chain(2, [("O", 1.0, 1.0), ("O", 2.0, 0.0), ("C", 3.0, 0.0), ("C", 4.0, 0.0)]),
                      [(0, 1, 1), (1, 2, 2), (1, 3, 1), (3, 4, 1), (4, 5, 1)], "ester", ["ethyl ethanoate"], None),
    "butan-1-ol": (_chain(4, [("O", 4.0, 0.0)]), [*_bonds_chain(4), (3, 4, 1)], "alcohol", ["1-butanol"], None),
    "butan-2-ol": (_chain(4, [("O", 1.0, 1.0)]), [*_bonds_chain(4), (1, 4, 1)], "alcohol", ["2-butanol"], None),
    "diethyl ether": (_chain(2, [("O", 2.0, 0.0), ("C", 3.0, 0.0), ("C", 4.0, 0.0)]),
                      [(0, 1, 1), (1, 2, 1), (2, 3, 1), (3, 4, 1)], "ether", ["ethoxyethane"], None),
    "pent-1-ene": ([("C", 0.0, 0.0, LEFT_V), *[("C", float(i), 0.0) for i in range(1, 5)]],
                   [(0, 1, 2), *[(i, i + 1, 1) for i in range(1, 4)]], "alkene", ["1-pentene"], None),
    "pentan-2-one": (_chain(2, [("O", 1.0, 1.0), ("C", 2.0, 0.0), ("C", 3.0, 0.0), ("C", 4.0, 0.0)]),
                     [(0, 1, 1), (1, 2, 2), (1, 3, 1), (3, 4, 1), (4, 5, 1)], "ketone", ["methyl propyl ketone"],
                     None),
    "toluene": (*_ring(True), "arene", ["methylbenzene"], None),
    "pentane": (_chain(5), _bonds_chain(5), "alkane", [], None),
}

KNOBS = {
    1: {"atoms": (3, 6)},
    2: {"atoms": (7, 10)},
    3: {"atoms": (11, 14)},
}

AUTO_DIRS = [(-1.0, 0.0), (1.0, 0.0), (0.0, 1.0), (0.0, -1.0), (-R, R), (R, R), (-R, -R), (R, -R)]


def build_molecule(name: str) -> Scene:
    """The scene of a library molecule: every atom (hydrogens placed) with coordinates, and every bond."""
    heavy, bonds, group, _, _ = LIBRARY[name]
    atoms = [{"el": a[0], "x": float(a[1]), "y": float(a[2])} for a in heavy]
    out_bonds = [[int(i), int(j), int(o)] for i, j, o in bonds]
    for i, spec in enumerate(heavy):
        used = sum(o for a, b, o in out_bonds if i in (a, b))
        n_h = ELEMENTS[spec[0]][2] - used
        dirs = spec[3] if len(spec) > 3 and spec[3] else AUTO_DIRS
        x, y = atoms[i]["x"], atoms[i]["y"]
        bonded = [(atoms[b if a == i else a]["x"] - x, atoms[b if a == i else a]["y"] - y)
                  for a, b, _ in out_bonds if i in (a, b)]
        placed = 0
        for dx, dy in dirs:
            if placed == n_h:
                break
            norm = math.hypot(dx, dy)
            dx, dy = dx / norm, dy / norm
            if any((dx * bx + dy * by) / math.hypot(bx, by) > 0.9 for bx, by in bonded):
                continue
            hx, hy = round(x + dx, 4), round(y + dy, 4)
            if any(math.hypot(a["x"] - hx, a["y"] - hy) < 0.7 for a in atoms):
                continue
            atoms.append({"el": "H", "x": hx, "y": hy})
            out_bonds.append([i, len(atoms) - 1, 1])
            bonded.append((dx, dy))
            placed += 1
        if placed != n_h:
            raise ValueError(f"{name}: no room for the hydrogens of atom {i}")
    return {"molecule": name, "group": group, "atoms": atoms, "bonds": out_bonds}


SIZES = {name: len(build_molecule(name)["atoms"]) for name in LIBRARY}


# ---------------------------------------------------------------------------------------------------------
# Solvers
# ---------------------------------------------------------------------------------------------------------


def counts(scene: Scene) -> Counter:
    return Counter(a["el"] for a in scene["atoms"])


def formula(scene: Scene) -> str:
    """Hill order: C, then H, then the others alphabetically; a count of 1 is not written."""
    c = counts(scene)
    first = [e for e in ("C", "H") if c["C"] and c[e]]
    order = first + sorted(e for e in c if e not in first)
    return "".join(f"{e}{c[e] if c[e] > 1 else ''}" for e in order)


def molar_mass(scene: Scene) -> float:
    return sum(ELEMENTS[e][1] * n for e, n in counts(scene).items())


def _clean(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 1)


def bond_count(scene: Scene, order: int) -> int:
    return sum(1 for _, _, o in scene["bonds"] if o == order)


def _element_name(symbol: str) -> str:
    return ELEMENTS[symbol][0]


def _masses_note(scene: Scene) -> str:
    parts = [f"{e} = {format_mass(ELEMENTS[e][1])}" for e in ORDER if e in counts(scene)]
    return f"Use {', '.join(parts)} g/mol."


def format_mass(value: float) -> str:
    return str(_clean(value))


# ---------------------------------------------------------------------------------------------------------
# Question arguments
# ---------------------------------------------------------------------------------------------------------


def _pick(items: list[Any], rng: np.random.Generator) -> Any:
    return items[int(rng.integers(len(items)))] if items else None


def _present_element(scene: Scene, rng: np.random.Generator) -> Args | None:
    element = _pick([e for e in ORDER if e in counts(scene)], rng)
    return {"element": element}


def _unique_count(scene: Scene, rng: np.random.Generator) -> Args | None:
    c = counts(scene)
    unique = [n for n in sorted(set(c.values())) if list(c.values()).count(n) == 1]
    n = _pick(unique, rng)
    return None if n is None else {"n": int(n)}


def _bond_kind(scene: Scene, rng: np.random.Generator) -> Args | None:
    kinds = [k for k, o in (("single", 1), ("double", 2)) if bond_count(scene, o) > 0]
    kind = _pick(kinds, rng)
    return None if kind is None else {"bond": kind}


def _has_double(scene: Scene, rng: np.random.Generator) -> Args | None:
    return {} if bond_count(scene, 2) > 0 else None


def _has_carbon(scene: Scene, rng: np.random.Generator) -> Args | None:
    return {} if counts(scene)["C"] else None


def _unambiguous_name(scene: Scene, rng: np.random.Generator) -> Args | None:
    return {} if not LIBRARY[scene["molecule"]][3] else None


def _has_group(scene: Scene, rng: np.random.Generator) -> Args | None:
    return {} if scene["group"] else None


def _heavy_element(scene: Scene, rng: np.random.Generator) -> Args | None:
    element = _pick([e for e in ORDER if e != "H" and e in counts(scene)], rng)
    return None if element is None else {"element": element}


def _element_mass(scene: Scene, a: Args) -> int | float:
    return _clean(counts(scene)[a["element"]] * ELEMENTS[a["element"]][1])


GROUP_LIST = ", ".join(GROUPS[:-1]) + " or " + GROUPS[-1]
FORMULA_NOTE = "Write C first, then H, then any other elements in alphabetical order (e.g. C2H4O2)."

KINDS = {
    "count_element": Kind(
        "count_element", "count", _present_element,
        lambda s, a: f"How many {_element_name(a['element'])} atoms are in this molecule?",
        lambda s, a: counts(s)[a["element"]], reverse="element_with_count", extend="element_mass",
    ),
    "element_with_count": Kind(
        "element_with_count", "find", _unique_count,
        lambda s, a: f"Which element has exactly {a['n']} atom{'s' if a['n'] > 1 else ''} in this molecule? "
        "Answer with the element's name.",
        lambda s, a: _element_name(next(e for e, n in counts(s).items() if n == a["n"])),
        answer_type=AnswerType.TEXT, reverse="count_element", extend="total_atoms",
    ),
    "total_atoms": Kind(
        "total_atoms", "sum", lambda s, r: {},
        lambda s, a: "How many atoms in total does this molecule contain?",
        lambda s, a: len(s["atoms"]), reverse="count_element", extend="molar_mass",
    ),
    "count_bonds": Kind(
        "count_bonds", "count", _bond_kind,
        lambda s, a: f"How many {a['bond']} bonds are shown in this structure?",
        lambda s, a: bond_count(s, 1 if a["bond"] == "single" else 2), reverse="count_element",
        extend="bond_total",
    ),
    "bond_total": Kind(
        "bond_total", "sum", _has_double,
        lambda s, a: "Counting each double bond as two bonds, how many bonds are shown in this structure?",
        lambda s, a: sum(o for _, _, o in s["bonds"]), reverse="count_bonds", extend="molar_mass",
    ),
    "element_mass": Kind(
        "element_mass", "product", _heavy_element,
        lambda s, a: f"Use {a['element']} = {format_mass(ELEMENTS[a['element']][1])} g/mol. What mass of "
        f"{_element_name(a['element'])}, in grams, is in one mole of this compound?",
        _element_mass, answer_type=AnswerType.NUMBER, reverse="count_element", extend="molar_mass",
    ),
    "molar_mass": Kind(
        "molar_mass", "sum", lambda s, r: {},
        lambda s, a: f"{_masses_note(s)} What is the molar mass of this compound in g/mol?",
        lambda s, a: _clean(molar_mass(s)), answer_type=AnswerType.NUMBER, reverse="element_mass",
        extend="molar_mass",
    ),
    "formula": Kind(
        "formula", "find", _has_carbon,
        lambda s, a: f"{FORMULA_NOTE} What is the molecular formula of this molecule?",
        lambda s, a: formula(s), answer_type=AnswerType.TEXT, reverse="identify", extend="molar_mass",
    ),
    "identify": Kind(
        "identify", "find", _unambiguous_name,
        lambda s, a: "Which molecule is shown? Give its name.",
        lambda s, a: s["molecule"], answer_type=AnswerType.TEXT, reverse="formula", extend="molar_mass",
    ),
    "functional_group": Kind(
        "functional_group", "find", _has_group,
        lambda s, a: f"To which family of compounds does this molecule belong: {GROUP_LIST}?",
        lambda s, a: s["group"], answer_type=AnswerType.TEXT, reverse="identify", extend="count_element",
    ),
}

UNITS_PARSE = number("46g/mol") is not None  # the matcher reads compound units: then answers carry g/mol


# ---------------------------------------------------------------------------------------------------------
# The family
# ---------------------------------------------------------------------------------------------------------


def _fits(name: str, lo: int, hi: int) -> bool:
    return lo <= SIZES[name] <= hi


class Molecules(Family):
    name = "molecules"
    domain = "chemistry"
    kinds = KINDS
    aliases = ("molecule", "molecular", "atom", "chemical bond", "molecular formula", "molar mass", "ball-and-stick",
               "structural formula")
    size_knob = "atoms"
    size_nouns = ("atoms",)

    def knobs(self, difficulty: int) -> dict[str, Any]:
        return dict(KNOBS[difficulty])

    def scene(self, rng: np.random.Generator, difficulty: int, knobs: dict[str, Any] | None = None) -> Scene:
        knobs = knobs or KNOBS[difficulty]
        lo, hi = knobs["atoms"]
        names = [n for n in LIBRARY if _fits(n, lo, hi)]
        if not names:  # nothing that size: the nearest sizes
            gap = min(min(abs(SIZES[n] - lo), abs(SIZES[n] - hi)) for n in LIBRARY)
            names = [n for n in LIBRARY if min(abs(SIZES[n] - lo), abs(SIZES[n] - hi)) == gap]
        return {**build_molecule(names[int(rng.integers(len(names)))]), "size_range": [int(lo), int(hi)]}

    def vary(self, scene: Scene, rng: np.random.Generator) -> Scene:
        """Another molecule of about the same size (within the size range the scene was drawn from)."""
        size = SIZES[scene["molecule"]]
        lo, hi = scene.get("size_range", (0, 99))
        for gap in (1, 2):
            names = [n for n in LIBRARY if n != scene["molecule"] and abs(SIZES[n] - size) <= gap
                     and lo <= SIZES[n] <= hi]
            if names:
                return {**build_molecule(names[int(rng.integers(len(names)))]), "size_range": [lo, hi]}
        return scene

    def extend_scene(self, scene: Scene, rng: np.random.Generator) -> Scene:
        """One more carbon: the next member of the homologous series (methanol -> ethanol), if in the library."""
        grown = LIBRARY[scene["molecule"]][4]
        return {**build_molecule(grown), "size_range": scene.get("size_range", [0, 99])} if grown else scene

    def draw(self, scene: Scene) -> Figure:
        fig, ax = canvas((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(0, SIZE_PX)
        ax.set_ylim(0, SIZE_PX)
        ax.set_aspect("equal")
        ax.axis("off")
        pts = layout(scene)
        for i, j, order in scene["bonds"]:
            (x0, y0), (x1, y1) = pts[i], pts[j]
            length = math.hypot(x1 - x0, y1 - y0)
            nx, ny = -(y1 - y0) / length, (x1 - x0) / length
            offsets = [0.0] if order == 1 else [-4.0, 4.0]
            for off in offsets:
                ax.plot([x0 + nx * off, x1 + nx * off], [y0 + ny * off, y1 + ny * off], color="#444444",
                        linewidth=2.6, solid_capstyle="butt", zorder=2)
        for atom, (x, y) in zip(scene["atoms"], pts, strict=True):
            self._ball(ax, x, y, atom["el"])
        present = [e for e in ORDER if e in counts(scene)]
        slot = SIZE_PX / len(present)
        for k, e in enumerate(present):
            cx = slot * k + slot / 2 - 38
            self._ball(ax, cx, LEGEND_Y, e)
            ax.text(cx + HEAVY_R + 6, LEGEND_Y, ELEMENTS[e][0], ha="left", va="center", fontsize=FONT_SIZE)
        ax.plot([12, SIZE_PX - 12], [LEGEND_Y + 26, LEGEND_Y + 26], color="#BBBBBB", linewidth=1)
        return fig

    @staticmethod
    def _ball(ax, x: float, y: float, element: str) -> None:
        _, _, _, colour, letter = ELEMENTS[element]
        r = H_R if element == "H" else HEAVY_R
        ax.add_patch(Circle((x, y), r, facecolor=colour, edgecolor=PALETTE["black"], linewidth=1.4, zorder=3))
        ax.text(x, y, element, ha="center", va="center", fontsize=FONT_SIZE - (1 if element == "H" else 0),
                color=letter, fontweight="bold", zorder=4)

    def distractors(self, scene: Scene, kind: str, args: Args, answer: Any, rng: np.random.Generator) -> list[Any]:
        size = SIZES[scene["molecule"]]
        near = sorted(LIBRARY, key=lambda n: (abs(SIZES[n] - size), n))
        if kind == "identify":
            same_formula = [n for n in LIBRARY if n != answer and formula(build_molecule(n)) == formula(scene)]
            return same_formula + [n for n in near if n != answer and n not in same_formula][:6]
        if kind == "formula":
            others = []
            for n in near:
                f = formula(build_molecule(n))
                if f != answer and f not in others:
                    others.append(f)
            c = counts(scene)
            tweaked = formula({"atoms": [{"el": e} for e, k in c.items() for _ in range(k + 2 * (e == "H"))]})
            return [tweaked, *others[:5]]
        if kind == "functional_group":
            return [g for g in GROUPS if g != answer]
        if kind == "element_with_count":
            present = [_element_name(e) for e in ORDER if e in counts(scene)]
            return [n for n in present if n != answer] + [_element_name(e) for e in ORDER
                                                          if _element_name(e) not in present]
        step = ELEMENTS[args["element"]][1] if kind == "element_mass" else 1
        if kind in ("element_mass", "molar_mass"):
            pool = [answer + step, answer - step, answer + 2, answer - 2, answer + 16, answer - 16, answer * 2]
            return [_clean(p) for p in pool if p > 0 and p != answer]
        pool = [answer + 1, answer - 1, answer + 2, answer - 2, answer * 2, answer + 3]
        return [p for p in pool if p > 0 and p != answer]

    def format_answer(self, kind: str, value: Any) -> str:
        if kind in ("molar_mass", "element_mass"):
            return format_mass(value) + ("g/mol" if UNITS_PARSE and kind == "molar_mass" else "")
        return str(value)

    def solution(self, scene: Scene, kind: str, args: Args, value: Any) -> str:
        c = counts(scene)
        tally = ", ".join(f"{c[e]} {_element_name(e)}" for e in ORDER if c[e])
        answer = self.format_answer(kind, value)
        if kind in ("count_bonds", "bond_total"):
            return (f"The structure shows {bond_count(scene, 1)} single bonds (one line) and "
                    f"{bond_count(scene, 2)} double bonds (two lines). So the answer is {answer}.")
        if kind in ("molar_mass", "element_mass"):
            terms = " + ".join(f"{c[e]} × {format_mass(ELEMENTS[e][1])}" for e in ORDER if c[e]
                               and (kind == "molar_mass" or e == args["element"]))
            return f"Count the atoms using the key: {tally}. Mass = {terms} = {answer}."
        if kind == "identify":
            return f"Count the atoms using the key: {tally} (formula {formula(scene)}); this is {answer}."
        if kind == "functional_group":
            return f"Look at the bonded atoms: the characteristic group makes it a member of the {answer} family."
        return f"Count the atoms using the key: {tally}. So the answer is {answer}."


def layout(scene: Scene) -> list[tuple[float, float]]:
    """Pixel centres of the atoms: the structure scaled to fill the space above the key, centred."""
    xs = [a["x"] for a in scene["atoms"]]
    ys = [a["y"] for a in scene["atoms"]]
    pad = HEAVY_R + 8
    box_x0, box_x1, box_y0, box_y1 = pad, SIZE_PX - pad, LEGEND_Y + 26 + pad, SIZE_PX - pad
    span_x, span_y = max(xs) - min(xs), max(ys) - min(ys)
    scale = min(MAX_SCALE, (box_x1 - box_x0) / span_x if span_x else MAX_SCALE,
                (box_y1 - box_y0) / span_y if span_y else MAX_SCALE)
    cx, cy = (box_x0 + box_x1) / 2, (box_y0 + box_y1) / 2
    mx, my = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    return [(cx + (x - mx) * scale, cy + (y - my) * scale) for x, y in zip(xs, ys, strict=True)]

