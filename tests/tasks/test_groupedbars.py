"""groupedbars: an independent oracle over the corpus (all strategies, open and MCQ), knobs, rendering, OCR."""

from __future__ import annotations

from collections import defaultdict
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

NAME = "groupedbars"
GROUP_LABELS = {"year": ["2019", "2020", "2021", "2022", "2023", "2024"],
                "month": ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]}
PALETTE_NAMES = {"blue", "orange", "green", "red", "purple", "sky blue", "yellow", "black"}


def _one(items: list, what: str):
    assert len(items) == 1, f"ambiguous: {what}: {items}"
    return items[0]


def oracle(scene: dict, kind: str, args: dict) -> tuple[str, list[str]]:
    """The answer from the scene JSON: a (series, group) table, totals by accumulation, percents as fractions."""
    cell = {}
    for s_name, row in zip(scene["series"], scene["values"], strict=True):
        for g_name, v in zip(scene["groups"], row, strict=True):
            cell[(s_name, g_name)] = v
    total = defaultdict(int)
    for (_, g_name), v in cell.items():
        total[g_name] += v
    groups = scene["groups"]

    def pct(a: int, b: int) -> str:
        change = Fraction(b - a, a) * 100
        assert a != b and change.denominator == 1, (a, b)
        return f"{change.numerator}%"

    if kind == "segment":
        return str(cell[(args["series"], args["group"])]), [args["series"], args["group"]]
    if kind == "find_group":
        hits = [g for g in groups if cell[(args["series"], g)] == args["v"]]
        return _one(hits, "find_group"), [args["series"], str(args["v"])]
    if kind == "series_difference":
        diff = cell[(args["a"], args["group"])] - cell[(args["b"], args["group"])]
        assert diff > 0
        return str(diff), [args["a"], args["b"], args["group"]]
    if kind == "stack_total":
        return str(total[args["group"]]), [args["group"], "total"]
    if kind == "total_difference":
        diff = total[args["a"]] - total[args["b"]]
        assert diff > 0
        return str(diff), [args["a"], args["b"], "total"]
    ranked = sorted(groups, key=lambda g: -total[g])
    if kind == "max_total":
        assert total[ranked[0]] > total[ranked[1]] if len(ranked) > 1 else True
        return str(total[ranked[0]]), ["largest total"]
    if kind == "which_max_total":
        best = [g for g in groups if total[g] == total[ranked[0]]]
        return _one(best, "largest total"), ["largest total"]
    if kind == "count_greater":
        assert args["a"] != args["b"]
        return str(len([g for g in groups if cell[(args["a"], g)] > cell[(args["b"], g)]])), [args["a"], args["b"]]
    if kind == "percent_change":
        assert groups.index(args["a"]) < groups.index(args["b"])
        return pct(cell[(args["series"], args["a"])], cell[(args["series"], args["b"])]), [
            args["series"], f"from {args['a']} to {args['b']}", "percent"]
    if kind == "total_percent_change":
        assert groups.index(args["a"]) < groups.index(args["b"])
        return pct(total[args["a"]], total[args["b"]]), [f"from {args['a']} to {args['b']}", "total", "percent"]
    raise AssertionError(f"unknown kind {kind}")


def element_count(scene: dict) -> int:
    return len(scene["groups"]) * len(scene["series"])


def structure(scene: dict) -> tuple:
    return scene["style"], len(scene["groups"]), len(scene["series"]), scene["group_noun"]


