"""Geography: contour (topographic) maps; elevations, height differences, directions, distances and slopes.

The terrain is a sum of Gaussian hills and basins on a square map of `SIZE` metres (x east, y north). Each
feature has four spreads, one per side (north, east, south, west), so a hill can be steep on one side and
gentle on another. Contour lines are drawn every `interval` metres and carry elevation labels ("150 m");
marked points A, B, C... sit exactly on contour lines (found by bisection), and every point's contour line
carries a label, so its elevation reads exactly. Points after the first are placed at a whole number of
hundreds of metres from an earlier point, in a direction well inside an 8-point compass sector, so distances
(read with the scale bar) and directions are exact and unambiguous.

Contour labels are laid out here (stored in the scene) and drawn as rotated texts on white patches, as
`clabel` would draw them, but not with `clabel`: `render.text_boxes` calls `get_text()` on every artist that
has one, and a ContourSet's takes arguments; laying them out ourselves also keeps them clear of the points.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import contourpy
import numpy as np
from matplotlib import patheffects
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from cadsynth.records import AnswerType
from cadsynth.tasks.base import PALETTE, Args, Family, Kind, Scene
from cadsynth.tasks.render import DPI, FONT_SIZE, SIZE_PX, canvas

SIZE = 1000  # map side, metres
MAP_RECT = (0.02, 0.15, 0.83, 0.83)  # figure fractions: room for the scale bar below and the north arrow right
PX_PER_M = SIZE_PX * MAP_RECT[2] / SIZE
GRID_N = 201  # terrain samples per side (5 m apart) for the drawn contours
LABEL_FONT = FONT_SIZE - 2
LETTER_FONT = FONT_SIZE + 2
NAMES = "ABCDEF"
SECTORS = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
SECTOR_WORDS = {"N": "north", "NE": "north-east", "E": "east", "SE": "south-east", "S": "south",
                "SW": "south-west", "W": "west", "NW": "north-west"}
SIDES = ["north", "east", "south", "west"]
SIDE_VECTORS = {"north": (0.0, 1.0), "east": (1.0, 0.0), "south": (0.0, -1.0), "west": (-1.0, 0.0)}
SECTOR_MARGIN = 12.0  # degrees: a direction asked about is at most this far from its sector's centre
STEP = 100  # metres: distances between linked points are multiples of this, and the scale bar's tick
DISTANCES = (200, 300, 400, 500, 600)
EDGE = 70  # metres: points keep this far from the map edge
MIN_SEPARATION = 160  # metres between two marked points
MIN_SPACING = 32  # metres: the contour spacing (interval / gradient) at a marked point
STEEP_RATIO = 0.75  # the steepest side's contour gap is at most this fraction of the next side's
GENTLE_RATIO = 1.3  # the gentlest side's gap is at least this multiple of the next side's
CONTOUR_COLOUR = PALETTE["red"]  # Okabe-Ito vermillion: the usual brown of topographic maps

KNOBS = {
    1: {"points": (2, 3), "hills": 1, "basins": 0, "interval": 50, "height": (250, 400), "depth": (0, 0)},
    2: {"points": (3, 4), "hills": 2, "basins": 0, "interval": 50, "height": (200, 350), "depth": (0, 0)},
    3: {"points": (4, 5), "hills": 2, "basins": 1, "interval": 25, "height": (150, 225), "depth": (75, 125)},
}


# ---------------------------------------------------------------------------------------------------------
# Terrain
# ---------------------------------------------------------------------------------------------------------


def elevation(scene: Scene, x: Any, y: Any) -> Any:
    """Ground height at (x, y) (scalars or arrays): base plus the sum of the four-spread Gaussian features."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    z = np.full(np.broadcast(x, y).shape, float(scene["base"]))
    for f in scene["features"]:
        dx, dy = x - f["x"], y - f["y"]
        sx = np.where(dx >= 0, f["se"], f["sw"])
        sy = np.where(dy >= 0, f["sn"], f["ss"])
        z = z + f["h"] * np.exp(-0.5 * ((dx / sx) ** 2 + (dy / sy) ** 2))
    return z


def gradient(scene: Scene, x: float, y: float, eps: float = 0.5) -> tuple[float, float]:
    gx = (float(elevation(scene, x + eps, y)) - float(elevation(scene, x - eps, y))) / (2 * eps)
    gy = (float(elevation(scene, x, y + eps)) - float(elevation(scene, x, y - eps))) / (2 * eps)
    return gx, gy


def grid(scene: Scene) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs = np.linspace(0, SIZE, GRID_N)
    gx, gy = np.meshgrid(xs, xs)
    return gx, gy, elevation(scene, gx, gy)


def levels(scene: Scene, z: np.ndarray | None = None) -> list[int]:
    """The contour levels drawn: every multiple of the interval strictly inside the terrain's range."""
    if z is None:
        z = grid(scene)[2]
    step = scene["interval"]
    lo, hi = float(z.min()), float(z.max())
    return [k * step for k in range(math.floor(lo / step) + 1, math.ceil(hi / step)) if lo < k * step < hi]


