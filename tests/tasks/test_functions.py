"""Functions family: an independent oracle (numpy polynomials and np.roots on floats, a dense-grid extremum),
strategies, rendering, OCR."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from tasks.math_harness import check_instance, check_links, corpus, disjoint, instances_of, strategy_rates

from cadsynth.tasks import DIFFICULTIES, FAMILIES, sample
from cadsynth.tasks.render import SIZE_PX, text_boxes, to_image

NAME = "functions"
FAM = FAMILIES[NAME]


def poly(scene: dict, name: str) -> np.poly1d:
    g = next(g for g in scene["graphs"] if g["name"] == name)
    if g["type"] == "line":
        m = g["m"][0] / g["m"][1]
        return np.poly1d([m, g["y0"] - m * g["x0"]])
    a = g["a"][0] / g["a"][1]
    return a * np.poly1d([1, -g["h"]]) ** 2 + g["k"]


def real(p: np.poly1d) -> list[float]:
    roots = [r.real for r in np.atleast_1d(p.roots) if abs(r.imag) < 1e-6]
    out: list[float] = []
    for r in sorted(roots):
        if not out or abs(r - out[-1]) > 1e-6:
            out.append(r)
    return out


def oracle(scene: dict, kind: str, args: dict) -> tuple[object, list[str]]:
    f = poly(scene, args["f"])
    n = scene["n"]
    if kind == "value_at":
        value = f(args["x"])
        assert abs(value) < n and abs(value - round(value)) < 1e-9, "value not on a visible grid point"
        return value, [f"{args['f']}({args['x']})"]
    if kind == "solve_for_x":
        xs = real(f - args["v"])
        assert len(xs) == 1
        return xs[0], [f"{args['f']}(x) = {args['v']}"]
    if kind == "root":
        xs = real(f)
        assert all(abs(x) < n for x in xs)
        return max(xs), [args["f"], "x-intercept" if len(xs) == 2 else "x-axis"]
    if kind == "num_roots":
        return float(len(real(f))), [f"graph of {args['f']}", "x-axis"]
    if kind == "slope":
        return float(np.polyder(f)(0)), [f"slope of the line {args['f']}"]
    xs = np.linspace(-n - 1, n + 1, 200001)
    if kind in ("extremum", "vertex_x"):
        ys = f(xs)
        i = int(np.argmin(ys)) if f.coeffs[0] > 0 else int(np.argmax(ys))
        word = "minimum" if f.coeffs[0] > 0 else "maximum"
        if kind == "extremum":
            return round(float(ys[i]), 3), [f"{word} value of {args['f']}"]
        return round(float(xs[i]), 3), [f"reach its {word}"]
    g = poly(scene, args["g"])
    if kind == "difference":
        return f(args["x"]) - g(args["x"]), [f"{args['f']}({args['x']}) - {args['g']}({args['x']})"]
    crossings = real(f - g)
    if kind == "num_intersections":
        return float(len(crossings)), [f"graphs of {args['f']} and {args['g']}"]
    assert kind == "intersection"
    assert len(crossings) == (2 if args["which"] == "larger" else 1)
    x = max(crossings)
    return (x, f(x)), [f"graphs of {args['f']} and {args['g']}", "(x, y)"]


def required_labels(scene: dict, kind: str, args: dict) -> list[str]:
    names = [f"{v}(x)" for k, v in args.items() if k in ("f", "g")]
    ticks = [str(v).replace("-", "\u2212") for v in range(-scene["n"], scene["n"] + 1)]
    return [*names, *ticks, *ticks]


def count(scene: dict) -> int:
    return len(scene["graphs"])


def check_knobs(instance, extended: bool) -> None:
    knobs = FAM.knobs(instance.difficulty)
    scene = instance.scene
    lo, hi = knobs["graphs"]
    assert lo <= len(scene["graphs"]) <= hi + int(extended)
    assert scene["n"] == knobs["n"]
    for g in scene["graphs"]:
        assert g["type"] in knobs["types"]
        if g["type"] == "line":
            assert g["m"][1] in knobs["slope_dens"] and g["m"][0] != 0
        else:
            assert g["a"][1] in knobs["a_values"] and abs(g["a"][0]) == 1
        xs = [x for x in range(-scene["n"], scene["n"] + 1)
              if abs(poly(scene, g["name"])(x) - round(poly(scene, g["name"])(x))) < 1e-9
              and abs(poly(scene, g["name"])(x)) <= scene["n"]]
        assert len(xs) >= 3, "a graph must cross at least three visible grid points"
    assert [g["name"] for g in scene["graphs"]] == list("fgh")[: len(scene["graphs"])]


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


# one graph at level 1: the two-graph kinds need an auxiliary extension first
UNASKABLE = {("difference", 1), ("intersection", 1), ("num_intersections", 1)}


def test_every_kind_at_every_difficulty_open_and_mcq():
    rng = np.random.default_rng(13)
    for d in DIFFICULTIES:
        for kind in FAM.kinds:
            for mcq in (False, True):
                try:
                    instance = sample(NAME, rng, d, kind=kind, mcq=mcq)
                except RuntimeError:
                    assert (kind, d) in UNASKABLE, (kind, d)
                    continue
                check_instance(instance, oracle, mcq)
                check_knobs(instance, False)


def test_strategies_do_what_they_say():
    rates = strategy_rates(NAME, count)
    assert rates["variation"] >= 0.85, rates
    assert rates["reversion"] >= 0.5, rates
    assert rates["extension"] >= 0.5, rates
    assert rates["grown"] >= 0.9, rates
    assert rates["transfer"] >= 0.5, rates
    assert len({row.child.family for row in corpus(NAME) if row.role == "out"}) >= 4


def test_vary_keeps_structure_and_extend_adds_a_graph():
    rng = np.random.default_rng(6)
    for d in DIFFICULTIES:
        for _ in range(20):
            scene = FAM.scene(rng, d)
            varied = FAM.vary(scene, rng)
            assert [g["type"] for g in varied["graphs"]] == [g["type"] for g in scene["graphs"]]
            grown = FAM.extend_scene(scene, rng)
            assert len(grown["graphs"]) == len(scene["graphs"]) + 1
            assert grown["graphs"][:-1] == scene["graphs"]
            json.dumps(grown)


def test_oracle_catches_a_wrong_answer():
    instance = sample(NAME, np.random.default_rng(1), 2, kind="value_at")
    expected, _ = oracle(instance.scene, instance.kind, instance.args)
    bad = json.loads(json.dumps(instance.scene))
    g = next(g for g in bad["graphs"] if g["name"] == instance.args["f"])
    g["y0" if g["type"] == "line" else "k"] += -1 if expected > 0 else 1
    assert oracle(bad, instance.kind, instance.args)[0] != expected


CASES = [sample(NAME, np.random.default_rng(60 + i), 1 + i % 3) for i in range(6)]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_rendering_is_square_readable_and_labelled(case):
    instance = CASES[case]
    fig = FAM.draw(instance.scene)
    image = np.asarray(to_image(fig))
    assert image.shape == (SIZE_PX, SIZE_PX, 3)
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
    ax = fig.axes[0]
    for g in instance.scene["graphs"]:  # the curve passes through its grid points: the pixel there is its colour
        from cadsynth.tasks.base import PALETTE

        code = PALETTE[g["colour"]].lstrip("#")
        rgb = np.array([int(code[i : i + 2], 16) for i in (0, 2, 4)])
        p = poly(instance.scene, g["name"])
        hits = total = 0
        for x in range(-instance.scene["n"] + 1, instance.scene["n"]):
            y = p(x)
            if abs(y) < instance.scene["n"] - 0.5:
                col, row = ax.transData.transform((x, y))
                patch = image[int(SIZE_PX - row) - 2 : int(SIZE_PX - row) + 3, int(col) - 2 : int(col) + 3]
                total += 1
                hits += bool((np.abs(patch.astype(int) - rgb).max(axis=2) < 60).any())
        assert hits >= 0.8 * total, (g, hits, total)


@pytest.mark.slow
def test_ocr_reads_the_graph_names():
    pytest.importorskip("rapidocr")
    from cadsynth.checks.ocr import match_texts, read_text

    for instance in CASES[:2]:
        lines = [t for t, _ in read_text(FAM.render(instance.scene))]
        missing, _ = match_texts(lines, FAM.visible_texts(instance.scene))
        names = [f"{g['name']}(x)" for g in instance.scene["graphs"]]
        assert not [n for n in names if missing[n]], (names, lines)
        assert sum(missing.values()) <= 2, missing
