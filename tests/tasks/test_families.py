"""Property tests of the task families and the four meta-strategies, against an independent oracle.

The oracle below re-derives every answer from the scene JSON and the question arguments; it never calls a
family's `Kind.solve`, `format_answer` or `distractors`. Instances come from seeded generators (no hypothesis),
parents from `sample(...)` and children from `apply_strategy(...)`, in open and multiple-choice form.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np
import pytest

from cadsynth.records import AnswerType, Strategy
from cadsynth.tasks import DIFFICULTIES, Instance, apply_strategy, sample
from cadsynth.tasks.registry import FAMILIES as REGISTERED

# The families this oracle knows; every other family has its own oracle in tests/tasks/test_<family>.py.
FAMILIES = {name: REGISTERED[name] for name in ("bars", "grid", "shapes")}

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
YEARS = ["2019", "2020", "2021", "2022", "2023", "2024"]
PALETTE_NAMES = {"blue", "orange", "green", "red", "purple", "sky blue", "yellow", "black"}
SHAPE_KINDS = ["circle", "square", "triangle"]
LETTERS = ["A", "B", "C", "D"]

PARENTS_SAME = 6  # parents per family x strategy x difficulty, at the child's difficulty
PARENTS_CROSS = 2  # ... and from another difficulty


# ---------------------------------------------------------------------------------------------------------
# The oracle: answers from the scene JSON alone
# ---------------------------------------------------------------------------------------------------------


def _only(items: list[Any], what: str) -> Any:
    assert len(items) == 1, f"ambiguous question: {len(items)} candidates for {what}: {items}"
    return items[0]


def _int_or_percent(x: Fraction, percent: bool = False) -> str:
    assert x.denominator == 1, f"non-integral answer {x}"
    return f"{x.numerator}%" if percent else str(x.numerator)


def _solve_bars(scene: dict, kind: str, args: dict) -> tuple[str, list[str]]:
    labels, values = scene["labels"], scene["values"]
    value = dict(zip(labels, values, strict=True))
    noun = "day" if scene["style"] == "bar" else "year"
    if kind == "max_value":
        return str(max(values)), ["highest"]
    if kind == "value_at":
        return str(value[args["label"]]), [args["label"]]
    if kind == "which_max":
        top = max(values)
        return _only([lab for lab in labels if value[lab] == top], "highest bar"), [noun, "highest"]
    if kind == "find_label":
        return _only([lab for lab in labels if value[lab] == args["v"]], f"value {args['v']}"), [noun, str(args["v"])]
    if kind == "difference":
        diff = value[args["a"]] - value[args["b"]]
        assert diff > 0, "'how much greater' asked of a smaller value"
        return str(diff), [args["a"], args["b"]]
    if kind == "range":
        return str(max(values) - min(values)), ["highest", "lowest"]
    if kind == "count_above":
        return str(len([v for v in values if v > args["t"]])), [f"{noun}s", f"greater than {args['t']}"]
    if kind == "total":
        return str(sum(values)), ["sum"]
    if kind == "percent_change":
        va, vb = value[args["a"]], value[args["b"]]
        assert va != vb
        return _int_or_percent(Fraction(100 * (vb - va), va), percent=True), [
            f"from {args['a']} to {args['b']}", "percent"]
    raise AssertionError(f"bars: unknown kind {kind}")


SURD = re.compile(r"^(?P<out>[1-9]\d*)?(?:√(?P<in>[1-9]\d*))?$")


def surd_square(text: str) -> int:
    """The square of a simplest-radical string like '5', '√2', '3√5', checking that the form is simplest."""
    match = SURD.match(text)
    assert match and text, f"not a surd: {text!r}"
    outside = int(match["out"]) if match["out"] else 1
    inside = int(match["in"]) if match["in"] else 1
    if match["in"]:
        assert inside > 1, f"√1 is not simplest form: {text!r}"
        assert all(inside % (f * f) for f in range(2, math.isqrt(inside) + 1)), f"not simplest: {text!r}"
    assert not (match["out"] and outside == 1 and match["in"]), f"leading 1 in {text!r}"
    return outside * outside * inside


def _solve_grid(scene: dict, kind: str, args: dict) -> tuple[str, list[str]]:
    pts = {p["name"]: p for p in scene["points"]}
    rect = scene["rect"]

    def ref(name: str) -> str:
        return f"{pts[name]['colour']} point {name}"

    if kind in ("point_x", "point_y"):
        return str(pts[args["p"]][kind[-1]]), [ref(args["p"]), f"{kind[-1]}-coordinate"]
    if kind == "which_at_x":
        return _only([p["colour"] for p in pts.values() if p["x"] == args["x"]], f"x = {args['x']}"), [
            f"x-coordinate {args['x']}", "colour"]
    if kind == "highest":
        top = max(p["y"] for p in pts.values())
        return _only([p["colour"] for p in pts.values() if p["y"] == top], "highest point"), ["largest y", "colour"]
    if kind in ("seg_length", "distance"):
        p, q = pts[args["a"]], pts[args["b"]]
        assert p is not q
        square = (p["x"] - q["x"]) ** 2 + (p["y"] - q["y"]) ** 2
        if kind == "seg_length":
            root = math.isqrt(square)
            assert root * root == square, "segment length asked of a non-axis-aligned pair"
            assert (p["x"] == q["x"]) != (p["y"] == q["y"]), "segment is not horizontal or vertical"
            return str(root), [ref(args["a"]), ref(args["b"]), "length"]
        return f"√{square}", [ref(args["a"]), ref(args["b"]), "√"]  # compared via surd_square below
    if kind == "rect_area":
        return str(rect["w"] * rect["h"]), ["area"]
    if kind == "rect_side":
        assert args["area"] == rect["w"] * rect["h"], "stated area is not the rectangle's"
        return _int_or_percent(Fraction(args["area"], rect["w"])), [f"area of {args['area']}", "tall"]
    if kind == "rect_perimeter":
        return str(2 * rect["w"] + 2 * rect["h"]), ["perimeter"]
    if kind == "count_inside":
        inside = [p for p in pts.values()
                  if rect["x0"] < p["x"] < rect["x0"] + rect["w"] and rect["y0"] < p["y"] < rect["y0"] + rect["h"]]
        return str(len(inside)), ["strictly inside"]
    raise AssertionError(f"grid: unknown kind {kind}")


def _solve_shapes(scene: dict, kind: str, args: dict) -> tuple[str, list[str]]:
    shapes = scene["shapes"]
    counts = Counter(s["kind"] for s in shapes)
    present = scene["kinds"]
    if kind == "count_all":
        return str(len(shapes)), ["How many shapes"]
    if kind == "count_kind":
        return str(counts[args["kind"]]), [f"{args['kind']}s"]
    if kind == "count_colour":
        return str(len([s for s in shapes if s["colour"] == args["colour"]])), [f"{args['colour']} shapes"]
    if kind == "count_left":
        assert scene["divider"] is not None
        return str(len([s for s in shapes if s["x"] < scene["divider"]])), ["left of the dashed line"]
    if kind == "more_than":
        diff = counts[args["a"]] - counts[args["b"]]
        assert diff > 0
        return str(diff), [f"more {args['a']}s than {args['b']}s"]
    if kind == "which_most":
        top = max(counts[k] for k in present)
        return _only([k for k in present if counts[k] == top], "most frequent kind"), ["most often"]
    if kind == "which_count":
        assert args["n"] >= 1
        return _only([k for k in SHAPE_KINDS if counts[k] == args["n"]], f"count {args['n']}"), [
            f"exactly {args['n']} times"]
    if kind == "percent_kind":
        return _int_or_percent(Fraction(100 * counts[args["kind"]], len(shapes)), percent=True), [
            f"percent of the shapes are {args['kind']}s"]
    raise AssertionError(f"shapes: unknown kind {kind}")


SOLVERS = {"bars": _solve_bars, "grid": _solve_grid, "shapes": _solve_shapes}


def oracle(instance: Instance) -> tuple[str, list[str]]:
    """The open answer text and the phrases the question must contain, from the JSON round trip of the scene."""
    scene = json.loads(json.dumps(instance.scene))
    args = json.loads(json.dumps(instance.args))
    return SOLVERS[instance.family](scene, instance.kind, args)


def same_answer(instance: Instance, got: str, expected: str) -> bool:
    if instance.kind == "distance":  # the oracle gives √(square); the family gives simplest radical form
        return surd_square(got) == int(expected[1:])
    return got == expected


# ---------------------------------------------------------------------------------------------------------
# Scene validity (the question must be answerable from the picture) and knobs
# ---------------------------------------------------------------------------------------------------------


def check_plain_json(value: Any, path: str = "scene") -> None:
    """Only dict/list/str/int/float/bool/None, with exact Python types (no numpy scalars)."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str, f"{path}: key {key!r}"
            check_plain_json(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_plain_json(item, f"{path}[{i}]")
    else:
        assert value is None or type(value) in (str, int, float, bool), f"{path}: {type(value).__name__}"


def element_count(family: str, scene: dict) -> int:
    return len(scene[{"bars": "values", "grid": "points", "shapes": "shapes"}[family]])


def check_scene(family: str, scene: dict) -> None:
    if family == "bars":
        n = len(scene["values"])
        assert scene["labels"] == (DAYS if scene["style"] == "bar" else YEARS)[:n]
        assert len(scene["colours"]) == n and len(set(scene["colours"])) == n
        assert set(scene["colours"]) <= PALETTE_NAMES
        for v in scene["values"]:  # every value sits on a gridline, inside the axis
            assert v % 10 == 0 and 10 <= v <= scene["ymax"] - 10, scene
        assert scene["ymax"] % 10 == 0
    elif family == "grid":
        size, rect, pts = scene["size"], scene["rect"], scene["points"]
        assert len({(p["x"], p["y"]) for p in pts}) == len(pts), "two points at one place"
        assert [p["name"] for p in pts] == list("ABCD")[: len(pts)]
        assert len({p["colour"] for p in pts}) == len(pts) and {p["colour"] for p in pts} <= PALETTE_NAMES
        for p in pts:
            assert 1 <= p["x"] <= size - 1 and 1 <= p["y"] <= size - 1, p
        assert rect["w"] >= 1 and rect["h"] >= 1
        assert 0 <= rect["x0"] and rect["x0"] + rect["w"] <= size and 0 <= rect["y0"] and rect["y0"] + rect["h"] <= size
    else:
        r, divider = scene["radius"], scene["divider"]
        assert set(scene["kinds"]) <= set(SHAPE_KINDS)
        for s in scene["shapes"]:
            assert s["kind"] in scene["kinds"] and s["colour"] in PALETTE_NAMES
            assert r <= s["x"] <= 1 - r and r <= s["y"] <= 1 - r, "shape leaves the canvas"
            if divider is not None:  # a shape is wholly on one side of the dashed line
                assert abs(s["x"] - divider) > r, (s, divider)
        for i, a in enumerate(scene["shapes"]):
            for b in scene["shapes"][i + 1 :]:
                assert math.hypot(a["x"] - b["x"], a["y"] - b["y"]) > 2 * r, "shapes overlap"


def check_knobs(instance: Instance, extended: bool) -> None:
    """The scene respects `knobs(difficulty)`; an auxiliary extension may add one element."""
    fam = FAMILIES[instance.family]
    knobs = fam.knobs(instance.difficulty)
    assert instance.knobs == knobs
    scene, extra = instance.scene, int(extended)
    if instance.family == "bars":
        lo, hi = knobs["bars"]
        assert lo <= len(scene["values"]) <= min(hi + extra, len(DAYS))
        assert scene["style"] in knobs["styles"]
        assert max(scene["values"]) <= knobs["vmax"] and scene["ymax"] == knobs["vmax"] + 10
    elif instance.family == "grid":
        assert scene["size"] == knobs["size"]
        assert 1 <= len(scene["points"]) <= knobs["points"] + extra
        assert len(scene["points"]) >= knobs["points"]  # placement never fails on these grids
        assert scene["rect"]["w"] <= knobs["side"] and scene["rect"]["h"] <= knobs["side"]
    else:
        lo, hi = knobs["count"]
        assert lo <= len(scene["shapes"]) <= hi + extra
        assert scene["kinds"] == SHAPE_KINDS[: knobs["kinds"]]
        assert scene["radius"] == knobs["radius"]
        assert (scene["divider"] is not None) == knobs["divider"]
        if scene["divider"] is not None:
            assert 0.3 <= scene["divider"] <= 0.7


# ---------------------------------------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------------------------------------


@cache
def corpus(family: str, strategy: Strategy) -> list[tuple[Instance, Instance, bool]]:
    """(parent, child, mcq) triples (odd-numbered parents were asked for in MCQ form) for every difficulty; deterministic in (family, strategy)."""
    seed = 1000 * list(FAMILIES).index(family) + list(Strategy).index(strategy)
    rng = np.random.default_rng(seed)
    others = [f for f in FAMILIES if f != family]
    out = []
    for d in DIFFICULTIES:
        parent_ds = [d] * PARENTS_SAME + [int(x) for x in rng.choice([e for e in DIFFICULTIES if e != d],
                                                                     size=PARENTS_CROSS)]
        for i, pd in enumerate(parent_ds):
            parent = sample(family, rng, pd, mcq=bool(i % 2))
            for mcq in (False, True):
                target = others[(i + mcq) % len(others)]  # named, so children stay where the oracle reaches
                child = apply_strategy(strategy, parent, rng, d, transfer_to=target, mcq=mcq)
                out.append((parent, child, mcq))
    return out


CASES = [(f, s) for f in FAMILIES for s in Strategy]
IDS = [f"{f}-{s.value}" for f, s in CASES]


def test_corpus_covers_all_families_and_kinds():
    seen = Counter()
    for fam, strategy in CASES:
        for parent, child, _ in corpus(fam, strategy):
            seen[(parent.family, parent.kind)] += 1
            seen[(child.family, child.kind)] += 1
    for name, fam in FAMILIES.items():
        missing = [k for k in fam.kinds if not seen[(name, k)]]
        assert not missing, f"{name}: kinds never generated: {missing}"


# ---------------------------------------------------------------------------------------------------------
# 1. Independent computation; 3. multiple choice; 4. knobs and JSON
# ---------------------------------------------------------------------------------------------------------


def check_instance(instance: Instance, mcq_requested: bool, extended: bool = False) -> None:
    fam = FAMILIES[instance.family]
    assert instance.kind in fam.kinds
    assert instance.difficulty in DIFFICULTIES
    check_plain_json(instance.scene)
    check_plain_json(instance.args, "args")
    json.dumps({"scene": instance.scene, "args": instance.args, "choices": instance.choices})
    check_scene(instance.family, instance.scene)
    check_knobs(instance, extended)

    expected, phrases = oracle(instance)
    for phrase in phrases:
        assert phrase in instance.question, f"{instance.kind}: {phrase!r} not in {instance.question!r}"
    assert instance.question.strip().endswith(("?", "."))

    if instance.choices is None:
        assert instance.answer_type is not AnswerType.MCQ
        assert same_answer(instance, instance.answer, expected), (instance.question, instance.answer, expected)
        open_answer = instance.answer
        assert instance.answer_type is fam.kinds[instance.kind].answer_type
    else:
        assert mcq_requested
        assert instance.answer_type is AnswerType.MCQ
        assert list(instance.choices) == LETTERS
        options = list(instance.choices.values())
        assert len(set(options)) == 4, f"duplicate options {options}"
        right = [k for k, v in instance.choices.items() if same_answer(instance, v, expected)]
        assert right == [instance.answer], f"options {instance.choices}, answer {instance.answer}, expected {expected}"
        assert instance.answer_text == instance.choices[instance.answer]
        open_answer = instance.answer_text
        assert f"option {instance.answer}" in instance.solution
    if instance.kind == "distance":  # numerically too: the surd squared is dx² + dy²
        p, q = (next(p for p in instance.scene["points"] if p["name"] == instance.args[k]) for k in "ab")
        outside, _, inside = open_answer.partition("√")
        value = (float(outside) if outside else 1.0) * (math.sqrt(float(inside)) if inside else 1.0)
        assert math.isclose(value ** 2, (p["x"] - q["x"]) ** 2 + (p["y"] - q["y"]) ** 2, rel_tol=1e-9)
    # the kind's declared answer type matches the answer's form
    answer_type = fam.kinds[instance.kind].answer_type
    if answer_type is AnswerType.INTEGER:
        assert re.fullmatch(r"-?\d+", open_answer), open_answer
    elif answer_type is AnswerType.NUMBER:
        assert re.fullmatch(r"-?\d+(\.\d+)?%?", open_answer), open_answer
    assert open_answer in instance.solution


@pytest.mark.parametrize(("family", "strategy"), CASES, ids=IDS)
def test_answers_match_independent_oracle(family, strategy):
    rows = corpus(family, strategy)
    assert len(rows) == len(DIFFICULTIES) * (PARENTS_SAME + PARENTS_CROSS) * 2
    for parent, child, mcq in rows:
        check_instance(parent, mcq_requested=parent.choices is not None)  # half the parents were asked as MCQ
        extended = strategy is Strategy.AUXILIARY_EXTENSION
        check_instance(child, mcq_requested=mcq, extended=extended)


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_every_kind_solved_independently(family, difficulty):
    """Each kind asked directly (open and MCQ), wherever a scene at that difficulty can carry it."""
    rng = np.random.default_rng(7 + difficulty)
    for kind in FAMILIES[family].kinds:
        for i in range(4):
            try:
                instance = sample(family, rng, difficulty, kind=kind, mcq=bool(i % 2))
            except RuntimeError:
                assert (family, kind, difficulty) in UNASKABLE, f"{family}.{kind} unaskable at {difficulty}"
                break
            assert instance.kind == kind
            check_instance(instance, mcq_requested=bool(i % 2))


# Kinds that need more elements than a difficulty's scenes hold (one grid point; one shape kind, no divider).
UNASKABLE = {
    ("grid", "highest", 1), ("grid", "seg_length", 1), ("grid", "distance", 1),
    ("shapes", "count_left", 1), ("shapes", "more_than", 1), ("shapes", "which_most", 1),
    ("shapes", "which_count", 1),
}


def test_unaskable_kinds_are_only_the_structural_ones():
    rng = np.random.default_rng(3)
    for family, kind, difficulty in sorted(UNASKABLE):
        with pytest.raises(RuntimeError):
            sample(family, rng, difficulty, kind=kind)
    for name, fam in FAMILIES.items():  # everything is askable at the top difficulty
        for kind in fam.kinds:
            assert sample(name, rng, 3, kind=kind).kind == kind


def test_multiple_choice_is_used_for_most_requests():
    requested = offered = 0
    fallbacks = Counter()
    for fam, strategy in CASES:
        for _, child, mcq in corpus(fam, strategy):
            if mcq:
                requested += 1
                offered += child.choices is not None
                if child.choices is None:
                    fallbacks[(child.family, child.kind)] += 1
    assert offered >= 0.6 * requested, (offered, requested, fallbacks)


def test_distractors_never_equal_answer_over_many_draws():
    """MCQ over every kind many times: the right option is unique even when values repeat in the scene."""
    rng = np.random.default_rng(11)
    for name, fam in FAMILIES.items():
        for kind in fam.kinds:
            for _ in range(6):
                try:
                    instance = sample(name, rng, 3, kind=kind, mcq=True)
                except RuntimeError:
                    break
                if instance.choices is None:
                    continue
                expected, _ = oracle(instance)
                hits = [v for v in instance.choices.values() if same_answer(instance, v, expected)]
                assert hits == [instance.answer_text]


# ---------------------------------------------------------------------------------------------------------
# 2. Strategy semantics
# ---------------------------------------------------------------------------------------------------------


def askable(family: str, kind: str, scene: dict) -> bool:
    """Whether a scene can carry a kind (its `ask` does not decline); ask's randomness never decides that."""
    return FAMILIES[family].kinds[kind].ask(scene, np.random.default_rng(0)) is not None


def rate(hits: int, total: int) -> float:
    return hits / max(total, 1)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_parameter_variation_keeps_kind_and_family(family):
    kept = total = 0
    for parent, child, _ in corpus(family, Strategy.PARAMETER_VARIATION):
        assert child.family == parent.family
        total += 1
        if child.kind == parent.kind:
            kept += 1
        else:
            assert not askable(family, parent.kind, child.scene), "kind dropped though the scene carries it"
        if child.difficulty == parent.difficulty:  # same structure, new quantities
            assert element_count(family, child.scene) == element_count(family, parent.scene)
            if family == "bars":
                assert child.scene["style"] == parent.scene["style"]
            if family == "shapes":
                assert child.scene["divider"] == parent.scene["divider"]
    assert rate(kept, total) >= 0.85, (kept, total)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_logic_reversion_asks_the_reverse(family):
    hits = total = 0
    for parent, child, _ in corpus(family, Strategy.LOGIC_REVERSION):
        assert child.family == parent.family
        reverse = FAMILIES[family].kinds[parent.kind].reverse or parent.kind
        assert reverse in FAMILIES[family].kinds
        total += 1
        if child.kind == reverse:
            hits += 1
        else:
            assert not askable(family, reverse, child.scene), "reverse dropped though the scene carries it"
    assert rate(hits, total) >= 0.6, (hits, total)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_auxiliary_extension_adds_an_element_and_a_step(family):
    hits = total = grown = same_d = 0
    for parent, child, _ in corpus(family, Strategy.AUXILIARY_EXTENSION):
        assert child.family == parent.family
        extend = FAMILIES[family].kinds[parent.kind].extend or parent.kind
        assert extend in FAMILIES[family].kinds
        total += 1
        if child.kind == extend:
            hits += 1
        else:
            assert not askable(family, extend, child.scene), "extension kind dropped though the scene carries it"
        if child.difficulty == parent.difficulty:
            same_d += 1
            assert element_count(family, child.scene) >= element_count(family, parent.scene)
            grown += element_count(family, child.scene) > element_count(family, parent.scene)
    assert rate(hits, total) >= 0.6, (hits, total)
    assert rate(grown, same_d) >= 0.6, (grown, same_d)  # only full scenes stay the same size


@pytest.mark.parametrize("family", list(FAMILIES))
def test_isomorphic_transfer_changes_family_keeps_computation(family):
    kept = possible = 0
    for parent, child, _ in corpus(family, Strategy.ISOMORPHIC_TRANSFER):
        assert child.family != parent.family
        assert child.family in [f for f in FAMILIES if f != family]  # the corpus names the target
        computation = FAMILIES[family].kinds[parent.kind].computation
        target = FAMILIES[child.family]
        same = [k for k, v in target.kinds.items() if v.computation == computation]
        if not same:
            continue
        possible += 1
        if target.kinds[child.kind].computation == computation:
            kept += 1
        else:
            assert not any(askable(child.family, k, child.scene) for k in same), (
                f"{parent.kind} -> {child.family}.{child.kind} though one of {same} was askable")
    assert rate(kept, possible) >= 0.6, (kept, possible)


def test_transfer_to_names_the_target():
    rng = np.random.default_rng(5)
    for name in FAMILIES:
        parent = sample(name, rng, 2)
        for target in FAMILIES:
            child = apply_strategy(Strategy.ISOMORPHIC_TRANSFER, parent, rng, 2, transfer_to=target)
            assert child.family == target if target != name else child.family != name


# ---------------------------------------------------------------------------------------------------------
# 5. Determinism
# ---------------------------------------------------------------------------------------------------------


def _run(seed: int) -> list[Instance]:
    rng = np.random.default_rng(seed)
    out = []
    for name in FAMILIES:
        for d in DIFFICULTIES:
            parent = sample(name, rng, d, mcq=d == 2)
            out.append(parent)
            out.extend(apply_strategy(s, parent, rng, d, mcq=d == 3) for s in Strategy)
    return out


def test_same_seed_same_instances():
    first, second = _run(123), _run(123)
    assert first == second
    assert [json.dumps(i.scene, sort_keys=True) for i in first] == [json.dumps(i.scene, sort_keys=True) for i in second]
    assert _run(124) != first
