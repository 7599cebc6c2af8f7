"""Geometry family: an independent oracle (Heron, hypot, shoelace, trigonometry), strategies, rendering, OCR."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest
from tasks.math_harness import (
    check_instance,
    check_links,
    corpus,
    disjoint,
    instances_of,
    strategy_rates,
)

from cadsynth.tasks import DIFFICULTIES, FAMILIES, build, sample
from cadsynth.tasks.render import SIZE_PX, text_boxes, to_image

NAME = "geometry"
FAM = FAMILIES[NAME]


def heron(a: float, b: float, c: float) -> float:
    s = (a + b + c) / 2
    return math.sqrt(max(s * (s - a) * (s - b) * (s - c), 0.0))


def root(square: int) -> str:
    r = math.isqrt(square)
    assert r * r == square, f"a marked length must be a whole number, got √{square}"
    return str(r)


def oracle(scene: dict, kind: str, args: dict) -> tuple[object, list[str]]:
    """The answer from the scene JSON, and the labels the question must name."""
    f = scene["figures"][args["fig"]]
    names = f["names"]
    t = f["type"]
    if t == "right":
        legs = (math.sqrt(f["a2"]), math.sqrt(f["b2"]))
        hyp = math.sqrt(f["c2"])
        assert math.isclose(math.hypot(*legs), hyp)
        if kind == "hypotenuse":
            assert f["given"] == "legs"
            return math.hypot(*legs), [names[0] + names[1], f"right angle at {names[2]}"]
        if kind == "leg":
            assert f["given"] == "hyp"
            return math.sqrt(hyp**2 - legs[0] ** 2), [names[0] + names[2]]
        assert kind == "right_perimeter"
        return sum(legs) + hyp, ["perimeter", "".join(names[:3])]
    if t == "iso":
        apex = f["apex"]
        # the base angle from the drawn shape: apex at (0, h), base (-1, 0)-(1, 0) with h = cot(apex / 2)
        h = 1 / math.tan(math.radians(apex / 2))
        base = math.degrees(math.atan2(h, 1))
        if kind == "base_angle":
            return base, [f"angle {names[1]}", f"{names[0]}{names[1]} = {names[0]}{names[2]}"]
        if kind == "apex_angle":
            return apex, [f"angle {names[0]}", f"{names[0]}{names[1]} = {names[0]}{names[2]}"]
        assert kind == "exterior_angle" and f["aux"]
        return 180 - base, [f"angle {names[0]}{names[2]}{names[3]}", f"extended to {names[3]}"]
    if t == "poly":
        n = len(f["angles"])
        marked = [a for i, a in enumerate(f["angles"]) if i != f["missing"]]
        if kind == "angle_sum":
            return 180 * (n - 2), ["sum of the interior angles", "".join(names)]
        assert kind == "missing_angle"
        return 180 * (n - 2) - sum(marked), [f"at {names[f['missing']]}", "".join(names)]
    if t == "rect":
        w, h = f["w"], f["h"]
        if kind == "rect_area":
            assert f["given"] == "sides"
            return w * h, ["area", "".join(names)]
        if kind == "rect_side":
            assert f["given"] == "area"
            return h, [f"area of {w * h}", names[1] + names[2]]
        assert kind == "rect_diagonal" and f["aux"] and f["given"] == "sides"
        return math.hypot(w, h), [names[0] + names[2], "diagonal"]
    if t == "circle":
        r = f["r"]
        if kind == "circle_area":
            return 3.14 * r * r, ["3.14", "area", names[0]]
        assert kind == "circumference"
        return 3.14 * 2 * r, ["3.14", "circumference", names[0]]
    assert t == "tri"
    apex = (f["foot"] * f["base"], f["height"])
    b, c = (0.0, 0.0), (float(f["base"]), 0.0)
    area = heron(math.dist(apex, b), math.dist(b, c), math.dist(apex, c))
    if kind == "tri_area":
        assert f["given"] == "sides"
        return area, [names[0] + names[3], "area"]
    if kind == "tri_height":
        assert f["given"] == "area"
        return 2 * area / f["base"], [names[0] + names[3], "area of"]
    assert kind == "median_area" and f["aux"]
    m = (f["base"] / 2, 0.0)
    shoelace = abs((b[0] - apex[0]) * (m[1] - apex[1]) - (m[0] - apex[0]) * (b[1] - apex[1])) / 2
    return shoelace, [f"{names[4]} is the midpoint", names[0] + names[1] + names[4]]


def required_labels(scene: dict, kind: str, args: dict) -> list[str]:
    """The texts a reader needs: the figure's letters and the marked values the question relies on."""
    f = scene["figures"][args["fig"]]
    names = f["names"]
    t = f["type"]
    if t == "right":
        marks = ("a2", "b2") if f["given"] == "legs" else ("a2", "c2")
        return [*names[:3], *(root(f[m]) for m in marks)]
    if t == "iso":
        base = (180 - f["apex"]) // 2
        out = [*names[:3], f"{f['apex']}°" if f["given"] == "apex" else f"{base}°"]
        return out + ([names[3]] if f["aux"] else [])
    if t == "poly":
        return [*names, *(f"{a}°" for i, a in enumerate(f["angles"]) if i != f["missing"])]
    if t == "rect":
        return [*names, str(f["w"]), *([str(f["h"])] if f["given"] == "sides" else [])]
    if t == "circle":
        return [names[0], str(f["r"] if f["given"] == "r" else 2 * f["r"])]
    return [*names[:4], str(f["base"]), *([str(f["height"])] if f["given"] == "sides" else []),
            *([names[4]] if f["aux"] else [])]


