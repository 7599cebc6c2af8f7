"""EasyR1 (the paper's trainer): ``train.parquet`` / ``validation.parquet``.

Columns: ``images`` (a list of Hugging Face ``Image`` values, bytes embedded, so the files are
self-contained), ``problem`` (one ``<image>`` per image, then the question; options and the letter instruction
for multiple choice), ``answer``, then ``choices`` (JSON, for multiple choice) and the provenance columns, which
EasyR1 ignores. Train it with
``data.train_files=<out>/train.parquet data.val_files=<out>/validation.parquet data.prompt_key=problem
data.answer_key=answer data.image_key=images``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa

from cadsynth.export.base import (
    IMAGE,
    PROVENANCE,
    Exporter,
    ExportJob,
    check_images,
    choices_json,
    problem_text,
    provenance,
    write_parquet,
)
from cadsynth.records import Sample
from cadsynth.store import RunStore

SCHEMA = pa.schema([
    ("images", pa.list_(IMAGE)),
    ("problem", pa.string()),
    ("answer", pa.string()),
    ("choices", pa.string()),
    *PROVENANCE,
])


def row(job: ExportJob, sample: Sample, split: str = "train", index: int = 0) -> dict:
    images = [job.image_value(sample)]
    problem = problem_text(sample, len(images))
    check_images(sample, problem, len(images), fmt="easyr1")
    return {"images": images, "problem": problem, "answer": sample.answer, "choices": choices_json(sample),
            **provenance(sample)}


def write(job: ExportJob) -> list[Path]:
    return [write_parquet(job.out / f"{split}.parquet", rows, SCHEMA)
            for split, rows in job.rows(lambda s, split, i: row(job, s, split, i)).items()]


def usage(job: ExportJob) -> str:
    files = " ".join(f"data.{'train' if s == 'train' else 'val'}_files=<this folder>/{s}.parquet" for s in job.splits)
    return f"""EasyR1 (parquet, images embedded as `Image` values):

```bash
python3 -m verl.trainer.main config=<your config>.yaml \\
  {files} \\
  data.prompt_key=problem data.answer_key=answer data.image_key=images
```

`problem` holds one `<image>` per image; the think/boxed instruction comes from EasyR1's `data.format_prompt`.
The reward compares the reply with `answer` (letters for multiple choice), e.g.
`worker.reward.reward_function=<cadsynth>/train/rewards.py:compute_score`.
Also: `datasets.load_dataset("<this folder>")`."""


EXPORTER = Exporter(name="easyr1", consumer="EasyR1", write=write, usage=usage, parquet_configs=True, hub=False)


def export_easyr1(samples: Iterable[Sample], run_dir: Path, out: Path) -> Path:
    """All given samples (those with an image) into ``out/train.parquet``, no split and no card.

    Kept for the earlier ``cadsynth export`` command; `cadsynth.export.export` is the full entry point.
    """
    out.mkdir(parents=True, exist_ok=True)
    job = ExportJob(store=RunStore(Path(run_dir)), out=out, run_name=Path(run_dir).name,
                    splits={"train": [s for s in samples if s.image is not None]})
    return write(job)[0]
