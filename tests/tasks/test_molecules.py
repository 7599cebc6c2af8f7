"""The molecules family against an independent oracle: atom tallies, bond orders and groups from the graph.

The oracle never calls the family's `solve`, `format_answer`, `distractors` or `Kind.text`. It counts atoms and
bonds from the scene JSON, reads the atomic masses the question states, writes formulas in Hill order itself,
detects the functional group by inspecting the bonded neighbours of each atom, and checks a named molecule
against a formula table written out by hand below.
"""

from __future__ import annotations

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

NAME = "molecules"
FAM = FAMILIES[NAME]
OTHERS = [f for f in ("bars", "grid", "shapes") if f in FAMILIES]
LETTERS = ["A", "B", "C", "D"]
VALENCE = {"H": 1, "C": 4, "N": 3, "O": 2, "Cl": 1}
ELEMENT_NAMES = {"H": "hydrogen", "C": "carbon", "N": "nitrogen", "O": "oxygen", "Cl": "chlorine"}
BALL = {"C": (0, 0, 0), "H": (255, 255, 255), "O": (0xD5, 0x5E, 0x00), "N": (0x00, 0x72, 0xB2),
        "Cl": (0x00, 0x9E, 0x73)}
FORMULAS = {  # written out by hand (textbook formulas in Hill order), independent of the family's atoms
    "water": "H2O", "carbon dioxide": "CO2", "ammonia": "H3N", "hydrogen peroxide": "H2O2",
    "formaldehyde": "CH2O", "methane": "CH4", "chloromethane": "CH3Cl", "dichloromethane": "CH2Cl2",
    "formic acid": "CH2O2", "methanol": "CH4O", "ethene": "C2H4", "acetaldehyde": "C2H4O",
    "methylamine": "CH5N", "ethane": "C2H6", "acetic acid": "C2H4O2", "methyl formate": "C2H4O2",
    "chloroethane": "C2H5Cl", "ethanol": "C2H6O", "dimethyl ether": "C2H6O", "propene": "C3H6",
    "ethylamine": "C2H7N", "acetone": "C3H6O", "propanal": "C3H6O", "propane": "C3H8",
    "propanoic acid": "C3H6O2", "methyl acetate": "C3H6O2", "1-chloropropane": "C3H7Cl", "propan-1-ol": "C3H8O",
    "propan-2-ol": "C3H8O", "ethyl methyl ether": "C3H8O", "but-1-ene": "C4H8", "propylamine": "C3H9N",
    "butanal": "C4H8O", "butanone": "C4H8O", "benzene": "C6H6", "butane": "C4H10", "butanoic acid": "C4H8O2",
    "ethyl acetate": "C4H8O2", "butan-1-ol": "C4H10O", "butan-2-ol": "C4H10O", "diethyl ether": "C4H10O",
    "pent-1-ene": "C5H10", "pentan-2-one": "C5H10O", "toluene": "C7H8", "pentane": "C5H12",
}


# ---------------------------------------------------------------------------------------------------------
# Oracle
# ---------------------------------------------------------------------------------------------------------


def hill(tally: Counter) -> str:
    keys = sorted(tally)
    if "C" in tally:
        keys = ["C"] + (["H"] if "H" in tally else []) + [k for k in keys if k not in ("C", "H")]
    return "".join(k + (str(tally[k]) if tally[k] != 1 else "") for k in keys)


def neighbours(scene: dict) -> list[list[tuple[int, int]]]:
    out = [[] for _ in scene["atoms"]]
    for i, j, order in scene["bonds"]:
        out[i].append((j, order))
        out[j].append((i, order))
    return out


