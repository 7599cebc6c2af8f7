"""The foodweb family against an independent oracle: explicit food-chain enumeration over the edge list.

The oracle never calls the family's `solve`, `format_answer`, `distractors` or `Kind.text`; it walks every food
chain by depth-first search, and removes species by iterating a numpy feeding matrix to a fixed point.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache

import numpy as np
import pytest
from tasks import family_harness
from tasks.family_harness import Row

from cadsynth.answers import equivalent
from cadsynth.records import AnswerType, Strategy
from cadsynth.tasks import DIFFICULTIES, FAMILIES, Instance, sample
from cadsynth.tasks.render import SIZE_PX, text_boxes, to_image

NAME = "foodweb"
FAM = FAMILIES[NAME]
OTHERS = [f for f in ("bars", "grid", "shapes") if f in FAMILIES]
LETTERS = ["A", "B", "C", "D"]


# ---------------------------------------------------------------------------------------------------------
# Oracle
# ---------------------------------------------------------------------------------------------------------


def foods_of(scene: dict) -> dict[str, set[str]]:
    foods = {s["name"]: set() for s in scene["species"]}
    for food, eater in scene["edges"]:
        foods[eater].add(food)
    return foods


def all_chains(scene: dict, target: str) -> list[list[str]]:
    """Every food chain (producer first) ending at `target`, by explicit depth-first enumeration."""
    foods = foods_of(scene)
    chains, stack = [], [[target]]
    while stack:
        path = stack.pop()
        head = path[0]
        if not foods[head]:
            chains.append(path)
            continue
        for f in foods[head]:
            assert f not in path, "cycle in the food web"
            stack.append([f, *path])
    return chains


def only(items: list, what: str):
    assert len(items) == 1, f"ambiguous: {what}: {items}"
    return items[0]


def oracle(instance: Instance) -> tuple[str, AnswerType, list[str]]:
    """(answer text, how to compare, phrases the question must contain) from the JSON round trip."""
    scene = json.loads(json.dumps(instance.scene))
    args = json.loads(json.dumps(instance.args))
    kind = instance.kind
    names = [s["name"] for s in scene["species"]]
    foods = foods_of(scene)
    eaters = {n: {e for e, fs in foods.items() if n in fs} for n in names}
    x = args.get("x")
    text, num = AnswerType.TEXT, AnswerType.INTEGER
    if kind == "prey_of":
        return only(sorted(foods[x]), f"food of {x}"), text, [x, "eat"]
    if kind == "predator_of":
        return only(sorted(eaters[x]), f"eater of {x}"), text, [x, "eats"]
    if kind == "count_prey":
        assert foods[x]
        return str(len(foods[x])), num, [x, "eat"]
    if kind == "count_predators":
        return str(len(eaters[x])), num, [x, "eat"]
    if kind == "removal_count":
        assert eaters[x]
        return str(len(eaters[x])), num, [x, "disappeared", "at least one"]
    if kind == "producer":
        return only([n for n in names if not foods[n]], "producer"), text, ["producer"]
    if kind == "top_predator":
        return only([n for n in names if foods[n] and not eaters[n]], "top predator"), text, ["top predator"]
    lengths = {n: {len(c) for c in all_chains(scene, n)} for n in names}
    if kind == "trophic_level":
        return str(only(sorted(lengths[x]), f"level of {x}")), num, [x, "trophic level", "level 1"]
    if kind == "level_species":
        level = args["level"]
        holder = only([n for n in names if level in lengths[n]], f"species at level {level}")
        assert lengths[holder] == {level}, "the only species at that level also feeds at another"
        return holder, text, [f"trophic level {level}", "level 1"]
    if kind == "chains_to":
        chains = all_chains(scene, x)
        assert len({tuple(c) for c in chains}) == len(chains)
        return str(len(chains)), num, [x, "food chains"]
    if kind == "removal_starves":
        return only([n for n in names if foods[n] == {x}], f"starving without {x}"), text, [x, "nothing left"]
    if kind == "removal_cascade":
        index = {n: i for i, n in enumerate(names)}
        feeds = np.zeros((len(names), len(names)), dtype=int)  # feeds[eater, food]
        for food, eater in scene["edges"]:
            feeds[index[eater], index[food]] = 1
        alive = np.ones(len(names), dtype=int)
        alive[index[x]] = 0
        consumer = feeds.sum(axis=1) > 0
        while True:
            starving = consumer & (alive == 1) & ((feeds @ alive) == 0)
            if not starving.any():
                break
            alive[starving] = 0
        return str(int((alive == 0).sum()) - 1), num, [x, "disappeared", "nothing left"]
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
    species = scene["species"]
    names = [s["name"] for s in species]
    assert len(set(names)) == len(names)
    assert not any(a != b and a.lower() in b.lower() for a in names for b in names), "a name inside another"
    level = {s["name"]: s["level"] for s in species}
    assert set(level.values()) == set(range(scene["levels"]))
    assert len({tuple(e) for e in scene["edges"]}) == len(scene["edges"]), "duplicate arrow"
    for food, eater in scene["edges"]:
        assert level[food] < level[eater], "arrow goes down or sideways"
    foods = foods_of(scene)
    for s in species:
        assert (s["level"] == 0) == (not foods[s["name"]]), "producers are exactly the bottom row"
        if s["level"] == 0:
            assert any(f == s["name"] for f, _ in scene["edges"]), "a producer nobody eats"
        if s["level"] < scene["levels"] - 1:
            assert any(f == s["name"] for f, _ in scene["edges"]), f"{s['name']} is eaten by nothing"
        else:
            assert not any(f == s["name"] for f, _ in scene["edges"])
        # a consumer on row k eats something on row k-1, so rows are longest chains
        if s["level"] > 0:
            assert any(level[f] == s["level"] - 1 for f in foods[s["name"]])
    rows = Counter(s["level"] for s in species)
    assert max(rows.values()) <= 4 and rows[scene["levels"] - 1] <= 2
    ys = {}
    for s in species:
        ys.setdefault(s["level"], set()).add(s["y"])
        assert 0 < s["x"] - s["w"] / 2 and s["x"] + s["w"] / 2 < 1
    assert all(len(v) == 1 for v in ys.values())
    assert sorted(ys, key=lambda k: next(iter(ys[k]))) == sorted(ys), "producers are not at the bottom"


def check_knobs(instance: Instance, extended: bool) -> None:
    knobs = FAM.knobs(instance.difficulty)
    assert instance.knobs == knobs
    lo, hi = knobs["species"]
    n = len(instance.scene["species"])
    assert lo <= n <= hi + int(extended), (n, knobs)
    assert knobs["levels"][0] <= instance.scene["levels"] <= knobs["levels"][1]
    assert instance.scene["omnivory"] == knobs["omnivory"]
    if not knobs["omnivory"]:
        level = {s["name"]: s["level"] for s in instance.scene["species"]}
        assert all(level[e] - level[f] == 1 for f, e in instance.scene["edges"])


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
        for a, b in ((a, b) for i, a in enumerate(options) for b in options[i + 1 :]):
            assert not equivalent(a, b, how), f"options {a!r} and {b!r} are equivalent"
        assert f"option {instance.answer}" in instance.solution
        open_answer = instance.answer_text
    if how is AnswerType.INTEGER:
        assert open_answer.isdigit()
    else:
        assert open_answer in [s["name"] for s in instance.scene["species"]]
    assert open_answer in instance.solution
    # restore: the answer recomputed from a JSON round trip of the scene is the same
    kind = FAM.kinds[instance.kind]
    restored = kind.solve(json.loads(json.dumps(instance.scene)), json.loads(json.dumps(instance.args)))
    assert FAM.format_answer(instance.kind, restored) == FAM.format_answer(
        instance.kind, kind.solve(instance.scene, instance.args))


# ---------------------------------------------------------------------------------------------------------
# Corpus: parents and children of all four strategies, open and MCQ, and transfers into the family
# ---------------------------------------------------------------------------------------------------------


@cache
def corpus(strategy: Strategy) -> list[Row]:
    return family_harness.corpus(NAME, strategy, 40, OTHERS)


@pytest.mark.parametrize("strategy", list(Strategy), ids=[s.value for s in Strategy])
def test_answers_match_independent_oracle(strategy):
    family_harness.check_corpus(NAME, strategy, corpus(strategy), check_instance)


def test_transfer_into_foodweb_keeps_the_computation():
    family_harness.check_transfer_in(NAME, OTHERS, check_instance, per_cell=6, seed=9)


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_every_kind_asked_and_solved_independently(difficulty):
    family_harness.check_every_kind(NAME, difficulty, check_instance, per_kind=6, seed=70)


def test_strategy_links_and_rates():
    for kind in FAM.kinds.values():
        assert kind.reverse in FAM.kinds and kind.extend in FAM.kinds
        assert kind.computation in {"read", "count", "difference", "extremum", "sum", "product", "ratio",
                                    "find", "distance"}
    for strategy, attr in ((Strategy.LOGIC_REVERSION, "reverse"), (Strategy.AUXILIARY_EXTENSION, "extend"),
                           (Strategy.PARAMETER_VARIATION, None)):
        rows = corpus(strategy)
        hits = sum(c.kind == (getattr(FAM.kinds[p.kind], attr) if attr else p.kind) for p, c, _ in rows)
        assert hits >= 0.6 * len(rows), (strategy, hits, len(rows))
    mcq = [c for _, c, m in corpus(Strategy.PARAMETER_VARIATION) if m]
    assert sum(c.choices is not None for c in mcq) >= 0.6 * len(mcq)


def test_vary_keeps_structure_and_extend_adds_one_species():
    rng = np.random.default_rng(5)
    grown = 0
    for d in DIFFICULTIES:
        for _ in range(15):
            scene = FAM.scene(rng, d)
            rows = Counter(s["level"] for s in scene["species"])
            varied = FAM.vary(scene, rng)
            check_scene(varied)
            assert Counter(s["level"] for s in varied["species"]) == rows
            assert varied["levels"] == scene["levels"] and varied["omnivory"] == scene["omnivory"]
            assert varied != scene
            extended = FAM.extend_scene(scene, rng)
            check_scene(extended)
            old = {s["name"] for s in scene["species"]}
            new = {s["name"] for s in extended["species"]}
            assert old <= new and len(new) - len(old) in (0, 1)
            assert {tuple(e) for e in scene["edges"]} <= {tuple(e) for e in extended["edges"]}
            grown += len(new) > len(old)
    assert grown >= 0.8 * 45


def test_size_knob_override_from_a_description():
    rng = np.random.default_rng(2)
    assert FAM.size_knob == "species" and "species" in FAM.size_nouns and "food web" in FAM.aliases
    for lo, hi in ((6, 8), (3, 4), (9, 11)):
        for d in DIFFICULTIES:
            knobs = {**FAM.knobs(d), "species": (lo, hi)}
            for _ in range(5):
                scene = FAM.scene(rng, d, knobs)
                check_scene(scene)
                assert lo <= len(scene["species"]) <= hi


# ---------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------


def render_scenes() -> list[dict]:
    rng = np.random.default_rng(17)
    out = []
    for d in DIFFICULTIES:
        out += [FAM.scene(rng, d), FAM.extend_scene(FAM.scene(rng, d), rng)]
    return out


@pytest.fixture(scope="module")
def drawn():
    return [(s, *_draw(s)) for s in render_scenes()]


def _draw(scene):
    fig = FAM.draw(scene)
    return np.asarray(to_image(fig)), text_boxes(fig)


def _segment_hits(p, q, box) -> bool:
    """Whether segment p-q meets the box, by dense sampling (a different method from the family's clipping)."""
    ts = np.linspace(0, 1, 400)
    xs, ys = p[0] + ts * (q[0] - p[0]), p[1] + ts * (q[1] - p[1])
    return bool(((xs >= box[0]) & (xs <= box[2]) & (ys >= box[1]) & (ys <= box[3])).any())


def test_image_size_texts_inside_and_apart(drawn):
    for scene, image, boxes in drawn:
        assert image.shape == (SIZE_PX, SIZE_PX, 3)
        for text, (x0, y0, x1, y1) in boxes:
            assert x0 >= 0 and y0 >= 0 and x1 <= SIZE_PX and y1 <= SIZE_PX, (text, x0, y0, x1, y1)
            assert y1 - y0 >= 10, f"{text!r} too small"
        for i, (ta, a) in enumerate(boxes):
            for tb, b in boxes[i + 1 :]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], f"{ta!r} overlaps {tb!r}"
        texts = Counter(t for t, _ in boxes)
        for s in scene["species"]:
            assert texts[s["name"]] == 1, f"{s['name']} drawn {texts[s['name']]} times"


