"""R1-V: a Hugging Face dataset folder (``train.parquet`` / ``validation.parquet`` and a card naming them).

Columns: ``image`` (one ``Image``), ``problem`` (the question; options and the letter instruction for multiple
choice; no ``<image>``: R1-V builds the image content part itself), ``solution`` = ``<answer> A </answer>``
(R1-V's accuracy reward reads the answer out of these tags), then ``answer`` and the provenance columns.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from cadsynth.export.base import (
    IMAGE,
    PROVENANCE,
    Exporter,
    ExportJob,
    check_images,
    choices_json,
    provenance,
    question_text,
    write_parquet,
)
from cadsynth.records import Sample

SCHEMA = pa.schema([
    ("image", IMAGE),
    ("problem", pa.string()),
    ("solution", pa.string()),
    ("answer", pa.string()),
    ("choices", pa.string()),
    *PROVENANCE,
])


def row(job: ExportJob, sample: Sample, split: str, index: int) -> dict:
    problem = question_text(sample)
    check_images(sample, problem, 1, placeholders=False, fmt="r1v")
    return {
        "image": job.image_value(sample),
        "problem": problem,
        "solution": f"<answer> {sample.answer} </answer>",
        "answer": sample.answer,
        "choices": choices_json(sample),
        **provenance(sample),
    }


def write(job: ExportJob) -> list[Path]:
    return [write_parquet(job.out / f"{split}.parquet", rows, SCHEMA)
            for split, rows in job.rows(lambda s, split, i: row(job, s, split, i)).items()]


def usage(job: ExportJob) -> str:
    return """R1-V (a dataset folder that `datasets.load_dataset` reads):

```bash
torchrun ... src/open_r1/grpo.py --dataset_name <this folder> \\
  --dataset_train_split train --dataset_test_split validation ...
```

`solution` is `<answer> … </answer>` as R1-V's accuracy reward expects; `problem` has no `<image>` because R1-V
adds the image part to the prompt itself."""


EXPORTER = Exporter(name="r1v", consumer="R1-V", write=write, usage=usage, parquet_configs=True, hub=False)
