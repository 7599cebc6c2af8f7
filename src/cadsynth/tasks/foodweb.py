"""Biology: food webs drawn as directed graphs; feeding relations, trophic levels, food chains, removals.

Species sit in rows by trophic level (producers at the bottom); every arrow points from a food to the species
that eats it, as in biology textbooks. The layout is searched so that no arrow passes through a species box.
Questions that could have two answers (a species that eats two things, an omnivore's trophic level) are not
asked.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from cadsynth.records import AnswerType
from cadsynth.tasks.base import PALETTE, Args, Family, Kind, Scene
from cadsynth.tasks.render import FONT_SIZE, SIZE_PX, canvas

PRODUCERS = ["Grass", "Clover", "Oak", "Wheat", "Moss", "Berries", "Nettle", "Fern"]
HERBIVORES = ["Rabbit", "Mouse", "Beetle", "Deer", "Snail", "Vole", "Cricket", "Aphid", "Slug", "Squirrel"]
PREDATORS = ["Frog", "Snake", "Spider", "Shrew", "Weasel", "Toad", "Lizard", "Stoat", "Hedgehog"]
TOP_PREDATORS = ["Fox", "Owl", "Hawk", "Eagle", "Wolf", "Badger", "Heron", "Lynx"]
CAPTION = "Arrows point from food to eater"
MAX_ROW = 4
MAX_SPECIES = 12  # four rows hold 3 producers, two rows of 4 and 2 top predators
ROW_BOTTOM, ROW_TOP = 0.08, 0.84  # row centres (axes fraction); the caption sits above
BOX_H = 0.062  # box height, axes fraction (11 pt text plus padding at 448 px)
MARGIN = 0.012  # clearance an arrow keeps from a box it does not touch

KNOBS = {
    1: {"species": (4, 5), "levels": (3, 3), "max_prey": 2, "omnivory": False},
    2: {"species": (6, 7), "levels": (3, 4), "max_prey": 2, "omnivory": False},
    3: {"species": (8, 9), "levels": (4, 4), "max_prey": 3, "omnivory": True},
}


def box_width(name: str) -> float:
    """A species box's width as a fraction of the image (font size 11 at 100 dpi, padding included)."""
    return round((8.2 * len(name) + 16) / SIZE_PX, 4)


# ---------------------------------------------------------------------------------------------------------
# Graph helpers (the family's own solver; the tests re-derive everything independently)
# ---------------------------------------------------------------------------------------------------------


def names(scene: Scene) -> list[str]:
    return [s["name"] for s in scene["species"]]


def prey(scene: Scene, x: str) -> list[str]:
    return [a for a, b in scene["edges"] if b == x]


def predators(scene: Scene, x: str) -> list[str]:
    return [b for a, b in scene["edges"] if a == x]


def producers(scene: Scene) -> list[str]:
    return [n for n in names(scene) if not prey(scene, n)]


def top_predators(scene: Scene) -> list[str]:
    return [n for n in names(scene) if prey(scene, n) and not predators(scene, n)]


def trophic_levels(scene: Scene) -> dict[str, set[int]]:
    """Every trophic level a species reaches along some food chain (producers are level 1)."""
    out: dict[str, set[int]] = {}
    for s in sorted(scene["species"], key=lambda s: s["level"]):
        foods = prey(scene, s["name"])
        out[s["name"]] = {1} if not foods else {lv + 1 for f in foods for lv in out[f]}
    return out


def chain_count(scene: Scene, x: str) -> int:
    foods = prey(scene, x)
    return 1 if not foods else sum(chain_count(scene, f) for f in foods)


def starving(scene: Scene, removed: str) -> list[str]:
    """Species whose only food is `removed`."""
    return [n for n in names(scene) if prey(scene, n) == [removed]]


def cascade(scene: Scene, removed: str) -> int:
    """How many other species end up with nothing to eat once `removed` is gone (knock-on losses included)."""
    gone = {removed}
    changed = True
    while changed:
        changed = False
        for n in names(scene):
            foods = prey(scene, n)
            if n not in gone and foods and all(f in gone for f in foods):
                gone.add(n)
                changed = True
    return len(gone) - 1


