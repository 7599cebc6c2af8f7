"""GRPO on exported cadsynth data with TRL's ``GRPOTrainer``, plus an EasyR1 config writer.

``train(data, model, preset, out, resume=False)``:

- ``data``: an EasyR1 export (``train.parquet``, or the folder holding it: ``images``, ``problem`` with ``<image>``
  placeholders, ``answer``) or a TRL export (a ``datasets.Dataset.save_to_disk`` folder with ``prompt`` chat
  messages holding an image part, ``images`` and ``answer``). EasyR1 rows are turned into TRL rows: one user
  message of image parts then the prompt template applied to the problem.
- rewards: ``accuracy_reward`` and ``format_reward`` from ``cadsynth.train.rewards`` with weights 0.9 / 0.1.
- checkpoints: ``out/checkpoint-N`` every ``save_steps``; ``resume=True`` continues from the last one (model,
  optimizer, scheduler, RNG and step). The final policy goes to ``out/final``; ``out/cadsynth-train.json`` records
  preset, arguments, data, model, matcher and versions.

Presets (``PRESETS``):

- ``tiny``: a ``TinyVLM`` directory (``cadsynth.local.vlm``; e.g. the shipped judges in
  ``cadsynth/local/weights/judge-a``) on the CPU: 4 completions per prompt, 8 new tokens, plain prompt (the tiny
  models only read bare questions), lr 1e-5, no KL term. Runs in well under a second a step on 2 cores.
- ``qwen2.5-vl-7b``: the paper's settings for a local Qwen2.5-VL-7B-Instruct on GPUs: 8 rollouts per prompt,
  128 prompts per step (1,024 completions: per-device batch 8 x gradient accumulation 128 / GPUs), temperature
  1.0, lr 1e-6 constant, KL coefficient 0.01 (EasyR1's), bf16, gradient checkpointing, 2,048 new tokens, the R1
  prompt. It needs GPUs (and, for speed, ``use_vllm``) and cannot run on this CPU.

``write_easyr1_config(export_dir, model, out)`` writes the same recipe as an EasyR1 YAML (with the R1 prompt as a
Jinja ``format_prompt`` and this package's ``rewards.py:compute_score`` as the batch reward function).
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cadsynth.train import prompts, rewards

__all__ = [
    "PRESETS",
    "Preset",
    "TrainResult",
    "build_trainer",
    "grpo_arguments",
    "load_training_data",
    "train",
    "write_easyr1_config",
]

FINAL = "final"
MANIFEST = "cadsynth-train.json"


@dataclass(frozen=True)
class Preset:
    """A named recipe: GRPOConfig arguments, the prompt template, and how the model is loaded."""

    name: str
    description: str
    args: dict[str, Any]
    template: str
    tiny: bool = False
    prompts_per_step: int | None = None  # the recipe's global batch in prompts, when it fixes one
    easyr1: dict[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        name="tiny",
        description="the tiny local VLM on the CPU: a few GRPO steps in seconds",
        template="plain",
        tiny=True,
        args={
            "num_generations": 4,
            "per_device_train_batch_size": 4,  # completions per step: one prompt x 4 generations
            "gradient_accumulation_steps": 1,
            "max_completion_length": 8,
            "temperature": 1.0,
            "learning_rate": 1e-5,
            "lr_scheduler_type": "constant",
            "beta": 0.0,
            "max_steps": 20,
            "save_steps": 10,
            "logging_steps": 1,
            "use_cpu": True,
            "bf16": False,
            "gradient_checkpointing": False,
            "dataloader_num_workers": 0,
            "report_to": "none",
            "disable_tqdm": True,
            "seed": 0,
        },
    ),
    "qwen2.5-vl-7b": Preset(
        name="qwen2.5-vl-7b",
        description="Qwen2.5-VL-7B-Instruct on 8 GPUs with the paper's settings (8 rollouts, 128 prompts a step, "
        "temperature 1.0, lr 1e-6)",
        template="r1",
        prompts_per_step=128,
        args={
            "num_generations": 8,
            "per_device_train_batch_size": 8,  # completions per GPU per micro-step; accumulation fills 128 prompts
            "max_completion_length": 2048,
            "temperature": 1.0,
            "top_p": 1.0,
            "learning_rate": 1e-6,
            "lr_scheduler_type": "constant",
            "warmup_steps": 0,
            "weight_decay": 0.01,
            "max_grad_norm": 1.0,
            "beta": 0.01,
            "num_train_epochs": 1,
            "save_steps": 25,
            "save_total_limit": 3,
            "logging_steps": 1,
            "bf16": True,
            "gradient_checkpointing": True,
            "model_init_kwargs": {"dtype": "bfloat16"},
            "report_to": "none",
            "seed": 1,
        },
        easyr1={"n_gpus_per_node": 8, "max_prompt_length": 2048, "max_response_length": 2048},
    ),
}


def grpo_arguments(
    preset: str | Preset, out: str | Path, num_processes: int = 8, **overrides: Any
) -> dict[str, Any]:
    """The GRPOConfig keyword arguments of a preset (``num_processes``: GPUs, used to hit the prompts per step)."""
    recipe = PRESETS[preset] if isinstance(preset, str) else preset
    args = dict(recipe.args)
    if recipe.prompts_per_step:
        completions = recipe.prompts_per_step * args["num_generations"]
        per_step = args["per_device_train_batch_size"] * num_processes
        if completions % per_step:
            raise ValueError(
                f"preset {recipe.name}: {completions} completions a step do not split over {num_processes} "
                f"processes x {args['per_device_train_batch_size']}"
            )
        args["gradient_accumulation_steps"] = completions // per_step
    args["reward_weights"] = list(rewards.TRL_REWARD_WEIGHTS)
    args["output_dir"] = str(out)
    args.update({k: v for k, v in overrides.items() if v is not None})
    return args


# ---------------------------------------------------------------------------------------------- data


def _find_parquet(path: Path, split: str) -> Path | None:
    if path.is_file():
        return path
    for name in (f"{split}.parquet", f"{split}-00000-of-00001.parquet", f"data/{split}.parquet"):
        if (path / name).is_file():
            return path / name
    return None


_KEEP = ("id", "answer_type", "family", "difficulty")  # passed on to reward functions as keyword arguments


def _image_value(image: Any) -> dict[str, Any]:
    if isinstance(image, dict):
        return {"bytes": image.get("bytes"), "path": image.get("path")}
    if isinstance(image, bytes | bytearray):
        return {"bytes": bytes(image), "path": None}
    return {"bytes": None, "path": str(image)}


def _trl_prompt(messages: list[dict[str, Any]], template: str) -> list[dict[str, Any]]:
    """TRL messages with the template applied to the user's text, and content parts as plain dicts."""
    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        parts = []
        for part in content or []:
            if part.get("type") == "image":
                parts.append({"type": "image"})
            elif part.get("type") == "text":
                text = part.get("text") or ""
                parts.append({"type": "text", "text": prompts.render(template, text) if message.get("role") == "user" else text})
        out.append({"role": message.get("role"), "content": parts})
    return out


