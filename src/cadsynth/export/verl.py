"""verl: ``train.parquet`` / ``validation.parquet`` in verl's RLHF layout.

Columns: ``data_source`` (``cadsynth/<run>``), ``prompt`` = ``[{"role": "user", "content": "<image>…"}]``,
``images`` (a list of ``{"bytes", "path"}`` image values), ``ability`` (the sample's domain), ``reward_model``
= ``{"style": "rule", "ground_truth": answer}``, ``extra_info`` = ``{split, index, answer, question}`` plus
``answer_type`` and ``choices`` (JSON, for multiple choice), which reward functions may use; then the
provenance columns. verl's built-in scorers dispatch on ``data_source`` and do not know ``cadsynth/…``, so
training needs ``custom_reward_function.path``.
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
    problem_text,
    provenance,
    write_parquet,
)
from cadsynth.records import Sample

SCHEMA = pa.schema([
    ("data_source", pa.string()),
    ("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
    ("images", pa.list_(IMAGE)),
    ("ability", pa.string()),
    ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
    ("extra_info", pa.struct([("split", pa.string()), ("index", pa.int64()), ("answer", pa.string()),
                              ("question", pa.string()), ("answer_type", pa.string()), ("choices", pa.string())])),
    *PROVENANCE,
])


def row(job: ExportJob, sample: Sample, split: str, index: int) -> dict:
    images = [job.image_value(sample)]
    content = problem_text(sample, len(images))
    check_images(sample, content, len(images), fmt="verl")
    return {
        "data_source": f"cadsynth/{job.run_name}",
        "prompt": [{"role": "user", "content": content}],
        "images": images,
        "ability": sample.domain or sample.family or "visual_reasoning",
        "reward_model": {"style": "rule", "ground_truth": sample.answer},
        "extra_info": {"split": split, "index": index, "answer": sample.answer, "question": sample.question,
                       "answer_type": sample.answer_type.value, "choices": choices_json(sample)},
        **provenance(sample),
    }


def write(job: ExportJob) -> list[Path]:
    return [write_parquet(job.out / f"{split}.parquet", rows, SCHEMA)
            for split, rows in job.rows(lambda s, split, i: row(job, s, split, i)).items()]


def usage(job: ExportJob) -> str:
    val = "validation" if "validation" in job.splits else "train"
    return f"""verl (parquet, RLHF layout):

```bash
python3 -m verl.trainer.main_ppo \\
  data.train_files=<this folder>/train.parquet data.val_files=<this folder>/{val}.parquet \\
  data.prompt_key=prompt data.image_key=images \\
  custom_reward_function.path=<cadsynth>/train/rewards.py custom_reward_function.name=compute_score
```

`data_source` is `cadsynth/{job.run_name}`, which verl's default scorer does not know: the custom reward gets
`(data_source, solution_str, ground_truth, extra_info)`; `cadsynth.train.rewards.compute_score` grades with
cadsynth's answer matcher and reads `answer_type` and `choices` from `extra_info`."""


EXPORTER = Exporter(name="verl", consumer="verl", write=write, usage=usage, parquet_configs=True)