def _crossings(scene: Scene, path, ts: np.ndarray, wanted: list[int]) -> list[tuple[float, int]]:
    """(t, level) where the terrain along path(t) crosses a level, refined by bisection to float precision."""
    xs, ys = path(ts)
    z = elevation(scene, xs, ys)
    lo_t, hi_t, lv, up = [], [], [], []
    for level in wanted:
        sign = np.sign(z - level)
        for i in np.nonzero(sign[:-1] * sign[1:] < 0)[0]:
            lo_t.append(ts[i])
            hi_t.append(ts[i + 1])
            lv.append(level)
            up.append(z[i] < level)
    if not lv:
        return []
    lo, hi = np.array(lo_t, dtype=float), np.array(hi_t, dtype=float)
    target, rising = np.array(lv, dtype=float), np.array(up)
    for _ in range(60):  # all crossings at once
        mid = 0.5 * (lo + hi)
        mx, my = path(mid)
        same = (elevation(scene, mx, my) < target) == rising
        lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
    return [(float(t), int(level)) for t, level in zip(0.5 * (lo + hi), lv, strict=True)]


def bearing(ax: float, ay: float, bx: float, by: float) -> float:
    """Compass bearing (degrees clockwise from north) from a to b."""
    return math.degrees(math.atan2(bx - ax, by - ay)) % 360


def sector(angle: float) -> tuple[str, float]:
    """The 8-point compass sector of a bearing and how far (degrees) the bearing is from that sector's centre."""
    k = int(round(angle / 45)) % 8
    off = abs((angle - 45 * k + 180) % 360 - 180)
    return SECTORS[k], off


# ---------------------------------------------------------------------------------------------------------
# Text sizes and label layout
# ---------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def text_px(text: str, size: float, bold: bool = False) -> tuple[float, float]:
    """(width, height) in pixels of a text as Agg draws it."""
    renderer = RendererAgg(SIZE_PX, SIZE_PX, DPI)
    prop = FontProperties(size=size, weight="bold" if bold else "normal")
    w, h, _ = renderer.get_text_width_height_descent(text, prop, ismath=False)
    return float(w), float(h)


def label_text(level: float) -> str:
    return f"{int(round(level))} m"


def _box(cx: float, cy: float, w_px: float, h_px: float, angle: float = 0.0, pad_px: float = 0.0):
    """Axis-aligned box (metres) around a text of w x h pixels rotated by `angle` degrees, centred at (cx, cy)."""
    c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    half_w = (w_px * c + h_px * s) / 2 + pad_px
    half_h = (w_px * s + h_px * c) / 2 + pad_px
    return (cx - half_w / PX_PER_M, cy - half_h / PX_PER_M, cx + half_w / PX_PER_M, cy + half_h / PX_PER_M)


def _overlap(a, b) -> bool:
    return not (a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])


def _inside_map(box, margin: float = 4.0) -> bool:
    m = margin / PX_PER_M
    return box[0] >= m and box[1] >= m and box[2] <= SIZE - m and box[3] <= SIZE - m


LETTER_OFFSETS = [(13, 13), (-13, 13), (13, -13), (-13, -13), (17, 0), (-17, 0), (0, 17), (0, -17)]


def point_boxes(point: dict[str, Any]) -> list[tuple[float, float, float, float]]:
    """The marker's box and the letter's box (metres) of a marked point."""
    w, h = text_px(point["name"], LETTER_FONT, bold=True)
    lx = point["x"] + point["dx"] / PX_PER_M
    ly = point["y"] + point["dy"] / PX_PER_M
    return [_box(point["x"], point["y"], 10, 10), _box(lx, ly, w, h, pad_px=2)]


def _place_letter(point: dict[str, Any], taken: list) -> dict[str, Any] | None:
    for dx, dy in LETTER_OFFSETS:
        candidate = {**point, "dx": dx, "dy": dy}
        boxes = point_boxes(candidate)
        if all(_inside_map(b) for b in boxes) and not any(_overlap(b, t) for b in boxes for t in taken):
            return candidate
    return None


def _lines(gen, level: int) -> list[np.ndarray]:
    return [line for line in gen.lines(level) if len(line) >= 2]


def _line_of(lines: list[np.ndarray], x: float, y: float) -> int | None:
    """Index of the polyline passing through (x, y), or None."""
    best, best_d = None, 4.0
    for i, line in enumerate(lines):
        a, b = line[:-1], line[1:]
        ab = b - a
        t = np.clip(((x - a[:, 0]) * ab[:, 0] + (y - a[:, 1]) * ab[:, 1]) / np.maximum((ab**2).sum(1), 1e-12), 0, 1)
        d = float(np.hypot(a[:, 0] + t * ab[:, 0] - x, a[:, 1] + t * ab[:, 1] - y).min())
        if d < best_d:
            best, best_d = i, d
    return best


def _near(box, point: dict[str, Any], px: float = 22.0) -> bool:
    """Whether a label box comes within `px` pixels of a marked point (a reader would pair them up)."""
    dx = max(box[0] - point["x"], 0.0, point["x"] - box[2])
    dy = max(box[1] - point["y"], 0.0, point["y"] - box[3])
    return math.hypot(dx, dy) * PX_PER_M < px


