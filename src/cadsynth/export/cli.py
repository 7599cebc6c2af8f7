"""The ``cadsynth export`` command; `register(app)` adds it to the main Typer app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

FORMAT_NAMES = ("easyr1", "verl", "trl", "r1v", "vlm-r1", "llamafactory", "hf", "vlmevalkit")


def register(app: typer.Typer) -> None:
    """Define the ``export`` command on app."""

    @app.command("export")
    def export_command(
        run_dir: Annotated[Path, typer.Argument(help="a run directory, e.g. runs/default")],
        format: Annotated[str, typer.Option("--format", "-f", help="|".join(FORMAT_NAMES))] = "easyr1",
        out: Annotated[Path | None, typer.Option(help="output directory; default: <run>/export/<format>")] = None,
        partition: Annotated[list[str] | None, typer.Option(
            "--partition", help="kept (C=K), adversarial (0<C<K), unjudged (verified by construction); "
                                "repeatable; default all three")] = None,
        min_consensus: Annotated[int | None, typer.Option(help="lowest consensus C to take")] = None,
        max_consensus: Annotated[int | None, typer.Option(help="highest consensus C to take")] = None,
        domain: Annotated[list[str] | None, typer.Option("--domain", help="only these domains; repeatable")] = None,
        round_: Annotated[list[int] | None, typer.Option("--round", help="only these rounds; repeatable")] = None,
        check: Annotated[list[str] | None, typer.Option(
            "--check", help="only samples that passed the check of this name; repeatable")] = None,
        val_share: Annotated[float, typer.Option(help="share of seeds held out as the validation split")] = 0.1,
        split_salt: Annotated[str, typer.Option(help="salt of the seed hash that assigns splits")] = "cadsynth-split",
        push_to_hub: Annotated[str | None, typer.Option(
            help="with --format hf: upload to this Hub dataset repo (user/name)")] = None,
    ) -> None:
        """Write kept samples in a trainer's or benchmark's layout, split by seed, with a dataset card.

        --partition kept is C=K only, adversarial is 0<C<K, unjudged is verified by construction but never judged;
        all three by default. Formats: easyr1 (default), verl,
        trl, r1v, vlm-r1, llamafactory, hf, vlmevalkit (the validation split, as a benchmark).
        """
        from cadsynth.export import FORMATS, ExportError, Filters, export
        from cadsynth.store import RunStore

        if format not in FORMATS:
            _fail(f"unknown export format '{format}'; available: {', '.join(FORMATS)}")
        if not RunStore(run_dir).exists:
            _fail(f"{run_dir} is not a cadsynth run directory (no manifest.json)")
        try:
            filters = Filters.make(partitions=partition, min_consensus=min_consensus, max_consensus=max_consensus,
                                   domains=domain, rounds=round_, checks=check)
        except ExportError as error:
            _fail(str(error))
        if not 0.0 <= val_share <= 1.0:
            _fail(f"--val-share must be within [0, 1], got {val_share}")
        if push_to_hub and format != "hf":
            _fail(f"--push-to-hub works with --format hf, not {format}")
        try:
            result = export(run_dir, format, out, filters, val_share, push_to_hub, salt=split_salt)
        except ExportError as error:
            err.print(f"[bold red]error:[/] {escape(str(error))}")
            raise typer.Exit(1) from None
        for warning in result.warnings:
            err.print(f"[yellow]warning:[/] {escape(str(warning))}")
        splits = ", ".join(f"{split} {n} ({result.seeds[split]} seeds)" for split, n in result.counts.items())
        console.print(f"wrote {result.total} samples to {result.out} ({format}): {splits}")
        if result.left_out:
            console.print("left out: " + ", ".join(f"{k} {v}" for k, v in sorted(result.left_out.items())))
        if result.pushed_to:
            console.print(f"pushed to https://huggingface.co/datasets/{result.pushed_to}")


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(2)
