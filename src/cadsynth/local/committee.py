"""The embedded judging committee: three tiny VLMs trained on the task families, gated, and shipped.

`train_committee` renders a pool of program scenes (each scene carries every question its family can ask),
trains each judge on it for a fixed number of steps from a fixed seed (so the weights are reproducible), then
measures every judge on held-out scenes against a blank-image control. A judge keeps a *skill* (family, kind)
only where it beats the blank control clearly; elsewhere it abstains, with that measurement as the reason.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cadsynth.answers import equivalent
from cadsynth.local.vlm import TinyVLM, VLMSpec, to_pixels, train
from cadsynth.records import stable_hash
from cadsynth.tasks import DIFFICULTIES, FAMILIES, build

BUILTIN_DIR = Path(__file__).parent / "weights"
SKILLS_FILE = "skills.json"
SIZES = (64, 96)

JUDGES: dict[str, VLMSpec] = {
    "judge-a": VLMSpec(image_size=64, patch_size=16, seed=0),
    "judge-b": VLMSpec(image_size=64, patch_size=16, seed=3),
    "judge-c": VLMSpec(image_size=64, patch_size=16, seed=4),
}
# What the judges are taught: questions answerable from visual quantities (heights, positions, counts).
# Everything else (reading labels, multi-step arithmetic) is left to the gate, which makes them abstain.
TRAIN_KINDS = frozenset({
    "bars/max_value", "bars/value_at", "bars/count_above", "bars/which_max",
    "grid/point_x", "grid/point_y", "grid/rect_area", "grid/seg_length",
    "shapes/count_all", "shapes/count_kind", "shapes/count_left", "shapes/count_colour",
    "scatter/count_colour", "scatter/colour_most", "scatter/count_region",
    "molecules/total_atoms", "molecules/count_element",
    "functions/num_roots", "geometry/angle_sum", "conics/on_circle",
})
# Families with a taught kind: the training pool. The held-out pool spans every family, so the accuracy table
# (and the gate) covers the families the judges were not taught too.
TAUGHT_FAMILIES = tuple(sorted({kind.split("/")[0] for kind in TRAIN_KINDS}))
GATE_MARGIN = 0.10  # accuracy over the blank-image control that earns a skill


@dataclass(frozen=True)
class PoolScene:
    family: str
    difficulty: int
    questions: list[tuple[str, str, str]]  # (kind, question, answer)


def _scene_questions(family: str, difficulty: int, seed: int) -> tuple[dict, list[tuple[str, str, str]]]:
    rng = np.random.default_rng([seed, 7])
    fam = FAMILIES[family]
    scene = fam.scene(rng, difficulty)
    if rng.random() < 0.25:
        scene = fam.extend_scene(scene, rng)  # auxiliary extension adds one element beyond the knob
    questions: dict[str, tuple[str, str, str]] = {}
    for kind in fam.kinds:
        for _ in range(3):
            instance = build(fam, scene, kind, difficulty, rng)
            if instance is not None:
                questions[instance.question] = (kind, instance.question, instance.answer)
    return scene, list(questions.values())


def _render_one(job: tuple[str, int, int]) -> tuple[PoolScene, dict[int, np.ndarray]]:
    family, difficulty, seed = job
    scene, questions = _scene_questions(family, difficulty, seed)
    image = FAMILIES[family].render(scene)
    return PoolScene(family, difficulty, questions), {s: to_pixels(image, s) for s in SIZES}


def render_pool(n: int, seed: int, workers: int = 2, log: Callable[[str], None] = print,
                families: tuple[str, ...] | None = None) -> tuple[list[PoolScene], dict[int, np.ndarray]]:
    """`n` scenes spread evenly over `families` (default: all) and difficulties, rendered in `workers` processes."""
    cells = [(f, d) for f in families or tuple(FAMILIES) for d in DIFFICULTIES]
    jobs = [(*cells[i % len(cells)], int(stable_hash(seed, i), 16) % 2**31) for i in range(n)]
    scenes: list[PoolScene] = []
    pixels = {s: np.zeros((n, s, s, 3), dtype=np.uint8) for s in SIZES}
    start = time.time()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for i, (scene, px) in enumerate(pool.imap(_render_one, jobs, chunksize=16)):
            scenes.append(scene)
            for s in SIZES:
                pixels[s][i] = px[s]
            if (i + 1) % 2000 == 0:
                log(f"rendered {i + 1}/{n} scenes ({(i + 1) / (time.time() - start):.0f}/s)")
    return scenes, pixels


def corpus(scenes: list[PoolScene]) -> list[str]:
    return [text for s in scenes for _, q, a in s.questions for text in (q, a)]


def batches(scenes: list[PoolScene], pixels: np.ndarray, seed: int, size: int = 32) -> Iterator[
    list[tuple[np.ndarray, str, str]]
]:
    """Endless batches: a random scene, then a random question of a taught kind about it."""
    rng = np.random.default_rng(seed)
    taught = [[(q, a) for kind, q, a in s.questions if f"{s.family}/{kind}" in TRAIN_KINDS] for s in scenes]
    usable = np.array([i for i, qs in enumerate(taught) if qs])
    while True:
        batch = []
        for i in usable[rng.integers(0, len(usable), size=size)]:
            question, answer = taught[i][int(rng.integers(len(taught[i])))]
            batch.append((pixels[i], question, answer))
        yield batch


def _support(scenes: list[PoolScene]) -> dict[tuple[str, str, int], set[str]]:
    """The answers each (family, kind, difficulty) takes: uniform guessing among them is chance."""
    support: dict[tuple[str, str, int], set[str]] = defaultdict(set)
    for s in scenes:
        for kind, _, answer in s.questions:
            support[(s.family, kind, s.difficulty)].add(answer)
    return support


def evaluate(vlm: TinyVLM, scenes: list[PoolScene], pixels: np.ndarray, only: set[str] | None = None) -> dict:
    """Accuracy per (family, difficulty) and per (family, kind), with a blank-image control and chance.

    Answers are matched with the pipeline's matcher; `only` restricts to some "family/kind" keys.
    """
    support = _support(scenes)
    blank = np.full_like(pixels[0], 255)
    items = [(i, kind, q, a) for i, s in enumerate(scenes) for kind, q, a in s.questions
             if only is None or f"{s.family}/{kind}" in only]
    if not items:
        return {"cells": {}, "kinds": {}}
    seen = vlm.answer([pixels[i] for i, *_ in items], [q for _, _, q, _ in items])
    blind = vlm.answer([blank] * len(items), [q for _, _, q, _ in items])
    by_cell: dict[str, list[tuple[bool, bool, float]]] = defaultdict(list)
    by_kind: dict[str, list[tuple[bool, bool, float]]] = defaultdict(list)
    for (i, kind, _, answer), got, control in zip(items, seen, blind, strict=True):
        scene = scenes[i]
        answer_type = FAMILIES[scene.family].kinds[kind].answer_type
        outcome = (equivalent(got, answer, answer_type), equivalent(control, answer, answer_type),
                   1 / len(support[(scene.family, kind, scene.difficulty)]))
        by_cell[f"{scene.family}/{scene.difficulty}"].append(outcome)
        by_kind[f"{scene.family}/{kind}"].append(outcome)

    def summary(groups: dict[str, list[tuple[bool, bool, float]]]) -> dict[str, dict[str, float]]:
        return {
            key: {"n": len(v), "accuracy": float(np.mean([o[0] for o in v])),
                  "blank": float(np.mean([o[1] for o in v])), "chance": float(np.mean([o[2] for o in v]))}
            for key, v in sorted(groups.items())
        }

    return {"cells": summary(by_cell), "kinds": summary(by_kind)}


def assess(vlm: TinyVLM, held_out: list[PoolScene], pixels: np.ndarray) -> dict:
    """Gate skills on one half of the held-out scenes, report accuracy on the other half (no selection bias).

    `cells`: every question; `answered`: only the questions the judge does not abstain on; `kinds`: the gate.
    """
    gate_rows, report_rows = list(range(0, len(held_out), 2)), list(range(1, len(held_out), 2))
    gate = evaluate(vlm, [held_out[i] for i in gate_rows], pixels[gate_rows])
    found = skills(gate)
    report_scenes, report_pixels = [held_out[i] for i in report_rows], pixels[report_rows]
    report = evaluate(vlm, report_scenes, report_pixels)
    answered = evaluate(vlm, report_scenes, report_pixels, only=set(found))
    return {"cells": report["cells"], "answered": answered["cells"], "kinds": gate["kinds"],
            "report_kinds": report["kinds"], "skills": found}


def chance(scenes: list[PoolScene]) -> dict[str, float]:
    """Chance per family/difficulty over every question (uniform guessing among a kind's answers)."""
    support = _support(scenes)
    cells: dict[str, list[float]] = defaultdict(list)
    for s in scenes:
        for kind, _, _ in s.questions:
            cells[f"{s.family}/{s.difficulty}"].append(1 / len(support[(s.family, kind, s.difficulty)]))
    return {k: float(np.mean(v)) for k, v in sorted(cells.items())}


def skills(report: dict) -> dict[str, dict[str, float]]:
    """The (family, kind) pairs a judge answers clearly better with the image than without."""
    return {k: v for k, v in report["kinds"].items() if v["accuracy"] >= v["blank"] + GATE_MARGIN}


def _train_judge(job: tuple[str, int, Path, Path]) -> dict:
    """Train, evaluate and save one judge from a pool written by `train_committee` (runs in its own process)."""
    name, steps, work, out = job
    torch.set_num_threads(1)
    spec = JUDGES[name]
    scenes = _read_scenes(work / "pool.json")
    held_out = _read_scenes(work / "held_out.json")
    pixels = np.load(work / f"pool-{spec.image_size}.npy", mmap_mode="r")
    held_pixels = np.load(work / f"held_out-{spec.image_size}.npy")
    started = time.time()
    vlm = TinyVLM.build(spec, corpus(scenes))
    log = _file_logger(work / f"{name}.log")
    stats = train(vlm, batches(scenes, pixels, spec.seed), steps=steps, log=log)
    report = assess(vlm, held_out, held_pixels)
    report.update(train=stats, parameters=vlm.parameter_count(), seconds=round(time.time() - started, 1),
                  steps=steps, spec=spec.model_dump())
    vlm.save(out / name)
    (out / name / SKILLS_FILE).write_text(json.dumps(report, indent=1))
    return report


def _file_logger(path: Path) -> Callable[[str], None]:
    def log(line: str) -> None:
        with path.open("a") as handle:
            handle.write(line + "\n")

    return log


def _write_scenes(path: Path, scenes: list[PoolScene]) -> None:
    path.write_text(json.dumps([[s.family, s.difficulty, s.questions] for s in scenes]))


def _read_scenes(path: Path) -> list[PoolScene]:
    return [PoolScene(f, d, [tuple(q) for q in qs]) for f, d, qs in json.loads(path.read_text())]


def train_committee(
    out: Path = BUILTIN_DIR,
    work: Path = Path(".cache/committee"),
    pool_size: int = 14000,
    eval_size: int = 2700,
    steps: dict[str, int] | None = None,
    seed: int = 0,
    workers: int = 2,
    log: Callable[[str], None] = print,
) -> dict:
    """Render the pool, train the judges in parallel processes, evaluate, gate, and write weights + skills."""
    work.mkdir(parents=True, exist_ok=True)
    for name, size, offset, families in (("pool", pool_size, 0, TAUGHT_FAMILIES),
                                         ("held_out", eval_size, 10_000, tuple(FAMILIES))):
        log(f"rendering {size} scenes ({name}: {', '.join(families)})")
        scenes, pixels = render_pool(size, seed + offset, workers=workers, log=log, families=families)
        _write_scenes(work / f"{name}.json", scenes)
        for px_size, array in pixels.items():
            np.save(work / f"{name}-{px_size}.npy", array)
    return train_judges(work, out, steps, workers, log)


def train_judges(work: Path, out: Path = BUILTIN_DIR, steps: dict[str, int] | None = None, workers: int = 2,
                 log: Callable[[str], None] = print, names: list[str] | None = None) -> dict:
    """Train, gate and save judges (all, or `names`) from a rendered pool in `work` (see `train_committee`)."""
    names = names or list(JUDGES)
    steps = steps or dict.fromkeys(JUDGES, 6500)
    out.mkdir(parents=True, exist_ok=True)
    held_out = _read_scenes(work / "held_out.json")
    jobs = [(name, steps[name], work, out) for name in names]
    log(f"training {', '.join(names)} ({workers} at a time; progress in {work}/<judge>.log)")
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        reports = dict(zip(names, pool.map(_train_judge, jobs, chunksize=1), strict=True))
    for name in JUDGES:  # judges not retrained keep their reports
        if name not in reports and (out / name / SKILLS_FILE).exists():
            reports[name] = json.loads((out / name / SKILLS_FILE).read_text())
    results = {"chance": chance(held_out), "judges": {n: reports[n] for n in JUDGES if n in reports}}
    (out / "committee.json").write_text(json.dumps(results, indent=1))
    return results


def blank_image(size: int = 448) -> Image.Image:
    return Image.new("RGB", (size, size), "white")
