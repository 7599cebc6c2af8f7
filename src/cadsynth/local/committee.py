"""The embedded judging committee: three tiny VLMs trained on the task families, gated, and shipped.

`train_committee` renders a pool of program scenes (each scene carries every question its family can ask),
trains each judge on it for a fixed number of steps from a fixed seed (so the weights are reproducible), then
measures every judge on held-out scenes against a blank-image control. A judge keeps a *skill* (family, kind)
only where it beats the blank control clearly; elsewhere it abstains, with that measurement as the reason.
"""

from __future__ import annotations

import json
import math
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
GATE_Z = 2.0  # ... and a paired (McNemar) z-score that rules out luck on the gate half's few questions


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
    """Endless batches, balanced over the taught kinds: a random kind, a scene that asks it, one of its questions.

    Balancing by kind (not by scene) keeps a family with few scenes or a kind that few scenes carry from being
    drowned out by the families with many questions per scene.
    """
    rng = np.random.default_rng(seed)
    by_kind: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for i, s in enumerate(scenes):
        for kind, q, a in s.questions:
            if f"{s.family}/{kind}" in TRAIN_KINDS:
                by_kind[f"{s.family}/{kind}"].append((i, q, a))
    if not by_kind:
        raise ValueError("the pool has no question of a taught kind")
    kinds = sorted(by_kind)
    while True:
        batch = []
        for k in rng.integers(0, len(kinds), size=size):
            questions = by_kind[kinds[k]]
            i, question, answer = questions[int(rng.integers(len(questions)))]
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
    questions = [q for _, _, q, _ in items]
    seen = vlm.answer([pixels[i] for i, *_ in items], questions, batch_size=256)
    blind = vlm.answer([blank] * len(items), questions, batch_size=256)
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
                  "blank": float(np.mean([o[1] for o in v])), "chance": float(np.mean([o[2] for o in v])),
                  "z": paired_z(v)}
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


def paired_z(outcomes: list[tuple[bool, bool, float]]) -> float:
    """McNemar's z for (with image, blank image) outcomes on the same questions: (gained - lost) / sqrt(both)."""
    gained = sum(seen and not blind for seen, blind, _ in outcomes)
    lost = sum(blind and not seen for seen, blind, _ in outcomes)
    return (gained - lost) / math.sqrt(gained + lost) if gained + lost else 0.0


def skills(report: dict) -> dict[str, dict[str, float]]:
    """The (family, kind) pairs a judge answers clearly better with the image than without, and than guessing.

    Clearly: at least GATE_MARGIN above both the blank-image control and chance (a judge that beats a blank
    image's non-answers but not a guess would mostly vote wrong, discarding valid samples), and significantly
    above the blank (GATE_Z), since with a hundred kinds on a few dozen questions each some would pass by luck.
    """
    return {k: v for k, v in report["kinds"].items()
            if v["accuracy"] >= max(v["blank"], v.get("chance", 0.0)) + GATE_MARGIN and v.get("z", 0.0) >= GATE_Z}


@dataclass(frozen=True)
class TrainPlan:
    """How each judge trains: a step count (reproducible) or a wall-clock budget, batch, lr, device, size."""

    steps: int | None = 6500
    seconds: float | None = None
    batch_size: int = 32
    lr: float = 1e-3
    warmup: int = 50
    device: str = "cpu"
    size: str = "S"


# Model sizes from docs/NANO.md (S is what ships; M needs about 4x the samples, so a GPU).
SIZES_BY_NAME: dict[str, dict[str, int]] = {
    "S": {},
    "M": {"vision_hidden": 64, "text_hidden": 128, "text_layers": 3},
}


def judge_spec(name: str, size: str = "S") -> VLMSpec:
    return JUDGES[name].model_copy(update=SIZES_BY_NAME[size])


def _train_judge(job: tuple[str, TrainPlan, Path, Path]) -> dict:
    """Train, evaluate and save one judge from a pool written by `train_committee` (runs in its own process)."""
    name, plan, work, out = job
    torch.set_num_threads(1)
    spec = judge_spec(name, plan.size)
    scenes = _read_scenes(work / "pool.json")
    held_out = _read_scenes(work / "held_out.json")
    pixels = np.load(work / f"pool-{spec.image_size}.npy", mmap_mode="r")
    held_pixels = np.load(work / f"held_out-{spec.image_size}.npy")
    started = time.time()
    vlm = TinyVLM.build(spec, corpus(scenes)).to(plan.device)
    log = _file_logger(work / f"{name}.log")
    stats = train(vlm, batches(scenes, pixels, spec.seed, plan.batch_size), steps=plan.steps, seconds=plan.seconds,
                  lr=plan.lr, warmup=plan.warmup, log=log)
    report = assess(vlm, held_out, held_pixels)
    vlm.to("cpu")
    report.update(train=stats, parameters=vlm.parameter_count(), seconds=round(time.time() - started, 1),
                  steps=int(stats["steps"]), batch_size=plan.batch_size, lr=plan.lr, device=plan.device,
                  spec=spec.model_dump())
    vlm.save(out / name)
    (out / name / SKILLS_FILE).write_text(json.dumps(report, indent=1))
    return report


