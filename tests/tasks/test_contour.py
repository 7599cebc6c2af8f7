"""The contour-map family against an independent oracle, the four meta-strategies, and its rendering.

The oracle re-derives every answer from the scene JSON: it evaluates the sum of four-spread Gaussians itself
(plain `math`, point by point), checks that each marked point really lies on a contour line of the stated
elevation and that the very same line (told apart by the connected regions above and below it) carries a
label, computes directions with atan2, distances with hypot and slopes as exact fractions, and finds the
steepest side of a hill by measuring contour spacing along rays from the summit it climbs to itself. It never
calls the family's `solve`, `format_answer`, `distractors` or `Kind.text`.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np
import pytest

from cadsynth.answers import equivalent
from cadsynth.records import AnswerType, Strategy
from cadsynth.tasks import DIFFICULTIES, FAMILIES, Instance, apply_strategy, sample
from cadsynth.tasks.render import SIZE_PX, text_boxes, to_image

ndimage = pytest.importorskip("scipy.ndimage")  # the `checks` extra brings scipy (via ImageHash)

NAME = "contour"
FAM = FAMILIES[NAME]
COMPASS = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
SIDE_STEP = {"north": (0, 1), "east": (1, 0), "south": (0, -1), "west": (-1, 0)}
PARENTS_SAME = 3
PARENTS_CROSS = 1
MAP = 1000.0


# ---------------------------------------------------------------------------------------------------------
# The oracle
# ---------------------------------------------------------------------------------------------------------


def height(scene: dict, x: float, y: float) -> float:
    """The terrain, one point at a time with plain math: base + sum of half-Gaussian-per-side features."""
    z = float(scene["base"])
    for f in scene["features"]:
        dx, dy = x - f["x"], y - f["y"]
        sx = f["se"] if dx >= 0 else f["sw"]
        sy = f["sn"] if dy >= 0 else f["ss"]
        z += f["h"] * math.exp(-(dx * dx) / (2 * sx * sx) - (dy * dy) / (2 * sy * sy))
    return z


@cache
def _grid(key: str) -> tuple[np.ndarray, float]:
    """Terrain on a 4 m lattice (different from the family's 5 m one), from the scene's JSON text."""
    scene = json.loads(key)
    n = 251
    xs = np.linspace(0, MAP, n)
    gx, gy = np.meshgrid(xs, xs)
    z = np.full(gx.shape, float(scene["base"]))
    for f in scene["features"]:
        dx, dy = gx - f["x"], gy - f["y"]
        sx = np.where(dx >= 0, f["se"], f["sw"]).astype(float)
        sy = np.where(dy >= 0, f["sn"], f["ss"]).astype(float)
        z += f["h"] * np.exp(-(dx * dx) / (2 * sx * sx) - (dy * dy) / (2 * sy * sy))
    return z, MAP / (n - 1)


def terrain_key(scene: dict) -> str:
    return json.dumps({k: scene[k] for k in ("base", "features")}, sort_keys=True)


def drawn_levels(scene: dict) -> set[int]:
    z, _ = _grid(terrain_key(scene))
    step = scene["interval"]
    return {k * step for k in range(int(z.min() // step) - 1, int(z.max() // step) + 2)
            if z.min() < k * step < z.max()}


@cache
def _regions(key: str, level: int) -> tuple[np.ndarray, np.ndarray]:
    z, _ = _grid(key)
    above, _ = ndimage.label(z > level)
    below, _ = ndimage.label(z < level)
    return above, below


def line_id(scene: dict, x: float, y: float, level: int) -> tuple[int, int]:
    """The contour line through (x, y) as (region above it, region below it): one line per pair."""
    key = terrain_key(scene)
    above, below = _regions(key, level)
    z, cell = _grid(key)
    ids = []
    for sign, regions in ((1, above), (-1, below)):
        px, py = x, y
        for walked in range(60):  # climb (or descend) the gradient in 1 m steps until clearly off the line
            e = 0.5
            gx = (height(scene, px + e, py) - height(scene, px - e, py)) / (2 * e)
            gy = (height(scene, px, py + e) - height(scene, px, py - e)) / (2 * e)
            norm = math.hypot(gx, gy)
            assert norm > 1e-9, "walked onto a flat spot"
            px = min(max(px + sign * gx / norm, 0.0), MAP)
            py = min(max(py + sign * gy / norm, 0.0), MAP)
            if walked >= 5 and sign * (height(scene, px, py) - level) >= 0.25 * scene["interval"]:
                break
        i0, j0 = int(py // cell), int(px // cell)
        cells = [(i, j) for i in (i0, i0 + 1) for j in (j0, j0 + 1)
                 if 0 <= i < z.shape[0] and 0 <= j < z.shape[1] and regions[i, j] > 0]
        assert cells, f"no lattice cell beside ({x:.1f}, {y:.1f}) on the expected side of {level} m"
        i, j = min(cells, key=lambda c: math.hypot(c[0] * cell - py, c[1] * cell - px))
        ids.append(int(regions[i, j]))
    return ids[0], ids[1]


def check_scene(scene: dict) -> None:
    """Every point lies exactly on a drawn contour, its own line is labelled, and points are well apart."""
    step = scene["interval"]
    levels = drawn_levels(scene)
    names = [p["name"] for p in scene["points"]]
    assert names == list("ABCDEF")[: len(names)]
    for lab in scene["labels"]:
        assert lab["level"] in levels and lab["level"] % step == 0
        assert abs(height(scene, lab["x"], lab["y"]) - lab["level"]) < 0.06 * step, "label off its line"
    labelled = {(lab["level"], line_id(scene, lab["x"], lab["y"], lab["level"])) for lab in scene["labels"]}
    for p in scene["points"]:
        z = height(scene, p["x"], p["y"])
        k = round(z / step)
        assert abs(z - k * step) < 1e-6, f"point {p['name']} at {z} m is not on a contour line"
        assert k * step == p["elevation"] and p["elevation"] in levels
        assert 50 <= p["x"] <= MAP - 50 and 50 <= p["y"] <= MAP - 50
        assert (p["elevation"], line_id(scene, p["x"], p["y"], p["elevation"])) in labelled, (
            f"the contour line through {p['name']} carries no label")
    for i, p in enumerate(scene["points"]):
        for q in scene["points"][i + 1 :]:
            assert math.hypot(p["x"] - q["x"], p["y"] - q["y"]) >= 150


def elev(scene: dict, name: str) -> int:
    p = next(p for p in scene["points"] if p["name"] == name)
    z = height(scene, p["x"], p["y"])
    k = round(z / scene["interval"])
    assert abs(z - k * scene["interval"]) < 1e-6
    return k * scene["interval"]


def xy(scene: dict, name: str) -> tuple[float, float]:
    p = next(p for p in scene["points"] if p["name"] == name)
    return p["x"], p["y"]


def compass(scene: dict, a: str, b: str) -> tuple[str, float]:
    """8-point direction of b seen from a, and how far (degrees) the bearing is from the sector's border."""
    (ax, ay), (bx, by) = xy(scene, a), xy(scene, b)
    angle = math.degrees(math.atan2(bx - ax, by - ay))  # clockwise from north
    angle = angle + 360 if angle < 0 else angle
    shifted = (angle + 22.5) % 360
    k = int(shifted // 45)
    border = min(shifted - 45 * k, 45 * (k + 1) - shifted)
    return COMPASS[k], border


def metres(scene: dict, a: str, b: str) -> int:
    (ax, ay), (bx, by) = xy(scene, a), xy(scene, b)
    d = math.hypot(bx - ax, by - ay)
    assert abs(d - 100 * round(d / 100)) < 1e-6 and d > 50, f"distance {d} is not a whole number of 100 m"
    return 100 * round(d / 100)


def summit(scene: dict, f: dict) -> tuple[float, float, float]:
    """The local maximum reached by climbing from a hill's centre (1 m steps on the oracle's terrain)."""
    x, y = f["x"], f["y"]
    for step in (8.0, 2.0, 0.5):
        while True:
            best = max(((x + dx * step, y + dy * step) for dx in (-1, 0, 1) for dy in (-1, 0, 1)),
                       key=lambda q: height(scene, *q))
            if best == (x, y):
                break
            x, y = best
    return x, y, height(scene, x, y)


def contour_spacing(scene: dict, x0: float, y0: float, top: float, side: str) -> float | None:
    """Mean gap between the first four contour lines crossed walking from the summit towards `side`."""
    step = scene["interval"]
    ux, uy = SIDE_STEP[side]
    crossings, r, prev = [], 0.0, top
    while len(crossings) < 4:
        r += 1.0
        x, y = x0 + r * ux, y0 + r * uy
        if not (0 <= x <= MAP and 0 <= y <= MAP):
            return None
        z = height(scene, x, y)
        if math.floor(z / step) != math.floor(prev / step):
            crossings.append(r)
        prev = z
    return (crossings[-1] - crossings[0]) / 3


def side_answer(scene: dict, steep: bool) -> str:
    step = scene["interval"]
    peaks: list[tuple[float, float, float]] = []
    for f in (f for f in scene["features"] if f["h"] > 0):  # distinct summits (a merged hill is a shoulder)
        top = summit(scene, f)
        if all(math.hypot(top[0] - q[0], top[1] - q[1]) > 5 for q in peaks):
            peaks.append(top)
    peaks.sort(key=lambda q: -q[2])
    if len(peaks) > 1:  # "the highest hill" must be clear: it shows a contour ring no other hill reaches
        assert math.floor(peaks[0][2] / step) > math.floor(peaks[1][2] / step), peaks
    x0, y0, top = peaks[0]
    spacing = {s: contour_spacing(scene, x0, y0, top, s) for s in SIDE_STEP}
    assert all(v is not None for v in spacing.values()), spacing
    ranked = sorted(spacing, key=lambda s: spacing[s], reverse=not steep)
    a, b = spacing[ranked[0]], spacing[ranked[1]]
    assert (a <= 0.85 * b) if steep else (a >= 1.15 * b), f"no clear {'steepest' if steep else 'gentlest'} side"
    return ranked[0]


def oracle(inst: Instance) -> tuple[str, AnswerType, list[str]]:
    """(open answer, its type, phrases the question must contain), from the JSON round trip."""
    scene = json.loads(json.dumps(inst.scene))
    a = json.loads(json.dumps(inst.args))
    names = [p["name"] for p in scene["points"]]
    heights = {n: elev(scene, n) for n in names}
    kind = inst.kind
    if kind == "elevation":
        return f"{heights[a['p']]}m", AnswerType.INTEGER, [f"point {a['p']}", "elevation"]
    if kind == "which_at":
        hits = [n for n in names if heights[n] == a["level"]]
        assert len(hits) == 1, hits
        return hits[0], AnswerType.TEXT, [f"{a['level']} m contour"]
    if kind == "difference":
        diff = heights[a["a"]] - heights[a["b"]]
        assert diff > 0
        return f"{diff}m", AnswerType.INTEGER, [f"point {a['a']}", f"point {a['b']}", "higher"]
    if kind == "range":
        assert len(set(heights.values())) > 1
        return f"{max(heights.values()) - min(heights.values())}m", AnswerType.INTEGER, ["highest", "lowest"]
    if kind in ("highest", "lowest"):
        best = (max if kind == "highest" else min)(heights.values())
        hits = [n for n in names if heights[n] == best]
        assert len(hits) == 1 and len(names) > 1, hits
        return hits[0], AnswerType.TEXT, [kind]
    if kind in ("steepest_side", "gentlest_side"):
        steep = kind == "steepest_side"
        return side_answer(scene, steep), AnswerType.TEXT, ["steepest" if steep else "gentlest", "hill"]
    if kind == "direction":
        sec, border = compass(scene, a["a"], a["b"])
        assert border >= 10, f"direction {border:.1f} degrees from a sector border"
        return sec, AnswerType.TEXT, [f"point {a['b']} from point {a['a']}"]
    if kind == "which_direction":
        inside = []
        for n in names:
            if n == a["a"]:
                continue
            sec, border = compass(scene, a["a"], n)
            if sec == a["dir"]:
                inside.append((n, border))
            else:  # every other point is clearly outside the asked sector
                centre = 45 * COMPASS.index(a["dir"])
                (ax, ay), (bx, by) = xy(scene, a["a"]), xy(scene, n)
                ang = math.degrees(math.atan2(bx - ax, by - ay)) % 360
                assert abs((ang - centre + 180) % 360 - 180) >= 22.5 + 10
        assert len(inside) == 1 and inside[0][1] >= 10, inside
        return inside[0][0], AnswerType.TEXT, [f"of point {a['a']}", a["dir"]]
    if kind == "distance":
        return f"{metres(scene, a['a'], a['b'])}m", AnswerType.INTEGER, ["scale bar", f"point {a['a']}",
                                                                       f"point {a['b']}"]
    if kind == "slope":
        rise = abs(heights[a["a"]] - heights[a["b"]])
        pct = Fraction(100 * rise, metres(scene, a["a"], a["b"]))
        assert rise > 0 and (pct * 10).denominator == 1, pct
        text = f"{pct.numerator}%" if pct.denominator == 1 else f"{float(pct):.1f}%"
        return text, AnswerType.NUMBER, ["slope", "percentage"]
    raise AssertionError(f"unknown kind {kind}")


# ---------------------------------------------------------------------------------------------------------
# Instances
# ---------------------------------------------------------------------------------------------------------


def check_plain_json(value: Any, path: str = "scene") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str
            check_plain_json(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_plain_json(item, f"{path}[{i}]")
    else:
        assert value is None or type(value) in (str, int, float, bool), f"{path}: {type(value).__name__}"


def check_knobs(inst: Instance, extended: bool) -> None:
    knobs = FAM.knobs(inst.difficulty)
    assert inst.knobs == knobs
    scene = inst.scene
    lo, hi = knobs["points"]
    assert lo <= len(scene["points"]) <= hi + int(extended)
    hills = [f for f in scene["features"] if f["h"] > 0]
    basins = [f for f in scene["features"] if f["h"] < 0]
    assert len(hills) == knobs["hills"] and len(basins) == knobs["basins"]
    assert scene["interval"] == knobs["interval"]
    assert all(knobs["height"][0] <= f["h"] <= knobs["height"][1] for f in hills)
    assert all(knobs["depth"][0] <= -f["h"] <= knobs["depth"][1] for f in basins)


def check_instance(inst: Instance, mcq_requested: bool, extended: bool = False) -> None:
    assert inst.family == NAME and inst.kind in FAM.kinds
    check_plain_json(inst.scene)
    check_plain_json(inst.args, "args")
    json.dumps({"scene": inst.scene, "args": inst.args, "choices": inst.choices})
    check_scene(inst.scene)
    check_knobs(inst, extended)
    expected, answer_type, phrases = oracle(inst)
    for phrase in phrases:
        assert phrase in inst.question, f"{inst.kind}: {phrase!r} not in {inst.question!r}"
    assert inst.question.strip().endswith(("?", "."))
    assert FAM.kinds[inst.kind].answer_type is answer_type
    if inst.choices is None:
        assert inst.answer_type is answer_type
        assert inst.answer == expected, (inst.question, inst.answer, expected)
        open_answer = inst.answer
    else:
        assert mcq_requested and inst.answer_type is AnswerType.MCQ
        assert list(inst.choices) == ["A", "B", "C", "D"]
        options = list(inst.choices.values())
        assert all(not equivalent(o, p, answer_type) for i, o in enumerate(options) for p in options[i + 1 :])
        right = [k for k, v in inst.choices.items() if equivalent(v, expected, answer_type)]
        assert right == [inst.answer], (inst.choices, inst.answer, expected)
        assert equivalent(inst.answer, inst.answer, AnswerType.MCQ, inst.choices)
        open_answer = inst.answer_text
        assert f"option {inst.answer}" in inst.solution
    assert equivalent(open_answer, open_answer, answer_type)
    assert equivalent(open_answer, expected, answer_type)
    if answer_type is not AnswerType.TEXT:  # the plain number a judge might write
        plain = expected.rstrip("m%")
        assert equivalent(plain, open_answer, answer_type)
    assert open_answer in inst.solution
    # rebuilt from JSON, the family's own solver agrees
    scene = json.loads(json.dumps(inst.scene))
    value = FAM.kinds[inst.kind].solve(scene, json.loads(json.dumps(inst.args)))
    assert FAM.format_answer(inst.kind, value) == (inst.answer if inst.choices is None else inst.answer_text)


@cache
def corpus(strategy: Strategy) -> list[tuple[Instance, Instance, bool]]:
    rng = np.random.default_rng(40 + list(Strategy).index(strategy))
    others = [f for f in FAMILIES if f != NAME]
    out = []
    for d in DIFFICULTIES:
        parent_ds = [d] * PARENTS_SAME + [int(x) for x in rng.choice([e for e in DIFFICULTIES if e != d],
                                                                     size=PARENTS_CROSS)]
        for i, pd in enumerate(parent_ds):
            parent = sample(NAME, rng, pd, mcq=bool(i % 2))
            for mcq in (False, True):
                target = others[(i + d) % len(others)] if not mcq else None
                child = apply_strategy(strategy, parent, rng, d, transfer_to=target, mcq=mcq)
                out.append((parent, child, mcq))
    return out


@pytest.mark.parametrize("strategy", list(Strategy), ids=[s.value for s in Strategy])
def test_corpus_matches_oracle(strategy):
    for parent, child, mcq in corpus(strategy):
        check_instance(parent, parent.choices is not None)
        if child.family == NAME:
            check_instance(child, mcq, extended=strategy is Strategy.AUXILIARY_EXTENSION)
        else:
            assert strategy is Strategy.ISOMORPHIC_TRANSFER


def test_every_kind_every_difficulty_open_and_mcq():
    rng = np.random.default_rng(9)
    seen = Counter()
    for d in DIFFICULTIES:
        for i, kind in enumerate(FAM.kinds):
            mcq = bool((i + d) % 2) or d == 3  # every kind open and as MCQ somewhere
            inst = sample(NAME, rng, d, kind=kind, mcq=mcq)
            assert inst.kind == kind
            check_instance(inst, mcq)
            seen[(kind, mcq)] += 1
            seen[(kind, "offered")] += inst.choices is not None
    letters = {"which_at", "highest", "lowest", "which_direction"}
    for kind in FAM.kinds:  # letter answers stay open (lettered options would be ambiguous); the rest offer MCQ
        assert seen[(kind, False)] >= 1
        assert seen[(kind, "offered")] == (0 if kind in letters else seen[(kind, True)]), (kind, seen)


def test_transfer_into_contour_keeps_computation():
    rng = np.random.default_rng(21)
    kept = possible = 0
    for source in [f for f in FAMILIES if f != NAME]:
        parent = sample(source, rng, 2)
        child = apply_strategy(Strategy.ISOMORPHIC_TRANSFER, parent, rng, 2, transfer_to=NAME, mcq=bool(kept % 2))
        assert child.family == NAME
        check_instance(child, mcq_requested=bool(kept % 2))
        computation = FAMILIES[source].kinds[parent.kind].computation
        if any(k.computation == computation for k in FAM.kinds.values()):
            possible += 1
            kept += FAM.kinds[child.kind].computation == computation
    assert kept >= 0.6 * possible, (kept, possible)


def test_strategy_semantics():
    # parameter variation: same kind (where askable), same structure
    for parent, child, _ in corpus(Strategy.PARAMETER_VARIATION):
        assert child.family == NAME
        if child.difficulty == parent.difficulty:
            assert len(child.scene["points"]) == len(parent.scene["points"])
            assert len(child.scene["features"]) == len(parent.scene["features"])
            assert child.scene["interval"] == parent.scene["interval"]
            assert child.scene["features"] != parent.scene["features"]
        if child.kind != parent.kind:
            assert FAM.kinds[parent.kind].ask(child.scene, np.random.default_rng(0)) is None
    # logic reversion and auxiliary extension ask the declared kind when the scene carries it
    for strategy, attr in ((Strategy.LOGIC_REVERSION, "reverse"), (Strategy.AUXILIARY_EXTENSION, "extend")):
        hits = total = 0
        for parent, child, _ in corpus(strategy):
            want = getattr(FAM.kinds[parent.kind], attr) or parent.kind
            assert want in FAM.kinds
            total += 1
            if child.kind == want:
                hits += 1
            else:
                assert FAM.kinds[want].ask(child.scene, np.random.default_rng(0)) is None
        assert hits >= 0.6 * total, (strategy, hits, total)
    # isomorphic transfer leaves the family
    for _parent, child, _ in corpus(Strategy.ISOMORPHIC_TRANSFER):
        assert child.family != NAME


def test_vary_and_extend_scene():
    rng = np.random.default_rng(4)
    for d in DIFFICULTIES:
        scene = FAM.scene(rng, d)
        varied = FAM.vary(scene, rng)
        assert len(varied["points"]) == len(scene["points"])
        assert [f["h"] > 0 for f in varied["features"]] == [f["h"] > 0 for f in scene["features"]]
        assert varied["interval"] == scene["interval"] and varied["features"] != scene["features"]
        check_scene(varied)
        grown = FAM.extend_scene(scene, rng)
        assert len(grown["points"]) == len(scene["points"]) + 1
        assert grown["points"][:-1] == scene["points"] and grown["features"] == scene["features"]
        check_scene(grown)
        check_plain_json(grown)


def test_knobs_grow_with_difficulty():
    k = [FAM.knobs(d) for d in DIFFICULTIES]
    assert [x["points"] for x in k] == [(2, 3), (3, 4), (4, 5)]
    assert [x["hills"] + x["basins"] for x in k] == [1, 2, 3] and k[2]["basins"] == 1
    assert k[2]["interval"] < k[0]["interval"]
    assert FAM.size_knob in k[0] and FAM.domain == "geography"


def test_oracle_catches_a_point_off_its_contour():
    inst = sample(NAME, np.random.default_rng(2), 1, kind="elevation")
    bad = json.loads(json.dumps(inst.scene))
    bad["points"][0]["x"] += 3.0
    with pytest.raises(AssertionError):
        check_scene(bad)
    wrong = json.loads(json.dumps(inst.scene))
    wrong["labels"] = [lab for lab in wrong["labels"] if lab["level"] != wrong["points"][0]["elevation"]]
    with pytest.raises(AssertionError):
        check_scene(wrong)


# ---------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------


def render_scenes() -> list[tuple[int, dict]]:
    rng = np.random.default_rng(77)
    out = []
    for d in DIFFICULTIES:
        out.append((d, FAM.scene(rng, d)))
        out.append((d, FAM.extend_scene(FAM.scene(rng, d), rng)))
    return out


@pytest.fixture(scope="module")
def drawn():
    out = []
    for d, scene in render_scenes():
        fig = FAM.draw(scene)
        out.append((d, scene, fig, np.asarray(to_image(fig)), text_boxes(fig)))
    return out


def disjoint(a, b) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_render_size_texts_inside_and_apart(drawn):
    for _, _scene, _, image, boxes in drawn:
        assert image.shape == (SIZE_PX, SIZE_PX, 3)
        for text, (x0, y0, x1, y1) in boxes:
            assert 0 <= x0 and 0 <= y0 and x1 <= SIZE_PX and y1 <= SIZE_PX, (text, (x0, y0, x1, y1))
            assert y1 - y0 >= 8, f"{text!r} too small"
        for i, (t, a) in enumerate(boxes):
            for u, b in boxes[i + 1 :]:
                assert disjoint(a, b), f"{t!r} overlaps {u!r}"


def test_render_shows_what_questions_rely_on(drawn):
    for _, scene, fig, image, boxes in drawn:
        texts = Counter(t for t, _ in boxes)
        ax = fig.axes[0]
        for p in scene["points"]:
            assert texts[p["name"]] == 1
            assert texts[f"{p['elevation']} m"] >= 1, f"no label for the {p['elevation']} m line"
            px, py = ax.transData.transform((p["x"], p["y"]))
            row, col = int(round(SIZE_PX - py)), int(round(px))
            assert image[row, col].max() < 60, f"no marker at point {p['name']}"
            (box,) = [b for t, b in boxes if t == p["name"]]
            assert abs((box[0] + box[2]) / 2 - col) < 30 and abs((box[1] + box[3]) / 2 - row) < 30
        assert Counter(f"{lab['level']} m" for lab in scene["labels"]) == Counter(
            t for t in texts.elements() if t.endswith(" m") and t[:-2].isdigit())
        for needed in ("N", "0", "100", "200", "300", "400", "500", "m", f"Contour interval {scene['interval']} m"):
            assert texts[needed] >= 1, needed
        # the scale bar: 100 m on the bar is 100 m on the map
        x0, _ = ax.transData.transform((0, 0))
        x1, _ = ax.transData.transform((100, 0))
        (zero,) = [b for t, b in boxes if t == "0"]
        (hundred,) = [b for t, b in boxes if t == "100"]
        centre = lambda b: (b[0] + b[2]) / 2  # noqa: E731
        assert abs((centre(hundred) - centre(zero)) - (x1 - x0)) < 2
        # the map is square: directions and distances are true
        y0 = ax.transData.transform((0, 0))[1]
        y1 = ax.transData.transform((0, 100))[1]
        assert abs((y1 - y0) - (x1 - x0)) < 0.5


@pytest.mark.slow
def test_ocr_reads_point_letters_and_contour_labels():
    from cadsynth.checks.ocr import match_texts, read_text

    read = total = 0
    scenes = render_scenes()
    for _d, scene in (scenes[0], scenes[-1]):  # the sparsest and the most crowded map
        lines = [t for t, _ in read_text(FAM.render(scene))]
        needed = ["N", f"Contour interval {scene['interval']} m", "100", "200"]
        missing, _ = match_texts(lines, needed)
        assert not missing, (missing, lines)
        letters = [p["name"] for p in scene["points"]]
        missing_letters, _ = match_texts(lines, letters)
        assert sum(missing_letters.values()) <= 1, (missing_letters, lines)  # a lone letter on a line may slip
        # the contour labels the elevation questions rely on: the rotated "150 m" texts
        labels = [f"{lab['level']} m" for lab in scene["labels"]]
        missing_labels, _ = match_texts(lines, labels)
        read += len(labels) - sum(missing_labels.values())
        total += len(labels)
        assert sum(missing_labels.values()) <= len(labels) // 4, (missing_labels, lines)
    assert read >= 0.85 * total, (read, total)
