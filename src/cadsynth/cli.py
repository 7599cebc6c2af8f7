"""The `cadsynth` command: parses, loads config, calls the library, renders progress."""

from __future__ import annotations

import asyncio
import errno
import shutil
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from cadsynth.config import ConfigError, dump_config, load_config
from cadsynth.eval.cli import register as _register_eval
from cadsynth.export.cli import register as _register_export
from cadsynth.report.cli import register as _register_report
from cadsynth.train.cli import register as _register_train

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
local_app = typer.Typer(no_args_is_help=True, help="The embedded local models.")
app.add_typer(local_app, name="local")
console = Console()
err = Console(stderr=True)

STAGES = ("generate", "render", "judge", "commit")


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(2)


def _overrides(pairs: list[str]) -> dict[str, Any]:
    overrides = {}
    for pair in pairs:
        if "=" not in pair:
            _fail(f"--set takes key=value (e.g. loop.max_rounds=3), got '{pair}'")
        key, value = pair.split("=", 1)
        overrides[key] = yaml.safe_load(value)
    return overrides


class RateColumn(ProgressColumn):
    def render(self, task: Any) -> Text:
        return Text(f"{task.speed:6.1f}/s" if task.speed else "      -  ", style="magenta")


class RunProgress:
    """Per-stage progress of the current round, with the running funnel."""

    def __init__(self, progress: Progress, candidates_per_unit: int):
        self.progress = progress
        self.per_unit = candidates_per_unit
        self.tasks: dict[str, Any] = {}

    def __call__(self, event: str, **fields: Any) -> None:
        if event == "round":
            for task in self.tasks.values():
                self.progress.remove_task(task)
            total = fields["pending"] * self.per_unit
            self.tasks = {
                stage: self.progress.add_task(f"round {fields['round']} {stage}", total=total, funnel="")
                for stage in STAGES
            }
        elif event in ("generated", "rendered", "judged"):
            stage = {"generated": "generate", "rendered": "render", "judged": "judge"}[event]
            self.progress.advance(self.tasks[stage], fields["n"])
        elif event == "unit":
            t = fields["totals"]
            funnel = f"kept {t.kept}  adversarial {t.adversarial}  unjudged {t.unjudged}  discarded {t.discarded}"
            self.progress.update(self.tasks["commit"], advance=len(fields["samples"]), funnel=funnel)
        elif event == "seed_skipped":
            self.progress.console.print(f"[yellow]seed skipped[/] {fields['seed_id']}: {fields['reason']}")


@app.command()
def run(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML config; default: embedded")] = None,
    name: Annotated[str | None, typer.Option(help="run name (directory under runs_dir)")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="delete the run directory and start over")] = False,
    print_config: Annotated[bool, typer.Option("--print-config", help="show the resolved config and exit")] = False,
    set_: Annotated[list[str], typer.Option("--set", help="override a config key: --set loop.max_rounds=3")] = [],  # noqa: B006
    executor: Annotated[Literal["local", "ray"] | None, typer.Option(help="where the work runs (ray: extra ray)")] = None,
    address: Annotated[str | None, typer.Option("--address", help="Ray cluster address, e.g. 10.0.0.1:6379")] = None,
) -> None:
    """Run CADS: generate, judge, partition and optimise the context, round after round. Resumes by default."""
    overrides = _overrides(set_)
    if name:
        overrides["name"] = name
    if executor:
        overrides["executor.kind"] = executor
    if address:
        overrides["executor.ray_address"] = address
    try:
        cfg = load_config(config, overrides)
    except ConfigError as exc:
        _fail(f"invalid config:\n{exc}")
    if print_config:
        console.print(dump_config(cfg), end="", highlight=False, markup=False)
        return
    from cadsynth.pipeline import Pipeline, preflight
    from cadsynth.seeds import SeedError
    from cadsynth.store import RunStore

    try:
        preflight(cfg)
    except ConfigError as exc:
        _fail(str(exc))
    columns = (TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
               RateColumn(), TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("[cyan]{task.fields[funnel]}"))
    try:
        store = RunStore.open(cfg.run_dir, fresh=fresh)
        with Progress(*columns, console=console, transient=False) as progress:
            reporter = RunProgress(progress, sum(g.candidates for g in cfg.generators))
            try:
                state = asyncio.run(Pipeline(cfg, store, reporter).run())
            except (ConfigError, SeedError) as exc:
                _fail(str(exc))
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        _fail(_disk_full(cfg.run_dir, exc))
    console.print(f"[bold]{cfg.run_dir}[/]: {state['stop_reason']}")
    _print_status(cfg.run_dir)