def detect_group(scene: dict) -> str | None:
    """The compound family from the bonded neighbours of each atom (None for inorganic molecules)."""
    el = [a["el"] for a in scene["atoms"]]
    nb = neighbours(scene)
    if "C" not in el or el.count("C") == 1 and el.count("O") == 2 and el.count("H") == 0:
        return None  # no carbon, or carbon dioxide
    found = set()
    carbonyl = set()
    for i, e in enumerate(el):
        if e != "C":
            continue
        double_o = [j for j, o in nb[i] if o == 2 and el[j] == "O"]
        if double_o:
            carbonyl.add(i)
            single = [j for j, o in nb[i] if o == 1]
            os_ = [j for j in single if el[j] == "O"]
            if os_:
                oxy = os_[0]
                other = [el[k] for k, _ in nb[oxy] if k != i]
                found.add("carboxylic acid" if other == ["H"] else "ester")
            elif sum(el[j] == "C" for j in single) == 2:
                found.add("ketone")
            else:
                found.add("aldehyde")
    for i, e in enumerate(el):
        kinds = sorted(el[j] for j, _ in nb[i])
        if e == "O" and all(o == 1 for _, o in nb[i]) and not any(j in carbonyl for j, _ in nb[i]):
            if kinds == ["C", "H"]:
                found.add("alcohol")
            elif kinds == ["C", "C"]:
                found.add("ether")
        if e == "N" and "C" in kinds:
            found.add("amine")
        if e == "Cl" and kinds == ["C"]:
            found.add("haloalkane")
    # a six-carbon ring: arene; a C=C outside such a ring: alkene
    ring = _six_ring(scene)
    if ring:
        found.add("arene")
    if any(o == 2 and el[i] == el[j] == "C" and not (i in ring and j in ring) for i, j, o in scene["bonds"]):
        found.add("alkene")
    if not found and set(el) <= {"C", "H"}:
        found.add("alkane")
    assert len(found) == 1, f"several groups: {found}"
    return found.pop()


def _six_ring(scene: dict) -> set[int]:
    nb = neighbours(scene)
    carbons = [i for i, a in enumerate(scene["atoms"]) if a["el"] == "C"]
    for start in carbons:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for j, _ in nb[node]:
                if j == start and len(path) == 6:
                    return set(path)
                if j not in path and len(path) < 6 and scene["atoms"][j]["el"] == "C":
                    stack.append((j, [*path, j]))
    return set()


def stated_masses(question: str) -> dict[str, float]:
    return {e: float(m) for e, m in re.findall(r"\b([A-Z][a-z]?) = (\d+(?:\.\d+)?)", question)}


def num_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def oracle(instance: Instance) -> tuple[str, AnswerType, list[str]]:
    scene = json.loads(json.dumps(instance.scene))
    args = json.loads(json.dumps(instance.args))
    tally = Counter(a["el"] for a in scene["atoms"])
    kind = instance.kind
    text, integer, number = AnswerType.TEXT, AnswerType.INTEGER, AnswerType.NUMBER
    if kind == "count_element":
        return str(tally[args["element"]]), integer, [ELEMENT_NAMES[args["element"]] + " atoms"]
    if kind == "element_with_count":
        symbol = [e for e, n in tally.items() if n == args["n"]]
        assert len(symbol) == 1, f"ambiguous element with {args['n']} atoms"
        return ELEMENT_NAMES[symbol[0]], text, [f"exactly {args['n']} atom"]
    if kind == "total_atoms":
        return str(sum(tally.values())), integer, ["atoms in total"]
    if kind == "count_bonds":
        order = {"single": 1, "double": 2}[args["bond"]]
        n = len([b for b in scene["bonds"] if b[2] == order])
        assert n > 0
        return str(n), integer, [f"{args['bond']} bonds"]
    if kind == "bond_total":
        return str(sum(b[2] for b in scene["bonds"])), integer, ["double bond as two"]
    masses = stated_masses(instance.question)
    if kind == "element_mass":
        e = args["element"]
        assert set(masses) == {e}
        return num_text(tally[e] * masses[e]), number, [ELEMENT_NAMES[e], "one mole"]
    if kind == "molar_mass":
        assert set(masses) == set(tally), "the question must state the mass of every element present"
        return num_text(sum(n * masses[e] for e, n in tally.items())), number, ["molar mass", "g/mol"]
    if kind == "formula":
        assert "C" in tally
        return hill(tally), text, ["molecular formula", "C first"]
    if kind == "identify":
        assert FORMULAS[scene["molecule"]] == hill(tally), "the drawn atoms are not the named molecule"
        return scene["molecule"], text, ["Which molecule"]
    if kind == "functional_group":
        group = detect_group(scene)
        assert group is not None
        return group, text, ["family of compounds", group]
    raise AssertionError(kind)