def _label_candidates(scene: Scene, line: np.ndarray, level: int,
                      spacing: np.ndarray) -> list[tuple[float, float, float, tuple]]:
    """(x, y, angle, box) positions along a polyline where a label fits between the neighbouring lines."""
    seg = np.hypot(*np.diff(line, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    w, h = text_px(label_text(level), LABEL_FONT)
    if arc[-1] < max(120.0, 3 * w / PX_PER_M):
        return []  # a small ring: the label would hide it
    out = []
    for s in np.arange(40.0, arc[-1] - 40.0, 20.0):
        i = int(np.searchsorted(arc, s))
        i = min(max(i, 1), len(line) - 1)
        j0, j1 = max(i - 3, 0), min(i + 3, len(line) - 1)
        tx, ty = line[j1] - line[j0]
        angle = math.degrees(math.atan2(ty, tx))
        angle = (angle + 90) % 180 - 90
        x, y = float(line[i, 0]), float(line[i, 1])
        cell = SIZE / (GRID_N - 1)
        if spacing[int(round(y / cell)), int(round(x / cell))] * PX_PER_M < h * 0.75 + 3:
            continue  # neighbouring contour lines too close: the label would sit on them
        box = _box(x, y, w, h, angle, pad_px=4.5)  # the white patch reaches ~3 px beyond the text
        if _inside_map(box, 3):
            out.append((x, y, angle, box))
    return out


def layout_labels(scene: Scene) -> list[dict[str, Any]] | None:
    """Contour labels: one on every marked point's line (None when impossible), then one per long line."""
    gx, gy, z = grid(scene)
    gen = contourpy.contour_generator(gx, gy, z)
    dzdy, dzdx = np.gradient(z, SIZE / (GRID_N - 1))
    spacing = scene["interval"] / np.maximum(np.hypot(dzdx, dzdy), 1e-9)
    taken = [b for p in scene["points"] for b in point_boxes(p)]
    placed: list[dict[str, Any]] = []

    def place(line: np.ndarray, level: int, near: dict[str, Any] | None = None) -> bool:
        cands = _label_candidates(scene, line, level, spacing)
        free = [c for c in cands if not any(_overlap(c[3], t) for t in taken)
                and not any(p["elevation"] != level and _near(c[3], p) for p in scene["points"])]
        if not free:
            return near is None
        if near is not None:  # a marked point's line: the label as close to the point as fits
            x, y, angle, box = min(free, key=lambda c: math.hypot(c[0] - near["x"], c[1] - near["y"]))
        else:  # the middle of the free stretch
            x, y, angle, box = free[len(free) // 2]
        taken.append(box)
        placed.append({"x": x, "y": y, "level": level, "angle": round(angle, 1)})
        return True

    by_level = {lv: _lines(gen, lv) for lv in levels(scene, z)}
    done: set[tuple[int, int]] = set()
    for p in scene["points"]:
        lines = by_level.get(p["elevation"], [])
        i = _line_of(lines, p["x"], p["y"])
        if i is None:
            return None
        if (p["elevation"], i) in done:
            continue
        if not place(lines[i], p["elevation"], near=p):
            return None
        done.add((p["elevation"], i))
    rest = [(lv, i, line) for lv, lines in by_level.items() for i, line in enumerate(lines) if (lv, i) not in done]
    rest.sort(key=lambda r: -float(np.hypot(*np.diff(r[2], axis=0).T).sum()))
    for lv, _, line in rest:
        place(line, lv)
    return placed


# ---------------------------------------------------------------------------------------------------------
# Scene construction
# ---------------------------------------------------------------------------------------------------------


def _spacing(scene: Scene, x: float, y: float) -> float:
    gx, gy = gradient(scene, x, y)
    return scene["interval"] / max(math.hypot(gx, gy), 1e-9)


def _good_spot(scene: Scene, x: float, y: float, points: list[dict[str, Any]]) -> bool:
    if not (EDGE <= x <= SIZE - EDGE and EDGE <= y <= SIZE - EDGE):
        return False
    if any(math.hypot(x - p["x"], y - p["y"]) < MIN_SEPARATION for p in points):
        return False
    return _spacing(scene, x, y) >= MIN_SPACING


def _new_point(scene: Scene, rng: np.random.Generator) -> dict[str, Any] | None:
    """A point on a contour line, linked to an earlier point (whole hundreds of metres, a clear compass sector)."""
    points = scene["points"]
    lvls = levels(scene)
    used = {p["elevation"] for p in points}
    taken = [b for p in points for b in point_boxes(p)]
    name = NAMES[len(points)]
    for _ in range(12):
        if not points:  # the first point: a crossing on a ray out of a random feature
            f = scene["features"][int(rng.integers(len(scene["features"])))]
            theta = float(rng.uniform(0, 2 * math.pi))

            def path(t, f=f, theta=theta):
                return f["x"] + t * math.sin(theta), f["y"] + t * math.cos(theta)

            found = _crossings(scene, path, np.linspace(20, 700, 400), lvls)
            spots = [path(np.array([t])) for t, _ in found]
            cands = [(float(sx[0]), float(sy[0]), lv) for (sx, sy), (_, lv) in zip(spots, found, strict=True)]
        else:
            parent = points[int(rng.integers(len(points)))]
            d = float(rng.choice(DISTANCES))

            def path(t, p=parent, d=d):
                return p["x"] + d * np.sin(np.radians(t)), p["y"] + d * np.cos(np.radians(t))

            found = _crossings(scene, path, np.linspace(0, 360, 721), lvls)
            cands = []
            for t, lv in found:
                if sector(t)[1] > SECTOR_MARGIN - 2:
                    continue
                sx, sy = path(np.array([t]))
                cands.append((float(sx[0]), float(sy[0]), lv))
        cands = [c for c in cands if _good_spot(scene, c[0], c[1], points)]
        fresh = [c for c in cands if c[2] not in used]
        cands = fresh or cands
        order = rng.permutation(len(cands))
        for k in order:
            x, y, lv = cands[int(k)]
            point = _place_letter({"name": name, "x": x, "y": y, "elevation": int(lv), "dx": 0, "dy": 0}, taken)
            if point is not None:
                return point
    return None


def _feature(rng: np.random.Generator, h: float, others: list[dict[str, Any]], spread: tuple[int, int],
             shaped: bool) -> dict[str, Any] | None:
    for _ in range(50):
        if not others:  # the highest hill: central, so all four of its sides are on the map
            x, y = (float(v) for v in rng.integers(32, 69, size=2) * 10)
        elif h > 0:
            x, y = (float(v) for v in rng.integers(22, 79, size=2) * 10)
        else:
            x, y = (float(v) for v in rng.integers(18, 83, size=2) * 10)
        if all(math.hypot(x - o["x"], y - o["y"]) >= (420 if h > 0 else 380) for o in others):
            break
    else:
        return None
    lo, hi = spread
    if shaped:  # one clearly steep side and one clearly gentle side: the steepest-side question is askable
        sides = [SIDES[i] for i in rng.permutation(4)]
        steep = lo + rng.integers(0, 16)
        middle = [steep * rng.uniform(1.4, 1.55) for _ in range(2)]
        sig = {sides[0]: steep, sides[1]: max(middle) * rng.uniform(1.35, 1.5), sides[2]: middle[0],
               sides[3]: middle[1]}
    else:
        sig = {s: rng.integers(lo, hi + 1) for s in SIDES}
    return {"x": x, "y": y, "h": int(h), "sn": int(sig["north"]), "se": int(sig["east"]),
            "ss": int(sig["south"]), "sw": int(sig["west"])}  # whole metres: plain JSON ints


def _spread(height: float, interval: int) -> tuple[int, int]:
    """Spreads (metres) for which the steepest contour spacing stays readable (>= ~10 px)."""
    lo = int(math.ceil(10 / PX_PER_M * height / (1.65 * interval) / 10) * 10)
    return max(lo, 110), max(lo, 110) + 150


def _terrain(rng: np.random.Generator, hills: int, basins: int, interval: int, height: tuple[int, int],
             depth: tuple[int, int]) -> Scene | None:
    features: list[dict[str, Any]] = []
    gap = max(2 * interval, 60) if hills > 1 else 0  # the highest hill stands clearly above the others
    top = int(rng.integers((height[0] + gap) // 5, height[1] // 5 + 1)) * 5
    amps = [top, *sorted((int(v) * 5 for v in rng.integers(height[0] // 5, (top - gap) // 5 + 1, size=hills - 1)),
                         reverse=True)]
    amps += [-int(v) * 5 for v in rng.integers(depth[0] // 5, depth[1] // 5 + 1, size=basins)]
    for amp in amps:
        f = _feature(rng, amp, features, _spread(abs(amp), interval), shaped=amp > 0 and rng.random() < 0.85)
        if f is None:
            return None
        features.append(f)
    base = int(rng.integers(2, 7)) * interval if basins == 0 else int(rng.integers(6, 9)) * interval
    return {"size": SIZE, "interval": interval, "base": base, "features": features, "points": [], "labels": [],
            "scale_step": STEP, "scale_bar": 5 * STEP}


def _with_points(scene: Scene, n: int, rng: np.random.Generator) -> Scene | None:
    for _ in range(n):
        p = _new_point(scene, rng)
        if p is None:
            return None
        scene = {**scene, "points": [*scene["points"], p]}
    labels = layout_labels(scene)
    if labels is None:
        return None
    return {**scene, "labels": labels}


# ---------------------------------------------------------------------------------------------------------
# Questions
# ---------------------------------------------------------------------------------------------------------


def _point(scene: Scene, name: str) -> dict[str, Any]:
    return next(p for p in scene["points"] if p["name"] == name)


def _pick(items: list, rng: np.random.Generator):
    return items[int(rng.integers(len(items)))] if items else None


def _distance(scene: Scene, a: str, b: str) -> float:
    p, q = _point(scene, a), _point(scene, b)
    return math.hypot(p["x"] - q["x"], p["y"] - q["y"])


def _clean_distance(scene: Scene, a: str, b: str) -> int | None:
    d = _distance(scene, a, b)
    k = round(d / STEP)
    return k * STEP if k >= 1 and abs(d - k * STEP) < 1e-6 else None


def _direction(scene: Scene, a: str, b: str) -> str:
    p, q = _point(scene, a), _point(scene, b)
    return sector(bearing(p["x"], p["y"], q["x"], q["y"]))[0]


def _clear_direction(scene: Scene, a: str, b: str) -> bool:
    p, q = _point(scene, a), _point(scene, b)
    return sector(bearing(p["x"], p["y"], q["x"], q["y"]))[1] <= SECTOR_MARGIN


def _pairs(scene: Scene) -> list[tuple[str, str]]:
    names = [p["name"] for p in scene["points"]]
    return [(a, b) for a in names for b in names if a != b]


def _ask_point(scene: Scene, rng: np.random.Generator) -> Args | None:
    p = _pick(scene["points"], rng)
    return {"p": p["name"]} if p else None


def _ask_unique_level(scene: Scene, rng: np.random.Generator) -> Args | None:
    els = [p["elevation"] for p in scene["points"]]
    unique = [e for e in els if els.count(e) == 1]
    return {"level": _pick(unique, rng)} if unique and len(els) > 1 else None


def _ask_higher_pair(scene: Scene, rng: np.random.Generator) -> Args | None:
    pts = scene["points"]
    pairs = [(p["name"], q["name"]) for p in pts for q in pts if p["elevation"] > q["elevation"]]
    pair = _pick(pairs, rng)
    return {"a": pair[0], "b": pair[1]} if pair else None


def _ask_extreme(top: bool):
    def ask(scene: Scene, rng: np.random.Generator) -> Args | None:
        els = [p["elevation"] for p in scene["points"]]
        best = max(els) if top else min(els)
        return {} if len(els) > 1 and els.count(best) == 1 else None

    return ask


def _ask_range(scene: Scene, rng: np.random.Generator) -> Args | None:
    els = [p["elevation"] for p in scene["points"]]
    return {} if len(els) > 1 and max(els) > min(els) else None


def _ask_direction(scene: Scene, rng: np.random.Generator) -> Args | None:
    pair = _pick([(a, b) for a, b in _pairs(scene) if _clear_direction(scene, a, b)], rng)
    return {"a": pair[0], "b": pair[1]} if pair else None


def _ask_which_direction(scene: Scene, rng: np.random.Generator) -> Args | None:
    """A point A and a sector holding exactly one other point, every other point far from that sector."""
    options = []
    for p in scene["points"]:
        others = [q for q in scene["points"] if q is not p]
        for q in others:
            if not _clear_direction(scene, p["name"], q["name"]):
                continue
            sec = _direction(scene, p["name"], q["name"])
            centre = 45 * SECTORS.index(sec)
            rivals = [r for r in others if r is not q
                      and abs((bearing(p["x"], p["y"], r["x"], r["y"]) - centre + 180) % 360 - 180) < 22.5 + 12]
            if not rivals:
                options.append((p["name"], sec))
    pick = _pick(options, rng)
    return {"a": pick[0], "dir": pick[1]} if pick else None


def _ask_distance(scene: Scene, rng: np.random.Generator) -> Args | None:
    pairs = [(a, b) for a, b in _pairs(scene) if a < b and _clean_distance(scene, a, b)]
    pair = _pick(pairs, rng)
    return {"a": pair[0], "b": pair[1]} if pair else None


def _slope(scene: Scene, a: str, b: str) -> float | None:
    d = _clean_distance(scene, a, b)
    rise = abs(_point(scene, a)["elevation"] - _point(scene, b)["elevation"])
    if not d or not rise or (1000 * rise) % d:
        return None
    tenths = 1000 * rise // d
    return tenths / 10


def _ask_slope(scene: Scene, rng: np.random.Generator) -> Args | None:
    pairs = [(a, b) for a, b in _pairs(scene) if a < b and _slope(scene, a, b) is not None]
    pair = _pick(pairs, rng)
    return {"a": pair[0], "b": pair[1]} if pair else None


def summit(scene: Scene, f: dict[str, Any]) -> tuple[float, float, float]:
    """The top reached from a hill's centre by a coarse-to-fine search of the terrain."""
    x, y = float(f["x"]), float(f["y"])
    for radius in (80.0, 20.0, 5.0, 1.0):
        xs, ys = np.meshgrid(np.linspace(x - radius, x + radius, 9), np.linspace(y - radius, y + radius, 9))
        z = elevation(scene, xs, ys)
        k = int(np.argmax(z))
        x, y = float(xs.flat[k]), float(ys.flat[k])
    return x, y, float(elevation(scene, x, y))


def highest_hill(scene: Scene) -> dict[str, Any]:
    return max((f for f in scene["features"] if f["h"] > 0), key=lambda f: summit(scene, f)[2])


def line_spacing(scene: Scene, f: dict[str, Any], lines: int = 4) -> dict[str, float | None]:
    """Per side, the mean gap between the first `lines` contour lines crossed walking down from the hill's
    summit, or None when the map ends first or the ground rises again on the way (a saddle or a shoulder)."""
    x0, y0, top = summit(scene, f)
    step = scene["interval"]
    rs = np.arange(0.0, 2 * SIZE, 1.0)
    out: dict[str, float | None] = {}
    for side, (ux, uy) in SIDE_VECTORS.items():
        xs, ys = x0 + rs * ux, y0 + rs * uy
        inside = (xs >= 0) & (xs <= SIZE) & (ys >= 0) & (ys <= SIZE)
        z = elevation(scene, xs, ys)
        band = np.floor(z / step)
        cross = np.nonzero(band[1:] != band[:-1])[0] + 1
        if len(cross) < lines or not inside[: cross[lines - 1] + 1].all() \
                or (np.diff(z[: cross[lines - 1] + 1]) >= 0).any():
            out[side] = None
            continue
        used = rs[cross[:lines]]
        out[side] = float((used[-1] - used[0]) / (lines - 1))
    return out


def _hill_text(scene: Scene) -> str:
    return "the hill" if sum(f["h"] > 0 for f in scene["features"]) == 1 else "the highest hill"


def _clear_side(scene: Scene, steep: bool) -> str | None:
    """The side of the highest hill whose first contour gaps are clearly the narrowest (widest), else None."""
    hills = [f for f in scene["features"] if f["h"] > 0]
    tops = sorted((summit(scene, f) for f in hills), key=lambda t: -t[2])
    peaks = [t for i, t in enumerate(tops) if all(math.hypot(t[0] - u[0], t[1] - u[1]) > 10 for u in tops[:i])]
    step = scene["interval"]
    if len(peaks) > 1 and math.floor(peaks[0][2] / step) <= math.floor(peaks[1][2] / step):
        return None  # the highest hill must show a contour ring no other hill reaches
    gaps = line_spacing(scene, highest_hill(scene))
    if any(v is None for v in gaps.values()):
        return None
    ranked = sorted(SIDES, key=lambda s: gaps[s], reverse=not steep)
    a, b = gaps[ranked[0]], gaps[ranked[1]]
    return ranked[0] if (a <= STEEP_RATIO * b if steep else a >= GENTLE_RATIO * b) else None


def _ask_side(steep: bool):
    def ask(scene: Scene, rng: np.random.Generator) -> Args | None:
        return {} if _clear_side(scene, steep) else None

    return ask


def _side(scene: Scene, steep: bool) -> str:
    side = _clear_side(scene, steep)
    assert side is not None, "asked of a hill without a clear side"
    return side


def _name(a: Args, key: str) -> str:
    return f"point {a[key]}"


KINDS = {
    "elevation": Kind(
        "elevation", "read", _ask_point,
        lambda s, a: f"What is the elevation of {_name(a, 'p')}, in metres?",
        lambda s, a: _point(s, a["p"])["elevation"], reverse="which_at", extend="difference",
    ),
    "which_at": Kind(
        "which_at", "find", _ask_unique_level,
        lambda s, a: f"Which marked point lies on the {a['level']} m contour line? Answer with its letter.",
        lambda s, a: next(p["name"] for p in s["points"] if p["elevation"] == a["level"]),
        answer_type=AnswerType.TEXT, reverse="elevation", extend="difference",
    ),
    "difference": Kind(
        "difference", "difference", _ask_higher_pair,
        lambda s, a: f"How much higher is {_name(a, 'a')} than {_name(a, 'b')}, in metres?",
        lambda s, a: _point(s, a["a"])["elevation"] - _point(s, a["b"])["elevation"],
        reverse="elevation", extend="slope",
    ),
    "range": Kind(
        "range", "difference", _ask_range,
        lambda s, a: "What is the difference in elevation between the highest and the lowest marked point, "
        "in metres?",
        lambda s, a: max(p["elevation"] for p in s["points"]) - min(p["elevation"] for p in s["points"]),
        reverse="highest", extend="slope",
    ),
    "highest": Kind(
        "highest", "extremum", _ask_extreme(True),
        lambda s, a: "Which marked point is the highest? Answer with its letter.",
        lambda s, a: max(s["points"], key=lambda p: p["elevation"])["name"],
        answer_type=AnswerType.TEXT, reverse="elevation", extend="range",
    ),
    "lowest": Kind(
        "lowest", "extremum", _ask_extreme(False),
        lambda s, a: "Which marked point is the lowest? Answer with its letter.",
        lambda s, a: min(s["points"], key=lambda p: p["elevation"])["name"],
        answer_type=AnswerType.TEXT, reverse="elevation", extend="range",
    ),
    "steepest_side": Kind(
        "steepest_side", "extremum", _ask_side(True),
        lambda s, a: f"On which side of {_hill_text(s)} is the ground steepest (the contour lines closest "
        "together)? Answer north, east, south or west.",
        lambda s, a: _side(s, True), answer_type=AnswerType.TEXT, reverse="gentlest_side", extend="steepest_side",
    ),
    "gentlest_side": Kind(
        "gentlest_side", "extremum", _ask_side(False),
        lambda s, a: f"On which side of {_hill_text(s)} is the slope gentlest (the contour lines farthest "
        "apart)? Answer north, east, south or west.",
        lambda s, a: _side(s, False), answer_type=AnswerType.TEXT, reverse="steepest_side", extend="gentlest_side",
    ),
    "direction": Kind(
        "direction", "direction", _ask_direction,
        lambda s, a: f"In which compass direction is {_name(a, 'b')} from {_name(a, 'a')}? "
        "Answer with one of N, NE, E, SE, S, SW, W, NW.",
        lambda s, a: _direction(s, a["a"], a["b"]), answer_type=AnswerType.TEXT,
        reverse="which_direction", extend="distance",
    ),
    "which_direction": Kind(
        "which_direction", "find", _ask_which_direction,
        lambda s, a: f"Which marked point lies to the {SECTOR_WORDS[a['dir']]} ({a['dir']}) of {_name(a, 'a')}? "
        "Answer with its letter.",
        lambda s, a: next(q["name"] for q in s["points"] if q["name"] != a["a"]
                          and _clear_direction(s, a["a"], q["name"]) and _direction(s, a["a"], q["name"]) == a["dir"]),
        answer_type=AnswerType.TEXT, reverse="direction", extend="distance",
    ),
    "distance": Kind(
        "distance", "distance", _ask_distance,
        lambda s, a: f"Using the scale bar, what is the horizontal distance between {_name(a, 'a')} and "
        f"{_name(a, 'b')}, to the nearest {STEP} m?",
        lambda s, a: _clean_distance(s, a["a"], a["b"]), reverse="direction", extend="slope",
    ),
    "slope": Kind(
        "slope", "ratio", _ask_slope,
        lambda s, a: f"What is the average slope between {_name(a, 'a')} and {_name(a, 'b')}, as a percentage "
        f"(difference in elevation / horizontal distance x 100)? Measure the distance to the nearest {STEP} m.",
        lambda s, a: _slope(s, a["a"], a["b"]), answer_type=AnswerType.NUMBER, reverse="difference",
        extend="slope",
    ),
}

METRES = {"elevation", "difference", "range", "distance"}
LETTER_KINDS = {"which_at", "highest", "lowest", "which_direction"}


def _percent(value: float) -> str:
    return f"{int(value)}%" if float(value).is_integer() else f"{value:.1f}%"


class Contour(Family):
    name = "contour"
    domain = "geography"
    kinds = KINDS
    aliases = ("contour map", "contour line", "contour", "topographic", "relief map", "elevation", "altitude",
               "spot height")
    size_knob = "points"
    size_nouns = ("points", "marked points")

    def knobs(self, difficulty: int) -> dict[str, Any]:
        return dict(KNOBS[difficulty])

    def scene(self, rng: np.random.Generator, difficulty: int, knobs: dict[str, Any] | None = None) -> Scene:
        k = {**KNOBS[difficulty], **(knobs or {})}
        lo, hi = (min(max(int(v), 1), len(NAMES) - 1) for v in k["points"])  # room for one extension point
        n = int(rng.integers(min(lo, hi), hi + 1))
        return self._make(rng, n, k["hills"], k["basins"], k["interval"], tuple(k["height"]), tuple(k["depth"]))

    def _make(self, rng: np.random.Generator, n: int, hills: int, basins: int, interval: int,
              height: tuple[int, int], depth: tuple[int, int]) -> Scene:
        for _ in range(200):
            terrain = _terrain(rng, hills, basins, interval, height, depth)
            scene = _with_points(terrain, n, rng) if terrain else None
            if scene is not None:
                scene["ranges"] = {"height": list(height), "depth": list(depth)}
                return scene
        raise RuntimeError("contour: could not lay out a scene")

    def vary(self, scene: Scene, rng: np.random.Generator) -> Scene:
        hills = sum(f["h"] > 0 for f in scene["features"])
        basins = len(scene["features"]) - hills
        r = scene["ranges"]
        return self._make(rng, len(scene["points"]), hills, basins, scene["interval"], tuple(r["height"]),
                          tuple(r["depth"]))

    def extend_scene(self, scene: Scene, rng: np.random.Generator) -> Scene:
        if len(scene["points"]) >= len(NAMES):
            return scene
        base = {**scene, "labels": []}
        for _ in range(6):
            p = _new_point(base, rng)
            if p is None:
                continue
            grown = {**base, "points": [*scene["points"], p]}
            labels = layout_labels(grown)
            if labels is not None:
                return {**grown, "labels": labels}
        return scene

    def draw(self, scene: Scene) -> Figure:
        fig, ax = canvas(MAP_RECT)
        gx, gy, z = grid(scene)
        lv = levels(scene, z)
        gen = contourpy.contour_generator(gx, gy, z)
        for level in lv:  # the lines themselves (no ContourSet: every text in the figure is a plain Text)
            for line in _lines(gen, level):
                ax.plot(line[:, 0], line[:, 1], color=CONTOUR_COLOUR, linewidth=1.1, zorder=2)
        for lab in scene["labels"]:  # upright along the line, on a white patch that breaks the line
            ax.text(lab["x"], lab["y"], label_text(lab["level"]), rotation=lab["angle"], rotation_mode="anchor",
                    ha="center", va="center", fontsize=LABEL_FONT, zorder=5,
                    bbox={"boxstyle": "square,pad=0.25", "facecolor": "white", "edgecolor": "none"})
        halo = [patheffects.withStroke(linewidth=4, foreground="white")]
        for p in scene["points"]:
            ax.plot([p["x"]], [p["y"]], "o", color=PALETTE["black"], markersize=6, zorder=6)
            ax.text(p["x"] + p["dx"] / PX_PER_M, p["y"] + p["dy"] / PX_PER_M, p["name"], fontsize=LETTER_FONT,
                    fontweight="bold", ha="center", va="center", zorder=7, path_effects=halo)
        ax.set_xlim(0, SIZE)
        ax.set_ylim(0, SIZE)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        self._scale_bar(ax, scene)
        self._north_arrow(ax)
        return fig

    def _scale_bar(self, ax, scene: Scene) -> None:
        step, length = scene["scale_step"], scene["scale_bar"]
        y0, y1 = -62.0, -44.0
        for k in range(length // step):
            ax.fill([k * step, (k + 1) * step, (k + 1) * step, k * step], [y0, y0, y1, y1],
                    color="black" if k % 2 == 0 else "white", edgecolor="black", linewidth=1, clip_on=False)
        for k in range(length // step + 1):
            text = "0" if k == 0 else str(k * step)
            ax.text(k * step, y0 - 12, text, ha="center", va="top", fontsize=LABEL_FONT, clip_on=False)
        ax.text(length + 50, (y0 + y1) / 2, "m", ha="left", va="center", fontsize=LABEL_FONT, clip_on=False)
        ax.text(SIZE, y0 - 12, f"Contour interval {scene['interval']} m", ha="right", va="top",
                fontsize=LABEL_FONT, clip_on=False)

    def _north_arrow(self, ax) -> None:
        x = SIZE + 85
        ax.annotate("", xy=(x, 930), xytext=(x, 760), annotation_clip=False,
                    arrowprops={"arrowstyle": "-|>,head_width=0.5,head_length=0.9", "color": "black", "lw": 2})
        ax.text(x, 950, "N", ha="center", va="bottom", fontsize=FONT_SIZE + 2, fontweight="bold", clip_on=False)

    def distractors(self, scene: Scene, kind: str, args: Args, answer: Any, rng: np.random.Generator) -> list[Any]:
        step = scene["interval"]
        if kind in LETTER_KINDS:
            return []  # a letter answer among lettered options is ambiguous: keep the open form
        if kind in ("steepest_side", "gentlest_side"):
            return [s for s in SIDES if s != answer]
        if kind == "direction":
            k = SECTORS.index(answer)
            return [SECTORS[(k + d) % 8] for d in (1, -1, 4, 2, -2)]
        if kind == "elevation":
            others = [p["elevation"] for p in scene["points"] if p["elevation"] != answer]
            near = [answer + step, answer - step, answer + 2 * step, answer - 2 * step]
            return [v for v in [*near[:2], *others, *near[2:]] if v > 0 and v != answer]
        if kind in ("difference", "range"):
            pool = [answer + step, answer - step, answer + 2 * step, answer * 2, answer + 3 * step]
            return [v for v in pool if v > 0 and v != answer]
        if kind == "distance":
            pool = [answer + STEP, answer - STEP, answer + 2 * STEP, answer - 2 * STEP, answer * 2]
            return [v for v in pool if v > 0 and v != answer]
        if kind == "slope":
            d = _clean_distance(scene, args["a"], args["b"])
            rise = abs(_point(scene, args["a"])["elevation"] - _point(scene, args["b"])["elevation"])
            pool = [100 * (rise + step) / d, 100 * rise / (d + STEP), 100 * max(rise - step, 0) / d,
                    100 * rise / max(d - STEP, STEP), answer * 2, answer / 2]
            out = []
            for v in pool:
                v = round(v, 1)
                if v > 0 and abs(v - answer) > 0.05 and all(abs(v - o) > 0.05 for o in out):
                    out.append(v)
            return out
        return []

    def format_answer(self, kind: str, value: Any) -> str:
        if kind in METRES:
            return f"{int(value)}m"
        if kind == "slope":
            return _percent(float(value))
        return str(value)

    def solution(self, scene: Scene, kind: str, args: Args, value: Any) -> str:
        answer = self.format_answer(kind, value)
        step = scene["interval"]
        heights = ", ".join(f"{p['name']} = {p['elevation']} m" for p in scene["points"])
        reading = (f"Each marked point lies on a contour line; reading the labelled lines (interval {step} m): "
                   f"{heights}.")
        if kind in ("elevation", "which_at", "highest", "lowest", "difference", "range"):
            return f"{reading} So the answer is {answer}."
        if kind in ("steepest_side", "gentlest_side"):
            word = "closest together" if kind == "steepest_side" else "farthest apart"
            return (f"Around the summit of {_hill_text(scene)} the contour lines are {word} on its {value} side, "
                    f"so the answer is {answer}.")
        if kind in ("direction", "which_direction"):
            a = args["a"]
            b = args["b"] if kind == "direction" else value
            sec = args["dir"] if kind == "which_direction" else value
            return (f"With north at the top of the map, point {b} lies towards the {SECTOR_WORDS[sec]} of point {a}. "
                    f"So the answer is {answer}.")
        d = _clean_distance(scene, args["a"], args["b"])
        measured = (f"Measured against the scale bar ({STEP} m per section), points {args['a']} and {args['b']} "
                    f"are {d} m apart.")
        if kind == "distance":
            return f"{measured} So the answer is {answer}."
        rise = abs(_point(scene, args["a"])["elevation"] - _point(scene, args["b"])["elevation"])
        return (f"{reading} The difference in elevation is {rise} m. {measured} Slope = {rise} / {d} x 100 = "
                f"{answer}.")
