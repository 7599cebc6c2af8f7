"""The ``cadsynth eval`` command (``register(app)`` adds it to the main typer app)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[-60:] or "model"


def register(app: typer.Typer) -> None:
    """Add ``eval`` to ``app``."""

    @app.command("eval")
    def eval_command(
        bench: Annotated[str, typer.Option("--bench", help="mathv | dynamath | synth | jsonl | json | parquet")],
        path: Annotated[Path | None, typer.Option("--path", help="benchmark file or folder (mathv/dynamath "
                                                  "default to ../shared/data)")] = None,
        field: Annotated[list[str] | None, typer.Option("--field", help="field mapping KEY=COLUMN for "
                                                        "jsonl/json/parquet, e.g. --field question=prompt")] = None,
        image_dir: Annotated[Path | None, typer.Option("--image-dir")] = None,
        model: Annotated[str | None, typer.Option("--model", help="local tiny VLM folder, or the model name "
                                                  "sent to --endpoint")] = None,
        endpoint: Annotated[str | None, typer.Option("--endpoint", help="OpenAI-compatible base URL, e.g. "
                                                     "http://localhost:8000/v1")] = None,
        api_key_env: Annotated[str | None, typer.Option("--api-key-env", help="environment variable holding "
                                                        "the endpoint's key")] = None,
        concurrency: Annotated[int, typer.Option("--concurrency")] = 8,
        max_tokens: Annotated[int, typer.Option("--max-tokens")] = 2048,
        template: Annotated[str | None, typer.Option("--template", help="r1 | plain | a text with {question} "
                                                     "(default: r1 for endpoints, plain for tiny models)")] = None,
        limit: Annotated[int | None, typer.Option("--limit")] = None,
        out: Annotated[Path | None, typer.Option("--out", help="evaluation folder (default evals/BENCH-MODEL)")] = None,
        fresh: Annotated[bool, typer.Option("--fresh", help="discard earlier answers in --out")] = False,
        data_root: Annotated[Path | None, typer.Option("--data-root")] = None,
    ) -> None:
        """Accuracy of a model on a benchmark: per subject and level, 95% bootstrap CIs, resumable."""
        from cadsynth.eval.backends import EndpointBackend, TinyBackend
        from cadsynth.eval.bench import load_benchmark
        from cadsynth.eval.runner import EvalConfigChanged, evaluate

        if model is None:
            typer.echo("error: --model is needed (a tiny VLM folder, or the endpoint's model name)", err=True)
            raise typer.Exit(2)
        fields = {}
        for pair in field or []:
            key, sep, column = pair.partition("=")
            if not sep:
                typer.echo(f"error: --field takes KEY=COLUMN, got '{pair}'", err=True)
                raise typer.Exit(2)
            fields[key.strip()] = column.strip()
        target = out or Path("evals") / f"{bench}-{_slug(model)}"
        try:
            benchmark = load_benchmark(bench, path, fields, image_dir, limit, target / "images", data_root)
            if endpoint:
                backend = EndpointBackend(endpoint, model, api_key_env, concurrency, max_tokens)
            else:
                backend = TinyBackend(model)
            results = evaluate(benchmark, backend, target, template or ("r1" if endpoint else "plain"),
                               fresh=fresh, log=typer.echo)
        except (EvalConfigChanged, FileNotFoundError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        for problem in benchmark.problems[:5]:
            typer.echo(f"skipped {problem.seed_id}: {problem.reason}")
        accuracy, ci = results["accuracy"], results["ci95"]
        if accuracy is None:
            typer.echo(f"no item graded ({results['n_errors']} errors); see {target}/results.json")
            raise typer.Exit(1)
        typer.echo(f"{bench}: accuracy {accuracy:.3f} (95% CI {ci[0]:.3f}-{ci[1]:.3f}) on {results['n_graded']} "
                   f"items, {results['n_errors']} errors; {target}/results.json")
        for subject, row in results["by_subject"].items():
            typer.echo(f"  {subject:32s} {row['accuracy']:.3f}  n={row['n']}")
