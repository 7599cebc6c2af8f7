"""LLaMA-Factory (SFT cold start): ``train.json`` / ``validation.json``, ``dataset_info.json`` and ``images/``.

Each record is in the sharegpt layout with OpenAI-style tags: ``{"messages": [{"role": "user", "content":
"<image>question"}, {"role": "assistant", "content": response}], "images": ["images/<sha256>.png"]}``.
The response is the sample's worked solution when it has one (it ends with the answer, or the answer is added
as a last sentence), else the bare answer. ``dataset_info.json`` registers one dataset per split,
``cadsynth_<run>`` and ``cadsynth_<run>_validation``; image paths are relative to the export folder, which is
LLaMA-Factory's ``dataset_dir`` (and so its default ``media_dir``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from cadsynth.export.base import Exporter, ExportJob, check_images, problem_text, provenance
from cadsynth.records import Sample


def response(sample: Sample) -> str:
    solution = (sample.solution or "").strip()
    if not solution:
        return sample.answer
    ends_with_answer = re.search(rf"(?<!\w){re.escape(sample.answer)}\W*$", solution)
    return solution if ends_with_answer else f"{solution}\nThe answer is {sample.answer}."


def dataset_name(job: ExportJob, split: str) -> str:
    base = "cadsynth_" + re.sub(r"[^A-Za-z0-9_]+", "_", job.run_name).strip("_")
    return base if split == "train" else f"{base}_{split}"


def row(job: ExportJob, sample: Sample, split: str, index: int) -> dict:
    images = [job.copy_image(sample)]
    content = problem_text(sample, len(images))
    check_images(sample, content, len(images), fmt="llamafactory")
    return {
        "messages": [{"role": "user", "content": content}, {"role": "assistant", "content": response(sample)}],
        "images": images,
        "answer": sample.answer,
        **provenance(sample),
    }


def write(job: ExportJob) -> list[Path]:
    files, info = [], {}
    for split, rows in job.rows(lambda s, split, i: row(job, s, split, i)).items():
        path = job.out / f"{split}.json"
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=1))
        files.append(path)
        info[dataset_name(job, split)] = {
            "file_name": path.name,
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "images": "images"},
            "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                     "assistant_tag": "assistant"},
        }
    info_path = job.out / "dataset_info.json"
    info_path.write_text(json.dumps(info, indent=2))
    return [*files, info_path]


def usage(job: ExportJob) -> str:
    train = dataset_name(job, "train")
    val = f"\neval_dataset: {dataset_name(job, 'validation')}" if "validation" in job.splits else ""
    return f"""LLaMA-Factory SFT (sharegpt layout, registered in `dataset_info.json`):

```yaml
stage: sft
dataset_dir: <this folder>
dataset: {train}{val}
```

Image paths are relative to `dataset_dir`. The assistant turn is the worked solution (ending with the answer)
where the sample has one."""


EXPORTER = Exporter(name="llamafactory", consumer="LLaMA-Factory (SFT)", write=write, usage=usage)