# ---------------------------------------------------------------------------------------------------------
# Question arguments
# ---------------------------------------------------------------------------------------------------------


def _pick(items: list[Any], rng: np.random.Generator) -> Any:
    return items[int(rng.integers(len(items)))] if items else None


def _one(key: str, items: list[str], rng: np.random.Generator) -> Args | None:
    item = _pick(items, rng)
    return None if item is None else {key: item}


def _consumers(scene: Scene) -> list[str]:
    return [n for n in names(scene) if prey(scene, n)]


def _single_prey(scene: Scene, rng: np.random.Generator) -> Args | None:
    return _one("x", [n for n in names(scene) if len(prey(scene, n)) == 1], rng)


def _single_predator(scene: Scene, rng: np.random.Generator) -> Args | None:
    return _one("x", [n for n in names(scene) if len(predators(scene, n)) == 1], rng)


def _eaten(scene: Scene, rng: np.random.Generator) -> Args | None:
    return _one("x", [n for n in names(scene) if predators(scene, n)], rng)


def _consumer(scene: Scene, rng: np.random.Generator) -> Args | None:
    return _one("x", _consumers(scene), rng)


def _unique_producer(scene: Scene, rng: np.random.Generator) -> Args | None:
    return {} if len(producers(scene)) == 1 else None


def _unique_top(scene: Scene, rng: np.random.Generator) -> Args | None:
    return {} if len(top_predators(scene)) == 1 else None


def _fixed_level(scene: Scene, rng: np.random.Generator) -> Args | None:
    levels = trophic_levels(scene)
    return _one("x", [n for n in _consumers(scene) if len(levels[n]) == 1], rng)


def _level_owner(scene: Scene, rng: np.random.Generator) -> Args | None:
    levels = trophic_levels(scene)
    found = []
    for lv in sorted({v for vs in levels.values() for v in vs}):
        holders = [n for n, vs in levels.items() if lv in vs]
        if len(holders) == 1 and levels[holders[0]] == {lv}:
            found.append(lv)
    lv = _pick(found, rng)
    return None if lv is None else {"level": int(lv)}


def _multi_chain(scene: Scene, rng: np.random.Generator) -> Args | None:
    return _one("x", [n for n in _consumers(scene) if chain_count(scene, n) >= 2], rng)


def _one_starves(scene: Scene, rng: np.random.Generator) -> Args | None:
    return _one("x", [n for n in names(scene) if len(starving(scene, n)) == 1], rng)


def _cascading(scene: Scene, rng: np.random.Generator) -> Args | None:
    return _one("x", [n for n in names(scene) if cascade(scene, n) >= 1], rng)


def _level_of(scene: Scene, x: str) -> int:
    (lv,) = trophic_levels(scene)[x]
    return lv


def _owner(scene: Scene, level: int) -> str:
    (name,) = [n for n, vs in trophic_levels(scene).items() if vs == {level}]
    return name


LEVEL_NOTE = "Producers are at trophic level 1."

