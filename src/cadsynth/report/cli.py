"""The `report` and `view` commands; `register(app)` adds them to the main `cadsynth` command."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(2)


def _check_run(run_dir: Path) -> None:
    if not run_dir.exists():
        _fail(f"{run_dir} does not exist")
    if not run_dir.is_dir():
        _fail(f"{run_dir} is not a directory")
    if not (run_dir / "manifest.json").exists():
        _fail(f"{run_dir} is not a cadsynth run directory (no manifest.json)")


def report(
    run_dir: Annotated[Path, typer.Argument(help="a run directory, e.g. runs/default")],
    out: Annotated[Path | None, typer.Option(help="report folder; default: <run>/report. Outside the run, the "
                                             "images are copied in, so the folder can be moved anywhere")] = None,
    copy_images: Annotated[bool | None, typer.Option(
        "--copy-images/--link-images",
        help="copy the images into the report folder, or link them relatively into the run; "
             "default: copy when --out is outside the run")] = None,
) -> None:
    """Write a static HTML report of a run: funnel, plots, a sample browser and the context diff."""
    from cadsynth.report.build import build_report

    _check_run(run_dir)
    try:
        result = build_report(run_dir, out, copy_images=copy_images)
    except OSError as exc:
        _fail(f"could not write the report: {exc}")
    images = f", {result.image_files} images copied in" if result.image_files else ""
    console.print(f"wrote the report of {result.samples:,} samples ({result.bytes / 1e6:.1f} MB{images}) "
                  f"in {result.seconds:.1f} s")
    console.print(f"open [bold]{result.index_html.resolve().as_uri()}[/]", soft_wrap=True)
    if out is None:
        console.print("[dim]images are linked from the run (../images); to copy the report elsewhere, "
                      "write it with --out DIR[/]", soft_wrap=True)


def view(
    run_dir: Annotated[Path, typer.Argument(help="a run directory, e.g. runs/default")],
    host: Annotated[str, typer.Option(help="address to bind; the default serves this machine only")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port; 0 picks a free one")] = 8765,
) -> None:
    """Serve the report of a run on a local web server, live: refresh the page for new samples."""
    from cadsynth.report.server import Viewer

    _check_run(run_dir)
    try:
        if not ipaddress.ip_address(host).is_loopback:
            err.print(f"[yellow]warning:[/] binding {host}: other machines can read this run's files")
    except ValueError:
        err.print(f"[yellow]warning:[/] binding {host}, not a loopback address")
    try:
        viewer = Viewer(run_dir, host=host, port=port, log=lambda m: console.print(f"[dim]{m}[/]"))
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc} (try --port 0)")
    try:
        viewer.live.refresh()
    except Exception as exc:  # noqa: BLE001 - the page shows the error again on each refresh
        err.print(f"[yellow]warning:[/] the first build failed: {exc}")
    console.print(f"serving [bold]{run_dir}[/] at [bold]{viewer.url}[/] (Ctrl-C stops)", soft_wrap=True)
    try:
        viewer.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        viewer.httpd.server_close()


def register(app: typer.Typer) -> None:
    """Add `report` and `view` to a Typer app."""
    app.command("report")(report)
    app.command("view")(view)