def _disk_full(run_dir: Path, exc: OSError) -> str:
    """One line for a run stopped by a full disk (or quota): where, what to free, and that a re-run resumes."""
    what = "disk quota exceeded" if exc.errno == errno.EDQUOT else "disk full"
    where = run_dir.resolve()
    free = ""
    for folder in (where, *where.parents):
        if folder.exists():
            free = f" ({shutil.disk_usage(folder).free / 2**20:.1f} MiB free on the file system of {folder})"
            break
    return (f"{what} while writing the run {where}{free}: {exc.strerror or exc}. Free space there (or point runs_dir "
            "at a bigger disk), then run the same command again: it resumes from the last committed unit, "
            "nothing committed is lost")


def _print_status(path: Path, diversity: bool = False) -> None:
    from cadsynth.status import diversity_by_round, run_status

    try:
        status = run_status(path)
    except FileNotFoundError as exc:
        _fail(str(exc))
    table = Table(title=f"run {status.name}: funnel per round", caption="unjudged: program samples every judge "
                  "abstained on (they need text the judges cannot read); kept too, verified by construction")
    for col in ("round", "generated", "C=0", "other discards", "kept C≥1", "adversarial", "adv. share",
                "unjudged (verified)", "consensus C/K: n"):
        table.add_column(col, justify="right")
    for r in [*status.rounds, status.total]:
        histogram = "  ".join(f"{c}/{k}:{n}" for (c, k), n in sorted(r.consensus.items(), key=lambda x: (x[0][1], x[0][0])))
        label = "all" if r.round == 0 else f"{r.round}" + ("" if r.complete else " (partial)")
        table.add_row(label, str(r.generated), str(r.consensus_zero),
                      str(r.discarded - r.consensus_zero), str(r.kept), str(r.adversarial),
                      f"{r.adversarial_share:.1%}", str(r.unjudged), histogram,
                      end_section=r.round == status.rounds[-1].round)
    console.print(table)
    total = status.total
    trend = status.share_trend
    if trend:
        first, last = trend
        console.print(f"adversarial share: round {first.round} {first.adversarial_share:.1%} -> round {last.round} "
                      f"{last.adversarial_share:.1%} (first and last complete round)")
    checked = sorted(status.total.failed_checks)
    if checked:
        per_round = "; ".join(
            f"round {r.round}: " + ", ".join(f"{n} {r.failed_checks[n]} ({r.discarded_by_check[n]} discarded)"
                                            for n in checked)
            for r in status.rounds
        )
        console.print(f"failed checks: {per_round}")
    other = Counter({k: v for k, v in total.reasons.items() if k != "consensus_zero"})
    if other:
        console.print("other discard reasons: " + ", ".join(f"{k} {v}" for k, v in other.most_common()))
    judges = ", ".join(
        f"{j} acc {status.judge_accuracy.get(j, 0):.2f} (abstained {c['abstain']}, errors {c['error']})"
        for j, c in sorted(status.judges.items())
    )
    console.print(f"judges: {judges}")
    console.print(f"seeds {status.seeds} (skipped {status.seed_problems}); judge calls {status.judge_calls} "
                  f"({status.judge_calls_per_kept:.2f} per kept sample; {status.saved_calls} saved by early stop); "
                  f"cost ${status.cost_usd:.4f}")
    spent = [(part, name, u) for part, by_name in status.usage.items() for name, u in sorted(by_name.items()) if u.calls]
    if spent:
        table = Table(title="model calls and cost")
        for col in ("role", "name", "calls", "prompt tokens", "completion tokens", "cost USD"):
            table.add_column(col, justify="right")
        for part, name, u in spent:
            table.add_row(part.rstrip("s") if part != "other" else "other", name, str(u.calls), str(u.prompt_tokens),
                          str(u.completion_tokens), f"{u.cost_usd:.4f}")
        table.add_row("run", "", *(str(sum(getattr(u, f) for *_, u in spent)) for f in ("calls", "prompt_tokens",
                      "completion_tokens")), f"{status.cost_usd:.4f}", end_section=True)
        console.print(table)
    version, mix = status.strategy_mix
    if mix:
        strategy = ", ".join(f"{k} {v:.2f}" for k, v in mix.items())
        console.print(f"context v{version} ({len(status.contexts)} keys), mean strategy mix: {strategy}")
    if diversity:
        try:
            per_round = diversity_by_round(path)
        except ImportError as exc:
            _fail(f"--diversity needs the checks extra: pip install 'cadsynth[checks]' ({exc})")
        table = Table(title="diversity of kept samples per round")
        for col in ("round", "kept", "mean question similarity", "mean image distance (bits)", "clusters",
                    "largest cluster", "near duplicates"):
            table.add_column(col, justify="right")
        for round_, d in per_round.items():
            table.add_row(str(round_), str(d["n"]), _fmt(d["mean_question_similarity"]),
                          _fmt(d["mean_image_distance"]), str(d["clusters"]), str(d["largest_cluster"]),
                          str(d["duplicates"]))
        console.print(table)
    if status.state:
        console.print(f"state: {'finished' if status.state.get('finished') else 'in progress'} "
                      f"({status.state.get('stop_reason')})")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


