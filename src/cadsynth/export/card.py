"""The dataset card (README.md) written with every export.

It says what is in the export and where it came from: samples and seeds per split, the consensus histogram
C/K, domains, families, strategies, generator members, judges (from the run manifest's config), rounds, the
seed sources with their licences, the filters and split rule used, and how the consumer loads the files.
Its YAML front matter is the Hugging Face Hub's card metadata (licence, size, and for parquet exports the
``configs`` that let ``datasets.load_dataset(<export folder>)`` find the splits).

Seed licences: program seeds are cadsynth's own task programs, under the project's licence (Apache-2.0);
MATH-Vision and DynaMath are MIT. Any other seed source's licence is unknown to cadsynth and the card says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import yaml

from cadsynth.records import Partition, Sample

if TYPE_CHECKING:
    from cadsynth.export.base import Exporter, ExportJob

PROJECT_LICENCE = "apache-2.0"
SEED_LICENCES: dict[str, tuple[str, str]] = {
    "program": (PROJECT_LICENCE, "Apache-2.0: cadsynth's own task programs (the project's licence)"),
    "mathv": ("mit", "MIT: MATH-Vision (MathVision) testmini"),
    "dynamath": ("mit", "MIT: DynaMath"),
}


def seed_licence(source: str) -> tuple[str, str]:
    """(Hub licence id, description) of a seed source."""
    return SEED_LICENCES.get(source, ("other", "unknown: check the licence of the seed files before sharing"))


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M"


def _ck(sample: Sample) -> str:
    j = sample.judgement
    return f"{j.consensus}/{j.k}" if j else "unjudged"


def _ck_key(label: str) -> tuple:
    if "/" not in label:
        return (1, 0, 0)
    c, k = (int(x) for x in label.split("/"))
    return (0, k, -c)


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _by_split(job: ExportJob, key, title: str, order=None) -> str:
    """A table of counts of key(sample) per split, with a total column."""
    splits = list(job.splits)
    counts = {split: Counter(key(s) for s in samples) for split, samples in job.splits.items()}
    total = sum(counts.values(), Counter())
    labels = sorted(total, key=order or (lambda v: (v is None, str(v))))
    rows = [[label if label is not None else "—", *(counts[s][label] for s in splits), total[label]]
            for label in labels]
    return _table([title, *splits, "total"], rows)


def seed_sources(job: ExportJob) -> dict[str, int]:
    """Seed source -> number of distinct seeds in the export ('unknown' for seeds not in seeds.jsonl)."""
    seeds = {s.id: s for s in job.store.seeds()}
    ids = {s.provenance.seed_id for samples in job.splits.values() for s in samples}
    return dict(Counter(seeds[i].source if i in seeds else "unknown" for i in ids))


def _partition_counts(samples: list) -> list[int]:
    return [sum(s.partition is p for s in samples) for p in (Partition.KEPT, Partition.ADVERSARIAL, Partition.UNJUDGED)]


def card_metadata(job: ExportJob, exporter: Exporter, data_files: dict[str, str] | None) -> dict[str, Any]:
    total = sum(len(v) for v in job.splits.values())
    licences = {seed_licence(source)[0] for source in seed_sources(job)}
    meta: dict[str, Any] = {
        "license": licences.pop() if len(licences) == 1 else "other",
        "pretty_name": f"cadsynth {job.run_name} ({exporter.name})",
        "tags": ["cadsynth", "synthetic", "visual-reasoning", "adversarial"],
        "task_categories": ["visual-question-answering"],
        "size_categories": [_size_category(total)],
    }
    if data_files:
        meta["configs"] = [{
            "config_name": "default",
            "data_files": [{"split": split, "path": path} for split, path in data_files.items()],
        }]
    return meta


def render_card(job: ExportJob, exporter: Exporter, *, filters: dict[str, Any], val_share: float, salt: str,
                left_out: dict[str, int], data_files: dict[str, str] | None = None) -> str:
    """The README.md text of an export."""
    meta = card_metadata(job, exporter, data_files)
    config = job.manifest.get("config", {}) if job.manifest else {}
    samples = [s for split in job.splits.values() for s in split]
    out = ["---", yaml.safe_dump(meta, sort_keys=False).strip(), "---", ""]
    out += [f"# {job.run_name}: synthesized with cadsynth ({exporter.consumer})", ""]
    out += [
        "Made by cadsynth with Collective Adversarial Data Synthesis (CADS): a committee of "
        "models generated these (image, question, answer) samples from seeds and answered each one blind. "
        "C is the number of the K judges that reached the reference answer. Samples with C = K are *kept*, "
        "samples with 0 < C < K are *adversarial* (the committee disagreed), and C = 0 was discarded. "
        "*Unjudged* samples come from task programs whose questions no judge could see (every judge abstained): "
        "their answers are computed by the program (verified by construction) but no model answered them.",
        "",
        "## Splits",
        "",
        _table(["split", "samples", "seeds", "kept (C=K)", "adversarial (0<C<K)", "unjudged (verified by construction)"], [
            [split, len(v), len({s.provenance.seed_id for s in v}), *_partition_counts(v)]
            for split, v in job.splits.items()
        ] + [["total", len(samples), len({s.provenance.seed_id for s in samples}), *_partition_counts(samples)]]),
        "",
        f"Split by seed: a seed goes to validation when sha256(salt, seed id) read as a number in [0, 1) is below "
        f"the validation share ({val_share}; salt `{salt}`), so all variants of a seed are in one split and a "
        "seed is in the same split in every export made with that salt.",
        "",
        "## Consensus (C/K)",
        "",
        _by_split(job, _ck, "C/K", order=_ck_key),
        "",
        "## Domains",
        "",
        _by_split(job, lambda s: s.domain, "domain"),
        "",
        "## Families",
        "",
        _by_split(job, lambda s: s.family, "family"),
        "",
        "## Strategies",
        "",
        _by_split(job, lambda s: s.provenance.strategy.value, "strategy"),
        "",
        "## Rounds",
        "",
        _by_split(job, lambda s: s.provenance.round, "round", order=lambda v: (v is None, v or 0)),
        "",
        "## Models",
        "",
        "Generator members (from the samples):",
        "",
        _by_split(job, lambda s: s.provenance.member, "member"),
        "",
    ]
    generators = config.get("generators") or []
    if generators:
        out += ["Generators configured in the run: " + ", ".join(_model(g) for g in generators) + ".", ""]
    judges = config.get("judges") or []
    out += ["Judges (the committee that answered blind): "
            + (", ".join(_model(j) for j in judges) if judges else "not recorded in the run manifest") + ".", ""]
    sources = seed_sources(job)
    out += [
        "## Seeds and licences",
        "",
        _table(["seed source", "seeds", "licence"],
               [[src, n, seed_licence(src)[1]] for src, n in sorted(sources.items())]),
        "",
    ]
    seeds_cfg = config.get("seeds") or {}
    if seeds_cfg.get("path"):
        out += [f"Seed files: `{seeds_cfg['path']}`.", ""]
    out += [
        "Derived samples inherit the terms of their seeds; the synthesized images and questions were made by "
        "the members listed above.",
        "",
        "## Selection",
        "",
        "Filters: " + ", ".join(f"{k} = {_plain(v)}" for k, v in filters.items()) + ".",
        "",
    ]
    if left_out:
        out += ["Left out: " + ", ".join(f"{k} {v}" for k, v in sorted(left_out.items())) + ".", ""]
    versions = job.manifest.get("versions") if job.manifest else None
    if versions:
        out += ["Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + ".", ""]
    out += ["## Usage", "", exporter.usage(job).strip(), ""]
    return "\n".join(out)


def _model(entry: dict[str, Any]) -> str:
    name = entry.get("name", "?")
    detail = entry.get("model") or entry.get("weights") or entry.get("kind")
    return f"`{name}` ({detail})" if detail else f"`{name}`"


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return "any" if not value else "[" + ", ".join(map(str, value)) + "]"
    return "none" if value is None else str(value)
