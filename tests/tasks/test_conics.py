"""Conics family: an independent oracle (floats, numpy, the focus found by the reflection-free definition of a
parabola as the locus equidistant from focus and directrix), strategies, rendering, OCR."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest
from tasks.math_harness import check_instance, check_links, corpus, disjoint, instances_of, strategy_rates

from cadsynth.tasks import DIFFICULTIES, FAMILIES, sample
from cadsynth.tasks.render import SIZE_PX, text_boxes, to_image

NAME = "conics"
FAM = FAMILIES[NAME]


def pts(scene: dict) -> dict[str, tuple[float, float]]:
    return {p["name"]: (float(p["x"]), float(p["y"])) for p in scene["points"]}


def parabola_focus(scene: dict) -> tuple[float, float, float]:
    """(focus x, focus y, directrix y) fitted from three grid points of the drawn curve: y = A x^2 + B x + C."""
    par = scene["parabola"]
    p = par["p"][0] / par["p"][1]
    xs = np.array([par["h"] - 2.0, par["h"], par["h"] + 2.0])
    ys = (xs - par["h"]) ** 2 / (4 * p) + par["k"]
    a, b, c = np.polyfit(xs, ys, 2)
    vx = -b / (2 * a)
    vy = c - b * b / (4 * a)
    focal = 1 / (4 * a)
    return vx, vy + focal, vy - focal


def oracle(scene: dict, kind: str, args: dict) -> tuple[object, list[str]]:
    p = pts(scene)
    if kind == "distance":
        return math.dist(p[args["a"]], p[args["b"]]), [f"points {args['a']} and {args['b']}", "√"]
    if kind == "midpoint":
        a, b = p[args["a"]], p[args["b"]]
        return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2), [f"segment {args['a']}{args['b']}", "(x, y)"]
    if kind == "endpoint":
        a, m = p[args["a"]], p[args["m"]]
        return (m[0] + (m[0] - a[0]), m[1] + (m[1] - a[1])), [f"Point {args['m']} is the midpoint", args["a"]]
    if kind == "slope":
        (x1, y1), (x2, y2) = p[args["a"]], p[args["b"]]
        return float(np.polyfit([x1, x2], [y1, y2], 1)[0]), ["slope", f"{args['a']} and {args['b']}"]
    if kind == "point_on_line":
        m = args["m"][0] / args["m"][1]
        x0, y0 = p[args["a"]]
        return y0 + m * (args["x"] - x0), [f"point {args['a']}", f"x-coordinate {args['x']}"]
    if kind == "triangle_area":
        tri = np.array([p[args[k]] for k in "abc"])
        a, b, c = (math.dist(tri[i], tri[(i + 1) % 3]) for i in range(3))
        s = (a + b + c) / 2
        return math.sqrt(max(s * (s - a) * (s - b) * (s - c), 0)), [f"triangle {args['a']}{args['b']}{args['c']}"]
    if kind == "farthest":
        src = p[args["a"]]
        dists = {k: math.dist(src, v) for k, v in p.items() if k != args["a"]}
        top = max(dists.values())
        winners = [k for k, v in dists.items() if math.isclose(v, top)]
        assert len(winners) == 1, f"tie for farthest: {winners}"
        return winners[0], [f"farthest from point {args['a']}"]
    if kind in ("circle_centre", "circle_radius", "on_circle"):
        c = scene["circle"]
        assert c is not None
        if kind == "circle_centre":
            return (float(c["cx"]), float(c["cy"])), ["centre"]
        if kind == "circle_radius":
            return float(c["r"]), ["radius"]
        return float(sum(math.isclose(math.dist(v, (c["cx"], c["cy"])), c["r"]) for v in p.values())), ["circle"]
    assert scene["parabola"] is not None
    fx, fy, directrix = parabola_focus(scene)
    if kind == "focus_y":
        return fy, ["focus"]
    if kind == "directrix":
        return directrix, ["directrix"]
    assert kind == "focal_distance"
    point = p[args["a"]]
    assert math.isclose(math.dist(point, (fx, fy)), abs(point[1] - directrix)), "point not on the parabola"
    return math.dist(point, (fx, fy)), [f"Point {args['a']} lies on the parabola"]


def required_labels(scene: dict, kind: str, args: dict) -> list[str]:
    """Point letters the question names and every tick label (positions are read off the grid)."""
    names = [v for k, v in args.items() if k in ("a", "b", "c", "m") and isinstance(v, str)]
    ticks = [str(v).replace("-", "\u2212") for v in range(-scene["n"], scene["n"] + 1)]
    return [*names, *ticks, *ticks]


def count(scene: dict) -> int:
    return len(scene["points"])


def check_knobs(instance, extended: bool) -> None:
    knobs = FAM.knobs(instance.difficulty)
    scene = instance.scene
    lo, hi = knobs["points"]
    assert lo <= len(scene["points"]) <= hi + int(extended)
    assert scene["n"] == knobs["n"]
    curves = [c for c in ("circle", "parabola") if scene[c] is not None]
    assert len(curves) == knobs["curves"]
    n = scene["n"]
    seen = set()
    for p in scene["points"]:
        assert abs(p["x"]) <= n - 1 and abs(p["y"]) <= n - 1, "point at the window's edge"
        assert (p["x"], p["y"]) not in seen
        seen.add((p["x"], p["y"]))
    if scene["circle"] is not None:
        c = scene["circle"]
        assert abs(c["cx"]) + c["r"] <= n and abs(c["cy"]) + c["r"] <= n, "circle leaves the window"
    if scene["parabola"] is not None:
        par = scene["parabola"]
        assert par["p"] in [list(v) for v in knobs["p_values"]] or [-par["p"][0], par["p"][1]] in [
            list(v) for v in knobs["p_values"]]
        if not knobs["shift"]:
            assert (par["h"], par["k"]) == (0, 0) and par["p"][0] > 0


def test_kinds_link_within_the_family():
    check_links(NAME)


def test_answers_match_the_independent_oracle():
    rows = instances_of(NAME)
    assert len(rows) >= 200
    seen = Counter()
    for instance, mcq, extended in rows:
        check_instance(instance, oracle, mcq)
        check_knobs(instance, extended)
        seen[instance.kind] += 1
    assert not [k for k in FAM.kinds if not seen[k]], seen
    assert sum(i.choices is not None for i, mcq, _ in rows if mcq) >= 0.8 * sum(mcq for _, mcq, _ in rows)


def test_every_kind_at_every_difficulty_open_and_mcq():
    rng = np.random.default_rng(31)
    for d in DIFFICULTIES:
        for kind in FAM.kinds:
            for mcq in (False, True):
                instance = sample(NAME, rng, d, kind=kind, mcq=mcq)
                check_instance(instance, oracle, mcq)
                check_knobs(instance, False)


def test_strategies_do_what_they_say():
    rates = strategy_rates(NAME, count)
    assert rates["variation"] >= 0.85, rates
    assert rates["reversion"] >= 0.6, rates
    assert rates["extension"] >= 0.6, rates
    assert rates["grown"] >= 0.9, rates
    assert rates["transfer"] >= 0.5, rates
    assert len({row.child.family for row in corpus(NAME) if row.role == "out"}) >= 4


def test_vary_keeps_structure_and_extend_adds_a_point():
    rng = np.random.default_rng(2)
    for d in DIFFICULTIES:
        for _ in range(20):
            scene = FAM.scene(rng, d)
            varied = FAM.vary(scene, rng)
            assert len(varied["points"]) == len(scene["points"]) and varied["n"] == scene["n"]
            assert [c for c in ("circle", "parabola") if varied[c]] == [c for c in ("circle", "parabola") if scene[c]]
            grown = FAM.extend_scene(scene, rng)
            assert len(grown["points"]) == len(scene["points"]) + 1
            assert grown["points"][:-1] == scene["points"]


def test_oracle_catches_a_wrong_answer():
    instance = sample(NAME, np.random.default_rng(1), 2, kind="midpoint")
    expected, _ = oracle(instance.scene, instance.kind, instance.args)
    bad = json.loads(json.dumps(instance.scene))
    next(p for p in bad["points"] if p["name"] == instance.args["a"])["x"] += 2
    assert oracle(bad, instance.kind, instance.args)[0] != expected


CASES = [sample(NAME, np.random.default_rng(40 + i), 1 + i % 3) for i in range(6)]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_rendering_is_square_readable_and_labelled(case):
    instance = CASES[case]
    fig = FAM.draw(instance.scene)
    assert np.asarray(to_image(fig)).shape == (SIZE_PX, SIZE_PX, 3)
    boxes = text_boxes(fig)
    for text, (x0, y0, x1, y1) in boxes:
        assert x0 >= 0 and y0 >= 0 and x1 <= SIZE_PX and y1 <= SIZE_PX, text
        assert y1 - y0 >= 10, f"{text!r} too small"
    for i, (ta, a) in enumerate(boxes):
        for tb, b in boxes[i + 1 :]:
            assert disjoint(a, b), f"{ta!r} overlaps {tb!r}"
    texts = Counter(t for t, _ in boxes)
    need = Counter(required_labels(instance.scene, instance.kind, instance.args))
    assert not need - texts, need - texts
    for p in instance.scene["points"]:  # each point named once, next to its marker
        assert texts[p["name"]] == 1
        (box,) = [b for t, b in boxes if t == p["name"]]
        col, row = fig.axes[0].transData.transform((p["x"], p["y"]))
        assert abs((box[0] + box[2]) / 2 - col) < 30 and abs((box[1] + box[3]) / 2 - (SIZE_PX - row)) < 30


def test_many_scenes_have_no_overlapping_labels():
    rng = np.random.default_rng(77)
    for i in range(12):
        scene = FAM.extend_scene(FAM.scene(rng, 1 + i % 3), rng)
        boxes = text_boxes(FAM.draw(scene))
        for k, (ta, a) in enumerate(boxes):
            for tb, b in boxes[k + 1 :]:
                assert disjoint(a, b), (i, ta, tb)


@pytest.mark.slow
def test_ocr_reads_the_point_names_and_ticks():
    pytest.importorskip("rapidocr")
    from cadsynth.checks.ocr import match_texts, read_text

    for instance in CASES[:2]:
        lines = [t for t, _ in read_text(FAM.render(instance.scene))]
        missing, _ = match_texts(lines, FAM.visible_texts(instance.scene))
        names = [p["name"] for p in instance.scene["points"]]
        assert not [n for n in names if missing[n]], (names, lines)
        assert sum(missing.values()) <= 2, missing  # at most a stray tick label unread
