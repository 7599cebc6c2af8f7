"""The mechanics (lever) family against an independent oracle: signed moments with numpy.

The oracle never calls the family's `solve`, `format_answer`, `distractors` or `Kind.text`. It places every
load at a signed coordinate (left negative), converts masses with g = 10 N/kg, and takes the moment equation
sum(w_i x_i) + F x_F = 0 and the force equation N = sum(w_i) + F as a numpy linear system.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from functools import cache

import numpy as np
import pytest
from tasks import family_harness
from tasks.family_harness import Row

from cadsynth.answers import equivalent
from cadsynth.records import AnswerType, Strategy
from cadsynth.tasks import DIFFICULTIES, FAMILIES, Instance
from cadsynth.tasks.render import SIZE_PX, text_boxes, to_image

NAME = "mechanics"
FAM = FAMILIES[NAME]
OTHERS = [f for f in ("bars", "grid", "shapes") if f in FAMILIES]
LETTERS = ["A", "B", "C", "D"]
UNIT = {"torque": "Nm", "net_torque": "Nm", "balance_force": "N", "balance_distance": "m", "total_weight": "N",
        "support_force": "N"}
ANSWER = re.compile(r"^(\d+(?:\.\d)?)(Nm|N|m)$")


# ---------------------------------------------------------------------------------------------------------
# Oracle
# ---------------------------------------------------------------------------------------------------------


def tenth(x: float) -> float:
    r = round(x * 10) / 10
    assert math.isclose(x, r, abs_tol=1e-6), f"answer {x} is not exact to one decimal"
    return r


def text(x: float, unit: str) -> str:
    return f"{int(x)}{unit}" if float(x).is_integer() else f"{x:.1f}{unit}"


def arrays(scene: dict) -> tuple[np.ndarray, np.ndarray, float]:
    """Weights (N), signed positions (m, left negative), signed position of F."""
    sign = {"left": -1.0, "right": 1.0}
    w = np.array([ld["value"] * (10.0 if ld["unit"] == "kg" else 1.0) for ld in scene["loads"]])
    x = np.array([sign[ld["side"]] * ld["d"] for ld in scene["loads"]])
    return w, x, sign[scene["probe"]["side"]] * scene["probe"]["d"]


def equilibrium(w: np.ndarray, x: np.ndarray, xf: float) -> tuple[float, float]:
    """(F, N): downward F at xf and upward N at the fulcrum from the moment and force equations."""
    a = np.array([[xf, 0.0], [1.0, -1.0]])  # F·xf + Σ w x = 0 ; F - N + Σ w = 0
    b = np.array([-float(w @ x), -float(w.sum())])
    f, n = np.linalg.solve(a, b)
    return float(f), float(n)


def oracle(instance: Instance) -> tuple[str, AnswerType, list[str]]:
    scene = json.loads(json.dumps(instance.scene))
    args = json.loads(json.dumps(instance.args))
    w, x, xf = arrays(scene)
    moment = float(w @ x)  # positive: the right end goes down
    kind, num = instance.kind, AnswerType.NUMBER
    g = ["g = 10 N/kg"] if any(ld["unit"] == "kg" for ld in scene["loads"]) else []
    if kind == "torque":
        i = [ld["name"] for ld in scene["loads"]].index(args["name"])
        return text(tenth(abs(w[i] * x[i])), "Nm"), num, [f"load {args['name']}", "torque", *g]
    if kind == "net_torque":
        assert (x < 0).any() and (x > 0).any(), "net torque asked with loads on one side only"
        return text(tenth(abs(moment)), "Nm"), num, ["net torque", *g]
    if kind == "which_side":
        assert moment != 0
        return ("right" if moment > 0 else "left"), AnswerType.TEXT, ["go down", "left or right"]
    f, n = equilibrium(w, x, xf)
    assert f > 0, "the marked force would have to pull upward"
    if kind == "balance_force":
        return text(tenth(f), "N"), num, ["force F", "balanced", *g]
    if kind == "support_force":
        return text(tenth(n), "N"), num, ["fulcrum", "upward", *g]
    if kind == "total_weight":
        return text(tenth(float(w.sum())), "N"), num, ["total weight", *g]
    if kind == "balance_distance":
        pos = -moment / args["force"]
        assert np.sign(pos) == np.sign(xf), "the force would act on the wrong side"
        assert abs(pos) <= 5 and not math.isclose(abs(pos), abs(xf)), "outside the beam or at the marked point"
        return text(tenth(abs(pos)), "m"), num, [f"{args['force']} N", scene["probe"]["side"], *g]
    raise AssertionError(f"unknown kind {kind}")


# ---------------------------------------------------------------------------------------------------------
# Scene validity and knobs
# ---------------------------------------------------------------------------------------------------------


def check_plain_json(value, path="scene"):
    if isinstance(value, dict):
        for k, v in value.items():
            assert type(k) is str, path
            check_plain_json(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_plain_json(v, f"{path}[{i}]")
    else:
        assert value is None or type(value) in (str, int, float, bool), f"{path}: {type(value).__name__}"


def check_scene(scene: dict) -> None:
    loads = scene["loads"]
    assert [ld["name"] for ld in loads] == list("ABCDEF")[: len(loads)]
    w, x, xf = arrays(scene)
    assert list(x) == sorted(x), "names are not left to right"
    for side in (-1, 1):  # marked points on one side are at least 1.5 m apart and on the beam
        marks = sorted(abs(p) for p in [*x, xf] if np.sign(p) == side)
        assert all(b - a >= 1.5 - 1e-9 for a, b in zip(marks, marks[1:], strict=False)), marks
        assert all(1 <= m <= 5 for m in marks)
    assert (w > 0).all()
    f, _ = equilibrium(w, x, xf)
    assert f > 0
    tenth(f)


def check_knobs(instance: Instance, extended: bool) -> None:
    knobs = FAM.knobs(instance.difficulty)
    assert instance.knobs == knobs
    loads = instance.scene["loads"]
    lo, hi = knobs["loads"]
    assert lo <= len(loads) <= hi + int(extended)
    sides = {ld["side"] for ld in loads}
    if knobs["both_sides"] and len(loads) >= 2:
        assert sides == {"left", "right"}
    if not knobs["both_sides"] and not extended:
        assert sides == {"left"}
    assert knobs["kg"] or all(ld["unit"] == "N" for ld in loads)
    for ld in loads:
        assert (ld["d"] / knobs["step"]).is_integer()
        if ld["unit"] == "N":
            assert ld["value"] in knobs["newtons"]


def check_instance(instance: Instance, mcq_requested: bool, extended: bool = False) -> None:
    assert instance.family == NAME and instance.kind in FAM.kinds
    check_plain_json(instance.scene)
    check_plain_json(instance.args, "args")
    check_scene(instance.scene)
    check_knobs(instance, extended)
    expected, how, phrases = oracle(instance)
    for phrase in phrases:
        assert phrase in instance.question, (phrase, instance.question)
    assert instance.question.endswith(("?", "."))
    if instance.choices is None:
        assert instance.answer_type is FAM.kinds[instance.kind].answer_type is how
        assert equivalent(instance.answer, expected, how), (instance.question, instance.answer, expected)
        assert equivalent(instance.answer, instance.answer, how)
        open_answer = instance.answer
    else:
        assert mcq_requested and instance.answer_type is AnswerType.MCQ
        assert list(instance.choices) == LETTERS
        options = list(instance.choices.values())
        assert len(set(options)) == 4
        right = [k for k, v in instance.choices.items() if equivalent(v, expected, how)]
        assert right == [instance.answer], (instance.choices, expected)
        for a, b in itertools.combinations(options, 2):
            assert not equivalent(a, b, how), f"options {a!r} and {b!r} are equivalent"
        assert f"option {instance.answer}" in instance.solution
        open_answer = instance.answer_text
    if how is AnswerType.NUMBER:
        match = ANSWER.match(open_answer)
        assert match and match.group(2) == UNIT[instance.kind], open_answer
        assert equivalent(match.group(1), open_answer, how), "not equivalent to the plain number"
    else:
        assert open_answer in ("left", "right")
    assert open_answer in instance.solution
    kind = FAM.kinds[instance.kind]
    restored = kind.solve(json.loads(json.dumps(instance.scene)), json.loads(json.dumps(instance.args)))
    assert FAM.format_answer(instance.kind, restored) == FAM.format_answer(
        instance.kind, kind.solve(instance.scene, instance.args))


# ---------------------------------------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------------------------------------


@cache
def corpus(strategy: Strategy) -> list[Row]:
    return family_harness.corpus(NAME, strategy, 90, OTHERS)


@pytest.mark.parametrize("strategy", list(Strategy), ids=[s.value for s in Strategy])
def test_answers_match_independent_oracle(strategy):
    family_harness.check_corpus(NAME, strategy, corpus(strategy), check_instance)


def test_transfer_into_mechanics_keeps_the_computation():
    family_harness.check_transfer_in(NAME, OTHERS, check_instance, per_cell=4, seed=9)


UNASKABLE = {("net_torque", 1)}  # one load, on one side: no net torque to speak of


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_every_kind_asked_and_solved_independently(difficulty):
    family_harness.check_every_kind(NAME, difficulty, check_instance, per_kind=4, seed=70, unaskable=UNASKABLE)


def test_strategy_links_and_rates():
    for kind in FAM.kinds.values():
        assert kind.reverse in FAM.kinds and kind.extend in FAM.kinds
        assert kind.computation in {"read", "count", "difference", "extremum", "sum", "product", "ratio",
                                    "find", "distance"}
    for strategy, attr, rate in ((Strategy.LOGIC_REVERSION, "reverse", 0.6),
                                 (Strategy.AUXILIARY_EXTENSION, "extend", 0.6),
                                 (Strategy.PARAMETER_VARIATION, None, 0.85)):
        rows = corpus(strategy)
        hits = 0
        for p, c, _ in rows:
            wanted = getattr(FAM.kinds[p.kind], attr) if attr else p.kind
            if c.kind == wanted:
                hits += 1
            else:
                assert FAM.kinds[wanted].ask(c.scene, np.random.default_rng(0)) is None, (strategy, wanted)
        assert hits >= rate * len(rows), (strategy, hits, len(rows))
    mcq = [c for _, c, m in corpus(Strategy.PARAMETER_VARIATION) if m]
    assert sum(c.choices is not None for c in mcq) >= 0.6 * len(mcq)


def test_vary_keeps_structure_and_extend_adds_one_load():
    rng = np.random.default_rng(5)
    for d in DIFFICULTIES:
        for _ in range(10):
            scene = FAM.scene(rng, d)
            varied = FAM.vary(scene, rng)
            assert Counter((ld["side"], ld["unit"]) for ld in varied["loads"]) == Counter(
                (ld["side"], ld["unit"]) for ld in scene["loads"])
            assert varied["probe"]["side"] == scene["probe"]["side"] and varied["step"] == scene["step"]
            grown = FAM.extend_scene(scene, rng)
            assert len(grown["loads"]) == len(scene["loads"]) + 1
            assert Counter(ld["unit"] for ld in grown["loads"]) - Counter(ld["unit"] for ld in scene["loads"]) == \
                Counter({"N": 1})
            check_scene(varied)
            check_scene(grown)


def test_knob_override_sets_the_load_count():
    rng = np.random.default_rng(2)
    for lo, hi in ((1, 1), (2, 4), (5, 5)):
        for d in DIFFICULTIES:
            scene = FAM.scene(rng, d, {**FAM.knobs(d), "loads": (lo, hi)})
            assert lo <= len(scene["loads"]) <= hi
            check_scene(scene)


# ---------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------


def render_scenes() -> list[dict]:
    rng = np.random.default_rng(31)
    out = []
    for d in DIFFICULTIES:
        out += [FAM.scene(rng, d), FAM.extend_scene(FAM.scene(rng, d), rng)]
    return out


def disjoint(a, b) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def required_labels(scene: dict) -> list[str]:
    """Each load's name and weight or mass, each distance, and the marked force."""
    out = ["F = ?", text(scene["probe"]["d"], " m")]
    for ld in scene["loads"]:
        out += [ld["name"], text(ld["value"], f" {ld['unit']}"), text(ld["d"], " m")]
    return out


