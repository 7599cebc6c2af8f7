"""Shared machinery of the math-family tests (geometry, conics, functions); not a test module itself.

Each test module supplies an independent oracle (scene JSON + kind + args -> the answer as a float, a tuple of
floats or a letter, plus the phrases the question must contain) and its knob checks; this module builds the
corpus (all four strategies, open and multiple choice, transfer out of and into the family) and runs the
generic checks. The oracle never sees the family's `solve`, `format_answer`, `distractors` or `Kind.text`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from cadsynth.answers import equivalent, number
from cadsynth.records import AnswerType, Strategy
from cadsynth.tasks import DIFFICULTIES, FAMILIES, Instance, apply_strategy, sample

MATH = ("geometry", "conics", "functions")
SOURCES = ("bars", "grid", "shapes", *MATH)  # families whose parents transfer into a math family
PARENTS_SAME = 4
PARENTS_CROSS = 1
LETTERS = ["A", "B", "C", "D"]

Oracle = Callable[[dict, str, dict], tuple[Any, list[str]]]
_POINT = re.compile(r"^\(\s*(-?[\d./]+)\s*,\s*(-?[\d./]+)\s*\)$")


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
    sources = [f for f in SOURCES if f != name]
    rows: list[Row] = []
    for d in DIFFICULTIES:
        cross = [int(x) for x in rng.choice([e for e in DIFFICULTIES if e != d], size=PARENTS_CROSS)]
        for i, pd in enumerate([d] * PARENTS_SAME + cross):
            parent = sample(name, rng, pd, mcq=bool(i % 2))
            for mcq in (False, True):
                for strategy in (Strategy.PARAMETER_VARIATION, Strategy.LOGIC_REVERSION,
                                 Strategy.AUXILIARY_EXTENSION):
                    rows.append(Row(strategy, parent, apply_strategy(strategy, parent, rng, d, mcq=mcq), mcq, "own"))
                target = sources[(2 * i + mcq) % len(sources)]
                child = apply_strategy(Strategy.ISOMORPHIC_TRANSFER, parent, rng, d, transfer_to=target, mcq=mcq)
                rows.append(Row(Strategy.ISOMORPHIC_TRANSFER, parent, child, mcq, "out"))
        for i, source in enumerate(sources):
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


def parse(text: str) -> Any:
    """An answer text as a float, a tuple of floats (a point) or a stripped string (a letter)."""
    point = _POINT.match(text.strip())
    if point:
        return tuple(parse(g) for g in point.groups())
    value = number(text)
    return value[0] if value is not None else text.strip()


def same(got: Any, expected: Any) -> bool:
    if isinstance(expected, tuple):
        if not isinstance(got, tuple) or len(got) != len(expected):
            return False
        return all(same(g, e) for g, e in zip(got, expected, strict=True))
    if isinstance(expected, str):
        return got == expected
    return isinstance(got, float) and math.isclose(got, float(expected), rel_tol=1e-6, abs_tol=1e-6)


def oracle_text(expected: Any) -> str:
    """The oracle's answer as a text a judge might write (plain decimals, a point, a letter)."""
    if isinstance(expected, tuple):
        return "(" + ", ".join(oracle_text(e) for e in expected) + ")"
    if isinstance(expected, str):
        return expected
    return f"{float(expected):.6f}".rstrip("0").rstrip(".")