KINDS = {
    "prey_of": Kind(
        "prey_of", "find", _single_prey,
        lambda s, a: f"In this food web, what does the {a['x']} eat?",
        lambda s, a: prey(s, a["x"])[0],
        answer_type=AnswerType.TEXT, reverse="predator_of", extend="removal_starves",
    ),
    "predator_of": Kind(
        "predator_of", "find", _single_predator,
        lambda s, a: f"In this food web, which species eats the {a['x']}?",
        lambda s, a: predators(s, a["x"])[0],
        answer_type=AnswerType.TEXT, reverse="prey_of", extend="removal_count",
    ),
    "count_prey": Kind(
        "count_prey", "count", _consumer,
        lambda s, a: f"How many different species does the {a['x']} eat in this food web?",
        lambda s, a: len(prey(s, a["x"])), reverse="count_predators", extend="chains_to",
    ),
    "count_predators": Kind(
        "count_predators", "count", _eaten,
        lambda s, a: f"How many different species eat the {a['x']} in this food web?",
        lambda s, a: len(predators(s, a["x"])), reverse="count_prey", extend="removal_cascade",
    ),
    "producer": Kind(
        "producer", "find", _unique_producer,
        lambda s, a: "Which species in this food web is the producer?",
        lambda s, a: producers(s)[0],
        answer_type=AnswerType.TEXT, reverse="top_predator", extend="chains_to",
    ),
    "top_predator": Kind(
        "top_predator", "extremum", _unique_top,
        lambda s, a: "Which species in this food web is the top predator (eaten by no other species)?",
        lambda s, a: top_predators(s)[0],
        answer_type=AnswerType.TEXT, reverse="producer", extend="trophic_level",
    ),
    "trophic_level": Kind(
        "trophic_level", "distance", _fixed_level,
        lambda s, a: f"{LEVEL_NOTE} At which trophic level does the {a['x']} feed?",
        lambda s, a: _level_of(s, a["x"]), reverse="level_species", extend="chains_to",
    ),
    "level_species": Kind(
        "level_species", "find", _level_owner,
        lambda s, a: f"{LEVEL_NOTE} Which species is the only one at trophic level {a['level']}?",
        lambda s, a: _owner(s, a["level"]),
        answer_type=AnswerType.TEXT, reverse="trophic_level", extend="chains_to",
    ),
    "chains_to": Kind(
        "chains_to", "count", _multi_chain,
        lambda s, a: f"How many different food chains lead from a producer to the {a['x']}?",
        lambda s, a: chain_count(s, a["x"]), reverse="count_prey", extend="removal_cascade",
    ),
    "removal_starves": Kind(
        "removal_starves", "find", _one_starves,
        lambda s, a: f"If the {a['x']} disappeared from this food web, which species would have nothing left to eat?",
        lambda s, a: starving(s, a["x"])[0],
        answer_type=AnswerType.TEXT, reverse="prey_of", extend="removal_cascade",
    ),
    "removal_count": Kind(
        "removal_count", "count", _eaten,
        lambda s, a: f"If the {a['x']} disappeared from this food web, how many species would lose "
        "at least one of their food sources?",
        lambda s, a: len(predators(s, a["x"])), reverse="predator_of", extend="removal_cascade",
    ),
    "removal_cascade": Kind(
        "removal_cascade", "count", _cascading,
        lambda s, a: f"If the {a['x']} disappeared from this food web, how many other species would end up "
        "with nothing left to eat (counting species whose food dies out in turn)?",
        lambda s, a: cascade(s, a["x"]), reverse="removal_starves", extend="removal_cascade",
    ),
}


# ---------------------------------------------------------------------------------------------------------
# Layout: rows by level, an order per row with no arrow through a box and few crossings
# ---------------------------------------------------------------------------------------------------------


