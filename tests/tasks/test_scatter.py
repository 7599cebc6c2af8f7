"""scatter: an independent oracle over the corpus (all strategies, open and MCQ), knobs, rendering, OCR."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from tasks.chart_harness import (
    check_coverage,
    check_instance,
    check_rendering,
    check_strategies,
    instances_of,
    ocr_missing,
    render_scenes,
)

from cadsynth.tasks import DIFFICULTIES, FAMILIES
from cadsynth.tasks.render import SIZE_PX

NAME = "scatter"
COLOURS = ["blue", "orange", "green"]


def _one(items: list, what: str):
    assert len(items) == 1, f"ambiguous: {what}: {items}"
    return items[0]


def _side(divider: dict, x: int, y: int) -> str:
    """Where a point lies, by a cross product against the divider's direction (not by evaluating y = mx + c)."""
    if divider["kind"] == "cross":
        assert x != divider["x"] and y != divider["y"], "point on a dashed line"
        return ("upper " if y > divider["y"] else "lower ") + ("right" if x > divider["x"] else "left")
    p1 = np.array([0.0, divider["c"]])
    p2 = np.array([1.0, divider["m"] + divider["c"]])  # direction of increasing x
    d, v = p2 - p1, np.array([x, y], dtype=float) - p1
    cross = d[0] * v[1] - d[1] * v[0]
    assert cross != 0, "point on the dashed line"
    return "above" if cross > 0 else "below"


def _region_phrase(region: str) -> str:
    return f"{region} the dashed line" if region in ("above", "below") else f"{region} quadrant"


def oracle(scene: dict, kind: str, args: dict) -> tuple[str, list[str]]:
    pts = [(p["x"], p["y"], p["colour"]) for p in scene["points"]]
    regions = [_side(scene["divider"], x, y) for x, y, _ in pts]  # also: no point on a divider
    colours = Counter(c for _, _, c in pts)
    if kind == "count_colour":
        return str(colours[args["colour"]]), [f"{args['colour']} points"]
    if kind == "count_region":
        return str(regions.count(args["region"])), [_region_phrase(args["region"])]
    if kind == "count_colour_region":
        n = sum(1 for (_, _, c), r in zip(pts, regions, strict=True) if c == args["colour"] and r == args["region"])
        return str(n), [f"{args['colour']} points", _region_phrase(args["region"])]
    if kind == "colour_most":
        top = max(colours.values())
        return _one([c for c in colours if colours[c] == top], "most points"), ["most points"]
    if kind == "highest_point":
        top = max(y for _, y, _ in pts)
        x, y, _ = _one([p for p in pts if p[1] == top], "highest")
        return f"({x},{y})", ["coordinates", "highest"]
    if kind == "colour_at":
        return _one([c for x, y, c in pts if (x, y) == (args["x"], args["y"])], "point at"), [
            f"({args['x']}, {args['y']})"]
    if kind == "read_y":
        return str(_one([y for x, y, _ in pts if x == args["x"]], "x")), [f"x-coordinate is {args['x']}"]
    if kind == "read_x":
        return str(_one([x for x, y, _ in pts if y == args["y"]], "y")), [f"y-coordinate is {args['y']}"]
    if kind == "y_range":
        ys = sorted(y for _, y, _ in pts)
        return str(ys[-1] - ys[0]), ["largest", "smallest"]
    if kind == "trend":  # least-squares slope; the fit must explain at least half the variance
        xs = np.array([p[0] for p in pts], float)
        ys = np.array([p[1] for p in pts], float)
        slope, intercept = np.polyfit(xs, ys, 1)
        residual = ((ys - (slope * xs + intercept)) ** 2).sum()
        assert 1 - residual / ((ys - ys.mean()) ** 2).sum() >= 0.49 - 1e-9, "no clear trend"
        return ("increasing" if slope > 0 else "decreasing"), ["As x increases"]
    raise AssertionError(f"unknown kind {kind}")


def element_count(scene: dict) -> int:
    return len(scene["points"])


def structure(scene: dict) -> tuple:
    d = scene["divider"]
    style = "cross" if d["kind"] == "cross" else ("flat" if d["m"] == 0 else "diagonal")
    return len(scene["points"]), scene["size"], tuple(scene["colours"]), style