# ---------------------------------------------------------------------------------------------------------
# Scene validity
# ---------------------------------------------------------------------------------------------------------


def check_scene(scene: dict) -> None:
    json.dumps(scene)
    atoms, bonds = scene["atoms"], scene["bonds"]
    order_sum = Counter()
    for i, j, o in bonds:
        assert i != j and o in (1, 2)
        order_sum[i] += o
        order_sum[j] += o
        length = math.hypot(atoms[i]["x"] - atoms[j]["x"], atoms[i]["y"] - atoms[j]["y"])
        assert 0.9 <= length <= 1.1, f"bond {i}-{j} has length {length}"
    assert len({tuple(sorted(b[:2])) for b in bonds}) == len(bonds)
    for i, a in enumerate(atoms):
        assert order_sum[i] == VALENCE[a["el"]], f"{scene['molecule']}: atom {i} ({a['el']}) valence {order_sum[i]}"
    # connected
    seen, stack = {0}, [0]
    while stack:
        k = stack.pop()
        for j, _ in neighbours(scene)[k]:
            if j not in seen:
                seen.add(j)
                stack.append(j)
    assert len(seen) == len(atoms)
    # atoms apart, and no bond passes through a third atom
    for i, a in enumerate(atoms):
        for b in atoms[i + 1 :]:
            assert math.hypot(a["x"] - b["x"], a["y"] - b["y"]) >= 0.7
    for i, j, _ in bonds:
        p, q = np.array([atoms[i]["x"], atoms[i]["y"]]), np.array([atoms[j]["x"], atoms[j]["y"]])
        for k, c in enumerate(atoms):
            if k in (i, j):
                continue
            r = np.array([c["x"], c["y"]])
            t = np.clip(np.dot(r - p, q - p) / np.dot(q - p, q - p), 0, 1)
            assert np.linalg.norm(p + t * (q - p) - r) > 0.35, "a bond passes through an atom"
    assert scene["molecule"] in FORMULAS


def check_knobs(instance: Instance, extended: bool) -> None:
    knobs = FAM.knobs(instance.difficulty)
    assert instance.knobs == knobs
    lo, hi = knobs["atoms"]
    n = len(instance.scene["atoms"])
    assert lo <= n <= hi + (3 if extended else 0), (n, knobs)  # an extension adds a CH2 (three atoms)


def check_instance(instance: Instance, mcq_requested: bool, extended: bool = False) -> None:
    assert instance.family == NAME and instance.kind in FAM.kinds
    check_scene(instance.scene)
    check_knobs(instance, extended)
    json.dumps(instance.args)
    expected, how, phrases = oracle(instance)
    for phrase in phrases:
        assert phrase in instance.question, (phrase, instance.question)
    assert instance.question.endswith(("?", "."))
    if instance.choices is None:
        assert instance.answer_type is FAM.kinds[instance.kind].answer_type is how
        assert equivalent(instance.answer, expected, how), (instance.question, instance.answer, expected)
        assert equivalent(instance.answer, instance.answer, how)
        if how is not AnswerType.TEXT:  # the plain number a judge might write
            assert equivalent(expected, instance.answer, how)
        open_answer = instance.answer
    else:
        assert mcq_requested and instance.answer_type is AnswerType.MCQ
        assert list(instance.choices) == LETTERS
        options = list(instance.choices.values())
        assert len(set(options)) == 4
        right = [k for k, v in instance.choices.items() if equivalent(v, expected, how)]
        assert right == [instance.answer], (instance.choices, expected)
        for i, a in enumerate(options):
            assert not re.fullmatch(r"[A-Ea-e]", a), "an option text that reads as a letter"
            for b in options[i + 1 :]:
                assert not equivalent(a, b, how)
        assert f"option {instance.answer}" in instance.solution
        open_answer = instance.answer_text
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
    return family_harness.corpus(NAME, strategy, 60, OTHERS)


