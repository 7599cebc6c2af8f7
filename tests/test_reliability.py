"""A fast subset of the reliability suite (bench/reliability.py), so CI exercises it: kills, malformed inputs,
a full disk (where a tmpfs can be mounted), and the store's behaviour on a write that fails part way."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

import cadsynth.store
from cadsynth.store import RunStore, atomic_write

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import reliability  # noqa: E402

SMALL = ["seeds.per_family=2", "loop.max_rounds=2", "loop.target_kept=null"]


def _assert_passed(outcome: reliability.Outcome) -> None:
    assert outcome.trials > 0 and outcome.failed == 0, outcome.details


@pytest.mark.slow
def test_three_kills_then_resume_equal_an_uninterrupted_run(tmp_path):
    args = reliability.parse(["--kills", "3", *[a for s in SMALL for a in ("--kill-set", s)]])
    outcome = reliability.scenario_kills(args, tmp_path)
    _assert_passed(outcome)


@pytest.mark.slow
def test_ten_malformed_inputs_are_reported_clearly(tmp_path):
    outcome = reliability.scenario_malformed(reliability.parse([]), tmp_path, n_seeds=5, n_configs=5)
    assert outcome.trials == 1 + 5 + 3 + 2 + 5  # the run, bad seeds, good seeds, no-family seeds, configs
    _assert_passed(outcome)


@pytest.mark.slow
def test_a_full_disk_stops_cleanly_and_the_run_resumes(tmp_path):
    why = reliability.can_mount()
    if why:
        pytest.skip(f"no tmpfs for the disk-full scenario: {why}")
    outcome = reliability.scenario_disk_full(reliability.parse([]), tmp_path, sets=SMALL, size="600k")
    _assert_passed(outcome)


def _failing(real, matches, partial: bool = False):
    """A stand-in for an os function that fails with ENOSPC on files whose path `matches` (after a partial
    write of 100 bytes when `partial`), and passes everything else through."""
    state = {"partial": partial}

    def call(fd, *args):
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            path = ""
        if not matches(path):
            return real(fd, *args)
        if state["partial"]:
            state["partial"] = False
            return real(fd, bytes(args[0][:100]))
        raise OSError(errno.ENOSPC, "No space left on device")

    return call


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_a_partial_write_on_a_full_disk_leaves_the_shard_at_its_last_commit(tmp_path, monkeypatch, sample_factory):
    store = RunStore.open(tmp_path / "run")
    store.commit_unit(1, "r1:a", [sample_factory()])
    before = store.shard(1).read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(cadsynth.store.os, "write",
                      _failing(os.write, lambda p: p.endswith("round-0001.jsonl"), partial=True))
        with pytest.raises(OSError) as raised:
            store.commit_unit(1, "r1:b", [sample_factory(), sample_factory()])
    assert raised.value.errno == errno.ENOSPC
    assert store.shard(1).read_bytes() == before  # the 100 bytes that got through were cut off again
    store.commit_unit(1, "r1:c", [sample_factory()])  # space is back: the next unit appends cleanly
    assert [unit for _, unit, _ in RunStore.open(tmp_path / "run").units()] == ["r1:a", "r1:c"]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_an_atomic_write_that_hits_a_full_disk_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "images" / "ab" / "x.png"
    with monkeypatch.context() as patch:
        patch.setattr(cadsynth.store.os, "fsync", _failing(os.fsync, lambda p: p.endswith(".tmp")))
        with pytest.raises(OSError) as raised:
            atomic_write(target, b"\x89PNG" * 100)
    assert raised.value.errno == errno.ENOSPC
    assert not target.exists() and list(target.parent.iterdir()) == []
