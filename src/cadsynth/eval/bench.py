"""Benchmarks as lists of ``Item``: read with ``cadsynth.seeds.load_seeds`` so every source the seed pool knows
(MATH-V, DynaMath, EasyR1 exports, jsonl/json/parquet with a field mapping) is also an evaluation set.

``load_benchmark("mathv")`` and ``load_benchmark("dynamath")`` find the data under ``../shared/data`` (or
``$CADSYNTH_DATA``, or ``data_root``); ``"synth"`` reads a split exported by cadsynth (parquet with ``images``,
``problem``, ``answer``, and ``answer_type`` / ``family`` / ``difficulty`` when present); ``"jsonl"``, ``"json"``
and ``"parquet"`` read any file through ``fields`` (``cadsynth.config.FieldMap`` names, plus ``subject`` and
``level``: the columns the per-subject and per-level breakdowns read; by default ``subject`` and ``level``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadsynth.config import FieldMap, SeedsConfig
from cadsynth.records import AnswerType, Seed, SeedProblem
from cadsynth.seeds import load_seeds

__all__ = ["BENCHMARKS", "Benchmark", "Item", "data_root", "load_benchmark"]

BENCHMARKS = ("mathv", "dynamath", "synth", "jsonl", "json", "parquet")
_DEFAULT_PATHS = {"mathv": "mathv", "dynamath": "dynamath/trial1"}


@dataclass(frozen=True)
class Item:
    id: str
    question: str  # without image placeholders
    answer: str
    answer_type: str
    image: str | None  # absolute path
    choices: dict[str, str] | None = None
    subject: str | None = None
    level: str | None = None


@dataclass
class Benchmark:
    name: str
    path: str
    items: list[Item]
    problems: list[SeedProblem] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "items": len(self.items), "skipped": len(self.problems)}


def data_root(explicit: str | Path | None = None) -> Path:
    """Where the shared benchmark data lives: ``explicit``, ``$CADSYNTH_DATA``, or the first ``../shared/data``
    found from the working directory or from this checkout."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get("CADSYNTH_DATA"):
        return Path(os.environ["CADSYNTH_DATA"]).expanduser().resolve()
    candidates = [Path.cwd() / ".." / "shared" / "data", Path(__file__).resolve().parents[3] / ".." / "shared" / "data"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return candidates[0].resolve()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _item(seed: Seed, subject_field: str = "subject", level_field: str = "level") -> Item | None:
    if seed.answer is None:
        return None
    meta = seed.meta
    answer_type = seed.answer_type or AnswerType.TEXT
    declared = meta.get("answer_type")
    if isinstance(declared, str):
        try:
            answer_type = AnswerType(declared)
        except ValueError:
            pass
    return Item(
        id=seed.id,
        question=seed.question,
        answer=seed.answer,
        answer_type=AnswerType(answer_type).value,
        image=seed.image,
        choices=seed.choices,
        subject=_text(meta.get(subject_field) or meta.get("family") or seed.domain),
        level=_text(meta.get(level_field) if meta.get(level_field) is not None else meta.get("difficulty")),
    )


def load_benchmark(
    name: str,
    path: str | Path | None = None,
    fields: dict[str, str] | None = None,
    image_dir: str | Path | None = None,
    limit: int | None = None,
    image_cache: Path | None = None,
    root: str | Path | None = None,
) -> Benchmark:
    """Read a benchmark; seeds that cannot be used (no answer, a missing image …) are kept in ``problems``."""
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark '{name}' (one of {', '.join(BENCHMARKS)})")
    if path is None:
        if name not in _DEFAULT_PATHS:
            raise ValueError(f"benchmark '{name}' needs a path")
        path = data_root(root) / _DEFAULT_PATHS[name]
    path = Path(path).expanduser().resolve()
    source = {"synth": "easyr1"}.get(name, name)
    if name == "synth" and path.is_dir():
        found = [path / f"{s}.parquet" for s in ("test", "val", "validation", "train") if (path / f"{s}.parquet").is_file()]
        if not found:
            raise FileNotFoundError(f"{path}: no test/val/train .parquet in it")
        path = found[0]
    mapping = dict(fields or {})
    subject_field, level_field = mapping.pop("subject", "subject"), mapping.pop("level", "level")
    config = SeedsConfig(
        source=source,
        path=path,
        image_dir=Path(image_dir) if image_dir else None,
        fields=FieldMap(**mapping),
        limit=limit,
    )
    pool = load_seeds(config, image_cache=image_cache)
    items, problems = [], list(pool.problems)
    for seed in pool.seeds:
        item = _item(seed, subject_field, level_field)
        if item is None:
            problems.append(SeedProblem(seed_id=seed.id, source=seed.source, reason="no reference answer"))
        else:
            items.append(item)
    return Benchmark(name=name, path=str(path), items=items, problems=problems)
