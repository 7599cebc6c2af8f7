"""VLM-R1: ``train.jsonl`` / ``validation.jsonl`` and an ``images/`` folder.

One line per sample: ``{"id", "image": "images/<sha256>.png", "conversations": [{"from": "human", "value":
"<image>question"}, {"from": "gpt", "value": answer}], …provenance}``. Image paths are relative to the export
folder, which is VLM-R1's ``image_folders`` entry for these files.
"""

from __future__ import annotations

from pathlib import Path

from cadsynth.export.base import Exporter, ExportJob, check_images, problem_text, provenance, write_jsonl
from cadsynth.records import Sample


def row(job: ExportJob, sample: Sample, split: str, index: int) -> dict:
    image = job.copy_image(sample)
    value = problem_text(sample, 1)
    check_images(sample, value, 1, fmt="vlm-r1")
    return {
        "id": sample.id,
        "image": image,
        "conversations": [{"from": "human", "value": value}, {"from": "gpt", "value": sample.answer}],
        **{k: v for k, v in provenance(sample).items() if k != "id"},
    }


def write(job: ExportJob) -> list[Path]:
    return [write_jsonl(job.out / f"{split}.jsonl", rows)
            for split, rows in job.rows(lambda s, split, i: row(job, s, split, i)).items()]


def usage(job: ExportJob) -> str:
    return """VLM-R1 (JSONL and an image folder; `src/open-r1-multimodal/src/open_r1/grpo_jsonl.py`):

```bash
torchrun ... grpo_jsonl.py --data_file_paths <this folder>/train.jsonl --image_folders <this folder> ...
```

Image paths are relative to this folder. The `gpt` turn is the reference answer, which VLM-R1 uses as the
solution for its accuracy reward."""


EXPORTER = Exporter(name="vlm-r1", consumer="VLM-R1", write=write, usage=usage)
