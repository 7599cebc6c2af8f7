"""Every format: fields as FORMATS.md names them, the `<image>` check, the card, the output folder.

These tests need only the core dependencies (pyarrow, json, csv); `test_loaders.py` loads the same exports with
the consumers' own loaders.
"""

from __future__ import annotations

import base64
import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from PIL import Image

from cadsynth.config import SeedsConfig
from cadsynth.export import CARD, FORMATS, MARKER, ExportError, Filters, export
from cadsynth.export.base import IMAGE_TOKEN, MCQ_INSTRUCTION
from cadsynth.export.select import seed_split
from cadsynth.records import Partition
from cadsynth.seeds import load_seeds
from cadsynth.store import RunStore

CORE = [f for f in FORMATS if f != "hf"]


def _exported(run_dir):
    return [s for s in RunStore(run_dir).samples() if s.kept]


def _open(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


@pytest.mark.parametrize("fmt", CORE)
def test_every_format_writes_its_files_card_and_marker(run_dir, tmp_path, fmt):
    result = export(run_dir, fmt, tmp_path / fmt, val_share=0.3)
    kept = _exported(run_dir)
    if fmt == "vlmevalkit":
        assert set(result.counts) == {"validation"}
        assert result.counts["validation"] == sum(seed_split(s.provenance.seed_id, 0.3) == "validation" for s in kept)
    else:
        assert result.total == len(kept) and set(result.counts) == {"train", "validation"}
    assert all(p.exists() for p in result.files)
    card = (tmp_path / fmt / CARD).read_text()
    for text in ("## Splits", "## Consensus (C/K)", "| 1/3 |", "## Domains", "## Strategies", "## Rounds",
                 "## Models", "judge-a", "## Seeds and licences", "Apache-2.0", "## Usage"):
        assert text in card, text
    if fmt != "vlmevalkit":  # the MATH-Vision seed is in the train split
        assert "| mathv | 1 | MIT: MATH-Vision" in card
    marker = json.loads((tmp_path / fmt / MARKER).read_text())
    assert marker["format"] == fmt and marker["counts"] == result.counts


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_stray_image_placeholder_is_refused_naming_the_sample(tmp_path, sample_factory, make_run, fmt):
    if fmt == "hf":
        pytest.importorskip("datasets")
    run = make_run(tmp_path / "run")
    store = RunStore(run)
    image = next(iter(store.samples())).image
    bad = sample_factory(id="bad-sample", question=f"Look at {IMAGE_TOKEN} and count the bars.", image=image)
    store.commit_unit(1, "bad", [bad])
    with pytest.raises(ExportError, match=f"sample bad-sample .*{IMAGE_TOKEN}.*question itself"):
        export(run, fmt, tmp_path / "out", val_share=1.0)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.tmp-*"))


def test_easyr1_fields_and_round_trip_through_the_seed_reader(run_dir, tmp_path):
    result = export(run_dir, "easyr1", tmp_path / "e", val_share=0.3)
    rows = pq.read_table(tmp_path / "e" / "train.parquet").to_pylist()
    assert len(rows) == result.counts["train"]
    for row in rows:
        assert row["problem"].count(IMAGE_TOKEN) == len(row["images"]) == 1
        assert _open(row["images"][0]["bytes"]).size == (16, 16)
        assert row["answer"] and row["partition"] in ("kept", "adversarial") and row["consensus"] >= 1
        assert seed_split(row["seed_id"], 0.3) == "train"
    mcq = [r for r in rows if r["answer_type"] == "mcq"]
    assert mcq and all("\nA. 1\n" in r["problem"] and r["problem"].endswith(MCQ_INSTRUCTION) for r in mcq)
    # cadsynth's own EasyR1 reader takes the export back as seeds
    pool = load_seeds(SeedsConfig(source="easyr1", path=tmp_path / "e" / "train.parquet"),
                      image_cache=tmp_path / "cache")
    assert len(pool.seeds) == len(rows) and not pool.problems
    assert [s.answer for s in pool.seeds] == [r["answer"] for r in rows]
    assert all(IMAGE_TOKEN not in s.question for s in pool.seeds)


def test_verl_fields(run_dir, tmp_path):
    export(run_dir, "verl", tmp_path / "v", val_share=0.3)
    rows = pq.read_table(tmp_path / "v" / "validation.parquet").to_pylist()
    for i, row in enumerate(rows):
        assert row["data_source"] == "cadsynth/demo"
        [turn] = row["prompt"]
        assert turn["role"] == "user" and turn["content"].startswith(IMAGE_TOKEN)
        assert turn["content"].count(IMAGE_TOKEN) == len(row["images"]) == 1
        _open(row["images"][0]["bytes"])
        assert row["reward_model"] == {"style": "rule", "ground_truth": row["extra_info"]["answer"]}
        assert row["extra_info"]["split"] == "validation" and row["extra_info"]["index"] == i
        assert row["extra_info"]["question"] and row["ability"] in ("chart", "geometry", "counting")


def test_trl_and_r1v_fields(run_dir, tmp_path):
    export(run_dir, "trl", tmp_path / "t", val_share=0.3)
    for row in pq.read_table(tmp_path / "t" / "train.parquet").to_pylist():
        [turn] = row["prompt"]
        assert turn["role"] == "user" and [p["type"] for p in turn["content"]] == ["image", "text"]
        assert IMAGE_TOKEN not in turn["content"][1]["text"] and len(row["images"]) == 1
        assert row["answer"] and row["seed_id"]
    export(run_dir, "r1v", tmp_path / "r", val_share=0.3)
    for row in pq.read_table(tmp_path / "r" / "train.parquet").to_pylist():
        assert row["solution"] == f"<answer> {row['answer']} </answer>"
        assert IMAGE_TOKEN not in row["problem"] and _open(row["image"]["bytes"])


def test_vlm_r1_jsonl_and_image_folder(run_dir, tmp_path):
    out = tmp_path / "vr"
    result = export(run_dir, "vlm-r1", out, val_share=0.3)
    lines = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert len(lines) == result.counts["train"]
    for line in lines:
        human, gpt = line["conversations"]
        assert human["from"] == "human" and gpt["from"] == "gpt"
        assert human["value"].count(IMAGE_TOKEN) == 1 and gpt["value"]
        assert _open((out / line["image"]).read_bytes())
        assert line["id"] and line["seed_id"]


def test_llamafactory_sharegpt_and_dataset_info(run_dir, tmp_path):
    out = tmp_path / "lf"
    result = export(run_dir, "llamafactory", out, val_share=0.3)
    info = json.loads((out / "dataset_info.json").read_text())
    assert set(info) == {"cadsynth_demo", "cadsynth_demo_validation"}
    entry = info["cadsynth_demo"]
    assert entry["formatting"] == "sharegpt" and entry["columns"] == {"messages": "messages", "images": "images"}
    assert entry["tags"]["user_tag"] == "user" and entry["tags"]["assistant_tag"] == "assistant"
    records = json.loads((out / entry["file_name"]).read_text())
    assert len(records) == result.counts["train"]
    for record in records:
        user, assistant = record["messages"]
        assert user["role"] == "user" and assistant["role"] == "assistant"
        assert user["content"].count(IMAGE_TOKEN) == len(record["images"]) == 1
        assert (out / record["images"][0]).exists()
        assert assistant["content"].startswith("Counting gives")  # the worked solution, ending with the answer


def test_vlmevalkit_tsv_is_the_validation_split(run_dir, tmp_path):
    out = tmp_path / "vk"
    export(run_dir, "vlmevalkit", out, val_share=0.3)
    mcq = list(csv.DictReader(open(out / "CADS_demo_MCQ.tsv", newline=""), delimiter="\t"))
    vqa = list(csv.DictReader(open(out / "CADS_demo_VQA.tsv", newline=""), delimiter="\t"))
    assert mcq and vqa
    for row in mcq:
        assert row["answer"] in "ABCD" and all(row[k] for k in "ABCD")
    assert [int(r["index"]) for r in mcq] == list(range(len(mcq)))
    for row in mcq + vqa:
        assert seed_split(row["seed_id"], 0.3) == "validation"
        assert _open(base64.b64decode(row["image"])).size == (16, 16)
        assert row["question"] and IMAGE_TOKEN not in row["question"]
    assert "A" not in vqa[0]
    with pytest.raises(ExportError, match="validation split"):
        export(run_dir, "vlmevalkit", tmp_path / "none", val_share=0.0)


def test_filters_reach_the_files_and_the_card(run_dir, tmp_path):
    result = export(run_dir, "easyr1", tmp_path / "k", Filters.make(partitions=["kept"], domains=["counting"]),
                    val_share=0.0)
    rows = pq.read_table(tmp_path / "k" / "train.parquet").to_pylist()
    assert rows and {r["partition"] for r in rows} == {"kept"} and {r["domain"] for r in rows} == {"counting"}
    assert set(result.counts) == {"train"} and result.left_out["partition_adversarial"] > 0
    card = (tmp_path / "k" / CARD).read_text()
    assert "license: apache-2.0" in card and "partitions = [kept]" in card and "domains = [counting]" in card
    assert "path: train.parquet" in card and "validation.parquet" not in card
    mixed = export(run_dir, "easyr1", tmp_path / "m", val_share=0.3)
    assert "license: other" in mixed.card.read_text()  # program (Apache-2.0) and MIT seeds together
    with pytest.raises(ExportError, match="no sample"):
        export(run_dir, "easyr1", tmp_path / "x", Filters.make(domains=["nowhere"]))


def test_exports_are_deterministic_and_replace_earlier_exports(run_dir, tmp_path):
    first = export(run_dir, "verl", tmp_path / "a", val_share=0.3)
    again = export(run_dir, "verl", tmp_path / "b", val_share=0.3)
    for a, b in zip(first.files, again.files, strict=True):
        assert a.read_bytes() == b.read_bytes()
    # re-exporting into the same folder replaces it whole: no stale validation file
    export(run_dir, "verl", tmp_path / "a", val_share=0.0)
    assert not (tmp_path / "a" / "validation.parquet").exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match="not a cadsynth export"):
        export(run_dir, "verl", other)
    assert (other / "notes.txt").read_text() == "keep me"


def test_default_out_and_request_errors(run_dir, tmp_path):
    result = export(run_dir)
    assert result.out == run_dir / "export" / "easyr1" and result.format == "easyr1"
    with pytest.raises(ExportError, match="unknown export format 'nope'"):
        export(run_dir, "nope")
    with pytest.raises(ExportError, match="not a cadsynth run"):
        export(tmp_path / "missing")
    with pytest.raises(ExportError, match="--push-to-hub works with --format hf"):
        export(run_dir, "easyr1", push_to_hub="me/data")


def test_empty_validation_split_is_warned_about(tmp_path, make_run):
    run = make_run(tmp_path / "run", seeds_per_family=1)
    result = export(run, "easyr1", val_share=0.0001)
    assert set(result.counts) == {"train"} and "no seed fell into the validation split" in result.warnings[0]
    assert all(s.partition is not Partition.DISCARDED for s in RunStore(run).samples() if s.kept)
