"""Each export loaded with the consumer's own loader: Hugging Face `datasets` (EasyR1, verl, TRL, R1-V and
LLaMA-Factory all read their files through it; VLM-R1 through `Dataset.from_list` of its JSONL), and pandas'
``read_csv(sep="\\t")``, which is VLMEvalKit's TSV loader."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

datasets = pytest.importorskip("datasets")

from cadsynth.export import easyr1, export, hf, r1v, trl, verl  # noqa: E402
from cadsynth.export.base import IMAGE_TOKEN, hf_features  # noqa: E402
from cadsynth.records import Sample  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet():
    datasets.disable_progress_bars()
    yield
    datasets.enable_progress_bars()


@pytest.mark.parametrize("module", [easyr1, verl, trl, r1v, hf], ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_parquet_metadata_is_what_datasets_would_write(module):
    features = datasets.Features.from_dict(hf_features(module.SCHEMA))
    assert features.arrow_schema.remove_metadata() == module.SCHEMA


@pytest.mark.parametrize("fmt, image_column", [("easyr1", "images"), ("verl", "images"), ("trl", "images"),
                                               ("r1v", "image")])
def test_parquet_exports_load_with_load_dataset_and_decode_images(run_dir, tmp_path, fmt, image_column):
    out = tmp_path / fmt
    result = export(run_dir, fmt, out, val_share=0.3)
    # the folder itself (the card's YAML names the splits), as `load_dataset("<folder>")` or a Hub repo would
    data = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    assert {split: len(data[split]) for split in data} == result.counts
    feature = data["train"].features[image_column]
    assert isinstance(feature, datasets.Image) or isinstance(feature.feature, datasets.Image)
    for row in data["train"]:
        images = row[image_column] if isinstance(row[image_column], list) else [row[image_column]]
        assert all(isinstance(image, Image.Image) and image.size == (16, 16) for image in images)
    # a single file, as the trainers' `data_files=…parquet` does
    one = datasets.load_dataset("parquet", data_files=str(out / "validation.parquet"), split="train",
                                cache_dir=str(tmp_path / "cache2"))
    assert len(one) == result.counts["validation"] and one.features == data["validation"].features


def test_hf_directory_loads_from_disk_with_provenance(run_dir, tmp_path):
    out = tmp_path / "hf"
    result = export(run_dir, "hf", out, val_share=0.3)
    data = datasets.load_from_disk(str(out))
    assert set(data) == {"train", "validation"} and {k: len(v) for k, v in data.items()} == result.counts
    assert isinstance(data["train"].features["images"].feature, datasets.Image)
    row = data["validation"][0]
    assert isinstance(row["images"][0], Image.Image) and row["problem"].count(IMAGE_TOKEN) == 1
    sample = Sample.model_validate_json(row["record"])
    assert sample.id == row["id"] and sample.provenance.seed_id == row["seed_id"]
    assert len(row["votes"]) == row["k"] == 3 and {v["verdict"] for v in row["votes"]} <= {"correct", "wrong"}
    mcq = [r for r in data["train"] if r["choices"]]
    assert mcq and [c["letter"] for c in mcq[0]["choices"]] == ["A", "B", "C", "D"]


def test_hf_push_to_hub_uploads_card_then_data(run_dir, tmp_path, monkeypatch):
    calls = []

    class FakeApi:
        def create_repo(self, repo_id, **kwargs):
            calls.append(("create_repo", repo_id, kwargs["repo_type"]))

        def upload_file(self, path_or_fileobj, path_in_repo, repo_id, **kwargs):
            calls.append(("upload_file", repo_id, path_in_repo, path_or_fileobj.decode()[:3]))

    def fake_push(self, repo_id, **kwargs):
        calls.append(("push_to_hub", repo_id, sorted(self)))

    monkeypatch.setattr(hf, "_hub_api", FakeApi)
    monkeypatch.setattr(datasets.DatasetDict, "push_to_hub", fake_push)
    result = export(run_dir, "hf", tmp_path / "hub", val_share=0.3, push_to_hub="me/cads-demo")
    assert result.pushed_to == "me/cads-demo"
    assert calls == [("create_repo", "me/cads-demo", "dataset"),
                     ("upload_file", "me/cads-demo", "README.md", "---"),
                     ("push_to_hub", "me/cads-demo", ["train", "validation"])]


def test_vlm_r1_jsonl_loads_the_way_vlm_r1_reads_it(run_dir, tmp_path):
    out = tmp_path / "vr"
    export(run_dir, "vlm-r1", out, val_share=0.3)
    data = datasets.load_dataset("json", data_files=str(out / "train.jsonl"), split="train",
                                 cache_dir=str(tmp_path / "cache"))
    # VLM-R1's grpo_jsonl.py: image path joined to the image folder, problem = human turn without <image>
    for item in data:
        Image.open(out / item["image"]).verify()
        problem = item["conversations"][0]["value"].replace(IMAGE_TOKEN, "")
        assert problem and IMAGE_TOKEN not in problem and item["conversations"][1]["value"]


def test_llamafactory_json_loads_and_images_resolve_from_dataset_dir(run_dir, tmp_path):
    out = tmp_path / "lf"
    export(run_dir, "llamafactory", out, val_share=0.3)
    info = json.loads((out / "dataset_info.json").read_text())
    for name, entry in info.items():
        data = datasets.load_dataset("json", data_files=str(out / entry["file_name"]), split="train",
                                     cache_dir=str(tmp_path / f"cache-{name}"))
        assert set(entry["columns"].values()) <= set(data.column_names)
        for row in data:
            assert row["messages"][0]["content"].count(IMAGE_TOKEN) == len(row["images"])
            Image.open(out / row["images"][0]).verify()


def test_vlmevalkit_tsv_loads_with_pandas_as_vlmevalkit_does(run_dir, tmp_path):
    pd = pytest.importorskip("pandas")
    out = tmp_path / "vk"
    export(run_dir, "vlmevalkit", out, val_share=0.3)
    mcq = pd.read_csv(out / "CADS_demo_MCQ.tsv", sep="\t")
    vqa = pd.read_csv(out / "CADS_demo_VQA.tsv", sep="\t")
    # VLMEvalKit's rule: option columns A and B make a TSV multiple choice, otherwise it is VQA
    assert "A" in mcq and "B" in mcq and "A" not in vqa and "B" not in vqa
    assert "question" in mcq and "question" in vqa and mcq["index"].is_unique
    for frame in (mcq, vqa):
        for encoded in frame["image"]:
            Image.open(io.BytesIO(base64.b64decode(encoded))).verify()
    assert set(mcq["answer"]) <= {"A", "B", "C", "D"}