def _segment_hits_box(p: tuple[float, float], q: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    """Liang-Barsky: whether segment p-q meets the rectangle (x0, y0, x1, y1)."""
    (x0, y0), (dx, dy) = p, (q[0] - p[0], q[1] - p[1])
    t0, t1 = 0.0, 1.0
    for pk, qk in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if pk == 0:
            if qk < 0:
                return False
            continue
        t = qk / pk
        if pk < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def _crosses(a: tuple, b: tuple, c: tuple, d: tuple) -> bool:
    def orient(p, q, r) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    if len({a, b, c, d}) < 4:
        return False
    return orient(a, b, c) * orient(a, b, d) < 0 and orient(c, d, a) * orient(c, d, b) < 0


def _row_xs(m: int, shift: float) -> list[float]:
    span = {1: 0.0, 2: 0.5, 3: 0.62, 4: 0.75}[m]
    return [round(0.5 + shift + (span * (i / (m - 1) - 0.5) if m > 1 else 0.0), 4) for i in range(m)]


def _badness(pos: dict[str, tuple[float, float]], widths: dict[str, float], edges: list[list[str]],
             full: bool = False) -> tuple[int, int]:
    """(arrows through a box, arrow crossings + near-parallel arrowheads); `full` checks every box, else only
    the boxes on rows between an arrow's ends (the only ones a steep arrow can meet)."""
    hits = 0
    for a, b in edges:
        ya, yb = pos[a][1], pos[b][1]
        for n, (x, y) in pos.items():
            if n in (a, b) or not (full or min(ya, yb) < y < max(ya, yb)):
                continue
            w = widths[n] / 2 + MARGIN
            if _segment_hits_box(pos[a], pos[b], (x - w, y - BOX_H / 2 - MARGIN, x + w, y + BOX_H / 2 + MARGIN)):
                hits += 1
    crossings = 0
    for (a, b), (c, d) in itertools.combinations(edges, 2):
        crossings += _crosses(pos[a], pos[b], pos[c], pos[d])
        if b == d:  # two arrowheads arriving at one box from almost the same direction overlap
            u = (pos[a][0] - pos[b][0], pos[a][1] - pos[b][1])
            v = (pos[c][0] - pos[d][0], pos[c][1] - pos[d][1])
            cos = (u[0] * v[0] + u[1] * v[1]) / (math.hypot(*u) * math.hypot(*v))
            crossings += 3 * (cos > 0.985)
    return hits, crossings


def _layout(rows: list[list[str]], edges: list[list[str]], rng: np.random.Generator) -> list[dict] | None:
    """Species records with positions, or None when no tried arrangement keeps every arrow clear of the boxes."""
    n_rows = len(rows)
    ys = [round(ROW_BOTTOM + k * (ROW_TOP - ROW_BOTTOM) / (n_rows - 1), 4) for k in range(n_rows)]
    widths = {n: box_width(n) for row in rows for n in row}
    best, best_score = None, None
    for attempt in range(40):
        pos = {}
        for k, row in enumerate(rows):
            order = list(row) if attempt == 0 else [row[i] for i in rng.permutation(len(row))]
            shift = 0.0 if attempt < 10 or len(row) == MAX_ROW else float(rng.choice([-0.08, 0.0, 0.08]))
            for name, x in zip(order, _row_xs(len(row), shift), strict=True):
                pos[name] = (x, ys[k])
        score = _badness(pos, widths, edges)
        if best_score is None or score < best_score:
            best, best_score = dict(pos), score
        if score == (0, 0):
            break
    if best is None or best_score[0] > 0 or _badness(best, widths, edges, full=True)[0] > 0:
        return None
    return [{"name": n, "level": k, "x": best[n][0], "y": best[n][1], "w": widths[n]}
            for k, row in enumerate(rows) for n in row]


# ---------------------------------------------------------------------------------------------------------
# Scenes
# ---------------------------------------------------------------------------------------------------------


def _row_sizes(rng: np.random.Generator, n: int, levels: int) -> list[int]:
    sizes = [1] * levels
    one_producer = n <= 1 + MAX_ROW * (levels - 2) + 2 and rng.random() < 0.35
    for _ in range(n - levels):
        # the top row stays small (one or two top predators); producers at most three (a third of webs: one)
        caps = [1 if one_producer else 3] + [MAX_ROW] * (levels - 2) + [2]
        open_rows = [k for k in range(levels) if sizes[k] < caps[k]]
        weights = np.array([0.5 if k == levels - 1 else 1.0 for k in open_rows])
        sizes[open_rows[int(rng.choice(len(open_rows), p=weights / weights.sum()))]] += 1
    return sizes


def _edges(rng: np.random.Generator, rows: list[list[str]], max_prey: int, omnivory: bool) -> list[list[str]]:
    edges: list[list[str]] = []
    for k in range(1, len(rows)):
        for eater in rows[k]:
            below = rows[k - 1]
            r = int(rng.integers(1, min(max_prey, len(below)) + 1))
            for i in sorted(int(j) for j in rng.choice(len(below), size=r, replace=False)):
                edges.append([below[i], eater])
            if omnivory and k >= 3 and rng.random() < 0.4:  # a predator that also eats a herbivore
                lower = [n for row in rows[1 : k - 1] for n in row]
                edges.append([lower[int(rng.integers(len(lower)))], eater])
    for k in range(len(rows) - 1):  # everything below the top row is eaten by something
        for food in rows[k]:
            if not any(a == food for a, _ in edges):
                counts = [sum(b == e for _, b in edges) for e in rows[k + 1]]
                eater = rows[k + 1][int(np.argmin(counts))]
                edges.append([food, eater])
    return edges


def _pools(rows_count: int) -> list[list[str]]:
    return [PRODUCERS, HERBIVORES] + [PREDATORS] * (rows_count - 3) + [TOP_PREDATORS]


def _make(rng: np.random.Generator, sizes: list[int], max_prey: int, omnivory: bool) -> Scene | None:
    used: dict[int, list[str]] = {}
    rows = []
    for k, m in enumerate(sizes):
        pool = _pools(len(sizes))[k]
        taken = {n for ns in used.values() for n in ns}
        free = [n for n in pool if n not in taken]
        picked = [free[i] for i in rng.choice(len(free), size=m, replace=False)]
        used[k] = picked
        rows.append(picked)
    edges = _edges(rng, rows, max_prey, omnivory)
    species = _layout(rows, edges, rng)
    if species is None:
        return None
    return {"species": species, "edges": edges, "levels": len(sizes), "max_prey": max_prey,
            "omnivory": omnivory}


def _sizes_of(scene: Scene) -> list[int]:
    return [sum(s["level"] == k for s in scene["species"]) for k in range(scene["levels"])]


class FoodWeb(Family):
    name = "foodweb"
    domain = "biology"
    kinds = KINDS
    aliases = ("food web", "food chain", "predator", "prey", "trophic", "ecosystem")
    size_knob = "species"
    size_nouns = ("species", "organisms", "animals")

    def knobs(self, difficulty: int) -> dict[str, Any]:
        return dict(KNOBS[difficulty])

    def scene(self, rng: np.random.Generator, difficulty: int, knobs: dict[str, Any] | None = None) -> Scene:
        knobs = knobs or KNOBS[difficulty]
        lo, hi = knobs["species"]
        lv_lo, lv_hi = knobs.get("levels", (3, 4))
        for _ in range(50):
            lo_c = min(max(3, lo), MAX_SPECIES)
            n = int(rng.integers(lo_c, min(max(lo_c, hi), MAX_SPECIES) + 1))
            levels = int(rng.integers(lv_lo, lv_hi + 1))
            levels = max(3, min(levels, 4))
            if n > 3 + MAX_ROW * (levels - 2) + 2:
                levels = 4
            scene = _make(rng, _row_sizes(rng, n, levels), int(knobs.get("max_prey", 2)),
                          bool(knobs.get("omnivory", False)))
            if scene is not None:
                return scene
        raise RuntimeError("foodweb: no clear layout found")

    def vary(self, scene: Scene, rng: np.random.Generator) -> Scene:
        for _ in range(50):
            new = _make(rng, _sizes_of(scene), scene["max_prey"], scene["omnivory"])
            if new is not None:
                return new
        return scene

    def extend_scene(self, scene: Scene, rng: np.random.Generator) -> Scene:
        sizes = _sizes_of(scene)
        rows = [[s["name"] for s in scene["species"] if s["level"] == k] for k in range(scene["levels"])]
        taken = set(names(scene))
        candidates = [k for k in range(1, len(rows)) if sizes[k] < (2 if k == len(rows) - 1 else MAX_ROW)]
        for _ in range(20):
            if not candidates:
                return scene
            k = candidates[int(rng.integers(len(candidates)))]
            if k < len(rows) - 1 and rng.random() < 0.2:
                k = len(rows) - 1 if sizes[-1] < 2 else k
            free = [n for n in _pools(len(rows))[k] if n not in taken]
            new = free[int(rng.integers(len(free)))]
            below = rows[k - 1]
            r = int(rng.integers(1, min(2, len(below)) + 1))
            edges = [list(e) for e in scene["edges"]]
            edges += [[below[int(i)], new] for i in sorted(rng.choice(len(below), size=r, replace=False))]
            if k < len(rows) - 1:  # the newcomer is eaten by something on the row above
                edges.append([new, rows[k + 1][int(rng.integers(len(rows[k + 1])))]])
            new_rows = [row + [new] if j == k else row for j, row in enumerate(rows)]
            species = _layout(new_rows, edges, rng)
            if species is not None:
                return {**scene, "species": species, "edges": edges}
        return scene

    def draw(self, scene: Scene) -> Figure:
        fig, ax = canvas((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.axis("off")
        boxes = {}
        for s in scene["species"]:
            text = ax.text(s["x"], s["y"], s["name"], ha="center", va="center", fontsize=FONT_SIZE, zorder=4,
                           bbox={"boxstyle": "round,pad=0.35", "facecolor": "white",
                                 "edgecolor": PALETTE["green"] if s["level"] == 0 else PALETTE["blue"],
                                 "linewidth": 1.6})
            boxes[s["name"]] = text
        fig.canvas.draw()  # places the box patches, so the arrows below stop at the box edges
        pos = {s["name"]: (s["x"], s["y"]) for s in scene["species"]}
        for food, eater in scene["edges"]:
            ax.annotate("", xy=pos[eater], xytext=pos[food], zorder=3,
                        arrowprops={"arrowstyle": "-|>", "color": PALETTE["black"], "linewidth": 1.3,
                                    "mutation_scale": 14, "shrinkA": 1, "shrinkB": 1,
                                    "patchA": boxes[food].get_bbox_patch(),
                                    "patchB": boxes[eater].get_bbox_patch()})
        ax.text(0.5, 0.965, CAPTION, ha="center", va="center", fontsize=FONT_SIZE - 1, style="italic",
                color="#333333")
        return fig

    def distractors(self, scene: Scene, kind: str, args: Args, answer: Any, rng: np.random.Generator) -> list[Any]:
        if KINDS[kind].answer_type is AnswerType.TEXT:
            others = [n for n in names(scene) if n != answer and n != args.get("x")]
            if kind in ("prey_of", "predator_of", "removal_starves"):  # near misses first: related species
                related = set(prey(scene, args["x"]) + predators(scene, args["x"]))
                others.sort(key=lambda n: n not in related)
            return others if len(others) >= 3 else others + [args["x"]] * ("x" in args)
        low = 1 if kind == "trophic_level" else 0
        pool = [answer + 1, answer - 1, answer + 2, answer - 2, answer * 2, answer + 3]
        return [p for p in pool if p >= low and p != answer]

    def format_answer(self, kind: str, value: Any) -> str:
        return str(value)

    def solution(self, scene: Scene, kind: str, args: Args, value: Any) -> str:
        x = args.get("x")
        answer = self.format_answer(kind, value)
        if kind in ("prey_of", "count_prey"):
            return f"Arrows into the {x} come from: {', '.join(prey(scene, x))}. So the answer is {answer}."
        if kind in ("predator_of", "count_predators", "removal_count"):
            return (f"Arrows leave the {x} towards: {', '.join(predators(scene, x))}; each of these loses food "
                    f"if the {x} goes. So the answer is {answer}.")
        if kind == "producer":
            return f"The producer is the only species with no arrow pointing into it: {answer}."
        if kind == "top_predator":
            return f"The top predator has arrows pointing in but none pointing out: {answer}."
        if kind in ("trophic_level", "level_species"):
            levels = trophic_levels(scene)
            steps = "; ".join(f"{n} {min(v)}" for n, v in levels.items() if len(v) == 1)
            return f"Count feeding steps up from the producers (level 1): {steps}. So the answer is {answer}."
        if kind == "chains_to":
            parts = ", ".join(f"{f} ({chain_count(scene, f)})" for f in prey(scene, x))
            return (f"The chains to the {x} are the chains to each of its foods, added up: {parts}. "
                    f"So the answer is {answer}.")
        if kind == "removal_starves":
            return f"Only {answer} eats nothing but the {x}, so it would have no food left. The answer is {answer}."
        return (f"Remove the {x}, then repeatedly remove every species whose foods are all gone; "
                f"count the species removed after the {x}: {answer}.")
