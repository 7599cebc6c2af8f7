"""VLMEvalKit custom benchmark: TSV files to put in ``$LMUData``, made from the validation split.

The benchmark is the validation split: its seeds are held out of every training export made with the same
split salt, so a model trained on ``--format easyr1`` (etc.) output is not tested on variants of its own
training seeds. ``--val-share 1`` makes the whole selection the benchmark.

VLMEvalKit treats a TSV with option columns ``A`` and ``B`` as multiple choice and any other as open VQA, so
there are two files, each written only when it has rows:

- ``<NAME>_MCQ.tsv``: ``index``, ``image`` (base64 PNG), ``question``, ``A``, ``B``, ``C``, ``D`` …, ``answer``
  (the letter), ``category`` (domain), ``l2-category`` (family), then provenance columns;
- ``<NAME>_VQA.tsv``: ``index``, ``image``, ``question``, ``answer``, ``category``, ``l2-category``, provenance.

``NAME`` is ``CADS_<run>``; the dataset name to give VLMEvalKit is the file name without ``.tsv``.
"""

from __future__ import annotations

import base64
import csv
import re
from pathlib import Path

from cadsynth.export.base import Exporter, ExportError, ExportJob, check_images, is_mcq, provenance
from cadsynth.records import Sample

SPLIT = "validation"
EXTRA = ("id", "seed_id", "member", "strategy", "round", "difficulty", "answer_type", "consensus", "k",
         "partition")


def benchmark_name(job: ExportJob) -> str:
    return "CADS_" + re.sub(r"[^A-Za-z0-9]+", "_", job.run_name).strip("_")


def _common(job: ExportJob, sample: Sample, index: int) -> dict:
    check_images(sample, sample.question, 1, placeholders=False, fmt="vlmevalkit")
    prov = provenance(sample)
    return {
        "index": index,
        "image": base64.b64encode(job.png(sample)).decode(),
        "question": sample.question.strip(),
        "answer": sample.answer,
        "category": sample.domain or "",
        "l2-category": sample.family or "",
        **{k: prov[k] for k in EXTRA},
    }


def _write_tsv(path: Path, rows: list[dict], columns: list[str]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
    return path


def write(job: ExportJob) -> list[Path]:
    samples = job.splits.get(SPLIT, [])
    if not samples:
        raise ExportError("the VLMEvalKit benchmark is the validation split, and it is empty: raise --val-share "
                          "(--val-share 1 makes the whole selection the benchmark)")
    mcq, vqa = [], []
    for sample in samples:
        if is_mcq(sample):
            if not sample.choices or sample.answer not in sample.choices:
                raise ExportError(f"sample {sample.id}: multiple choice without its options or with an answer "
                                  f"('{sample.answer}') that is not one of their letters")
            r = _common(job, sample, len(mcq))
            r.update(sample.choices)
            mcq.append(r)
        else:
            vqa.append(_common(job, sample, len(vqa)))
    name, files = benchmark_name(job), []
    tail = ["answer", "category", "l2-category", *EXTRA]
    if mcq:
        letters = sorted({k for s in samples if s.choices for k in s.choices})
        files.append(_write_tsv(job.out / f"{name}_MCQ.tsv", mcq, ["index", "image", "question", *letters, *tail]))
    if vqa:
        files.append(_write_tsv(job.out / f"{name}_VQA.tsv", vqa, ["index", "image", "question", *tail]))
    return files


def usage(job: ExportJob) -> str:
    name = benchmark_name(job)
    return f"""VLMEvalKit custom benchmark (TSV with base64 images), made from the validation split:

```bash
cp <this folder>/{name}_*.tsv $LMUData/
python run.py --data {name}_MCQ {name}_VQA --model <model>
```

VLMEvalKit scores `{name}_MCQ` (multiple choice, option columns A–D) itself. For the open questions in
`{name}_VQA` it only runs inference (its custom VQA dataset has no scorer): compare the predictions with `answer`
(normalise, then compare numbers or symbols)."""


EXPORTER = Exporter(name="vlmevalkit", consumer="VLMEvalKit", write=write, usage=usage, splits=(SPLIT,))