@pytest.mark.parametrize("strategy", list(Strategy), ids=[s.value for s in Strategy])
def test_answers_match_independent_oracle(strategy):
    family_harness.check_corpus(NAME, strategy, corpus(strategy), check_instance)


def test_transfer_into_molecules():
    family_harness.check_transfer_in(NAME, OTHERS, check_instance, per_cell=6, seed=13)


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_every_kind_asked_and_solved_independently(difficulty):
    family_harness.check_every_kind(NAME, difficulty, check_instance, per_kind=6, seed=80)


def test_every_library_molecule_is_valid_and_grouped_right():
    from cadsynth.tasks.molecules import LIBRARY, build_molecule

    assert set(LIBRARY) == set(FORMULAS)
    for name in LIBRARY:
        scene = build_molecule(name)
        check_scene(scene)
        assert hill(Counter(a["el"] for a in scene["atoms"])) == FORMULAS[name], name
        assert scene["group"] == detect_group(scene), (name, scene["group"])
        grown = FAM.extend_scene(scene, np.random.default_rng(0))
        if grown != scene:  # one more carbon (a CH2, or a CH3 in place of an H)
            diff = Counter(a["el"] for a in grown["atoms"]) - Counter(a["el"] for a in scene["atoms"])
            assert diff == Counter({"C": 1, "H": 2}) or (name, diff) in {("water", Counter({"C": 1, "H": 2}))}


def test_strategy_links_and_rates():
    for kind in FAM.kinds.values():
        assert kind.reverse in FAM.kinds and kind.extend in FAM.kinds
    for strategy, attr in ((Strategy.LOGIC_REVERSION, "reverse"), (Strategy.AUXILIARY_EXTENSION, "extend"),
                           (Strategy.PARAMETER_VARIATION, None)):
        rows = corpus(strategy)
        hits = sum(c.kind == (getattr(FAM.kinds[p.kind], attr) if attr else p.kind) for p, c, _ in rows)
        assert hits >= 0.6 * len(rows), (strategy, hits, len(rows))
    mcq = [c for _, c, m in corpus(Strategy.PARAMETER_VARIATION) if m]
    assert sum(c.choices is not None for c in mcq) >= 0.6 * len(mcq)


def test_vary_picks_a_similar_molecule_and_extend_adds_a_carbon():
    rng = np.random.default_rng(4)
    grown = total = 0
    for d in DIFFICULTIES:
        for _ in range(12):
            scene = FAM.scene(rng, d)
            varied = FAM.vary(scene, rng)
            check_scene(varied)
            assert varied["molecule"] != scene["molecule"]
            assert abs(len(varied["atoms"]) - len(scene["atoms"])) <= 2
            extended = FAM.extend_scene(scene, rng)
            check_scene(extended)
            total += 1
            if extended != scene:
                grown += 1
                c_old = sum(a["el"] == "C" for a in scene["atoms"])
                assert sum(a["el"] == "C" for a in extended["atoms"]) == c_old + 1
                assert len(extended["atoms"]) == len(scene["atoms"]) + 3
    assert grown >= 0.6 * total, (grown, total)


def test_size_knob_override():
    rng = np.random.default_rng(1)
    assert FAM.size_knob == "atoms" and "atoms" in FAM.size_nouns and "molecule" in FAM.aliases
    for lo, hi in ((5, 9), (3, 4), (12, 17)):
        for _ in range(8):
            scene = FAM.scene(rng, 2, {**FAM.knobs(2), "atoms": (lo, hi)})
            assert lo <= len(scene["atoms"]) <= hi


# ---------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def drawn():
    from cadsynth.tasks.molecules import build_molecule

    rng = np.random.default_rng(21)
    scenes = [FAM.scene(rng, d) for d in DIFFICULTIES for _ in range(2)]
    scenes += [build_molecule(n) for n in ("toluene", "pentan-2-one", "dichloromethane", "ammonia")]
    out = []
    for scene in scenes:
        fig = FAM.draw(scene)
        out.append((scene, fig, np.asarray(to_image(fig)), text_boxes(fig)))
    return out


