"""A small synthetic run for the exporters: seeds from three sources, samples of every partition."""

from __future__ import annotations

import io
from pathlib import Path
from unittest import mock

import pytest
from PIL import Image

from cadsynth.records import AnswerType, Check, Partition, Seed, Strategy
from cadsynth.store import RunStore

DOMAINS = {"bars": "chart", "grid": "geometry", "shapes": "counting"}
STRATEGIES = list(Strategy)


def png(i: int, size: int = 16) -> bytes:
    """A distinct small RGB image per i."""
    image = Image.new("RGB", (size, size), ((37 * i) % 256, (91 * i + 50) % 256, (53 * i + 100) % 256))
    image.putpixel((i % size, (i // size) % size), (255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def build_run(path: Path, factory, *, seeds_per_family: int = 6, extra_samples=()) -> Path:
    """A run with program seeds (bars/grid/shapes), one MATH-Vision and one DynaMath seed.

    Each seed has four samples over two rounds: kept (C=3/3), adversarial (2/3, and 1/3 for MCQ) and one
    discarded; every third kept sample passed a check named "recomputed".
    """
    with mock.patch("os.fsync"):  # test data: skip the store's durability syncs, ten times faster
        return _build(path, factory, seeds_per_family, extra_samples)


def _build(path: Path, factory, seeds_per_family: int, extra_samples) -> Path:
    store = RunStore.open(path)
    seeds = [Seed(id=f"{fam}-{i:03d}", source="program", question="q", answer="1", domain=dom)
             for fam, dom in DOMAINS.items() for i in range(1, seeds_per_family + 1)]
    seeds += [Seed(id="mathv-1", source="mathv", question="q", answer="A", domain="geometry"),
              Seed(id="dyn-7", source="dynamath", question="q", answer="2", domain="chart")]
    store.write_seeds(seeds, [])
    n = 0
    for round_ in (1, 2):
        for seed in seeds:
            family = seed.id.split("-")[0] if seed.source == "program" else "grid"
            samples = []
            for j, partition in enumerate((Partition.KEPT, Partition.ADVERSARIAL)
                                          + ((Partition.DISCARDED,) if round_ == 1 else ())):
                n += 1
                mcq = (n % 4 == 0)
                fields = dict(
                    id=f"{seed.id}-r{round_}-{j}",
                    family=family,
                    domain=seed.domain,
                    partition=partition,
                    round_=round_,
                    strategy=STRATEGIES[n % 4],
                    image=store.put_image(png(n)),
                    question=f"How many items in picture {n}?",
                    answer="B" if mcq else str(n),
                    answer_type=AnswerType.MCQ if mcq else AnswerType.INTEGER,
                    choices={"A": "1", "B": str(n), "C": "3", "D": "4"} if mcq else None,
                    solution=f"Counting gives {n}. So the answer is {'option B' if mcq else n}.",
                    question_kind="count",
                )
                if partition is Partition.ADVERSARIAL and mcq:
                    fields["consensus"] = 1
                if partition is Partition.KEPT and n % 3 == 0:
                    fields["checks"] = [Check(name="recomputed", passed=True)]
                sample = factory(**fields)
                sample = sample.model_copy(update={"provenance": sample.provenance.model_copy(
                    update={"seed_id": seed.id})})
                samples.append(sample)
            store.commit_unit(round_, f"{seed.id}:{round_}", samples)
    for round_, sample in extra_samples:
        store.commit_unit(round_, f"extra:{sample.id}", [sample])
    store.write_json("manifest.json", {
        "name": "demo",
        "config": {
            "seeds": {"source": "program"},
            "generators": [{"kind": "program", "name": "program"}],
            "judges": [{"kind": "local", "name": f"judge-{c}", "weights": f"builtin:judge-{c}"} for c in "abc"],
        },
        "versions": {"cadsynth": "0.1.0"},
    })
    store.close()
    return path


@pytest.fixture
def run_dir(tmp_path, sample_factory) -> Path:
    return build_run(tmp_path / "runs" / "demo", sample_factory)


@pytest.fixture
def make_run(sample_factory):
    """build_run with the shared sample factory: make_run(path, **options)."""
    return lambda path, **options: build_run(path, sample_factory, **options)
