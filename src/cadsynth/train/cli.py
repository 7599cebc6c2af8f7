"""The ``cadsynth train`` command (``register(app)`` adds it to the main typer app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``train`` to ``app``."""

    @app.command("train")
    def train_command(
        data: Annotated[Path, typer.Option("--data", help="EasyR1 export (train.parquet or its folder) or a TRL "
                                           "dataset folder")],
        model: Annotated[str, typer.Option("--model", help="local model path (tiny: a TinyVLM folder, e.g. "
                                           "src/cadsynth/local/weights/judge-a)")],
        out: Annotated[Path, typer.Option("--out", help="output folder: checkpoint-N, final, cadsynth-train.json")] = Path("train-out"),
        preset: Annotated[str, typer.Option("--preset", help="tiny | qwen2.5-vl-7b")] = "tiny",
        resume: Annotated[bool, typer.Option("--resume", help="continue from the last checkpoint in --out")] = False,
        max_steps: Annotated[int | None, typer.Option("--max-steps")] = None,
        save_steps: Annotated[int | None, typer.Option("--save-steps")] = None,
        learning_rate: Annotated[float | None, typer.Option("--lr")] = None,
        num_generations: Annotated[int | None, typer.Option("--num-generations")] = None,
        gpus: Annotated[int | None, typer.Option("--gpus", help="processes (GPUs) of the run, default "
                                                 "WORLD_SIZE (EasyR1 config: 8); gradient accumulation is set so "
                                                 "a step holds the preset's 128 prompts")] = None,
        threads: Annotated[int | None, typer.Option("--threads", help="torch CPU threads (tiny)")] = None,
        easyr1_config: Annotated[Path | None, typer.Option("--easyr1-config", help="write an EasyR1 YAML for "
                                                           "this data, model and preset instead of training")] = None,
    ) -> None:
        """GRPO with TRL on an exported dataset (accuracy + format rewards, checkpoints, --resume)."""
        from cadsynth.train.grpo import PRESETS, train, write_easyr1_config

        if preset not in PRESETS:
            typer.echo(f"error: unknown preset '{preset}' (one of {', '.join(PRESETS)})", err=True)
            raise typer.Exit(2)
        if easyr1_config is not None:
            path = write_easyr1_config(data, model, easyr1_config, preset=preset, n_gpus=gpus)
            typer.echo(f"wrote {path}\nrun: python3 -m verl.trainer.main config={path}")
            return
        import torch

        if not PRESETS[preset].tiny and not torch.cuda.is_available():
            typer.echo(
                f"error: preset {preset} needs GPUs and none is visible here; use --preset tiny, or "
                "--easyr1-config to write an EasyR1 config for a GPU machine",
                err=True,
            )
            raise typer.Exit(2)
        if threads:
            torch.set_num_threads(threads)
        overrides = {
            "max_steps": max_steps,
            "save_steps": save_steps,
            "learning_rate": learning_rate,
            "num_generations": num_generations,
        }
        if num_generations and PRESETS[preset].tiny:
            overrides["per_device_train_batch_size"] = num_generations
        try:
            result = train(data, model, preset, out, resume=resume, log=typer.echo, num_processes=gpus, **overrides)
        except (FileExistsError, FileNotFoundError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        typer.echo(
            f"step {result.steps} ({result.new_steps} this run, {result.steps_per_s:.2f} steps/s"
            f"{', resumed from ' + Path(result.resumed_from).name if result.resumed_from else ''}); "
            f"final policy: {result.final}"
        )
