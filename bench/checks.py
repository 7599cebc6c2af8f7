"""Precision and recall of the validity checks on the labelled corruption set, and what C >= 1 alone lets through.

    python bench/checks.py [--seed 0] [--clean-per-family 4] [--per-type 6] [--duplicates 4] [--all-kinds]

Builds the set (by default from question kinds at least one shipped judge answers) with `cadsynth.checks.corruption.build_corruption_set`, then runs on every item:

- `labels_visible`, `answer_leak` (`cadsynth.checks.ocr.fidelity`, required = the renderer's `visible_texts`);
- `near_duplicate` (`cadsynth.checks.diversity.NearDuplicates`, items added in set order, clean items first);
- the three shipped local judges, blind, for the consensus C of K and the paper's rule (C >= 1 kept);
- `image_not_needed` and `reference_disputed`: the pipeline's own rules (`cadsynth.judge.validity.image_needed`
  on the blank-image judgement, `reference_dispute` on the judgement), with the default `ChecksConfig`.

Prints markdown tables: per check (its target corruptions, precision, recall, false flags on clean items) and per
corruption type (how many C >= 1 keeps, how many the checks catch, how many still get through).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from PIL import Image

from cadsynth.checks.corruption import LABELS, build_corruption_set
from cadsynth.checks.diversity import NearDuplicates
from cadsynth.checks.ocr import fidelity
from cadsynth.config import ChecksConfig
from cadsynth.judge.base import JudgeItem
from cadsynth.judge.consensus import consensus, partition, vote
from cadsynth.judge.local import LocalJudge
from cadsynth.judge.validity import image_needed, reference_dispute
from cadsynth.records import Judgement, Partition

TARGETS = {
    "reference_disputed": {"wrong_answer"},
    "labels_visible": {"label_removed", "label_changed"},
    "answer_leak": {"answer_in_image"},
    "image_not_needed": {"text_only"},
    "near_duplicate": {"exact_duplicate", "near_duplicate"},
}


def judge_all(judges: list[LocalJudge], items, blank: bool = False) -> list[Judgement]:
    blank_images = {}
    batch = []
    for it in items:
        image = it.image
        if blank:
            image = blank_images.setdefault(it.image.size, Image.new("RGB", it.image.size, "white"))
        batch.append(JudgeItem(question=it.question, image=image, choices=it.choices, family=it.family, kind=it.kind))
    replies = {j.name: j.answer_sync(batch) for j in judges}
    return [consensus([vote(j.name, replies[j.name][i], it.answer, it.answer_type, it.choices) for j in judges])
            for i, it in enumerate(items)]


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f}% ({a}/{b})" if b else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clean-per-family", type=int, default=4)
    parser.add_argument("--per-type", type=int, default=6)
    parser.add_argument("--duplicates", type=int, default=4)
    parser.add_argument("--all-kinds", action="store_true",
                        help="every question kind, also those every judge abstains on (default: judged kinds)")
    args = parser.parse_args()
    timings: dict[str, float] = {}

    judges = [LocalJudge(f"judge-{x}", f"builtin:judge-{x}") for x in "abc"]
    kinds: dict[str, list[str]] = {}
    if not args.all_kinds:  # kinds some judge can answer, so that C >= 1 has something to decide
        for key in sorted({k for j in judges for k in j.skills}):
            fam, kind = key.split("/")
            kinds.setdefault(fam, []).append(kind)
    t = time.monotonic()
    items = build_corruption_set(args.seed, args.clean_per_family, args.per_type, args.duplicates, kinds)
    timings["build set"] = time.monotonic() - t

    flags: dict[str, list[bool]] = {name: [] for name in TARGETS}
    t = time.monotonic()
    for it in items:
        checks = {c.name: c for c in fidelity(it.image, it.required, it.answer_text)}
        flags["labels_visible"].append(not checks["labels_visible"].passed)
        flags["answer_leak"].append(not checks["answer_leak"].passed)
    timings["OCR fidelity"] = time.monotonic() - t

    t = time.monotonic()
    dedup = NearDuplicates()
    for it in items:
        flags["near_duplicate"].append(dedup.add(it.id, it.question, it.image) is not None)
    timings["near duplicates"] = time.monotonic() - t

    t = time.monotonic()
    judged = judge_all(judges, items)
    blank = judge_all(judges, items, blank=True)
    kept = [partition(j)[0] is not Partition.DISCARDED for j in judged]
    rules = ChecksConfig()
    flags["reference_disputed"] = [not reference_dispute(j, it.answer_type, rules).passed
                                   for j, it in zip(judged, items, strict=True)]
    flags["image_not_needed"] = [not image_needed(b, rules).passed for b in blank]
    timings["judges (image + blank)"] = time.monotonic() - t

    labels = [it.label for it in items]
    print(f"corruption set: {len(items)} items, seed {args.seed}: "
          + ", ".join(f"{lab} {n}" for lab, n in Counter(labels).items()))
    print()
    print("| check | catches | precision | recall | false flags on clean items |")
    print("|---|---|---|---|---|")
    for name, targets in TARGETS.items():
        fired = flags[name]
        tp = sum(f and lab in targets for f, lab in zip(fired, labels, strict=True))
        pos = sum(lab in targets for lab in labels)
        clean_flags = sum(f and lab == "clean" for f, lab in zip(fired, labels, strict=True))
        print(f"| {name} | {', '.join(sorted(targets))} | {pct(tp, sum(fired))} | {pct(tp, pos)} | "
              f"{pct(clean_flags, labels.count('clean'))} |")
    print()
    print("| item label | n | kept by C >= 1 alone | caught by its check | caught by any check | "
          "kept by C >= 1 and no check |")
    print("|---|---|---|---|---|---|")
    for label in LABELS:
        idx = [i for i, lab in enumerate(labels) if lab == label]
        if not idx:
            continue
        own = [n for n, targets in TARGETS.items() if label in targets]
        by_own = sum(any(flags[n][i] for n in own) for i in idx) if own else None
        by_any = sum(any(flags[n][i] for n in TARGETS) for i in idx)
        through = sum(kept[i] and not any(flags[n][i] for n in TARGETS) for i in idx)
        print(f"| {label} | {len(idx)} | {sum(kept[i] for i in idx)} | "
              f"{'-' if by_own is None else by_own} | {by_any} | {through} |")
    print()
    hist = Counter((j.consensus, j.k) for j in judged)
    print("consensus (C, K) histogram:", dict(sorted(hist.items())))
    print("timings (s):", ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))


if __name__ == "__main__":
    main()
