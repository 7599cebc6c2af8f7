"""TRL ``GRPOTrainer``: ``train.parquet`` / ``validation.parquet``, loaded with ``datasets.load_dataset``.

``prompt`` is a conversation in TRL's vision format, one user turn whose content is an image part and a text
part: ``[{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]``. ``images``
is a list of ``Image`` values; TRL puts them into the image parts and the processor's chat template places the
image tokens, so the text holds no ``<image>``. ``answer``, ``solution``, ``choices`` (JSON, for multiple choice)
and the provenance columns (``answer_type`` among them) reach reward functions as keyword arguments.
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

PART = pa.struct([("type", pa.string()), ("text", pa.string())])
SCHEMA = pa.schema([
    ("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.list_(PART))]))),
    ("images", pa.list_(IMAGE)),
    ("answer", pa.string()),
    ("solution", pa.string()),
    ("choices", pa.string()),
    *PROVENANCE,
])


def row(job: ExportJob, sample: Sample, split: str, index: int) -> dict:
    images = [job.image_value(sample)]
    text = question_text(sample)
    content = [*({"type": "image", "text": None} for _ in images), {"type": "text", "text": text}]
    check_images(sample, text, len(images), placeholders=False,
                 parts=sum(part["type"] == "image" for part in content), fmt="trl")
    return {
        "prompt": [{"role": "user", "content": content}],
        "images": images,
        "answer": sample.answer,
        "solution": sample.solution,
        "choices": choices_json(sample),
        **provenance(sample),
    }


def write(job: ExportJob) -> list[Path]:
    return [write_parquet(job.out / f"{split}.parquet", rows, SCHEMA)
            for split, rows in job.rows(lambda s, split, i: row(job, s, split, i)).items()]


def usage(job: ExportJob) -> str:
    return """TRL `GRPOTrainer` (conversational prompts with an image part; `images` column):

```python
from datasets import load_dataset
from trl import GRPOConfig, GRPOTrainer

data = load_dataset("<this folder>")  # splits: train (and validation)

# every column (answer, answer_type, choices, provenance) reaches reward functions as a keyword,
# e.g. cadsynth.train.rewards.accuracy_reward(completions, answer, **columns)
trainer = GRPOTrainer(model="<a VLM>", reward_funcs=[...], args=GRPOConfig(...),
                      train_dataset=data["train"])
```

Put the think/boxed instruction in a system turn or the chat template if you want one."""


EXPORTER = Exporter(name="trl", consumer="TRL GRPOTrainer", write=write, usage=usage, parquet_configs=True)