def _assess_judge(job: tuple[str, Path, Path]) -> dict:
    name, work, out = job
    torch.set_num_threads(1)
    vlm = TinyVLM.load(out / name)
    held_out = _read_scenes(work / "held_out.json")
    report = json.loads((out / name / SKILLS_FILE).read_text())
    report.update(assess(vlm, held_out, np.load(work / f"held_out-{vlm.spec.image_size}.npy")))
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


def render_pools(work: Path, pool_size: int = 14000, eval_size: int = 2700, seed: int = 0, workers: int = 2,
                 log: Callable[[str], None] = print) -> None:
    """Render the training pool (taught families) and the held-out pool (every family) into `work`."""
    work.mkdir(parents=True, exist_ok=True)
    for name, size, offset, families in (("pool", pool_size, 0, TAUGHT_FAMILIES),
                                         ("held_out", eval_size, 10_000, tuple(FAMILIES))):
        log(f"rendering {size} scenes ({name}: {', '.join(families)})")
        scenes, pixels = render_pool(size, seed + offset, workers=workers, log=log, families=families)
        _write_scenes(work / f"{name}.json", scenes)
        for px_size, array in pixels.items():
            np.save(work / f"{name}-{px_size}.npy", array)


def train_committee(
    out: Path = BUILTIN_DIR,
    work: Path = Path(".cache/committee"),
    pool_size: int = 14000,
    eval_size: int = 2700,
    plan: TrainPlan = TrainPlan(),
    seed: int = 0,
    workers: int = 2,
    log: Callable[[str], None] = print,
) -> dict:
    """Render the pools, train the judges in parallel processes, evaluate, gate, and write weights + skills."""
    render_pools(work, pool_size, eval_size, seed, workers, log)
    return train_judges(work, out, plan, workers, log)


def train_judges(work: Path, out: Path = BUILTIN_DIR, plan: TrainPlan = TrainPlan(), workers: int = 2,
                 log: Callable[[str], None] = print, names: list[str] | None = None) -> dict:
    """Train, gate and save judges (all, or `names`) from the pools in `work` (see `render_pools`)."""
    missing = [f for f in ("pool.json", "held_out.json") if not (work / f).exists()]
    if missing:
        raise FileNotFoundError(f"no rendered pool in {work} (missing {', '.join(missing)}): render it first")
    names = names or list(JUDGES)
    out.mkdir(parents=True, exist_ok=True)
    held_out = _read_scenes(work / "held_out.json")
    jobs = [(name, plan, work, out) for name in names]
    budget = f"{plan.steps} steps" if plan.steps is not None else f"{plan.seconds:.0f} s"
    log(f"training {', '.join(names)} ({budget} of {plan.batch_size} on {plan.device}, {workers} at a time; "
        f"progress in {work}/<judge>.log)")
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        reports = dict(zip(names, pool.map(_train_judge, jobs, chunksize=1), strict=True))
    return _write_committee(out, held_out, reports)


def assess_judges(work: Path, out: Path = BUILTIN_DIR, workers: int = 2,
                  log: Callable[[str], None] = print) -> dict:
    """Measure and gate the judges saved in `out` again on the held-out pool in `work` (their training stays)."""
    names = [name for name in JUDGES if (out / name / SKILLS_FILE).exists()]
    if not (work / "held_out.json").exists() or not names:
        raise FileNotFoundError(f"need a held-out pool in {work} and saved judges in {out}")
    log(f"assessing {', '.join(names)} on {work}/held_out.json")
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        reports = dict(zip(names, pool.map(_assess_judge, [(n, work, out) for n in names], chunksize=1), strict=True))
    return _write_committee(out, _read_scenes(work / "held_out.json"), reports)


def _write_committee(out: Path, held_out: list[PoolScene], reports: dict[str, dict]) -> dict:
    for name in JUDGES:  # judges not (re)measured keep their reports
        if name not in reports and (out / name / SKILLS_FILE).exists():
            reports[name] = json.loads((out / name / SKILLS_FILE).read_text())
    results = {"chance": chance(held_out), "judges": {n: reports[n] for n in JUDGES if n in reports}}
    (out / "committee.json").write_text(json.dumps(results, indent=1))
    return results


def blank_image(size: int = 448) -> Image.Image:
    return Image.new("RGB", (size, size), "white")
