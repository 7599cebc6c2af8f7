"""The committee's training recipe: kind-balanced batches, the significance gate, train / assess end to end."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from cadsynth.cli import app
from cadsynth.local.committee import (
    JUDGES,
    SKILLS_FILE,
    TRAIN_KINDS,
    PoolScene,
    TrainPlan,
    assess_judges,
    batches,
    paired_z,
    render_pools,
    skills,
    train_judges,
)
from cadsynth.local.vlm import TinyVLM


def test_batches_balance_the_taught_kinds_and_skip_the_rest():
    # bars scenes carry four taught kinds and many of them; one molecules scene carries one taught kind.
    scenes = [PoolScene("bars", 1, [("value_at", f"v{i}?", "1"), ("max_value", "m?", "2"), ("count_above", "c?", "3"),
                                   ("which_max", "w?", "4"), ("find_label", "f?", "A")]) for i in range(50)]
    scenes.append(PoolScene("molecules", 2, [("total_atoms", "How many atoms?", "9"), ("formula", "f?", "CH4")]))
    pixels = np.zeros((len(scenes), 4, 4, 3), dtype=np.uint8)
    seen = Counter(q for batch, _ in zip(batches(scenes, pixels, seed=1, size=100), range(40), strict=False)
                   for _, q, _ in batch)
    assert "f?" not in seen  # not a taught kind: bars/find_label, molecules/formula
    kinds = {"How many atoms?": 0, "m?": 0, "c?": 0, "w?": 0}
    share = {q: seen[q] / 4000 for q in kinds}
    assert all(0.15 < s < 0.25 for s in share.values()), share  # each of the five taught kinds about 1/5
    assert {"bars/value_at", "molecules/total_atoms"} <= TRAIN_KINDS


def test_no_taught_question_is_a_clear_error():
    scenes = [PoolScene("table", 1, [("read_cell", "q?", "1")])]
    with pytest.raises(ValueError, match="no question of a taught kind"):
        next(batches(scenes, np.zeros((1, 4, 4, 3), dtype=np.uint8), seed=0))


def outcomes(gained: int, lost: int, both: int, neither: int) -> list[tuple[bool, bool, float]]:
    return ([(True, False, 0.2)] * gained + [(False, True, 0.2)] * lost + [(True, True, 0.2)] * both
            + [(False, False, 0.2)] * neither)


def test_gate_needs_margin_and_significance():
    assert paired_z(outcomes(9, 1, 0, 0)) == pytest.approx(8 / np.sqrt(10))
    assert paired_z(outcomes(0, 0, 5, 5)) == 0.0
    cases = {  # (outcomes, chance)
        "lucky/few": (outcomes(3, 0, 1, 6), 0.1),  # +0.30 over blank on 10 questions: z 1.7, not a skill
        "clear/many": (outcomes(30, 5, 10, 55), 0.1),  # +0.25 on 100: z 4.2
        "small/many": (outcomes(60, 30, 200, 710), 0.1),  # +0.03 on 1000: significant but under the margin
        "below/chance": (outcomes(20, 0, 0, 80), 0.25),  # 0.20 against a blank non-answer, but a guess gets 0.25
    }
    report = {"kinds": {}}
    for key, (rows, chance) in cases.items():
        report["kinds"][key] = {"n": len(rows), "accuracy": float(np.mean([r[0] for r in rows])),
                                "blank": float(np.mean([r[1] for r in rows])), "chance": chance, "z": paired_z(rows)}
    assert set(skills(report)) == {"clear/many"}


@pytest.fixture(scope="module")
def pools(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("committee")
    render_pools(work, pool_size=48, eval_size=30, seed=5, workers=1, log=lambda _: None)
    return work


def test_train_assess_and_cli(pools, tmp_path):
    out = tmp_path / "judges"
    results = train_judges(pools, out, TrainPlan(steps=30, batch_size=8, warmup=5), workers=1,
                           log=lambda _: None, names=["judge-a"])
    report = results["judges"]["judge-a"]
    assert report["steps"] == 30 and report["batch_size"] == 8 and report["device"] == "cpu"
    assert set(report) >= {"cells", "answered", "kinds", "report_kinds", "skills", "train", "spec"}
    assert all("z" in v for v in report["kinds"].values())
    assert {k.split("/")[0] for k in report["cells"]} == {s[0] for s in json.loads((pools / "held_out.json").read_text())}
    vlm = TinyVLM.load(out / "judge-a")
    assert vlm.spec == JUDGES["judge-a"]
    committee = json.loads((out / "committee.json").read_text())
    assert list(committee["judges"]) == ["judge-a"] and committee["chance"]

    # assess re-measures the saved judge and keeps its training record
    (out / "judge-a" / SKILLS_FILE).write_text(json.dumps({**report, "kinds": {}, "skills": {"x/y": {}}}))
    again = assess_judges(pools, out, workers=1, log=lambda _: None)["judges"]["judge-a"]
    assert again["kinds"] == report["kinds"] and again["skills"] == report["skills"]
    assert again["train"] == report["train"]

    runner = CliRunner()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["local", "train", "--no-render", "--work", str(empty), "--out", str(out)])
    assert result.exit_code == 2 and "no rendered pool" in result.output and "--no-render" in result.output
    result = runner.invoke(app, ["local", "train", "--no-render", "--steps", "3", "--minutes", "1"])
    assert result.exit_code == 2 and "not both" in result.output
    result = runner.invoke(app, ["local", "train", "--no-render", "--judge", "judge-z"])
    assert result.exit_code == 2 and "unknown judge judge-z" in result.output
    if not torch.cuda.is_available():
        result = runner.invoke(app, ["local", "train", "--no-render", "--work", str(pools), "--device", "cuda"])
        assert result.exit_code == 2 and "no CUDA device" in result.output
    result = runner.invoke(app, ["local", "assess", "--work", str(empty), "--out", str(out)])
    assert result.exit_code == 2 and "held-out pool" in result.output


def test_report_prints_every_judge_and_family_as_markdown():
    from cadsynth.local.committee import BUILTIN_DIR

    shipped = json.loads((BUILTIN_DIR / "committee.json").read_text())
    result = CliRunner().invoke(app, ["local", "report", "--markdown"])
    assert result.exit_code == 0, result.output
    for name, report in shipped["judges"].items():
        assert f"**{name}**" in result.output
        for family in {k.split("/")[0] for k in report["cells"]}:
            assert f"\n| {family} | " in result.output
        assert f"skills ({len(report['skills'])})" in result.output
