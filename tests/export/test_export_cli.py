"""`cadsynth export` as `register(app)` defines it."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from cadsynth.export import MARKER
from cadsynth.export.cli import register

runner = CliRunner()


@pytest.fixture
def app():
    app = typer.Typer()

    @app.command()
    def status() -> None:  # a second command, so Typer keeps `export` as a subcommand like in cadsynth
        pass

    register(app)
    return app


def test_export_with_filters_and_split(app, run_dir, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(run_dir), "--format", "verl", "--out", str(out),
                                 "--partition", "adversarial", "--min-consensus", "1", "--max-consensus", "2",
                                 "--domain", "chart", "--domain", "counting", "--round", "2", "--val-share", "0.3"])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "train" in result.output
    rows = [r for split in ("train", "validation") if (out / f"{split}.parquet").exists()
            for r in pq.read_table(out / f"{split}.parquet").to_pylist()]
    assert rows and all(r["partition"] == "adversarial" and r["round"] == 2 and r["domain"] in ("chart", "counting")
                        for r in rows)
    marker = json.loads((out / MARKER).read_text())
    assert marker["filters"]["domains"] == ["chart", "counting"] and marker["val_share"] == 0.3


def test_default_format_is_easyr1_into_the_run(app, run_dir):
    result = runner.invoke(app, ["export", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert (run_dir / "export" / "easyr1" / "train.parquet").exists()


@pytest.mark.parametrize("argv, message", [
    (["--format", "nope"], "unknown export format 'nope'"),
    (["--partition", "discarded"], "never exported"),
    (["--min-consensus", "3", "--max-consensus", "1"], "above"),
    (["--val-share", "2"], "within [0, 1]"),
    (["--push-to-hub", "me/x"], "works with --format hf"),
])
def test_bad_requests_exit_2(app, run_dir, argv, message):
    result = runner.invoke(app, ["export", str(run_dir), *argv])
    assert result.exit_code == 2 and message in result.output, result.output


def test_missing_run_exits_2_and_data_problems_exit_1(app, run_dir, tmp_path):
    missing = runner.invoke(app, ["export", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "not a cadsynth run directory" in missing.output
    empty = runner.invoke(app, ["export", str(run_dir), "--domain", "nowhere"])
    assert empty.exit_code == 1 and "no sample" in empty.output


def test_help_names_every_format(app):
    from cadsynth.export import FORMATS
    from cadsynth.export.cli import FORMAT_NAMES

    assert tuple(FORMATS) == FORMAT_NAMES
    result = runner.invoke(app, ["export", "--help"])
    assert result.exit_code == 0 and "vlmevalkit" in result.output
