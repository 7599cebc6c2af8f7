"""pie: an independent oracle over the corpus (all strategies, open and MCQ), knobs, rendering, OCR."""

from __future__ import annotations

from fractions import Fraction

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

NAME = "pie"
PALETTE_NAMES = {"blue", "orange", "green", "red", "purple", "sky blue", "yellow", "black"}


def _one(items: list, what: str):
    assert len(items) == 1, f"ambiguous: {what}: {items}"
    return items[0]


def oracle(scene: dict, kind: str, args: dict) -> tuple[str, list[str]]:
    """The answer from the scene JSON: amounts as exact fractions of the title's total."""
    share = dict(zip(scene["labels"], scene["shares"], strict=True))
    amount = {}
    for label, s in share.items():
        part = Fraction(scene["total"] * s, 100)
        assert part.denominator == 1, "a slice's amount is not whole"
        amount[label] = part.numerator
    noun = scene["noun"]
    if kind == "share":
        return f"{share[args['label']]}%", [args["label"], "percentage"]
    if kind == "find_share":
        return _one([lab for lab in share if share[lab] == args["v"]], "share"), [f"{args['v']}%"]
    if kind == "share_difference":
        d = share[args["a"]] - share[args["b"]]
        assert d > 0
        return str(d), [args["a"], args["b"], "percentage points"]
    if kind == "largest":
        top = max(share.values())
        return _one([lab for lab in share if share[lab] == top], "largest"), ["largest"]
    if kind == "max_share":
        ordered = sorted(share.values(), reverse=True)
        assert len(ordered) < 2 or ordered[0] > ordered[1]
        return f"{ordered[0]}%", ["largest percentage"]
    if kind == "count_of":
        return str(amount[args["label"]]), [args["label"], noun, "title"]
    if kind == "which_count":
        return _one([lab for lab in amount if amount[lab] == args["c"]], "amount"), [str(args["c"]), noun]
    if kind == "count_difference":
        d = amount[args["a"]] - amount[args["b"]]
        assert d > 0
        return str(d), [args["a"], args["b"], noun]
    if kind == "combined_share":
        assert args["a"] != args["b"]
        return f"{share[args['a']] + share[args['b']]}%", [args["a"], args["b"], "together"]
    if kind == "combined_count":
        assert args["a"] != args["b"]
        return str(amount[args["a"]] + amount[args["b"]]), [args["a"], args["b"], noun, "together"]
    if kind == "times":
        ratio = Fraction(share[args["a"]], share[args["b"]])
        assert ratio.denominator == 1 and ratio > 1
        return str(ratio.numerator), [args["a"], args["b"], "times"]
    raise AssertionError(f"unknown kind {kind}")


def element_count(scene: dict) -> int:
    return len(scene["labels"])


def structure(scene: dict) -> tuple:
    return len(scene["labels"]), scene["unit"], scene["low"], tuple(scene["totals"])


def check_scene(instance, extended: bool) -> None:
    scene, knobs = instance.scene, FAMILIES[NAME].knobs(instance.difficulty)
    assert instance.knobs == knobs
    shares = scene["shares"]
    assert sum(shares) == 100
    assert all(type(s) is int and s >= knobs["low"] and s % knobs["unit"] == 0 for s in shares), shares
    lo, hi = knobs["slices"]
    assert lo <= len(shares) <= hi + int(extended)
    assert len(scene["labels"]) == len(set(scene["labels"])) == len(shares) == len(scene["colours"])
    assert len(set(scene["colours"])) == len(shares) and set(scene["colours"]) <= PALETTE_NAMES
    t_lo, t_hi, t_step = knobs["totals"]
    assert t_lo <= scene["total"] <= t_hi and scene["total"] % t_step == 0


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
    assert max(len(s["shares"]) for s in scenes[1]) < min(len(s["shares"]) for s in scenes[3])
    assert all(v % 10 == 0 for s in scenes[1] for v in s["shares"])
    assert any(v % 5 for s in scenes[3] for v in s["shares"])  # less regular percentages at the top level


def test_vary_and_extend_semantics():
    fam = FAMILIES[NAME]
    rng = np.random.default_rng(9)
    for d in DIFFICULTIES:
        for _ in range(15):
            scene = fam.scene(rng, d)
            varied = [fam.vary(scene, rng) for _ in range(3)]
            assert all(structure(v) == structure(scene) for v in varied)
            assert any(v["shares"] != scene["shares"] or v["total"] != scene["total"] for v in varied)
            grown = fam.extend_scene(scene, rng)
            if grown is scene:  # only when no slice can give a share of at least `low`
                assert max(scene["shares"]) < 2 * scene["low"] or len(scene["shares"]) >= 7
                continue
            assert len(grown["shares"]) == len(scene["shares"]) + 1 and sum(grown["shares"]) == 100
            assert grown["labels"][:-1] == scene["labels"] and grown["total"] == scene["total"]
            changed = [i for i, (a, b) in enumerate(zip(scene["shares"], grown["shares"], strict=False)) if a != b]
            assert len(changed) == 1 and scene["shares"][changed[0]] == max(scene["shares"])
            assert min(grown["shares"]) >= scene["low"]


# ---------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------


def required_texts(scene: dict) -> list[str]:
    """The labels questions rely on: slice names (legend), every percentage, the total in the title."""
    return [*scene["labels"], *(f"{s}%" for s in scene["shares"]), f"Total: {scene['total']} {scene['noun']}"]


@pytest.mark.parametrize(("difficulty", "scene"), render_scenes(NAME), ids=lambda v: str(v) if isinstance(v, int) else "")
def test_rendering(difficulty, scene):
    boxes = check_rendering(NAME, scene, required_texts(scene))
    fig = FAMILIES[NAME].draw(scene)
    wedges = [p for p in fig.axes[0].patches if hasattr(p, "theta1")]
    spans = [round((w.theta2 - w.theta1) / 3.6, 6) for w in wedges]
    assert spans == pytest.approx(scene["shares"])  # each wedge's angle is its share
    # each percentage sits inside its own wedge: its centre's angle lies between the wedge's edges
    ax = fig.axes[0]
    centre = ax.transData.transform((0, 0))
    by_text = {}
    for text, box in boxes:
        by_text.setdefault(text, []).append(box)
    for w, share in zip(wedges, scene["shares"], strict=True):
        inside = []
        for x0, y0, x1, y1 in by_text[f"{share}%"]:
            cx, cy = (x0 + x1) / 2 - centre[0], (448 - (y0 + y1) / 2) - centre[1]
            angle = np.degrees(np.arctan2(cy, cx)) % 360
            lo, hi = w.theta1 % 360, w.theta2 % 360
            inside.append(lo <= angle <= hi if lo <= hi else angle >= lo or angle <= hi)
        assert any(inside), f"{share}% not inside its wedge"


@pytest.mark.slow
def test_ocr_reads_the_labels():
    pytest.importorskip("rapidocr")
    fam = FAMILIES[NAME]
    rng = np.random.default_rng(12)
    for d in (2, 3):
        scene = fam.scene(rng, d)
        missing, lines = ocr_missing(NAME, scene, required_texts(scene))
        assert not missing, (missing, lines)