def _rows(path: Path, template: str) -> list[dict[str, Any]]:
    """TRL rows from an EasyR1 parquet (``problem``/``images``/``answer``) or a TRL parquet (``prompt``/…)."""
    import pyarrow.parquet as pq

    from cadsynth.seeds import strip_image_placeholders

    rows = []
    for index, row in enumerate(pq.read_table(path).to_pylist()):
        images, answer = row.get("images"), row.get("answer")
        images = images if isinstance(images, list) else ([images] if images else [])
        if answer is None:
            raise ValueError(f"{path} row {index}: no 'answer'")
        if isinstance(row.get("prompt"), list):  # TRL layout
            prompt = _trl_prompt(row["prompt"], template)
        elif isinstance(row.get("problem"), str):  # EasyR1 layout
            problem = row["problem"]
            if problem.count("<image>") not in (0, len(images)):
                raise ValueError(
                    f"{path} row {index}: {problem.count('<image>')} <image> placeholders for {len(images)} images"
                )
            text = prompts.render(template, strip_image_placeholders(problem))
            prompt = [{"role": "user", "content": [{"type": "image"} for _ in images] + [{"type": "text", "text": text}]}]
        else:
            raise ValueError(f"{path} row {index}: needs 'prompt' (TRL) or 'problem' (EasyR1)")
        parts = sum(p["type"] == "image" for m in prompt for p in m["content"])
        if parts != len(images):
            raise ValueError(f"{path} row {index}: {parts} image parts in the prompt for {len(images)} images")
        out = {"prompt": prompt, "images": [_image_value(i) for i in images], "answer": str(answer)}
        for key in _KEEP:
            if key in row:
                out[key] = None if row[key] is None else str(row[key])
        rows.append(out)
    return rows


