"""The run store: committed units, torn writes, content-addressed images, contexts, request cache."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from cadsynth.records import Partition, Seed, SeedProblem
from cadsynth.store import RequestCache, RunStore, atomic_write


def _png(colour: tuple[int, int, int] = (255, 0, 0), size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _block(store: RunStore, round_: int, unit: str, samples) -> bytes:
    """The exact bytes commit_unit would append, produced by committing to a scratch store."""
    scratch = RunStore.open(store.path.parent / f"scratch-{unit}")
    scratch.commit_unit(round_, unit, samples)
    return scratch.shard(round_).read_bytes()


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    s = RunStore.open(tmp_path / "run")
    yield s
    s.close()


# -- units -----------------------------------------------------------------------------------------------------
def test_commit_and_read_units(store, sample_factory):
    a = [sample_factory(question="What is 2√5 squared?"), sample_factory(partition=Partition.ADVERSARIAL)]
    b = [sample_factory(round_=1)]
    c = [sample_factory(round_=2, partition=Partition.DISCARDED)]
    store.commit_unit(1, "r1:a", a)
    store.commit_unit(1, "r1:b", b)
    store.commit_unit(2, "r2:a", c)
    store.commit_unit(2, "r2:empty", [])
    units = list(store.units())
    assert [(r, u) for r, u, _ in units] == [(1, "r1:a"), (1, "r1:b"), (2, "r2:a"), (2, "r2:empty")]
    assert units[0][2] == a and units[1][2] == b and units[2][2] == c and units[3][2] == []
    assert list(store.samples()) == a + b + c
    assert store.shard(1).name == "round-0001.jsonl"


def test_units_survive_reopen(tmp_path, sample_factory):
    s = RunStore.open(tmp_path / "run")
    samples = [sample_factory(), sample_factory()]
    s.commit_unit(3, "u", samples)
    again = RunStore.open(tmp_path / "run")
    assert list(again.units()) == [(3, "u", samples)]


def test_empty_store_has_no_units(store):
    assert list(store.units()) == [] and list(store.samples()) == []


def _torn_store(tmp_path, sample_factory, cut):
    store = RunStore.open(tmp_path / "run")
    kept = [sample_factory(question="Which is 2√5?")]
    store.commit_unit(1, "done", kept)
    block = _block(store, 1, "torn", [sample_factory(question="Is √20 = 2√5?"), sample_factory()])
    with open(store.shard(1), "ab") as handle:
        handle.write(cut(block))
    return store, kept


CUTS = {
    "half_unit_no_commit": lambda block: block[: len(block) // 2],
    "records_but_no_commit": lambda block: block[: block.index(b'{"_commit')],
    "commit_line_cut": lambda block: block[: block.index(b'{"_commit') + 12],
    "commit_line_without_newline_end": lambda block: block[:-3],
    "mid_character": lambda block: block[: block.index("√".encode()) + 1],  # half of a UTF-8 character
}


@pytest.mark.parametrize("cut", CUTS.values(), ids=CUTS.keys())
def test_torn_write_is_ignored_by_units(tmp_path, sample_factory, cut):
    store, kept = _torn_store(tmp_path, sample_factory, cut)
    assert list(store.units()) == [(1, "done", kept)]


@pytest.mark.parametrize("cut", CUTS.values(), ids=CUTS.keys())
def test_open_cuts_torn_write_so_later_commits_are_readable(tmp_path, sample_factory, cut):
    store, kept = _torn_store(tmp_path, sample_factory, cut)
    size_before = store.shard(1).stat().st_size
    reopened = RunStore.open(store.path)
    committed = store.shard(1).read_bytes()
    assert committed.endswith(b"\n") and len(committed) < size_before
    later = [sample_factory()]
    reopened.commit_unit(1, "later", later)
    reopened.commit_unit(2, "other", later)
    assert list(reopened.units()) == [(1, "done", kept), (1, "later", later), (2, "other", later)]


def test_open_cuts_a_shard_with_no_commit_to_nothing(tmp_path, sample_factory):
    store = RunStore.open(tmp_path / "run")
    block = _block(store, 1, "torn", [sample_factory()])
    store.shard(1).write_bytes(block[: len(block) // 3])
    RunStore.open(store.path)
    assert store.shard(1).read_bytes() == b""
    assert list(store.units()) == []


def test_open_leaves_a_clean_shard_alone(tmp_path, sample_factory):
    store = RunStore.open(tmp_path / "run")
    store.commit_unit(1, "a", [sample_factory()])
    before = store.shard(1).read_bytes()
    RunStore.open(store.path)
    assert store.shard(1).read_bytes() == before


def test_sample_text_that_looks_like_a_commit_is_not_one(tmp_path, sample_factory):
    store = RunStore.open(tmp_path / "run")
    tricky = [sample_factory(question='Is {"_commit": "x"} a commit?\n{"_commit": "y", "round": 1, "n": 0}')]
    store.commit_unit(1, "real", tricky)
    assert list(RunStore.open(store.path).units()) == [(1, "real", tricky)]


# -- images ----------------------------------------------------------------------------------------------------
def test_images_are_content_addressed_and_written_once(store):
    png = _png()
    ref = store.put_image(png)
    path = store.image_path(ref)
    assert path.read_bytes() == png
    assert ref.path == f"images/{ref.sha256[:2]}/{ref.sha256}.png"
    assert (ref.width, ref.height) == (8, 6)
    first = path.stat()
    again = store.put_image(bytes(png))
    assert again == ref
    second = path.stat()
    assert (second.st_ino, second.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)  # not rewritten
    other = store.put_image(_png((0, 0, 255)))
    assert other.sha256 != ref.sha256 and store.image_path(other).exists()
    assert len(list((store.path / "images").rglob("*.png"))) == 2
    assert not list((store.path / "images").rglob("*.tmp"))


# -- contexts, json, seeds, events -----------------------------------------------------------------------------
def test_context_versions(store):
    assert store.contexts("global") == []
    for version in (0, 1, 2, 10):
        store.write_context("global", version, {"version": version, "p": [0.5, 0.5]})
    store.write_context("seed-7", 0, {"version": 0})
    assert [c["version"] for c in store.contexts("global")] == [0, 1, 2, 10]
    assert store.contexts("seed-7") == [{"version": 0}]
    store.write_context("global", 1, {"version": 1, "p": [1.0]})  # rewriting a version replaces it
    assert store.contexts("global")[1] == {"version": 1, "p": [1.0]}
    assert (store.contexts_dir / "global" / "v0010.json").exists()


def test_json_seeds_and_events(store):
    assert store.read_json("state.json") is None
    store.write_json("state.json", {"finished": False, "round": 2})
    assert store.read_json("state.json") == {"finished": False, "round": 2}
    assert not store.exists
    store.write_json("manifest.json", {"config": {}})
    assert store.exists
    seeds = [Seed(id="s1", source="program", question="How tall is √5?"), Seed(id="s2", source="jsonl", question="q")]
    problems = [SeedProblem(seed_id="s3", source="jsonl", reason="no image")]
    store.write_seeds(seeds, problems)
    assert store.seeds() == seeds and store.seed_problems() == problems
    store.event("breaker_open", endpoint="judge", failures=3)
    events = store.events()
    assert [e["event"] for e in events] == ["breaker_open"]
    assert events[0]["endpoint"] == "judge" and events[0]["failures"] == 3 and "time" in events[0]


def test_torn_event_is_skipped_and_cut_on_open(tmp_path):
    store = RunStore.open(tmp_path / "run")
    store.event("first")
    with open(store.path / "events.jsonl", "a") as handle:
        handle.write('{"time": 1, "event": "tor')  # killed mid-write
    assert [e["event"] for e in store.events()] == ["first"]
    reopened = RunStore.open(store.path)
    reopened.event("second")
    assert [e["event"] for e in reopened.events()] == ["first", "second"]


# -- atomic write ----------------------------------------------------------------------------------------------
def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "deep" / "dir" / "file.json"
    atomic_write(target, "first")
    atomic_write(target, b"second")
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.json"]


def test_store_writes_leave_no_temp_files(store, sample_factory):
    store.write_json("state.json", {"a": 1})
    store.write_seeds([], [])
    store.write_context("global", 0, {"v": 0})
    store.put_image(_png())
    leftovers = [p for p in store.path.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".")]
    assert leftovers == []


# -- fresh -----------------------------------------------------------------------------------------------------
def test_fresh_empties_the_run(tmp_path, sample_factory):
    s = RunStore.open(tmp_path / "run")
    s.commit_unit(1, "u", [sample_factory()])
    s.write_json("manifest.json", {"x": 1})
    s.write_context("global", 0, {"v": 0})
    ref = s.put_image(_png())
    s.cache.put("k", {"v": 1})
    s.close()
    (tmp_path / "run" / "stray.txt").write_text("x")
    fresh = RunStore.open(tmp_path / "run", fresh=True)
    assert list(fresh.units()) == []
    assert not fresh.exists
    assert fresh.contexts("global") == []
    assert not fresh.image_path(ref).exists()
    assert not (tmp_path / "run" / "stray.txt").exists()
    assert {p.name for p in (tmp_path / "run").iterdir()} == {"records", "images", "contexts"}
    assert all(not any((tmp_path / "run" / d).iterdir()) for d in ("records", "images", "contexts"))
    assert len(fresh.cache) == 0
    fresh.close()


def test_fresh_on_a_missing_directory_creates_it(tmp_path):
    s = RunStore.open(tmp_path / "new", fresh=True)
    assert all((tmp_path / "new" / d).is_dir() for d in ("records", "images", "contexts"))
    assert list(s.units()) == []


# -- request cache ---------------------------------------------------------------------------------------------
def test_request_cache_round_trip_and_persistence(tmp_path):
    cache = RequestCache(tmp_path / "cache.sqlite")
    key = RequestCache.key("judge", "tiny", "abc", None, "How many?", {"A": "1"})
    assert len(key) == 64
    assert key == RequestCache.key("judge", "tiny", "abc", None, "How many?", {"A": "1"})
    assert key != RequestCache.key("judge", "tiny", "abc", None, "How many?", {"A": "2"})
    assert RequestCache.key({"a": 1, "b": 2}) == RequestCache.key({"b": 2, "a": 1})  # key order does not matter
    assert cache.get(key) is None and len(cache) == 0
    reply = {"raw": "2√5", "extracted": "2√5", "abstain": None, "error": None}
    cache.put(key, reply)
    cache.put("other", [1, 2.5, "x"])
    cache.put("other", {"replaced": True})
    assert cache.get(key) == reply and cache.get("other") == {"replaced": True}
    assert len(cache) == 2
    cache.close()
    reopened = RequestCache(tmp_path / "cache.sqlite")
    assert len(reopened) == 2 and reopened.get(key) == reply
    reopened.close()


def test_store_cache_persists_across_reopen(tmp_path):
    s = RunStore.open(tmp_path / "run")
    s.cache.put("k", {"v": 1})
    assert s.cache is s.cache
    s.close()
    s2 = RunStore.open(tmp_path / "run")
    assert s2.cache.get("k") == {"v": 1} and len(s2.cache) == 1
    s2.close()
    s2.close()  # closing twice is harmless


def test_request_cache_across_threads(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    cache = RequestCache(tmp_path / "cache.sqlite")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: cache.put(f"k{i}", i), range(50)))
    assert len(cache) == 50 and cache.get("k49") == 49
    cache.close()


def test_records_are_valid_json_lines(store, sample_factory):
    store.commit_unit(1, "u", [sample_factory(), sample_factory()])
    lines = store.shard(1).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    assert all(json.loads(line) for line in lines)
    assert json.loads(lines[-1]) == {"_commit": "u", "round": 1, "n": 2}
    assert os.path.getsize(store.shard(1)) == len("\n".join(lines).encode()) + 1