def test_arrows_avoid_other_labels_and_are_drawn(drawn):
    for scene, image, boxes in drawn:
        where = {t: b for t, b in boxes}
        centre = {n: ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for n, b in where.items()}
        for s in scene["species"]:  # the label sits where the scene says
            cx, cy = centre[s["name"]]
            assert abs(cx - s["x"] * SIZE_PX) < 3 and abs(cy - (1 - s["y"]) * SIZE_PX) < 4
        for food, eater in scene["edges"]:
            p, q = centre[food], centre[eater]
            for name, box in where.items():
                if name in (food, eater) or name not in centre:
                    continue
                pad = (box[0] - 4, box[1] - 4, box[2] + 4, box[3] + 4)  # the label's rounded frame
                assert not _segment_hits(p, q, pad), f"arrow {food}->{eater} crosses the label {name}"
            # the arrow is drawn: dark pixels along the middle of its segment
            mid = (int(round((p[1] + q[1]) / 2)), int(round((p[0] + q[0]) / 2)))
            patch = image[mid[0] - 2 : mid[0] + 3, mid[1] - 2 : mid[1] + 3]
            assert patch.min() < 100, f"no arrow between {food} and {eater}"
            # the head: dark pixels just below the eater's box, on the line from the food
            box = where[eater]
            vx, vy = p[0] - q[0], p[1] - q[1]
            t = ((box[3] - box[1]) / 2 + 9) / abs(vy)
            hx, hy = int(round(q[0] + vx * t)), int(round(q[1] + vy * t))
            head = image[hy - 3 : hy + 4, hx - 3 : hx + 4]
            assert head.min() < 100, f"no arrowhead at {eater} from {food}"


@pytest.mark.slow
def test_ocr_reads_the_species_names():
    pytest.importorskip("rapidocr")
    from cadsynth.checks.ocr import fidelity, match_texts, read_text

    rng = np.random.default_rng(31)
    for d in (1, 3):
        instance = sample(NAME, rng, d, kind="prey_of")
        image = FAM.render(instance.scene)
        lines = [t for t, _ in read_text(image)]
        names = [s["name"] for s in instance.scene["species"]]
        missing, _ = match_texts(lines, names)
        assert not missing, (missing, lines)
        checks = {c.name: c for c in fidelity(image, FAM.visible_texts(instance.scene), instance.answer,
                                              ocr=[(t, 1.0) for t in lines])}
        assert checks["labels_visible"].passed, checks
        assert checks["answer_leak"].passed, checks