def check_scene(instance, extended: bool) -> None:
    scene, knobs = instance.scene, FAMILIES[NAME].knobs(instance.difficulty)
    assert instance.knobs == knobs
    size, pts = scene["size"], scene["points"]
    assert size == knobs["size"]
    lo, hi = knobs["points"]
    assert lo <= len(pts) <= hi + int(extended)
    assert scene["colours"] == COLOURS[: knobs["colours"]]
    assert {p["colour"] for p in pts} == set(scene["colours"]), "a colour with no point"
    assert len({(p["x"], p["y"]) for p in pts}) == len(pts), "two points at one place"
    for p in pts:
        assert 1 <= p["x"] <= size - 1 and 1 <= p["y"] <= size - 1
        _side(scene["divider"], p["x"], p["y"])  # never on a divider
    d = scene["divider"]
    style = "cross" if d["kind"] == "cross" else ("flat" if d["m"] == 0 else "diagonal")
    assert style in knobs["dividers"]


def test_answers_match_independent_oracle():
    checked = 0
    for instance, mcq, extended in instances_of(NAME):
        check_instance(instance, oracle, mcq)
        check_scene(instance, extended)
        checked += 1
    assert checked >= 200


def test_every_kind_and_mcq_coverage():
    check_coverage(NAME)


def test_strategies_semantics():
    check_strategies(NAME, element_count, structure)


def test_difficulty_changes_the_scene():
    fam = FAMILIES[NAME]
    rng = np.random.default_rng(4)
    scenes = {d: [fam.scene(rng, d) for _ in range(20)] for d in DIFFICULTIES}
    assert max(len(s["points"]) for s in scenes[1]) < min(len(s["points"]) for s in scenes[3])
    assert {len(s["colours"]) for s in scenes[3]} == {3}


def test_vary_and_extend_semantics():
    fam = FAMILIES[NAME]
    rng = np.random.default_rng(9)
    for d in DIFFICULTIES:
        for _ in range(10):
            scene = fam.scene(rng, d)
            varied = [fam.vary(scene, rng) for _ in range(3)]
            assert all(structure(v) == structure(scene) for v in varied)
            assert any(v["points"] != scene["points"] for v in varied)
            grown = fam.extend_scene(scene, rng)
            assert grown["points"][:-1] == scene["points"] and len(grown["points"]) == len(scene["points"]) + 1
            assert grown["divider"] == scene["divider"]


# ---------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------


def required_texts(scene: dict) -> list[str]:
    """Coordinates are read off the ticks: every gridline value on both axes."""
    return [str(v) for v in range(scene["size"] + 1)] * 2


@pytest.mark.parametrize(("difficulty", "scene"), render_scenes(NAME), ids=lambda v: str(v) if isinstance(v, int) else "")
def test_rendering(difficulty, scene):
    check_rendering(NAME, scene, required_texts(scene))
    fig = FAMILIES[NAME].draw(scene)
    ax = fig.axes[0]
    image = np.asarray(FAMILIES[NAME].render(scene)).astype(float)
    from cadsynth.tasks.base import PALETTE

    for p in scene["points"]:  # a marker of the point's colour at its grid position
        px, py = ax.transData.transform((p["x"], p["y"]))
        row, col = int(round(SIZE_PX - py)), int(round(px))
        code = PALETTE[p["colour"]].lstrip("#")
        rgb = np.array([int(code[i : i + 2], 16) for i in (0, 2, 4)], float)
        patch = image[row - 2 : row + 3, col - 2 : col + 3].reshape(-1, 3)
        assert (np.abs(patch - rgb).max(axis=1) <= 40).any(), f"no {p['colour']} marker at {p}"


@pytest.mark.slow
def test_ocr_reads_the_ticks():
    pytest.importorskip("rapidocr")
    fam = FAMILIES[NAME]
    rng = np.random.default_rng(12)
    for d in (1, 3):
        scene = fam.scene(rng, d)
        missing, lines = ocr_missing(NAME, scene, [str(v) for v in range(1, scene["size"])])
        assert not missing, (missing, lines)