@app.command()
def status(
    run_dir: Annotated[Path, typer.Argument(help="a run directory, e.g. runs/default")],
    diversity: Annotated[bool, typer.Option("--diversity", help="diversity per round (needs cadsynth[checks])")] = False,
) -> None:
    """The funnel per round: generated, discarded (C=0), kept, adversarial; consensus; checks; judges; cost."""
    _print_status(run_dir, diversity)


@local_app.command("train")
def local_train(
    out: Annotated[Path | None, typer.Option(help="where to write the judges; default: the package's weights")] = None,
    work: Annotated[Path, typer.Option(help="scratch folder for the rendered pools")] = Path(".cache/committee"),
    render: Annotated[bool, typer.Option(help="render the pools into --work (--no-render: reuse them)")] = True,
    pool_size: Annotated[int, typer.Option(help="rendered training scenes")] = 14000,
    steps: Annotated[int | None, typer.Option(help="training steps per judge (default 6500)")] = None,
    minutes: Annotated[float | None, typer.Option(help="train each judge for this wall-clock time instead")] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    lr: Annotated[float, typer.Option(min=0.0)] = 1e-3,
    warmup: Annotated[int, typer.Option(min=1, help="linear warm-up steps before the cosine decay")] = 50,
    device: Annotated[str, typer.Option(help="torch device to train on, e.g. cuda")] = "cpu",
    size: Annotated[Literal["S", "M"], typer.Option(help="model size (docs/NANO.md)")] = "S",
    judges: Annotated[list[str] | None, typer.Option("--judge", help="train only these (repeat); default: all")] = None,
    workers: Annotated[int, typer.Option(help="processes for rendering and for training (one judge each)")] = 2,
    seed: int = 0,
) -> None:
    """Train the embedded judging committee from the task families (reproducible from --seed and --steps)."""
    from cadsynth.local.committee import BUILTIN_DIR, JUDGES, TrainPlan, render_pools, train_judges

    if steps is not None and minutes is not None:
        raise typer.BadParameter("give --steps or --minutes, not both")
    unknown = sorted(set(judges or ()) - set(JUDGES))
    if unknown:
        raise typer.BadParameter(f"unknown judge {', '.join(unknown)}; the judges are {', '.join(JUDGES)}")
    if device != "cpu":
        import torch

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise typer.BadParameter(f"--device {device}: torch sees no CUDA device here; use --device cpu")
    plan = TrainPlan(steps=None if minutes else steps or 6500, seconds=minutes * 60 if minutes else None,
                     batch_size=batch_size, lr=lr, warmup=warmup, device=device, size=size)
    if render:
        render_pools(work, pool_size, seed=seed, workers=workers, log=console.print)
    try:
        results = train_judges(work, out or BUILTIN_DIR, plan, workers, console.print, names=judges)
    except FileNotFoundError as error:
        raise typer.BadParameter(f"{error} (drop --no-render)") from None
    _print_committee(results)