def load_training_data(data: str | Path, template: str = "r1", split: str = "train") -> Any:
    """A TRL ``datasets.Dataset`` (``prompt``, ``images``, ``answer``, …) from an EasyR1 or TRL export (a parquet
    file or the folder holding ``{split}.parquet``), or from a ``Dataset.save_to_disk`` folder (used as it is)."""
    import datasets

    path = Path(data)
    if not path.exists():
        raise FileNotFoundError(f"training data not found: {path}")
    if path.is_dir() and ((path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()):
        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise ValueError(f"{path}: no '{split}' split (has {', '.join(loaded)})")
            loaded = loaded[split]
        missing = {"prompt", "answer"} - set(loaded.column_names)
        if missing:
            raise ValueError(f"{path}: a TRL dataset needs columns prompt and answer; missing {sorted(missing)}")
        return loaded
    parquet = _find_parquet(path, split)
    if parquet is None:
        raise FileNotFoundError(f"{path}: no {split}.parquet (cadsynth export) and not a saved datasets folder")
    rows = _rows(parquet, template)
    if not rows:
        raise ValueError(f"{parquet}: no rows")
    dataset = datasets.Dataset.from_list(rows)
    return dataset.cast_column("images", datasets.Sequence(datasets.Image()))


# ---------------------------------------------------------------------------------------------- trainer


@dataclass
class TrainResult:
    out: Path
    steps: int  # the global step reached
    new_steps: int  # steps run by this call (fewer than steps after a resume)
    seconds: float
    resumed_from: str | None
    final: Path
    log: list[dict[str, Any]]

    @property
    def steps_per_s(self) -> float:
        return self.new_steps / self.seconds if self.seconds > 0 else 0.0


def build_trainer(
    data: str | Path,
    model: str | Path,
    preset: str = "tiny",
    out: str | Path = "train-out",
    num_processes: int = 8,
    callbacks: list[Any] | None = None,
    **overrides: Any,
) -> tuple[Any, Any]:
    """(trainer, tiny VLM or None): a ready ``GRPOTrainer`` for the preset on the data."""
    from trl import GRPOConfig, GRPOTrainer

    recipe = PRESETS[preset]
    dataset = load_training_data(data, recipe.template)
    args = GRPOConfig(**grpo_arguments(recipe, out, num_processes=num_processes, **overrides))
    reward_funcs = [rewards.accuracy_reward, rewards.format_reward]
    if recipe.tiny:
        from cadsynth.train.tiny import TinyVLMProcessor, load_tiny

        vlm = load_tiny(model)
        trainer = GRPOTrainer(
            model=vlm.model,
            reward_funcs=reward_funcs,
            args=args,
            train_dataset=dataset,
            processing_class=TinyVLMProcessor(vlm),
            callbacks=callbacks,
        )
    else:
        trainer = GRPOTrainer(
            model=str(model), reward_funcs=reward_funcs, args=args, train_dataset=dataset, callbacks=callbacks
        )
        vlm = None
    _save_resumable(trainer.model)
    return trainer, vlm


def _save_resumable(model: Any) -> None:
    """Make checkpoints hold the weights under the model's own parameter names.

    ``save_pretrained`` writes models that have a key conversion mapping (LLaVA, Qwen2.5-VL, …) under their
    original checkpoint names, but ``Trainer._load_from_checkpoint`` loads a checkpoint with a plain
    ``load_state_dict(strict=False)``: on resume every weight is then "missing" and silently left as it was
    (transformers 5.24; measured with the tiny LLaVA). Saving without the renaming makes resume load them;
    ``from_pretrained`` reads both layouts.
    """
    import functools
    import inspect

    if "save_original_format" in inspect.signature(model.save_pretrained).parameters:
        model.save_pretrained = functools.partial(model.save_pretrained, save_original_format=False)


def _versions() -> dict[str, str | None]:
    import importlib.metadata as md

    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("cadsynth", "torch", "transformers", "trl", "datasets", "math-verify"):
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            found[name] = None
    return found


def world_size() -> int:
    """Processes of this launch (``WORLD_SIZE`` from torchrun / accelerate launch), else 1."""
    return max(1, int(os.environ.get("WORLD_SIZE", "1") or 1))


def train(
    data: str | Path,
    model: str | Path,
    preset: str = "tiny",
    out: str | Path = "train-out",
    resume: bool = False,
    log: Callable[[str], None] | None = None,
    num_processes: int | None = None,
    **overrides: Any,
) -> TrainResult:
    """Run GRPO; ``resume`` continues from the last ``out/checkpoint-N``. Overrides are GRPOConfig fields.

    ``num_processes`` (default: this launch's ``WORLD_SIZE``) sets gradient accumulation so that a step holds the
    preset's prompts per step."""
    from transformers import TrainerCallback
    from transformers.trainer_utils import get_last_checkpoint

    out = Path(out)
    last = get_last_checkpoint(str(out)) if out.is_dir() else None
    if last and not resume:
        raise FileExistsError(f"{out} already holds checkpoints (last: {Path(last).name}); pass resume or a new out")
    if resume and last is None and log:
        log(f"no checkpoint in {out}: starting from the beginning")

    class _Progress(TrainerCallback):
        def __init__(self) -> None:
            self.steps = 0

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.steps += 1

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            if log and logs and "reward" in logs:
                log(
                    f"step {state.global_step}/{state.max_steps} reward {float(logs['reward']):.3f} "
                    f"accuracy {float(logs.get('rewards/accuracy_reward/mean', 0)):.3f} "
                    f"format {float(logs.get('rewards/format_reward/mean', 0)):.3f} "
                    f"completion length {float(logs.get('completions/mean_length', 0)):.1f}"
                )

    progress = _Progress()
    processes = num_processes or world_size()
    trainer, vlm = build_trainer(data, model, preset, out, num_processes=processes, callbacks=[progress], **overrides)
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=last if resume and last else None)
    seconds = time.perf_counter() - started

    final = out / FINAL
    if vlm is not None:
        vlm.model.eval()
        vlm.save(final)  # TinyVLM's own layout: `cadsynth eval --model out/final` and the judges read it
    else:
        trainer.save_model(str(final))
    manifest = {
        "preset": preset,
        "model": str(model),
        "data": str(Path(data).resolve()),
        "template": prompts.template_text(PRESETS[preset].template),
        "matcher": rewards.matcher_info(),
        "reward_weights": list(rewards.TRL_REWARD_WEIGHTS),
        "arguments": grpo_arguments(preset, out, num_processes=processes, **overrides),
        "num_processes": processes,
        "global_step": trainer.state.global_step,
        "resumed_from": last if resume else None,
        "versions": _versions(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    from cadsynth.store import atomic_write

    atomic_write(out / MANIFEST, json.dumps(manifest, indent=1, default=str) + "\n")
    return TrainResult(
        out=out,
        steps=trainer.state.global_step,
        new_steps=progress.steps,
        seconds=seconds,
        resumed_from=last if resume else None,
        final=final,
        log=list(trainer.state.log_history),
    )


# ---------------------------------------------------------------------------------------------- EasyR1


def write_easyr1_config(
    export_dir: str | Path,
    model: str,
    out: str | Path,
    preset: str = "qwen2.5-vl-7b",
    n_gpus: int | None = None,
    experiment_name: str = "cadsynth_grpo",
) -> Path:
    """Write an EasyR1 YAML (and its ``format_prompt`` Jinja file beside it) for the export; returns the YAML path.

    Run it with ``python3 -m verl.trainer.main config=OUT``. ``cadsynth`` must be importable in EasyR1's Python,
    because the reward file imports ``cadsynth.answers``: ``pip install --no-deps -e /path/to/cadsynth`` there
    (the reward needs only pydantic and pyyaml, which EasyR1 has; ``--no-deps`` keeps EasyR1's torch).
    """
    recipe = PRESETS[preset]
    export = Path(export_dir).resolve()
    train_file = _find_parquet(export, "train")
    if train_file is None:
        raise FileNotFoundError(f"{export}: no train.parquet (run `cadsynth export` first)")
    val_file = next((p for s in ("val", "validation", "test") if (p := _find_parquet(export, s)) is not None), None)
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    jinja = out.with_name(out.stem + ".format_prompt.jinja")
    jinja.write_text(prompts.easyr1_jinja(recipe.template))
    args = recipe.args
    gpus = n_gpus or recipe.easyr1.get("n_gpus_per_node", 8)
    prompts_per_step = recipe.prompts_per_step or args["per_device_train_batch_size"] // args["num_generations"]
    config = {
        "data": {
            "train_files": str(train_file),
            "val_files": str(val_file or train_file),
            "prompt_key": "problem",
            "answer_key": "answer",
            "image_key": "images",
            "format_prompt": str(jinja),
            "max_prompt_length": recipe.easyr1.get("max_prompt_length", 2048),
            "max_response_length": recipe.easyr1.get("max_response_length", args["max_completion_length"]),
            "rollout_batch_size": prompts_per_step,
            "val_batch_size": -1,
            "shuffle": True,
            "seed": args.get("seed", 1),
        },
        "algorithm": {
            "adv_estimator": "grpo",
            "disable_kl": args.get("beta", 0.0) == 0.0,
            "use_kl_loss": args.get("beta", 0.0) > 0.0,
            "kl_penalty": "low_var_kl",
            "kl_coef": args.get("beta", 0.0) or 1.0e-2,
        },
        "worker": {
            "actor": {
                "global_batch_size": prompts_per_step,
                "micro_batch_size_per_device_for_update": 4,
                "micro_batch_size_per_device_for_experience": 16,
                "max_grad_norm": args.get("max_grad_norm", 1.0),
                "model": {
                    "model_path": str(model),
                    "enable_gradient_checkpointing": True,
                    "freeze_vision_tower": False,
                },
                "optim": {
                    "lr": args["learning_rate"],
                    "weight_decay": args.get("weight_decay", 1.0e-2),
                    "strategy": "adamw",
                    "lr_warmup_ratio": 0.0,
                },
            },
            "rollout": {
                "n": args["num_generations"],
                "temperature": args["temperature"],
                "top_p": args.get("top_p", 1.0),
                "gpu_memory_utilization": 0.6,
                "tensor_parallel_size": 1,
            },
            "reward": {
                "reward_type": "batch",
                "reward_function": f"{Path(rewards.__file__).resolve()}:compute_score",
                "reward_function_kwargs": {"format_weight": rewards.FORMAT_WEIGHT},
            },
        },
        "trainer": {
            "total_epochs": args.get("num_train_epochs", 1),
            "project_name": "cadsynth",
            "experiment_name": experiment_name,
            "logger": ["console"],
            "n_gpus_per_node": gpus,
            "nnodes": 1,
            "val_freq": 5,
            "val_before_train": True,
            "save_freq": args.get("save_steps", 25),
            "save_limit": args.get("save_total_limit", 3),
            "save_checkpoint_path": str(out.parent / "checkpoints" / experiment_name),
        },
    }
    header = (
        f"# EasyR1 GRPO config written by cadsynth (preset {recipe.name}): {recipe.description}.\n"
        f"# Run: python3 -m verl.trainer.main config={out}\n"
        "# Resume: set trainer.load_checkpoint_path to a saved global_step_N folder.\n"
    )
    from cadsynth.store import atomic_write

    atomic_write(out, header + yaml.safe_dump(config, sort_keys=False))
    return out
