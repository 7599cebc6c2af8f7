"""The run directory: the only code that writes run state.

Layout of ``runs/<name>/``::

    manifest.json          resolved config, versions, hashes of templates and judge weights
    seeds.jsonl            the seed pool of this run; seed_problems.jsonl: the seeds skipped and why
    records/round-0001.jsonl   sample records, appended one unit (seed x round) at a time
    images/ab/<sha256>.png content-addressed images
    contexts/<key>/v0000.json  every version of every generation context
    cache.sqlite           request cache keyed by payload hash
    events.jsonl           what went wrong or changed along the way (failures, breaker events)
    state.json             where the loop is: finished or not, and why it stopped

Every file is written atomically (temporary file, fsync, rename), except the two append-only logs: a unit's
records are appended in one write followed by a commit line, and anything after the last commit line is a torn
write from a killed process, cut off when the store is opened again. So a resumed run sees exactly the units
that were committed, and redoes the rest.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image

from cadsynth.records import ImageRef, Sample, Seed, SeedProblem

COMMIT = "_commit"


def atomic_write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError:  # e.g. ENOSPC: leave no half-written temporary file behind
        tmp.unlink(missing_ok=True)
        raise


class RequestCache:
    """A sqlite map from payload hash to reply, shared by every call that can be replayed on resume."""

    def __init__(self, path: Path):
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._lock = threading.Lock()

    @staticmethod
    def key(*payload: Any) -> str:
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    def get(self, key: str) -> Any | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM replies WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            try:
                self._db.execute("INSERT OR REPLACE INTO replies VALUES (?, ?)", (key, json.dumps(value)))
            except sqlite3.OperationalError as exc:  # SQLITE_FULL: the same disk-full error as any other write
                if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "full" in str(exc):
                    raise OSError(errno.ENOSPC, f"{exc} (request cache)", str(self.path)) from exc
                raise

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        self._db.close()


class RunStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.records_dir = self.path / "records"
        self.images_dir = self.path / "images"
        self.contexts_dir = self.path / "contexts"
        self._cache: RequestCache | None = None
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, fresh: bool = False) -> RunStore:
        """Open (creating it if needed) a run directory; `fresh` deletes what was there."""
        path = Path(path)
        if fresh and path.exists():
            shutil.rmtree(path)
        for sub in ("records", "images", "contexts"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        store = cls(path)
        store._repair()
        return store

    @property
    def exists(self) -> bool:
        return (self.path / "manifest.json").exists()

    def _repair(self) -> None:
        """Cut torn writes off the end of every shard (a killed process may have left half a unit) and of the
        event log (a torn last event would swallow the next one)."""
        for shard in self.records_dir.glob("round-*.jsonl"):
            _truncate(shard, _committed_length(shard.read_bytes()))
        events = self.path / "events.jsonl"
        if events.exists():
            _truncate(events, events.read_bytes().rfind(b"\n") + 1)

    @property
    def cache(self) -> RequestCache:
        if self._cache is None:
            self._cache = RequestCache(self.path / "cache.sqlite")
        return self._cache

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    # -- manifest, state, seeds --------------------------------------------------------------------------------
    def read_json(self, name: str) -> Any | None:
        path = self.path / name
        return json.loads(path.read_text()) if path.exists() else None

    def write_json(self, name: str, value: Any) -> None:
        atomic_write(self.path / name, json.dumps(value, indent=1, sort_keys=True, default=str))

    def write_seeds(self, seeds: list[Seed], problems: list[SeedProblem]) -> None:
        atomic_write(self.path / "seeds.jsonl", "".join(s.to_json() + "\n" for s in seeds))
        atomic_write(self.path / "seed_problems.jsonl", "".join(p.to_json() + "\n" for p in problems))

    def seeds(self) -> list[Seed]:
        return [Seed.model_validate_json(line) for line in _lines(self.path / "seeds.jsonl")]

    def seed_problems(self) -> list[SeedProblem]:
        return [SeedProblem.model_validate_json(line) for line in _lines(self.path / "seed_problems.jsonl")]

    def event(self, kind: str, **fields: Any) -> None:
        line = json.dumps({"time": round(time.time(), 3), "event": kind, **fields}, default=str) + "\n"
        with self._lock, open(self.path / "events.jsonl", "a") as handle:
            handle.write(line)

    def events(self) -> list[dict[str, Any]]:
        events = []
        for line in _lines(self.path / "events.jsonl"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:  # a torn line from a killed process
                continue
        return events

    # -- images ------------------------------------------------------------------------------------------------
    def put_image(self, png: bytes) -> ImageRef:
        """Store PNG bytes under their hash (once) and return the reference."""
        digest = hashlib.sha256(png).hexdigest()
        rel = Path("images") / digest[:2] / f"{digest}.png"
        path = self.path / rel
        if not path.exists():
            atomic_write(path, png)
        with Image.open(io.BytesIO(png)) as image:
            width, height = image.size
        return ImageRef(sha256=digest, path=rel.as_posix(), width=width, height=height)

    def image_path(self, ref: ImageRef) -> Path:
        return self.path / ref.path

    # -- records -----------------------------------------------------------------------------------------------
    def shard(self, round_: int) -> Path:
        return self.records_dir / f"round-{round_:04d}.jsonl"

    def commit_unit(self, round_: int, unit: str, samples: list[Sample]) -> None:
        """Append one unit's samples and its commit line in a single write, then fsync.

        A write that fails part way (ENOSPC) is cut off again before the error goes up, so the shard ends at its
        last commit line (and ``_repair`` would cut it on the next open in any case)."""
        block = "".join(s.to_json() + "\n" for s in samples)
        block += json.dumps({COMMIT: unit, "round": round_, "n": len(samples)}) + "\n"
        data = memoryview(block.encode())
        with self._lock:
            fd = os.open(self.shard(round_), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            start = os.fstat(fd).st_size
            try:
                while data:  # a full disk may accept part of a write without an error
                    data = data[os.write(fd, data):]
                os.fsync(fd)
            except OSError:
                try:
                    os.ftruncate(fd, start)
                except OSError:
                    pass
                raise
            finally:
                os.close(fd)

    def units(self) -> Iterator[tuple[int, str, list[Sample]]]:
        """Committed units in commit order: (round, unit id, samples)."""
        for shard in sorted(self.records_dir.glob("round-*.jsonl")):
            pending: list[str] = []  # parsed only once committed: a torn tail may hold half a record
            for line in _lines(shard):
                if line.startswith('{"' + COMMIT):
                    try:
                        marker = json.loads(line)
                    except json.JSONDecodeError:  # a torn commit line: nothing from here on was committed
                        break
                    yield marker["round"], marker[COMMIT], [Sample.model_validate_json(p) for p in pending]
                    pending = []
                else:
                    pending.append(line)

    def samples(self) -> Iterator[Sample]:
        for _, _, samples in self.units():
            yield from samples

    # -- contexts ----------------------------------------------------------------------------------------------
    def write_context(self, key: str, version: int, context: dict[str, Any]) -> None:
        atomic_write(self.contexts_dir / key / f"v{version:04d}.json", json.dumps(context, indent=1, sort_keys=True))

    def context_keys(self) -> list[str]:
        """Every context key (a folder of vNNNN.json files under contexts/, nested keys as a/b)."""
        if not self.contexts_dir.is_dir():
            return []
        return sorted({p.parent.relative_to(self.contexts_dir).as_posix() for p in self.contexts_dir.rglob("v*.json")})

    def contexts(self, key: str) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted((self.contexts_dir / key).glob("v*.json"))]


def _truncate(path: Path, keep: int) -> None:
    if keep != path.stat().st_size:
        with open(path, "r+b") as handle:
            handle.truncate(keep)
            os.fsync(handle.fileno())


def _committed_length(data: bytes) -> int:
    """Bytes up to and including the last complete commit line (0 when there is none)."""
    marker = b'{"' + COMMIT.encode()
    end = len(data)
    while (start := data.rfind(marker, 0, end)) >= 0:
        newline = data.find(b"\n", start)
        if newline >= 0 and (start == 0 or data[start - 1:start] == b"\n"):
            try:
                json.loads(data[start:newline])
                return newline + 1
            except ValueError:  # a commit line cut in the middle
                pass
        end = start
    return 0


def _lines(path: Path) -> Iterator[str]:
    if not path.exists():
        return
    with open(path, encoding="utf-8", errors="replace") as handle:  # a torn tail may end mid-character
        for line in handle:
            line = line.rstrip("\n")
            if line:
                yield line