@local_app.command("assess")
def local_assess(
    work: Annotated[Path, typer.Option(help="folder with the held-out pool (from `cadsynth local train`)")] = Path(
        ".cache/committee"),
    out: Annotated[Path | None, typer.Option(help="the judges to measure; default: the package's weights")] = None,
    workers: Annotated[int, typer.Option(min=1)] = 2,
) -> None:
    """Measure and gate saved judges again on a held-out pool (e.g. after changing the gate, or on new hardware)."""
    from cadsynth.local.committee import BUILTIN_DIR, assess_judges

    try:
        results = assess_judges(work, out or BUILTIN_DIR, workers, console.print)
    except FileNotFoundError as error:
        raise typer.BadParameter(str(error)) from None
    _print_committee(results)


def _committee_cells(report: dict, family: str, separator: str = " | ") -> list[str]:
    """Per difficulty: accuracy on every question (blank; chance) | on the questions answered (...; coverage)."""
    cells = []
    for d in (1, 2, 3):
        every, answered = report["cells"].get(f"{family}/{d}"), report["answered"].get(f"{family}/{d}")
        text = f"{every['accuracy']:.2f} ({every['blank']:.2f}; {every['chance']:.2f})" if every else "-"
        if every and answered:
            text += (f"{separator}{answered['accuracy']:.2f} ({answered['blank']:.2f}; {answered['chance']:.2f}; "
                     f"{answered['n'] / every['n']:.0%})")
        cells.append(text)
    return cells


def _print_committee(results: dict, markdown: bool = False) -> None:
    separator = " → answers: " if markdown else " | "
    title = f"held-out accuracy (blank-image control; chance){separator}accuracy on the questions it answers (...; coverage)"
    for name, report in results["judges"].items():
        families = sorted({k.split("/")[0] for k in report["cells"]})
        trained = report.get("train", {})
        about = (f"{report.get('parameters', 0):,} parameters, {int(trained.get('steps', 0)):,} steps of "
                 f"{report.get('batch_size', 32)} on {report.get('device', 'cpu')}")
        if markdown:
            print(f"\n**{name}** ({about}): {title}\n")
            print("| family | difficulty 1 | difficulty 2 | difficulty 3 |\n|---|---|---|---|")
            for family in families:
                print(f"| {family} | " + " | ".join(_committee_cells(report, family, separator)) + " |")
            print(f"\nskills ({len(report['skills'])}): {', '.join(sorted(report['skills']))}")
            continue
        table = Table(title=f"{name} ({about}): {title}")
        table.add_column("family")
        for d in (1, 2, 3):
            table.add_column(f"difficulty {d}", justify="right")
        for family in families:
            table.add_row(family, *_committee_cells(report, family))
        console.print(table)
        console.print(f"skills ({len(report['skills'])}): {', '.join(sorted(report['skills']))}")


@local_app.command("report")
def local_report(
    path: Annotated[Path | None, typer.Argument(help="committee.json; default: the shipped one")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="print Markdown tables (for docs)")] = False,
) -> None:
    """The shipped judges' accuracy per family and difficulty, and their skills."""
    import json

    from cadsynth.local.committee import BUILTIN_DIR

    _print_committee(json.loads((path or BUILTIN_DIR / "committee.json").read_text()), markdown)


_register_export(app)
_register_report(app)
_register_train(app)
_register_eval(app)


def main() -> None:
    app()
