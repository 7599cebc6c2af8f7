"""What every exporter shares: the problem text, the `<image>` check, images, columns and parquet writing.

The problem text has one home, here: the question, then for multiple choice one line per option (``A. …``) and
an instruction to answer with the letter. Formats whose consumer puts the image into the prompt itself (TRL's
image content part, R1-V, VLMEvalKit) get it without placeholders (`question_text`); formats that put
placeholders in the text (EasyR1, verl, VLM-R1, LLaMA-Factory) get one ``<image>`` per image in front
(`problem_text`). Instruction templates (``<think>``, ``\\boxed{}``) are left to the trainers.

Image columns are Hugging Face ``Image`` values (``{"bytes", "path"}`` structs) and parquet files carry the
``huggingface`` schema metadata, so ``datasets.load_dataset("parquet", …)`` decodes them to PIL images.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cadsynth.records import AnswerType, Sample
from cadsynth.store import RunStore

IMAGE_TOKEN = "<image>"
MCQ_INSTRUCTION = "Answer with the option's letter."
SPLITS = ("train", "validation")


class ExportError(ValueError):
    """A sample or an export request that would break the consumer; the message names what to fix."""


# ------------------------------------------------------------------------------------------------- problem text

def question_text(sample: Sample) -> str:
    """The question, then for multiple choice the lettered options and the instruction to answer with one."""
    text = sample.question.strip()
    if sample.choices:
        text += "\n" + "\n".join(f"{letter}. {option}" for letter, option in sample.choices.items())
        text += "\n" + MCQ_INSTRUCTION
    return text


def problem_text(sample: Sample, images: int = 1) -> str:
    """`question_text` with one ``<image>`` placeholder per image in front."""
    return IMAGE_TOKEN * images + question_text(sample)


def check_images(sample: Sample, text: str, images: int, *, placeholders: bool = True, parts: int | None = None,
                 fmt: str = "") -> None:
    """Raise `ExportError` unless the text's ``<image>`` placeholders match the images.

    ``placeholders=True``: the text must hold exactly one ``<image>`` per image (EasyR1, verl, VLM-R1,
    LLaMA-Factory). ``placeholders=False``: the consumer inserts the image itself (an image content part, or a
    separate column), so the text must hold none, and ``parts`` (image content parts) must equal the images.
    """
    found = text.count(IMAGE_TOKEN)
    expected = images if placeholders else 0
    if found != expected:
        where = f" ({fmt})" if fmt else ""
        hint = f"; its question itself contains '{IMAGE_TOKEN}'" if IMAGE_TOKEN in sample.question else ""
        raise ExportError(f"sample {sample.id}{where}: {found} '{IMAGE_TOKEN}' placeholder(s) in the text for "
                          f"{images} image(s), expected {expected}{hint}")
    if parts is not None and parts != images:
        raise ExportError(f"sample {sample.id} ({fmt}): {parts} image content part(s) for {images} image(s)")


# ------------------------------------------------------------------------------------------------------ images

IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])  # the Hugging Face `Image` storage type


def image_name(sample: Sample) -> str:
    assert sample.image is not None
    return f"{sample.image.sha256}.png"


# ---------------------------------------------------------------------------------------------- shared columns

PROVENANCE = pa.schema([
    ("id", pa.string()),
    ("seed_id", pa.string()),
    ("member", pa.string()),
    ("strategy", pa.string()),
    ("round", pa.int32()),
    ("context_version", pa.int32()),
    ("family", pa.string()),
    ("domain", pa.string()),
    ("difficulty", pa.int32()),
    ("question_kind", pa.string()),
    ("answer_type", pa.string()),
    ("consensus", pa.int32()),
    ("k", pa.int32()),
    ("partition", pa.string()),
])


def provenance(sample: Sample) -> dict[str, Any]:
    """The columns that say where a sample came from and how it was judged (kept in every tabular format)."""
    judgement = sample.judgement
    return {
        "id": sample.id,
        "seed_id": sample.provenance.seed_id,
        "member": sample.provenance.member,
        "strategy": sample.provenance.strategy.value,
        "round": sample.provenance.round,
        "context_version": sample.provenance.context_version,
        "family": sample.family,
        "domain": sample.domain,
        "difficulty": sample.difficulty,
        "question_kind": sample.question_kind,
        "answer_type": sample.answer_type.value,
        "consensus": judgement.consensus if judgement else None,
        "k": judgement.k if judgement else None,
        "partition": sample.partition.value,
    }


def choices_json(sample: Sample) -> str | None:
    """The options as a JSON object (letter -> text), or None for open questions; reward functions take it."""
    return json.dumps(sample.choices, ensure_ascii=False) if sample.choices else None


def is_mcq(sample: Sample) -> bool:
    return sample.answer_type is AnswerType.MCQ or bool(sample.choices)


# ------------------------------------------------------------------------------------ parquet with HF features

_VALUE_TYPES = {
    pa.string(): "string", pa.large_string(): "large_string", pa.int32(): "int32", pa.int64(): "int64",
    pa.float32(): "float32", pa.float64(): "float64", pa.bool_(): "bool", pa.binary(): "binary",
}


def hf_feature(dtype: pa.DataType) -> Any:
    """The `datasets` feature dict for an arrow type: `IMAGE` structs become ``Image``.

    Lists of plain values use ``{"feature": …, "_type": "Sequence"}`` and lists of structs the list form
    ``[{…}]``; both mean a list in every `datasets` version (2.x to 5.x) that the trainers pin.
    """
    if dtype == IMAGE:
        return {"_type": "Image"}
    if pa.types.is_list(dtype):
        inner = dtype.value_type
        if pa.types.is_struct(inner) and inner != IMAGE:
            return [hf_feature(inner)]
        return {"feature": hf_feature(inner), "_type": "Sequence"}
    if pa.types.is_struct(dtype):
        return {f.name: hf_feature(f.type) for f in dtype}
    if dtype in _VALUE_TYPES:
        return {"dtype": _VALUE_TYPES[dtype], "_type": "Value"}
    raise TypeError(f"no datasets feature for arrow type {dtype}")


def hf_features(schema: pa.Schema) -> dict[str, Any]:
    return {f.name: hf_feature(f.type) for f in schema}


def with_hf_metadata(schema: pa.Schema) -> pa.Schema:
    meta = json.dumps({"info": {"features": hf_features(schema)}})
    return schema.with_metadata({b"huggingface": meta.encode()})


def write_parquet(path: Path, rows: list[dict[str, Any]], schema: pa.Schema) -> Path:
    """Rows into one parquet file with a fixed schema and the `datasets` features in its metadata."""
    table = pa.Table.from_pylist(rows, schema=with_hf_metadata(schema))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


# ---------------------------------------------------------------------------------------------- the job, the exporter

@dataclass
class ExportJob:
    """What an exporter gets: the run, the output folder (empty) and the selected samples per split."""

    store: RunStore
    out: Path
    splits: dict[str, list[Sample]]  # "train" / "validation" -> samples, in store order; empty splits left out
    run_name: str
    manifest: dict[str, Any] = field(default_factory=dict)
    _png: dict[str, bytes] = field(default_factory=dict, repr=False)

    def png(self, sample: Sample) -> bytes:
        """The PNG bytes of a sample's image (cached by hash)."""
        if sample.image is None:
            raise ExportError(f"sample {sample.id} has no image")
        ref = sample.image
        if ref.sha256 not in self._png:
            path = self.store.image_path(ref)
            if not path.exists():
                raise ExportError(f"sample {sample.id}: image {ref.path} is missing from {self.store.path}")
            self._png[ref.sha256] = path.read_bytes()
        return self._png[ref.sha256]

    def image_value(self, sample: Sample) -> dict[str, Any]:
        """An embedded Hugging Face `Image` value."""
        return {"bytes": self.png(sample), "path": image_name(sample)}

    def copy_image(self, sample: Sample, folder: str = "images") -> str:
        """Write the image under out/folder (once per hash) and return its path relative to out."""
        rel = f"{folder}/{image_name(sample)}"
        target = self.out / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.png(sample))
        return rel

    def rows(self, make: Callable[[Sample, str, int], dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """`make(sample, split, index)` for every sample of every split."""
        return {split: [make(s, split, i) for i, s in enumerate(samples)] for split, samples in self.splits.items()}


@dataclass(frozen=True)
class Exporter:
    """One consumer format: `write(job)` fills job.out and returns the files it wrote."""

    name: str
    consumer: str
    write: Callable[[ExportJob], list[Path]]
    usage: Callable[[ExportJob], str]  # markdown for the dataset card: how the consumer loads this export
    parquet_configs: bool = False  # the card's YAML names the split parquet files, so load_dataset(out) works
    hub: bool = False  # can be pushed to the Hugging Face Hub
    splits: tuple[str, ...] = SPLITS  # the splits it writes
