import json
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import yaml
from PIL import Image

pytest.importorskip("trl", reason="the train extra (trl, datasets) is not installed")
pytest.importorskip("datasets", reason="the train extra (trl, datasets) is not installed")

import cadsynth  # noqa: E402
from cadsynth.images import render_program  # noqa: E402
from cadsynth.tasks import sample  # noqa: E402
from cadsynth.train import rewards  # noqa: E402
from cadsynth.train.grpo import (  # noqa: E402
    PRESETS,
    grpo_arguments,
    load_training_data,
    train,
    write_easyr1_config,
)
from cadsynth.train.tiny import TinyVLMProcessor, load_tiny  # noqa: E402

JUDGE = Path(cadsynth.__file__).parent / "local" / "weights" / "judge-a"
QUESTION = "How many shapes are there in the picture?"


def _count_scene(seed: int) -> tuple[bytes, str]:
    """A hard counting picture from the shapes family and its answer: judge-a gets these right only sometimes."""
    instance = sample("shapes", np.random.default_rng(seed), 3, kind="count_all")
    return render_program("shapes", instance.scene), instance.answer


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def export_dir(tmp_path):
    """An EasyR1 export: train.parquet and validation.parquet of hard counting questions. judge-a answers them
    right only part of the time at temperature 1, so rewards vary within a group and steps update the policy."""
    out = tmp_path / "export"
    out.mkdir()
    for split, n in (("train", 8), ("validation", 2)):
        rows = []
        for i in range(n):
            png, answer = _count_scene(i if split == "train" else 100 + i)
            rows.append({"images": [{"bytes": png, "path": f"{i}.png"}], "problem": f"<image>{QUESTION}",
                         "answer": answer, "answer_type": "integer", "id": f"{split}{i}"})
        pq.write_table(pa.Table.from_pylist(rows), out / f"{split}.parquet")
    return out


def _weights(directory):
    return load_tiny(directory).model.state_dict()


def test_tiny_grpo_checkpoints_and_resume_match_an_uninterrupted_run(export_dir, tmp_path, one_thread):
    settings = {"max_steps": 4, "save_steps": 2, "learning_rate": 1e-3}
    started = time.perf_counter()
    straight = train(export_dir, JUDGE, "tiny", tmp_path / "a", **settings)
    print(f"tiny GRPO: {straight.steps_per_s:.1f} steps/s in the trainer, {time.perf_counter() - started:.1f} s "
          "with loading")
    assert straight.steps == straight.new_steps == 4
    assert {p.name for p in (tmp_path / "a").glob("checkpoint-*")} == {"checkpoint-2", "checkpoint-4"}
    assert any(entry.get("rewards/accuracy_reward/std", 0) > 0 for entry in straight.log)

    first = train(export_dir, JUDGE, "tiny", tmp_path / "b", **{**settings, "max_steps": 2})
    assert first.steps == 2
    with pytest.raises(FileExistsError):
        train(export_dir, JUDGE, "tiny", tmp_path / "b", **settings)
    resumed = train(export_dir, JUDGE, "tiny", tmp_path / "b", resume=True, **settings)
    assert resumed.steps == 4 and resumed.new_steps == 2
    assert Path(resumed.resumed_from).name == "checkpoint-2"

    a, b, start = _weights(tmp_path / "a" / "final"), _weights(tmp_path / "b" / "final"), _weights(JUDGE)
    assert any(not torch.equal(a[k], start[k]) for k in a)  # GRPO moved the policy
    assert all(torch.equal(a[k], b[k]) for k in a)  # resume restored weights, optimizer, RNG and step exactly
    assert all(torch.equal(a[k], v) for k, v in _weights(tmp_path / "a" / "checkpoint-4").items())

    manifest = json.loads((tmp_path / "b" / "cadsynth-train.json").read_text())
    assert manifest["matcher"] == rewards.matcher_info() and manifest["global_step"] == 4
    assert load_tiny(tmp_path / "b" / "final").answer([Image.new("RGB", (64, 64))], [QUESTION])


