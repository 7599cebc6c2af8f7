"""A Hugging Face ``datasets`` directory (``DatasetDict.save_to_disk``), optionally pushed to the Hub.

Splits ``train`` / ``validation``. Columns: ``images`` (a list of ``Image``), ``problem`` (``<image>`` then the
question text), ``question``, ``choices`` (``[{"letter", "text"}]``, empty for open questions), ``answer``,
``solution``, the provenance columns, each judge's ``votes`` (judge, extracted answer, verdict, reason), the
image's source (``image_source``, JSON) and the whole sample record (``record``, JSON), so nothing of the
sample's story is lost. Load it with ``datasets.load_from_disk``. Needs the ``datasets`` package.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from cadsynth.export.base import (
    IMAGE,
    PROVENANCE,
    Exporter,
    ExportError,
    ExportJob,
    check_images,
    hf_features,
    problem_text,
    provenance,
    question_text,
)
from cadsynth.records import Sample

SCHEMA = pa.schema([
    ("images", pa.list_(IMAGE)),
    ("problem", pa.string()),
    ("question", pa.string()),
    ("choices", pa.list_(pa.struct([("letter", pa.string()), ("text", pa.string())]))),
    ("answer", pa.string()),
    ("solution", pa.string()),
    *PROVENANCE,
    ("votes", pa.list_(pa.struct([("judge", pa.string()), ("extracted", pa.string()), ("verdict", pa.string()),
                                  ("reason", pa.string())]))),
    ("image_source", pa.string()),
    ("record", pa.string()),
])


def _datasets():
    try:
        import datasets
    except ImportError:
        raise ExportError("--format hf needs the 'datasets' package: pip install datasets") from None
    return datasets


def row(job: ExportJob, sample: Sample, split: str, index: int) -> dict:
    images = [job.image_value(sample)]
    problem = problem_text(sample, len(images))
    check_images(sample, problem, len(images), fmt="hf")
    source = sample.provenance.image_source
    return {
        "images": images,
        "problem": problem,
        "question": question_text(sample),
        "choices": [{"letter": k, "text": v} for k, v in (sample.choices or {}).items()],
        "answer": sample.answer,
        "solution": sample.solution,
        **provenance(sample),
        "votes": [{"judge": v.judge, "extracted": v.extracted, "verdict": v.verdict.value, "reason": v.reason}
                  for v in (sample.judgement.votes if sample.judgement else [])],
        "image_source": source.model_dump_json() if source else None,
        "record": sample.to_json(),
    }


def dataset_dict(job: ExportJob):
    datasets = _datasets()
    features = datasets.Features.from_dict(hf_features(SCHEMA))
    return datasets.DatasetDict({
        split: datasets.Dataset.from_list(rows, features=features)
        for split, rows in job.rows(lambda s, split, i: row(job, s, split, i)).items()
    })


def write(job: ExportJob) -> list[Path]:
    datasets = _datasets()
    quiet = not datasets.utils.are_progress_bars_disabled()
    if quiet:
        datasets.disable_progress_bars()
    try:
        dataset_dict(job).save_to_disk(str(job.out))
    finally:
        if quiet:
            datasets.enable_progress_bars()
    return [job.out / "dataset_dict.json", *(job.out / split for split in job.splits)]


def _hub_api():
    from huggingface_hub import HfApi

    return HfApi()


def push(job: ExportJob, repo_id: str, card: str, private: bool | None = None) -> str:
    """Upload the card, then the splits as parquet (`DatasetDict.push_to_hub` merges its metadata into the card).

    The token comes from the usual Hugging Face places (``HF_TOKEN``, ``huggingface-cli login``).
    """
    api = _hub_api()
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True, private=private)
    api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id,
                    repo_type="dataset", commit_message="cadsynth dataset card")
    datasets = _datasets()
    data = datasets.load_from_disk(str(job.out))
    data.push_to_hub(repo_id, private=private, commit_message="cadsynth export")
    return repo_id


def usage(job: ExportJob) -> str:
    return """A Hugging Face `datasets` directory:

```python
from datasets import load_from_disk
data = load_from_disk("<this folder>")   # DatasetDict: train (and validation)
data["train"][0]["images"][0]             # a PIL image
json.loads(data["train"][0]["record"])    # the whole cadsynth sample record
```

`cadsynth export RUN --format hf --push-to-hub user/name` also uploads it to the Hub (parquet + this card)."""


EXPORTER = Exporter(name="hf", consumer="Hugging Face datasets", write=write, usage=usage, hub=True)