@pytest.mark.parametrize("i", range(6))
def test_render_size_text_inside_no_overlap_labels_present(i):
    scene = render_scenes()[i]
    fig = FAM.draw(scene)
    image = np.asarray(to_image(fig))
    assert image.shape == (SIZE_PX, SIZE_PX, 3)
    boxes = text_boxes(fig)
    for label, (x0, y0, x1, y1) in boxes:
        assert 0 <= x0 and 0 <= y0 and x1 <= SIZE_PX and y1 <= SIZE_PX, (label, (x0, y0, x1, y1))
        assert y1 - y0 >= 9, f"{label!r} too small"
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        assert disjoint(ba, bb), f"{a!r} overlaps {b!r}"
    assert Counter(t for t, _ in boxes) == Counter(required_labels(scene))
    # each load's box is drawn where its distance puts it, left of the fulcrum for the left side
    ax = fig.axes[0]
    by_name = {t: b for t, b in boxes}
    centre = ax.transData.transform((0, 0))[0]
    for ld in scene["loads"]:
        box = by_name[ld["name"]]
        mid = (box[0] + box[2]) / 2
        assert (mid < centre) == (ld["side"] == "left")
        expected = ax.transData.transform(((-1 if ld["side"] == "left" else 1) * ld["d"], 0))[0]
        assert abs(mid - expected) < 3


@pytest.mark.slow
def test_ocr_reads_the_labels():
    pytest.importorskip("rapidocr")
    from cadsynth.checks.ocr import match_texts, read_text

    for scene in render_scenes()[1::2][:3]:
        lines = [t for t, _ in read_text(FAM.render(scene))]
        missing, _ = match_texts(lines, required_labels(scene))
        assert not missing, (missing, lines)