def test_processor_renders_exactly_the_tiny_prompt():
    vlm = load_tiny(JUDGE)
    processor = TinyVLMProcessor(vlm)
    image = Image.new("RGB", (64, 64), "white")
    conversation = [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": QUESTION}]}]
    encoded = processor.apply_chat_template([conversation], tokenize=True, return_dict=True)
    assert encoded["input_ids"][0] == vlm.prompt(QUESTION)
    assert tuple(encoded["pixel_values"].shape) == (1, 3, 64, 64)
    text = processor.apply_chat_template(conversation)
    batch = processor(images=[[image]], text=[text])
    assert batch["input_ids"][0].tolist() == vlm.prompt(QUESTION)


def test_training_data_from_easyr1_and_trl_layouts(export_dir, tmp_path):
    data = load_training_data(export_dir, template="r1")
    row = data[0]
    assert row["answer"] == _count_scene(0)[1] and isinstance(row["images"][0], Image.Image)
    text = row["prompt"][0]["content"][-1]["text"]
    assert text.startswith(QUESTION) and "<think>" in text and "<image>" not in text
    assert [p["type"] for p in row["prompt"][0]["content"]] == ["image", "text"]

    trl = tmp_path / "trl"
    trl.mkdir()
    prompt = [{"role": "user", "content": [{"type": "image", "text": None}, {"type": "text", "text": QUESTION}]}]
    pq.write_table(pa.Table.from_pylist([{"prompt": prompt, "images": [{"bytes": _count_scene(0)[0], "path": "0.png"}],
                                          "answer": "C"}]), trl / "train.parquet")
    row = load_training_data(trl, template="plain")[0]
    assert row["prompt"][0]["content"][-1]["text"] == QUESTION and row["answer"] == "C"

    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist([{"problem": "<image><image>Q", "images": [{"bytes": _count_scene(0)[0]}],
                                          "answer": "1"}]), bad)
    with pytest.raises(ValueError, match="placeholders"):
        load_training_data(bad)


def test_qwen_preset_builds_the_papers_arguments(tmp_path):
    from trl import GRPOConfig

    args = grpo_arguments("qwen2.5-vl-7b", tmp_path, num_processes=8)
    assert args["num_generations"] == 8 and args["temperature"] == 1.0 and args["learning_rate"] == 1e-6
    completions = args["per_device_train_batch_size"] * 8 * args["gradient_accumulation_steps"]
    assert completions == 128 * 8  # 128 prompts x 8 rollouts per optimizer step
    assert grpo_arguments("qwen2.5-vl-7b", tmp_path, num_processes=4)["gradient_accumulation_steps"] == 32
    assert args["bf16"] and args["reward_weights"] == [0.9, 0.1]
    config = GRPOConfig(**{**args, "bf16": False, "use_cpu": True})  # bf16 needs a GPU; the rest is checked here
    assert config.num_generations == 8 and config.learning_rate == 1e-6 and config.beta == 0.01
    assert PRESETS["qwen2.5-vl-7b"].template == "r1" and PRESETS["tiny"].template == "plain"


def test_easyr1_config(export_dir, tmp_path):
    path = write_easyr1_config(export_dir, "/models/Qwen2.5-VL-7B-Instruct", tmp_path / "cfg" / "grpo.yaml")
    config = yaml.safe_load(path.read_text())
    data, worker = config["data"], config["worker"]
    assert data["train_files"] == str(export_dir / "train.parquet")
    assert data["val_files"] == str(export_dir / "validation.parquet")
    assert (data["prompt_key"], data["answer_key"], data["image_key"]) == ("problem", "answer", "images")
    assert "{{ content | trim }}" in Path(data["format_prompt"]).read_text()
    assert worker["rollout"]["n"] == 8 and worker["rollout"]["temperature"] == 1.0
    assert worker["actor"]["optim"]["lr"] == 1e-6
    assert data["rollout_batch_size"] == worker["actor"]["global_batch_size"] == 128
    file, name = worker["reward"]["reward_function"].rsplit(":", 1)
    assert Path(file) == Path(rewards.__file__).resolve() and name == "compute_score"
    assert worker["reward"]["reward_type"] == "batch"
    assert worker["actor"]["model"]["model_path"] == "/models/Qwen2.5-VL-7B-Instruct"


def test_train_command(export_dir, tmp_path, one_thread):
    import typer
    from typer.testing import CliRunner

    from cadsynth.train.cli import register

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps `train` a named subcommand
    runner = CliRunner()
    result = runner.invoke(app, ["train", "--data", str(export_dir), "--model", str(JUDGE), "--out",
                                 str(tmp_path / "run"), "--max-steps", "2", "--save-steps", "1"])
    assert result.exit_code == 0, result.output
    assert "step 2" in result.output and (tmp_path / "run" / "checkpoint-2").is_dir()
    result = runner.invoke(app, ["train", "--data", str(export_dir), "--model", "m", "--preset", "qwen2.5-vl-7b",
                                 "--easyr1-config", str(tmp_path / "e.yaml")])
    assert result.exit_code == 0 and (tmp_path / "e.yaml").is_file()