def test_texts_inside_apart_and_every_atom_labelled(drawn):
    for scene, _, image, boxes in drawn:
        assert image.shape == (SIZE_PX, SIZE_PX, 3)
        for text, (x0, y0, x1, y1) in boxes:
            assert x0 >= 0 and y0 >= 0 and x1 <= SIZE_PX and y1 <= SIZE_PX, (text, x0, y0, x1, y1)
            assert max(x1 - x0, y1 - y0) >= 10 and min(x1 - x0, y1 - y0) >= 6, f"{text!r} too small"
        for i, (ta, a) in enumerate(boxes):
            for tb, b in boxes[i + 1 :]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], f"{ta!r} overlaps {tb!r}"
        texts = Counter(t for t, _ in boxes)
        tally = Counter(a["el"] for a in scene["atoms"])
        for e, n in tally.items():
            assert texts[e] == n + 1, f"{e}: {texts[e]} letters for {n} atoms and one key entry"
            assert texts[ELEMENT_NAMES[e]] == 1, f"key entry {ELEMENT_NAMES[e]} missing"
        assert scene["molecule"] not in texts, "the molecule's name is printed"


def test_balls_and_bonds_are_drawn_where_the_scene_says(drawn):
    from cadsynth.tasks.molecules import layout

    for scene, fig, image, boxes in drawn:
        ax = fig.axes[0]
        assert np.allclose(ax.transData.transform((0, 0)), (0, 0)), "data units are not pixels"
        assert np.allclose(ax.transData.transform((SIZE_PX, SIZE_PX)), (SIZE_PX, SIZE_PX))
        xs = np.array([a["x"] for a in scene["atoms"]])
        ys = np.array([a["y"] for a in scene["atoms"]])
        pts = layout(scene)
        for (x, y), atom in zip(pts, scene["atoms"], strict=True):
            # the element letter sits on the ball, and the ball has the key's colour just below the letter
            assert any(t == atom["el"] and abs((b[0] + b[2]) / 2 - x) < 2 and abs((b[1] + b[3]) / 2 - (SIZE_PX - y)) < 3
                       for t, b in boxes), f"no {atom['el']} letter at its ball"
            r = 13 if atom["el"] == "H" else 17
            row, col = int(round(SIZE_PX - y + 0.72 * r)), int(round(x))
            assert np.abs(image[row, col].astype(int) - BALL[atom["el"]]).max() <= 40, (atom, image[row, col])
        # the drawing keeps the scene's geometry: equal scale along x and y
        px = np.array(pts)
        if np.ptp(xs) > 0 and np.ptp(ys) > 0:
            assert math.isclose(np.ptp(px[:, 0]) / np.ptp(xs), np.ptp(px[:, 1]) / np.ptp(ys), rel_tol=1e-6)
        # single bonds: one line through the middle; double bonds: two lines with a gap between
        for i, j, order in scene["bonds"]:
            (x0, y0), (x1, y1) = pts[i], pts[j]
            mx, my = (x0 + x1) / 2, SIZE_PX - (y0 + y1) / 2
            length = math.hypot(x1 - x0, y1 - y0)
            nx, ny = -(y1 - y0) / length, -(x1 - x0) / length  # normal in image rows/cols
            centre = image[int(round(my)), int(round(mx))].astype(int)
            side = image[int(round(my + ny * 4)), int(round(mx + nx * 4))].astype(int)
            if order == 1:
                assert centre.max() < 120, f"single bond {i}-{j} not drawn"
            else:
                assert centre.min() > 200 and side.max() < 120, f"double bond {i}-{j} not two lines"


@pytest.mark.slow
def test_ocr_reads_the_key():
    pytest.importorskip("rapidocr")
    from cadsynth.checks.ocr import match_texts, read_text
    from cadsynth.tasks.molecules import build_molecule

    for name in ("ethanol", "methylamine", "chloroethane"):
        scene = build_molecule(name)
        lines = [t for t, _ in read_text(FAM.render(scene))]
        tally = Counter(a["el"] for a in scene["atoms"])
        wanted = [ELEMENT_NAMES[e] for e in tally]
        missing, _ = match_texts(lines, wanted)
        assert not missing, (missing, lines)
        assert not any(name in t.lower() for t in lines)
