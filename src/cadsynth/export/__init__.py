"""Exporters: one module per consumer format, one entry point.

``export(run_dir, format, out, filters, val_share, push_to_hub)`` selects the kept samples of a run
(`select.Filters`), splits them by seed into train and validation (`select.split_by_seed`), writes them in the
consumer's layout with a dataset card (`card.render_card`) and returns an `ExportResult`.

| format | consumer | files |
|---|---|---|
| ``easyr1`` (default) | EasyR1 | ``train.parquet``, ``validation.parquet`` |
| ``verl`` | verl | ``train.parquet``, ``validation.parquet`` |
| ``trl`` | TRL ``GRPOTrainer`` | ``train.parquet``, ``validation.parquet`` |
| ``r1v`` | R1-V | ``train.parquet``, ``validation.parquet`` |
| ``vlm-r1`` | VLM-R1 | ``train.jsonl``, ``validation.jsonl``, ``images/`` |
| ``llamafactory`` | LLaMA-Factory (SFT) | ``train.json``, ``validation.json``, ``dataset_info.json``, ``images/`` |
| ``hf`` | ``datasets.load_from_disk`` | a ``DatasetDict`` directory; ``push_to_hub`` uploads it |
| ``vlmevalkit`` | VLMEvalKit | ``CADS_<run>_MCQ.tsv``, ``CADS_<run>_VQA.tsv`` (the validation split) |

Every export folder also holds ``README.md`` (the dataset card) and ``cadsynth_export.json`` (what was asked
and what was written). Parquet exports name their splits in the card's YAML, so
``datasets.load_dataset(<folder>)`` loads them.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from cadsynth.export import easyr1, hf, llamafactory, r1v, trl, verl, vlm_r1, vlmevalkit
from cadsynth.export.base import (
    IMAGE_TOKEN,
    Exporter,
    ExportError,
    ExportJob,
    check_images,
    problem_text,
    question_text,
)
from cadsynth.export.card import render_card
from cadsynth.export.select import DEFAULT_SALT, DEFAULT_VAL_SHARE, Filters, select, split_by_seed
from cadsynth.store import RunStore

FORMATS: dict[str, Exporter] = {
    e.name: e for e in (easyr1.EXPORTER, verl.EXPORTER, trl.EXPORTER, r1v.EXPORTER, vlm_r1.EXPORTER,
                        llamafactory.EXPORTER, hf.EXPORTER, vlmevalkit.EXPORTER)
}
DEFAULT_FORMAT = "easyr1"
MARKER = "cadsynth_export.json"
CARD = "README.md"

__all__ = [
    "CARD", "DEFAULT_FORMAT", "FORMATS", "IMAGE_TOKEN", "MARKER", "ExportError", "ExportJob", "ExportResult",
    "Exporter", "Filters", "check_images", "export", "problem_text", "question_text",
]


@dataclass
class ExportResult:
    format: str
    out: Path
    files: list[Path]  # data files written (absolute), card and marker not included
    counts: dict[str, int]  # split -> samples
    seeds: dict[str, int]  # split -> distinct seeds
    card: Path
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> samples not exported
    warnings: list[str] = field(default_factory=list)
    pushed_to: str | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def export(
    run_dir: str | Path,
    format: str = DEFAULT_FORMAT,
    out: str | Path | None = None,
    filters: Filters | None = None,
    val_share: float = DEFAULT_VAL_SHARE,
    push_to_hub: str | None = None,
    *,
    salt: str = DEFAULT_SALT,
    private: bool | None = None,
) -> ExportResult:
    """Export a run's kept samples in a consumer's format; raises `ExportError` with what to fix.

    ``out`` defaults to ``<run>/export/<format>``. It is replaced as a whole when it holds an earlier cadsynth
    export (or nothing); any other existing folder is refused. ``push_to_hub`` (``user/name``) is for
    ``format="hf"``.
    """
    run_dir = Path(run_dir)
    exporter = FORMATS.get(format)
    if exporter is None:
        raise ExportError(f"unknown export format '{format}'; available: {', '.join(FORMATS)}")
    if push_to_hub and not exporter.hub:
        raise ExportError(f"--push-to-hub works with --format hf, not {format}")
    store = RunStore(run_dir)
    if not store.exists:
        raise ExportError(f"{run_dir} is not a cadsynth run directory (no manifest.json)")
    filters = filters or Filters()
    selection = select(store.samples(), filters)
    if not selection.samples:
        left = ", ".join(f"{k} {v}" for k, v in sorted(selection.left_out.items())) or "the run has no samples"
        raise ExportError(f"no sample of {run_dir} matches the filters (left out: {left})")
    all_splits = split_by_seed(selection.samples, val_share, salt)
    splits = {k: v for k, v in all_splits.items() if v and k in exporter.splits}
    warnings = []
    if val_share > 0 and not all_splits["validation"] and "validation" in exporter.splits:
        warnings.append(f"no seed fell into the validation split (val_share {val_share}, "
                        f"{len({s.provenance.seed_id for s in selection.samples})} seeds)")
    left_out = dict(selection.left_out)
    outside = {k: len(v) for k, v in all_splits.items() if v and k not in exporter.splits}
    for split, n in outside.items():
        left_out[f"{split}_split"] = n

    manifest = store.read_json("manifest.json") or {}
    target = Path(out) if out is not None else run_dir / "export" / format
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    job = ExportJob(store=store, out=tmp, splits=splits, run_name=str(manifest.get("name") or run_dir.name),
                    manifest=manifest)
    try:
        files = exporter.write(job)
        data_files = {s: f"{s}.parquet" for s in splits} if exporter.parquet_configs else None
        card = render_card(job, exporter, filters=filters.describe(), val_share=val_share, salt=salt,
                           left_out=left_out, data_files=data_files)
        (tmp / CARD).write_text(card, encoding="utf-8")
        counts = {s: len(v) for s, v in splits.items()}
        seeds = {s: len({x.provenance.seed_id for x in v}) for s, v in splits.items()}
        (tmp / MARKER).write_text(json.dumps({
            "format": format, "run": str(run_dir.resolve()), "run_name": job.run_name,
            "filters": filters.describe(), "val_share": val_share, "salt": salt, "counts": counts,
            "seeds": seeds, "left_out": left_out, "files": [str(f.relative_to(tmp)) for f in files],
        }, indent=1, sort_keys=True))
        _replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    job.out = target
    result = ExportResult(format=format, out=target, files=[target / f.relative_to(tmp) for f in files],
                          counts=counts, seeds=seeds, card=target / CARD, left_out=left_out, warnings=warnings)
    if push_to_hub:
        result.pushed_to = hf.push(job, push_to_hub, card, private=private)
    return result


def _replace(tmp: Path, target: Path) -> None:
    """Move the finished export into place, replacing an earlier export (never another folder)."""
    if target.exists():
        if not target.is_dir() or (any(target.iterdir()) and not (target / MARKER).exists()):
            raise ExportError(f"{target} exists and is not a cadsynth export; choose another --out or remove it")
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)
