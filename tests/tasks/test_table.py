"""table: an independent oracle over the corpus (all strategies, open and MCQ), knobs, rendering, OCR."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from tasks.chart_harness import (
    check_coverage,
    check_instance,
    check_rendering,
    check_strategies,
    corpus,
    instances_of,
    ocr_missing,
    render_scenes,
)

from cadsynth.records import Strategy
from cadsynth.tasks import DIFFICULTIES, FAMILIES

NAME = "table"


def _one(items: list, what: str):
    assert len(items) == 1, f"ambiguous: {what}: {items}"
    return items[0]


def oracle(scene: dict, kind: str, args: dict) -> tuple[str, list[str]]:
    """The answer from the scene JSON, through a numpy matrix indexed by row and column names."""
    m = np.array(scene["values"], dtype=np.int64)
    r = {name: i for i, name in enumerate(scene["rows"])}
    c = {name: j for j, name in enumerate(scene["cols"])}
    rows = scene["rows"]
    if kind == "cell":
        return str(m[r[args["row"]], c[args["col"]]]), [args["row"], args["col"]]
    if kind == "find_row":
        col = m[:, c[args["col"]]]
        return _one([rows[i] for i in np.flatnonzero(col == args["v"])], "find_row"), [str(args["v"]), args["col"]]
    if kind == "difference":
        d = m[r[args["a"]], c[args["col"]]] - m[r[args["b"]], c[args["col"]]]
        assert d > 0
        return str(d), [args["a"], args["b"], args["col"]]
    if kind == "percent_change":
        assert c[args["a"]] < c[args["b"]]
        a, b = int(m[r[args["row"]], c[args["a"]]]), int(m[r[args["row"]], c[args["b"]]])
        change = Fraction(100 * (b - a), a)
        assert a != b and change.denominator == 1
        return f"{change.numerator}%", [args["row"], f"from {args['a']} to {args['b']}", "percent"]
    if kind == "row_total":
        return str(m.sum(axis=1)[r[args["row"]]]), [args["row"], "row"]
    if kind == "col_total":
        return str(m.sum(axis=0)[c[args["col"]]]), [args["col"], "column"]
    if kind in ("max_value", "which_max"):
        col = m[:, c[args["col"]]]
        winners = np.flatnonzero(col == col.max())
        name = _one([rows[i] for i in winners], "column maximum")
        return (str(col.max()) if kind == "max_value" else name), [args["col"], "highest"]
    if kind == "range":
        col = m[:, c[args["col"]]]
        return str(np.ptp(col)), [args["col"], "highest", "lowest"]
    if kind == "count_above":
        return str(int((m[:, c[args["col"]]] > args["t"]).sum())), [f"greater than {args['t']}", args["col"]]
    if kind == "which_max_total":
        totals = m.sum(axis=1)
        return _one([rows[i] for i in np.flatnonzero(totals == totals.max())], "largest total"), ["largest total"]
    raise AssertionError(f"unknown kind {kind}")


def element_count(scene: dict) -> int:
    return len(scene["rows"])


def structure(scene: dict) -> tuple:
    return len(scene["rows"]), len(scene["cols"]), scene["step"], scene["vmax"]


def check_scene(instance, extended: bool) -> None:
    scene, knobs = instance.scene, FAMILIES[NAME].knobs(instance.difficulty)
    assert instance.knobs == knobs
    lo, hi = knobs["rows"]
    assert lo <= len(scene["rows"]) <= hi + int(extended)
    assert knobs["cols"][0] <= len(scene["cols"]) <= knobs["cols"][1]
    assert len(set(scene["rows"])) == len(scene["rows"]) and len(set(scene["cols"])) == len(scene["cols"])
    assert len(scene["values"]) == len(scene["rows"])
    for row in scene["values"]:
        assert len(row) == len(scene["cols"])
        for v in row:
            assert type(v) is int and v % knobs["step"] == 0 and 10 <= v <= knobs["vmax"], v


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


def test_percent_change_transfers_from_charts_to_tables():
    """Isomorphic transfer keeps the computation: a chart's percent change becomes a table's percent change."""
    moved = [row.child.kind for row in corpus(NAME)
             if row.role == "in" and row.strategy is Strategy.ISOMORPHIC_TRANSFER
             and FAMILIES[row.parent.family].kinds[row.parent.kind].computation == "ratio"]
    assert moved and all(k == "percent_change" for k in moved)
    assert FAMILIES["bars"].kinds["percent_change"].computation == FAMILIES[NAME].kinds["percent_change"].computation


def test_difficulty_changes_the_scene():
    fam = FAMILIES[NAME]
    rng = np.random.default_rng(4)
    scenes = {d: [fam.scene(rng, d) for _ in range(20)] for d in DIFFICULTIES}
    cells = {d: [len(s["rows"]) * len(s["cols"]) for s in scenes[d]] for d in DIFFICULTIES}
    assert max(cells[1]) < min(cells[2]) <= max(cells[2]) < min(cells[3])
    assert any(v % 5 for s in scenes[3] for row in s["values"] for v in row)  # less regular values
    ask = fam.kinds["percent_change"].ask
    assert all(ask(s, rng) is not None for d in DIFFICULTIES for s in scenes[d])  # a clean change is planted


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
            assert grown["rows"][:-1] == scene["rows"] and grown["values"][:-1] == scene["values"]
            assert len(grown["rows"]) == len(scene["rows"]) + 1 and grown["cols"] == scene["cols"]


# ---------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------


def required_texts(scene: dict) -> list[str]:
    """Every header and every cell: the table is read, not measured."""
    cells = [str(v) for row in scene["values"] for v in row]
    return [*scene["rows"], *scene["cols"], *cells, scene["title"]]


@pytest.mark.parametrize(("difficulty", "scene"), render_scenes(NAME), ids=lambda v: str(v) if isinstance(v, int) else "")
def test_rendering(difficulty, scene):
    boxes = check_rendering(NAME, scene, required_texts(scene))
    centre = {}
    for text, (x0, y0, x1, y1) in boxes:
        centre.setdefault(text, []).append(((x0 + x1) / 2, (y0 + y1) / 2))
    row_y = [centre[name][0][1] for name in scene["rows"]]
    col_x = [centre[name][0][0] for name in scene["cols"]]
    assert row_y == sorted(row_y) and col_x == sorted(col_x)
    for i, row in enumerate(scene["values"]):  # each number sits at its row's height and its column's x
        for j, v in enumerate(row):
            assert any(abs(x - col_x[j]) < 2 and abs(y - row_y[i]) < 2 for x, y in centre[str(v)]), (v, i, j)


@pytest.mark.slow
def test_ocr_reads_the_cells():
    pytest.importorskip("rapidocr")
    fam = FAMILIES[NAME]
    rng = np.random.default_rng(12)
    for d in (1, 3):
        scene = fam.scene(rng, d)
        missing, lines = ocr_missing(NAME, scene, required_texts(scene))
        assert not missing, (missing, lines)