def check_instance(instance: Instance, oracle: Oracle, mcq_requested: bool) -> None:
    fam = FAMILIES[instance.family]
    assert instance.kind in fam.kinds
    assert instance.difficulty in DIFFICULTIES
    assert instance.knobs == fam.knobs(instance.difficulty)
    check_plain_json(instance.scene)
    check_plain_json(instance.args, "args")
    scene = json.loads(json.dumps(instance.scene))
    args = json.loads(json.dumps(instance.args))
    expected, phrases = oracle(scene, instance.kind, args)
    for phrase in phrases:
        assert phrase in instance.question, f"{instance.kind}: {phrase!r} not in {instance.question!r}"
    assert instance.question.strip().endswith(("?", "."))
    # restore: solving the JSON round trip gives the same answer text
    kind = fam.kinds[instance.kind]
    open_answer = fam.format_answer(instance.kind, kind.solve(scene, args))
    assert equivalent(open_answer, open_answer, kind.answer_type)
    if instance.choices is None:
        assert instance.answer_type is kind.answer_type
        assert instance.answer == open_answer
    else:
        assert mcq_requested
        assert instance.answer_type is AnswerType.MCQ
        assert list(instance.choices) == LETTERS
        options = list(instance.choices.values())
        right = [k for k, v in instance.choices.items() if same(parse(v), expected)]
        assert right == [instance.answer], (instance.question, instance.choices, instance.answer, expected)
        for i, a in enumerate(options):  # no option means the same as another
            for b in options[i + 1 :]:
                assert not equivalent(a, b, kind.answer_type), (a, b)
        assert instance.answer_text == open_answer
        assert f"option {instance.answer}" in instance.solution
    assert same(parse(open_answer), expected), (instance.question, open_answer, expected)
    if not isinstance(expected, tuple | str):  # the plain number a judge might write is accepted
        assert equivalent(oracle_text(expected), open_answer, kind.answer_type), (open_answer, expected)
    assert open_answer in instance.solution


def rate(hits: int, total: int) -> float:
    return hits / max(total, 1)


def askable(name: str, kind: str, scene: dict) -> bool:
    return FAMILIES[name].kinds[kind].ask(scene, np.random.default_rng(0)) is not None


def strategy_rates(name: str, count: Callable[[dict], int]) -> dict[str, float]:
    """How often each strategy did what it says (the rest must be because the scene could not carry it)."""
    fam = FAMILIES[name]
    tally = {s: [0, 0] for s in ("variation", "reversion", "extension", "grown", "transfer")}
    for row in corpus(name):
        p, c = row.parent, row.child
        if row.role == "own":
            assert c.family == name
        if row.strategy is Strategy.PARAMETER_VARIATION:
            if c.kind != p.kind:
                assert not askable(name, p.kind, c.scene)
            if c.difficulty == p.difficulty:  # same structure, new quantities: the kind is kept
                tally["variation"][1] += 1
                tally["variation"][0] += c.kind == p.kind
                assert count(c.scene) == count(p.scene), "parameter variation changed the structure"
        elif row.strategy is Strategy.LOGIC_REVERSION:
            reverse = fam.kinds[p.kind].reverse or p.kind
            tally["reversion"][1] += 1
            if c.kind == reverse:
                tally["reversion"][0] += 1
            else:
                assert not askable(name, reverse, c.scene)
        elif row.strategy is Strategy.AUXILIARY_EXTENSION:
            extend = fam.kinds[p.kind].extend or p.kind
            tally["extension"][1] += 1
            if c.kind == extend:
                tally["extension"][0] += 1
            else:
                assert not askable(name, extend, c.scene)
            if c.difficulty == p.difficulty:
                tally["grown"][1] += 1
                assert count(c.scene) >= count(p.scene)
                tally["grown"][0] += count(c.scene) > count(p.scene)
        else:
            assert c.family != p.family
            computation = FAMILIES[p.family].kinds[p.kind].computation
            target = FAMILIES[c.family]
            same_kinds = [k for k, v in target.kinds.items() if v.computation == computation]
            if same_kinds:
                tally["transfer"][1] += 1
                if target.kinds[c.kind].computation == computation:
                    tally["transfer"][0] += 1
                else:
                    assert not any(askable(c.family, k, c.scene) for k in same_kinds)
    return {k: rate(*v) for k, v in tally.items()}


def check_links(name: str) -> None:
    fam = FAMILIES[name]
    vocabulary = {"read", "count", "difference", "extremum", "sum", "product", "ratio", "find", "distance"}
    for kind in fam.kinds.values():
        assert kind.computation in vocabulary
        assert kind.reverse in fam.kinds and kind.extend in fam.kinds
    assert fam.domain == "math" and fam.size_knob and fam.size_nouns and fam.aliases
    for d in DIFFICULTIES:
        lo, hi = fam.knobs(d)[fam.size_knob]
        assert isinstance(lo, int) and lo <= hi


def disjoint(a, b) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
