"""EasyR1 layout: parquet with `images`, `problem` (one `<image>` per image), `answer`.

Images are embedded as Hugging Face `Image` values (`{"bytes", "path"}`), so the file is self-contained.

Provenance columns ride along (EasyR1 ignores unknown columns). Train it with
`data.prompt_key=problem data.answer_key=answer data.image_key=images`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cadsynth.records import Sample

IMAGE_TOKEN = "<image>"


class ExportError(ValueError):
    """A sample that would break the consumer (e.g. placeholders and images disagree)."""


def problem_text(sample: Sample) -> str:
    text = f"{IMAGE_TOKEN}{sample.question}"
    if sample.choices:
        text += "\n" + "\n".join(f"{k}. {v}" for k, v in sample.choices.items())
        text += "\nAnswer with the option's letter."
    return text


def row(sample: Sample, png: bytes) -> dict:
    problem = problem_text(sample)
    images = [{"bytes": png, "path": f"{sample.image.sha256}.png"}]
    if problem.count(IMAGE_TOKEN) != len(images):
        raise ExportError(f"sample {sample.id}: {problem.count(IMAGE_TOKEN)} {IMAGE_TOKEN} placeholders "
                          f"for {len(images)} images")
    judgement = sample.judgement
    return {
        "images": images,
        "problem": problem,
        "answer": sample.answer,
        "id": sample.id,
        "seed_id": sample.provenance.seed_id,
        "member": sample.provenance.member,
        "strategy": sample.provenance.strategy.value,
        "round": sample.provenance.round,
        "family": sample.family,
        "domain": sample.domain,
        "difficulty": sample.difficulty,
        "answer_type": sample.answer_type.value,
        "consensus": judgement.consensus if judgement else None,
        "k": judgement.k if judgement else None,
        "partition": sample.partition.value,
    }


def export_easyr1(samples: Iterable[Sample], run_dir: Path, out: Path) -> Path:
    """Write `out/train.parquet`; returns its path."""
    out.mkdir(parents=True, exist_ok=True)
    rows = [row(s, (run_dir / s.image.path).read_bytes()) for s in samples if s.image is not None]
    path = out / "train.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path