def count(scene: dict) -> int:
    return len(scene["figures"]) + sum(f["aux"] for f in scene["figures"])


def check_knobs(instance, extended: bool) -> None:
    knobs = FAM.knobs(instance.difficulty)
    scene = instance.scene
    lo, hi = knobs["figures"]
    n = len(scene["figures"])
    assert lo <= n <= hi + int(extended), (n, knobs)
    for f in scene["figures"]:
        assert f["type"] in knobs["types"]
        if f["type"] == "poly" and not extended:
            assert knobs["sides"][0] <= len(f["angles"]) <= knobs["sides"][1]
        if f["type"] == "right" and not knobs["surds"]:
            assert math.isqrt(f["c2"]) ** 2 == f["c2"], "surd hypotenuse below the top level"
        if f["type"] in ("iso", "poly"):
            angles = [f["apex"]] if f["type"] == "iso" else f["angles"]
            assert all(a % knobs["angle_step"] == 0 for a in angles if f["type"] == "poly")
        if f["type"] == "circle" and not knobs["diameter"]:
            assert f["given"] == "r"
    letters = [x for f in scene["figures"] for x in f["names"]]
    assert len(letters) == len(set(letters)), "a letter names two points"


# ---------------------------------------------------------------------------------------------------------


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
    missing = [k for k in FAM.kinds if not seen[k]]
    assert not missing, f"kinds never generated: {missing}"
    assert sum(i.choices is not None for i, mcq, _ in rows if mcq) >= 0.8 * sum(mcq for _, mcq, _ in rows)


def sample_kind(rng, d: int, kind: str, mcq: bool):
    """A kind that needs one figure type with a construction may miss 30 random two-figure scenes: retry."""
    for _ in range(5):
        try:
            return sample(NAME, rng, d, kind=kind, mcq=mcq)
        except RuntimeError:
            continue
    raise AssertionError(f"{kind} not askable at level {d}")


def test_every_kind_at_every_difficulty_open_and_mcq():
    rng = np.random.default_rng(17)
    for d in DIFFICULTIES:
        for kind in FAM.kinds:
            for mcq in (False, True):
                instance = sample_kind(rng, d, kind, mcq)
                check_instance(instance, oracle, mcq)
                check_knobs(instance, False)


def test_strategies_do_what_they_say():
    rates = strategy_rates(NAME, count)
    assert rates["variation"] >= 0.85, rates
    assert rates["reversion"] >= 0.6, rates
    assert rates["extension"] >= 0.5, rates
    assert rates["grown"] >= 0.9, rates
    assert rates["transfer"] >= 0.5, rates  # the target scene may lack the figure the computation needs
    families = {row.child.family for row in corpus(NAME) if row.role == "out"}
    assert len(families) >= 4


def test_vary_keeps_structure_and_extend_adds_one_element():
    rng = np.random.default_rng(4)
    for d in DIFFICULTIES:
        for _ in range(20):
            scene = FAM.scene(rng, d)
            varied = FAM.vary(scene, rng)
            shape = [(f["type"], f["given"], f["aux"], len(f["names"])) for f in scene["figures"]]
            assert [(f["type"], f["given"], f["aux"], len(f["names"])) for f in varied["figures"]] == shape
            assert varied != scene or d == 1  # new quantities (tiny level-1 pools may repeat)
            grown = FAM.extend_scene(scene, rng)
            full = len(scene["figures"]) == 4 and all(f["aux"] or f["type"] not in ("rect", "tri", "iso")
                                                      or (f["type"], f["given"]) == ("rect", "area")
                                                      for f in scene["figures"])
            assert count(grown) == count(scene) + (0 if full else 1)
            json.dumps(grown)