def check_scene(instance, extended: bool) -> None:
    """Readable by construction, and within the knobs of the instance's difficulty."""
    scene, knobs = instance.scene, FAMILIES[NAME].knobs(instance.difficulty)
    assert instance.knobs == knobs
    n_g, n_s = len(scene["groups"]), len(scene["series"])
    assert scene["groups"] == GROUP_LABELS[scene["group_noun"]][:n_g]
    assert len(set(scene["series"])) == n_s and len(set(scene["colours"])) == n_s
    assert set(scene["colours"]) <= PALETTE_NAMES
    assert len(scene["values"]) == n_s and all(len(row) == n_g for row in scene["values"])
    for row in scene["values"]:
        for v in row:  # every bar top / segment boundary lies on a ticked gridline
            assert v % 10 == 0 and 10 <= v <= knobs["vmax"], v
    assert scene["style"] in knobs["styles"]
    g_lo, g_hi = knobs["groups"]
    s_lo, s_hi = knobs["series"]
    if extended:  # one more group, or one more series when the groups are full
        assert g_lo <= n_g <= g_hi + 1 and s_lo <= n_s <= s_hi + 1
        assert (n_g > g_hi) + (n_s > s_hi) <= 1
    else:
        assert g_lo <= n_g <= g_hi and s_lo <= n_s <= s_hi


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
    sizes = {d: [element_count(fam.scene(rng, d)) for _ in range(20)] for d in DIFFICULTIES}
    assert max(sizes[1]) < min(sizes[3])
    assert {fam.scene(rng, 3)["style"] for _ in range(30)} == {"grouped", "stacked"}


def test_vary_and_extend_semantics():
    fam = FAMILIES[NAME]
    rng = np.random.default_rng(9)
    for d in DIFFICULTIES:
        for _ in range(10):
            scene = fam.scene(rng, d)
            varied = [fam.vary(scene, rng) for _ in range(3)]
            assert all(structure(v) == structure(scene) for v in varied)
            assert any(v["values"] != scene["values"] for v in varied)
            grown = fam.extend_scene(scene, rng)
            assert element_count(grown) > element_count(scene)
            if len(grown["groups"]) > len(scene["groups"]):  # existing bars kept, one group appended
                assert [row[:-1] for row in grown["values"]] == scene["values"]
                assert grown["groups"][:-1] == scene["groups"]
            else:
                assert grown["values"][:-1] == scene["values"]
    full = {**fam.scene(rng, 3), "groups": GROUP_LABELS["year"], "group_noun": "year"}
    full["values"] = [[10] * 6 for _ in full["series"]]
    assert fam.extend_scene(full, rng) == full  # 6 groups and 3 series: nothing more fits


# ---------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------


def required_texts(scene: dict) -> list[str]:
    """The labels questions rely on: groups, series names (legend), every gridline tick."""
    ymax = FAMILIES[NAME].ymax(scene)
    return [*scene["groups"], *scene["series"], *(str(v) for v in range(0, ymax + 1, 10))]


@pytest.mark.parametrize(("difficulty", "scene"), render_scenes(NAME), ids=lambda v: str(v) if isinstance(v, int) else "")
def test_rendering(difficulty, scene):
    boxes = check_rendering(NAME, scene, required_texts(scene))
    ymax = FAMILIES[NAME].ymax(scene)
    assert ymax > max(max(r) for r in scene["values"])
    if scene["style"] == "stacked":
        assert ymax > max(sum(c) for c in zip(*scene["values"], strict=True))
    labels = [b for t, b in boxes if t in scene["groups"]]
    assert [b[0] for b in labels] == sorted(b[0] for b in labels)  # groups left to right in order


def test_bars_heights_match_the_scene():
    fam = FAMILIES[NAME]
    rng = np.random.default_rng(2)
    for style in ("grouped", "stacked"):
        scene = next(s for s in (fam.scene(rng, 3) for _ in range(50)) if s["style"] == style)
        ax = fam.draw(scene).axes[0]
        tops = sorted(p.get_y() + p.get_height() for p in ax.patches)
        if style == "grouped":
            expected = sorted(v for row in scene["values"] for v in row)
        else:
            expected = sorted(sum(col[: k + 1]) for col in zip(*scene["values"], strict=True)
                              for k in range(len(scene["series"])))
        assert tops == pytest.approx(expected)


@pytest.mark.slow
def test_ocr_reads_the_labels():
    pytest.importorskip("rapidocr")
    fam = FAMILIES[NAME]
    rng = np.random.default_rng(12)
    for d in (2, 3):
        scene = fam.scene(rng, d)
        missing, lines = ocr_missing(NAME, scene, [*scene["groups"], *scene["series"], scene["topic"]])
        assert not missing, (missing, lines)
