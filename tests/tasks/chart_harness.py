"""Shared machinery of the chart-family tests (groupedbars, pie, scatter, table); not a test module itself.

Each test module supplies its own independent oracle (scene JSON + args -> answer text and the phrases the
question must contain), its scene/knob checks and its element count; this module builds the corpus of parents
and children (all four strategies, open and multiple-choice, transfer out of and into the family) and runs the
generic checks on it. The oracle is never given the family's `solve`, `format_answer`, `distractors` or text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from cadsynth.answers import equivalent
from cadsynth.records import AnswerType, Strategy
from cadsynth.tasks import DIFFICULTIES, FAMILIES, Instance, apply_strategy, sample
from cadsynth.tasks.render import SIZE_PX, text_boxes, to_image

CHARTS = ("groupedbars", "pie", "scatter", "table")
SOURCES = ("bars", "grid", "shapes", *CHARTS)  # families whose parents transfer into a chart family
PARENTS_SAME = 6
PARENTS_CROSS = 2
LETTERS = ["A", "B", "C", "D"]

Oracle = Callable[[dict, str, dict], tuple[str, list[str]]]


@dataclass(frozen=True)
class Row:
    strategy: Strategy
    parent: Instance
    child: Instance
    mcq: bool
    role: str  # "own" (same family), "out" (transfer to another family), "in" (transfer into this family)


@cache
def corpus(name: str) -> tuple[Row, ...]:
    """Deterministic parents and children of `name` for every difficulty, strategy and form."""
    rng = np.random.default_rng(sum(map(ord, name)))
    others = [f for f in SOURCES if f != name]
    targets = [f for f in (*CHARTS, "bars") if f != name]
    rows: list[Row] = []
    for d in DIFFICULTIES:
        cross = [int(x) for x in rng.choice([e for e in DIFFICULTIES if e != d], size=PARENTS_CROSS)]
        for i, pd in enumerate([d] * PARENTS_SAME + cross):
            parent = sample(name, rng, pd, mcq=bool(i % 2))
            for mcq in (False, True):
                for strategy in (Strategy.PARAMETER_VARIATION, Strategy.LOGIC_REVERSION,
                                 Strategy.AUXILIARY_EXTENSION):
                    rows.append(Row(strategy, parent, apply_strategy(strategy, parent, rng, d, mcq=mcq), mcq, "own"))
                target = targets[(i + mcq) % len(targets)]
                child = apply_strategy(Strategy.ISOMORPHIC_TRANSFER, parent, rng, d, transfer_to=target, mcq=mcq)
                rows.append(Row(Strategy.ISOMORPHIC_TRANSFER, parent, child, mcq, "out"))
        for i, source in enumerate(others):
            parent = sample(source, rng, d, mcq=bool(i % 2))
            for mcq in (False, True):
                child = apply_strategy(Strategy.ISOMORPHIC_TRANSFER, parent, rng, d, transfer_to=name, mcq=mcq)
                rows.append(Row(Strategy.ISOMORPHIC_TRANSFER, parent, child, mcq, "in"))
    return tuple(rows)


def instances_of(name: str) -> list[tuple[Instance, bool, bool]]:
    """(instance of `name`, MCQ requested, made by auxiliary extension) for every instance in the corpus."""
    out = []
    for row in corpus(name):
        if row.role != "in":
            out.append((row.parent, row.parent.choices is not None, False))
        if row.child.family == name:
            out.append((row.child, row.mcq, row.strategy is Strategy.AUXILIARY_EXTENSION))
    return out


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


def roundtrip(value: Any) -> Any:
    return json.loads(json.dumps(value))


def check_instance(instance: Instance, oracle: Oracle, mcq_requested: bool) -> None:
    """Everything about one instance that does not depend on the family's own code paths."""
    fam = FAMILIES[instance.family]
    kind = fam.kinds[instance.kind]
    check_plain_json(instance.scene)
    check_plain_json(instance.args, "args")
    scene, args = roundtrip(instance.scene), roundtrip(instance.args)
    expected, phrases = oracle(scene, instance.kind, args)
    for phrase in phrases:
        assert phrase in instance.question, f"{instance.kind}: {phrase!r} not in {instance.question!r}"
    assert instance.question.strip().endswith(("?", "."))
    answer_type = kind.answer_type
    text = instance.answer_text
    assert equivalent(text, text, answer_type), text
    assert equivalent(expected, text, answer_type), (instance.question, text, expected)
    if instance.choices is None:
        assert instance.answer_type is answer_type
    else:
        assert mcq_requested
        assert instance.answer_type is AnswerType.MCQ
        assert list(instance.choices) == LETTERS
        options = list(instance.choices.values())
        assert len(set(options)) == 4, options
        right = [k for k, v in instance.choices.items() if equivalent(v, expected, answer_type)]
        assert right == [instance.answer], (instance.choices, instance.answer, expected)
        for i, a in enumerate(options):  # no two options mean the same
            assert not any(equivalent(a, b, answer_type) for b in options[i + 1 :]), options
        assert equivalent(instance.answer, instance.answer, AnswerType.MCQ, instance.choices)
        assert f"option {instance.answer}" in instance.solution
    assert text in instance.solution
    # rebuild from the JSON round trip (what `restore` does): the same answer
    rebuilt = fam.format_answer(instance.kind, kind.solve(scene, args))
    assert rebuilt == text, (rebuilt, text)
    assert kind.text(scene, args) == instance.question