def test_difficulty_changes_the_scenes():
    rng = np.random.default_rng(8)
    sizes = {d: [len(FAM.scene(rng, d)["figures"]) for _ in range(30)] for d in DIFFICULTIES}
    assert max(sizes[1]) < max(sizes[3]) and min(sizes[1]) < min(sizes[3])
    surds = [f for _ in range(40) for f in FAM.scene(rng, 3)["figures"] if f["type"] == "right"]
    assert any(math.isqrt(f["c2"]) ** 2 != f["c2"] or math.isqrt(f["b2"]) ** 2 != f["b2"] for f in surds)


def test_oracle_catches_a_wrong_answer():
    """The oracle is not the family's own code: a corrupted scene value changes its answer."""
    instance = sample(NAME, np.random.default_rng(1), 2, kind="rect_area")
    expected, _ = oracle(instance.scene, instance.kind, instance.args)
    bad = json.loads(json.dumps(instance.scene))
    bad["figures"][instance.args["fig"]]["w"] += 1
    assert oracle(bad, instance.kind, instance.args)[0] != expected


# ---------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------


def render_cases() -> list[tuple[int, object]]:
    """Three instances per difficulty, the last on an extended scene (one more figure or construction)."""
    rng = np.random.default_rng(23)
    out = []
    for d in DIFFICULTIES:
        for i in range(3):
            instance = sample(NAME, rng, d)
            if i == 2:
                scene = FAM.extend_scene(instance.scene, rng)
                instance = next(x for k in FAM.kinds if (x := build(FAM, scene, k, d, rng)) is not None)
            out.append((d, instance))
    return out


CASES = render_cases()


@pytest.mark.parametrize("case", range(len(CASES)))
def test_rendering_is_square_readable_and_labelled(case):
    _, instance = CASES[case]
    fig = FAM.draw(instance.scene)
    image = np.asarray(to_image(fig))
    assert image.shape == (SIZE_PX, SIZE_PX, 3)
    boxes = text_boxes(fig)
    for text, (x0, y0, x1, y1) in boxes:
        assert x0 >= 0 and y0 >= 0 and x1 <= SIZE_PX and y1 <= SIZE_PX, f"{text!r} leaves the image"
        assert y1 - y0 >= 10, f"{text!r} too small"
    for i, (ta, a) in enumerate(boxes):
        for tb, b in boxes[i + 1 :]:
            assert disjoint(a, b), f"{ta!r} overlaps {tb!r}"
    texts = Counter(t for t, _ in boxes)
    need = Counter(required_labels(instance.scene, instance.kind, instance.args))
    assert not need - texts, f"missing labels {need - texts}"
    # vertex letters are drawn once each
    letters = [x for f in instance.scene["figures"] for x in f["names"]]
    drawn_letters = [t for t, _ in boxes if t.isalpha()]
    assert sorted(drawn_letters) == sorted(x for x in letters if x in drawn_letters)
    assert all(texts[x] == 1 for x in drawn_letters)


def test_many_scenes_have_no_overlapping_or_clipped_labels():
    rng = np.random.default_rng(99)
    for i in range(36):
        scene = FAM.scene(rng, 1 + i % 3)
        if i % 2:
            scene = FAM.extend_scene(scene, rng)
        boxes = text_boxes(FAM.draw(scene))
        for k, (ta, a) in enumerate(boxes):
            assert a[0] >= 0 and a[1] >= 0 and a[2] <= SIZE_PX and a[3] <= SIZE_PX, ta
            for tb, b in boxes[k + 1 :]:
                assert disjoint(a, b), (i, ta, tb)


@pytest.mark.slow
def test_ocr_reads_the_labels_the_question_needs():
    pytest.importorskip("rapidocr")
    from cadsynth.checks.ocr import match_texts, read_text

    rng = np.random.default_rng(5)
    for d, kind in ((1, "hypotenuse"), (2, "missing_angle"), (3, "rect_side")):
        instance = sample(NAME, rng, d, kind=kind)
        lines = [t for t, _ in read_text(FAM.render(instance.scene))]
        need = [t for t in required_labels(instance.scene, instance.kind, instance.args)]
        missing, _ = match_texts(lines, FAM.visible_texts(instance.scene))
        missing_needed = [t for t in need if missing[t]]
        assert not missing_needed, (kind, missing_needed, lines)