def askable(name: str, kind: str, scene: dict) -> bool:
    """Whether a scene can carry a kind; `ask`'s randomness never decides that."""
    return FAMILIES[name].kinds[kind].ask(scene, np.random.default_rng(0)) is not None


def rate(hits: int, total: int) -> float:
    return hits / max(total, 1)


def check_strategies(name: str, element_count: Callable[[dict], int], structure: Callable[[dict], Any]) -> None:
    """The four strategies do what they say on this family's corpus."""
    fam = FAMILIES[name]
    stats = {s: [0, 0] for s in Strategy}
    grown = same_d = 0
    for row in corpus(name):
        parent, child = row.parent, row.child
        if row.role == "in":
            assert child.family == name
            computation = FAMILIES[parent.family].kinds[parent.kind].computation
            same = [k for k, v in fam.kinds.items() if v.computation == computation]
            if same:
                stats[row.strategy][1] += 1
                if fam.kinds[child.kind].computation == computation:
                    stats[row.strategy][0] += 1
                else:
                    assert not any(askable(name, k, child.scene) for k in same), (parent.kind, child.kind)
            continue
        if row.role == "out":
            assert child.family != name
            computation = fam.kinds[parent.kind].computation
            target = FAMILIES[child.family]
            same = [k for k, v in target.kinds.items() if v.computation == computation]
            if same and target.kinds[child.kind].computation != computation:
                assert not any(askable(child.family, k, child.scene) for k in same), (parent.kind, child.kind)
            continue
        assert child.family == name
        wanted = {
            Strategy.PARAMETER_VARIATION: parent.kind,
            Strategy.LOGIC_REVERSION: fam.kinds[parent.kind].reverse or parent.kind,
            Strategy.AUXILIARY_EXTENSION: fam.kinds[parent.kind].extend or parent.kind,
        }[row.strategy]
        assert wanted in fam.kinds
        stats[row.strategy][1] += 1
        if child.kind == wanted:
            stats[row.strategy][0] += 1
        else:
            assert not askable(name, wanted, child.scene), f"{row.strategy}: {wanted} dropped though askable"
        if child.difficulty == parent.difficulty:
            if row.strategy is not Strategy.AUXILIARY_EXTENSION:
                assert structure(child.scene) == structure(parent.scene), row.strategy
            else:
                same_d += 1
                assert element_count(child.scene) >= element_count(parent.scene)
                grown += element_count(child.scene) > element_count(parent.scene)
    assert rate(*stats[Strategy.PARAMETER_VARIATION]) >= 0.85, stats
    assert rate(*stats[Strategy.LOGIC_REVERSION]) >= 0.6, stats
    assert rate(*stats[Strategy.AUXILIARY_EXTENSION]) >= 0.6, stats
    assert rate(*stats[Strategy.ISOMORPHIC_TRANSFER]) >= 0.6, stats
    assert rate(grown, same_d) >= 0.6, (grown, same_d)


def check_coverage(name: str) -> None:
    """Every kind appears in the corpus, and MCQ requests mostly get four options."""
    seen = {inst.kind for inst, _, _ in instances_of(name)}
    assert seen == set(FAMILIES[name].kinds), set(FAMILIES[name].kinds) - seen
    requested = [inst for inst, mcq, _ in instances_of(name) if mcq]
    offered = [inst for inst in requested if inst.choices is not None]
    assert len(offered) >= 0.9 * len(requested), (len(offered), len(requested))


# ---------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------


MIN_TEXT_PX = 10


def render_scenes(name: str, per_difficulty: int = 2) -> list[tuple[int, dict]]:
    """A few scenes per difficulty, the last one extended by one element beyond the knobs."""
    fam = FAMILIES[name]
    out = []
    for d in DIFFICULTIES:
        rng = np.random.default_rng(50 + d)
        scenes = [fam.scene(rng, d) for _ in range(per_difficulty - 1)]
        scenes.append(fam.extend_scene(fam.scene(rng, d), rng))
        out.extend((d, s) for s in scenes)
    return out


def disjoint(a, b) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def check_rendering(name: str, scene: dict, required: list[str]) -> list[tuple[str, tuple]]:
    """448x448 RGB image, every text inside and readable, no two texts overlapping, required texts drawn."""
    fig = FAMILIES[name].draw(scene)
    boxes = text_boxes(fig)
    image = np.asarray(to_image(fig))
    assert image.shape == (SIZE_PX, SIZE_PX, 3)
    assert (image < 240).any(axis=2).mean() > 0.01
    for text, (x0, y0, x1, y1) in boxes:
        assert x0 >= 0 and y0 >= 0 and x1 <= SIZE_PX and y1 <= SIZE_PX, f"{text!r} cut off: {(x0, y0, x1, y1)}"
        assert min(x1 - x0, y1 - y0) >= MIN_TEXT_PX * 0.6 and max(x1 - x0, y1 - y0) >= MIN_TEXT_PX, text
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1 :]:
            assert disjoint(box_a, box_b), f"{a!r} overlaps {b!r}"
    drawn = [t for t, _ in boxes]
    remaining = list(drawn)
    for text in required:
        assert text in remaining, f"{text!r} not drawn; drawn: {drawn}"
        remaining.remove(text)
    return boxes


def ocr_missing(name: str, scene: dict, required: list[str]):
    """The required texts OCR does not read back (a Counter; empty when all are read)."""
    from cadsynth.checks.ocr import match_texts, read_text

    lines = [t for t, _ in read_text(FAMILIES[name].render(scene))]
    missing, _ = match_texts(lines, required)
    return missing, lines
