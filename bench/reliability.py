"""The reliability suite: SIGKILLs, endpoint faults, malformed inputs, hostile code and a full disk.

    python bench/reliability.py                       # every scenario, then a table; exit 1 if anything failed
    python bench/reliability.py --only kills          # one scenario (or several: --only kills,disk_full)

Scenarios (each prints its own line of counts; a trial is one check that passes or fails):

- ``kills``: the embedded default run (``cadsynth run --set loop.target_kept=120``) killed with SIGKILL, the whole
  process group, at ``--kills`` (20) seeded random moments, each time resumed, then run to the end; its records
  (every committed unit's samples as JSON, in order) and every context version must equal one uninterrupted run.
  After each kill the store must open (torn tail cut) with every commit line's count matching its unit.
- ``faults``: a paper-mode run (LLM members, endpoint judges, reflector, equivalence model; the scripted committee of
  ``tests/paper_committee.py`` over real HTTP) behind a fault-injecting responder: ``--error-rate`` (30%) HTTP 500,
  ``--timeout-rate`` (5%) replies slower than the endpoint timeout, and a 429 storm (every request answered 429 with
  Retry-After) for ``--storm-s`` (60) seconds. The run must finish with every unit committed and every sample
  there (seeds x rounds x candidates), failures recorded as reasons, breaker and limit events in the run's
  events; the wall time is compared with the same run without faults.
- ``malformed``: 25 malformed seeds in one seed file with good ones (the run must finish, use the good ones and
  record each bad one as a seed problem with a clear reason; seeds whose text names no task family are used, and
  their candidates discarded with that reason), and 25 malformed configs (``cadsynth run -c bad.yaml`` must exit
  non-zero with a message that names the key or field, one line per problem after the ``invalid config:`` header,
  no traceback, and no run directory).
- ``hostile``: the sandbox's hostile corpus (``cadsynth.sandbox.hostile``) through ``cadsynth.sandbox.Sandbox``:
  each stopped with an expected reason, the host unchanged (the checks of ``tests/sandbox/test_sandbox.py``), and
  the pool still serving with the same workers afterwards.
- ``disk_full`` (root only: it mounts a tmpfs): the embedded default run with runs_dir on an 8 MiB tmpfs must stop
  with a non-zero exit and a message that says the disk is full (no traceback), leaving every shard ending at a
  commit line and no temporary files; after ``mount -o remount,size=256m`` the same command resumes, and the
  records equal an uninterrupted run.

The subprocess runs use a snapshot of ``src/`` (copied at start; ``--no-snapshot`` to run the tree as it is), so
that edits made to the working tree while the suite runs cannot mix versions between a run and its resume.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
SCENARIOS = ("kills", "faults", "malformed", "hostile", "disk_full")
PYTHONPATH: str | None = None  # the snapshot of src/ that child processes import, when taken


# ------------------------------------------------------------------------------------------------- outcomes


@dataclass
class Outcome:
    scenario: str
    trials: int = 0
    passed: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def check(self, ok: bool, what: str) -> bool:
        self.trials += 1
        self.passed += bool(ok)
        if not ok:
            self.failures.append(what)
        return bool(ok)

    @property
    def failed(self) -> int:
        return self.trials - self.passed

    @property
    def details(self) -> str:
        text = "; ".join(self.notes)
        if self.failures:
            shown = self.failures[:6] + ([f"... {len(self.failures) - 6} more"] if len(self.failures) > 6 else [])
            text += ("; " if text else "") + "FAILED: " + " | ".join(shown)
        return text


def table(outcomes: list[Outcome]) -> str:
    rows = [("scenario", "trials", "passed", "failed", "time", "details")]
    rows += [(o.scenario, str(o.trials), str(o.passed), str(o.failed), f"{o.seconds:.0f}s", o.details)
             for o in outcomes]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=False))]
        lines.append("| " + " | ".join([*cells, row[5]]) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|---------|")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------- helpers


def env(**extra: str) -> dict[str, str]:
    """The environment of a `cadsynth` child: unbuffered, wide (no wrapped messages), the snapshot first."""
    found = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "400", **extra}
    if PYTHONPATH:
        found["PYTHONPATH"] = PYTHONPATH + os.pathsep + found.get("PYTHONPATH", "")
    return found


def cadsynth(*args: str) -> list[str]:
    return [sys.executable, "-m", "cadsynth", "run", *args]


def run_cli(args: list[str], cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(cadsynth(*args), capture_output=True, text=True, env=env(), cwd=cwd, timeout=timeout)


def records(run_dir: Path) -> list[tuple[str, str]]:
    """Every committed unit's samples, in commit order, as (unit id, sample JSON)."""
    from cadsynth.store import RunStore

    return [(unit, s.to_json()) for _, unit, samples in RunStore(run_dir).units() for s in samples]


def contexts(run_dir: Path) -> dict[str, list[dict]]:
    from cadsynth.store import RunStore

    store = RunStore(run_dir)
    return {key: store.contexts(key) for key in store.context_keys()}


@dataclass
class StoreCheck:
    torn_bytes: int = 0  # bytes after the last commit line of each shard, before repair
    units: int = 0
    samples: int = 0
    temporary_files: int = 0
    problems: list[str] = field(default_factory=list)


def check_store(run_dir: Path, repair: bool = True) -> StoreCheck:
    """Open the store as a resume would (cutting torn tails when `repair`), then read every unit back: each
    commit line's count must match the samples before it, unit ids must be unique, every record must parse."""
    from cadsynth.store import COMMIT, RunStore, _committed_length

    found = StoreCheck()
    shards = sorted((run_dir / "records").glob("round-*.jsonl"))
    for shard in shards:
        data = shard.read_bytes()
        found.torn_bytes += len(data) - _committed_length(data)
    found.temporary_files = sum(1 for _ in run_dir.rglob(".*.tmp"))
    if not run_dir.exists():
        return found
    if repair:
        RunStore.open(run_dir).close()
    seen: set[str] = set()
    for shard in shards:
        pending = 0
        for number, line in enumerate(shard.read_text().splitlines(), 1):
            if line.startswith('{"' + COMMIT):
                marker = json.loads(line)
                if marker["n"] != pending:
                    found.problems.append(f"{shard.name}:{number}: commit of {marker[COMMIT]} counts {marker['n']}, "
                                          f"{pending} records before it")
                if marker[COMMIT] in seen:
                    found.problems.append(f"{shard.name}:{number}: unit {marker[COMMIT]} committed twice")
                seen.add(marker[COMMIT])
                pending = 0
            elif line:
                pending += 1
        if repair and pending:
            found.problems.append(f"{shard.name}: {pending} uncommitted records left after repair")
    try:
        units = list(RunStore(run_dir).units())
    except Exception as exc:  # noqa: BLE001 - anything that stops reading is the finding
        found.problems.append(f"records do not read back: {type(exc).__name__}: {exc}")
        return found
    found.units = len(units)
    found.samples = sum(len(s) for _, _, s in units)
    return found


def tail(text: str, n: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else "..." + text[-n:]


def wait_until(process: subprocess.Popen, deadline: float) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=max(0.0, deadline - time.monotonic()))


def wait_for_units(process: subprocess.Popen, run_dir: Path, units: int) -> None:
    """Until the run has committed `units` units in all (or exits)."""
    while process.poll() is None:
        shards = (run_dir / "records").glob("round-*.jsonl")
        if sum(p.read_bytes().count(b'{"_commit"') for p in shards) >= units:
            return
        time.sleep(0.05)


def wait_for_first_commit(process: subprocess.Popen, run_dir: Path) -> float | None:
    """Seconds from now until the run's first commit line (None if it exits first)."""
    started = time.monotonic()
    shard = run_dir / "records" / "round-0001.jsonl"
    while process.poll() is None:
        if shard.exists() and b'"_commit"' in shard.read_bytes():
            return time.monotonic() - started
        time.sleep(0.1)
    return None


# ------------------------------------------------------------------------------------------------- kills


def scenario_kills(args: argparse.Namespace, work: Path) -> Outcome:
    out = Outcome("kills")
    runs = work / "kills"
    sets = ["--set", f"runs_dir={runs}", *[a for s in args.kill_set for a in ("--set", s)]]
    started = time.monotonic()
    process = subprocess.Popen(cadsynth("--name", "clean", *sets), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env=env(), start_new_session=True)
    first_commit = wait_for_first_commit(process, runs / "clean")
    _, stderr = process.communicate()
    clean_s = time.monotonic() - started
    if not out.check(process.returncode == 0, f"the uninterrupted run failed: {tail(stderr.decode())}"):
        return out
    first_commit = first_commit or clean_s / 3
    total_units = check_store(runs / "clean", repair=False).units
    unit_s = (clean_s - first_commit) / max(1, total_units)
    rng = random.Random(args.seed)
    # A third of the moments fall in start-up (imports, seeds, manifest, judges, replaying the store), the rest
    # after the run has committed k more units (k random, in all about 70% of the run) plus a random fraction
    # of a unit's time: so every kill lands before the run can finish, whatever the machine's load.
    early = set(rng.sample(range(args.kills), args.kills // 3))
    mean_k = max(1.0, 0.7 * total_units / max(1, args.kills - len(early)))
    landed = mid_loop = resumes = finished_early = 0
    killed_dir = runs / "killed"
    for attempt in range(args.kills):
        if (killed_dir / "state.json").exists():
            finished_early += 1
            continue
        before = check_store(killed_dir, repair=False).units if killed_dir.exists() else 0
        resumes += killed_dir.exists()
        log = work / f"kill-{attempt}.err"
        with open(log, "wb") as err:
            process = subprocess.Popen(cadsynth("--name", "killed", *sets), stdout=subprocess.DEVNULL, stderr=err,
                                       env=env(), start_new_session=True)
            k = min(rng.randint(1, max(1, round(2 * mean_k) - 1)), total_units - before - 2)
            jitter = rng.uniform(0, 0.5 * unit_s)
            if attempt in early or k < 1:
                moment = f"start-up +{rng.uniform(0.3, 1.0) * first_commit:.1f}s"
                wait_until(process, time.monotonic() + float(moment.split("+")[1][:-1]))
            else:
                moment = f"{k} units +{jitter:.1f}s"
                wait_for_units(process, killed_dir, before + k)
                wait_until(process, time.monotonic() + jitter)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # the run and its workers, at once
                process.wait()
                landed += 1
        with contextlib.suppress(ProcessLookupError):  # a worker left behind in the group (there should be none)
            os.killpg(process.pid, signal.SIGKILL)
        if process.returncode not in (0, -signal.SIGKILL):
            out.check(False, f"attempt {attempt} exited {process.returncode} by itself: {tail(log.read_text())}")
            continue
        found = check_store(killed_dir)
        mid_loop += found.units > before
        out.check(not found.problems, f"after kill {attempt} ({moment}): {'; '.join(found.problems)}")
    resumed = run_cli(["--name", "killed", *sets])
    resumes += 1
    if not out.check(resumed.returncode == 0, f"the final resume failed: {tail(resumed.stderr)}"):
        return out
    clean, killed = records(runs / "clean"), records(killed_dir)
    same = killed == clean
    if not same:
        lost = len({s for _, s in clean} - {s for _, s in killed})
        extra = len({s for _, s in killed} - {s for _, s in clean})
        out.check(False, f"records differ: {len(killed)} vs {len(clean)} clean ({lost} missing, {extra} extra or "
                         f"changed, {len(killed) - len({s for _, s in killed})} twice)")
    else:
        out.check(True, "")
    same_contexts = contexts(killed_dir) == contexts(runs / "clean")
    out.check(same_contexts, "contexts differ from the uninterrupted run")
    out.check(landed == args.kills, f"only {landed} of {args.kills} kills landed before the run finished")
    out.notes.append(f"config {' '.join(args.kill_set)}; clean run {clean_s:.0f}s (first commit at "
                     f"{first_commit:.0f}s, {total_units} units); kills landed {landed}/{args.kills} "
                     f"({len(early)} in start-up, {mid_loop} after new commits, "
                     f"{finished_early} not tried: finished); resumes {resumes}; records {len(killed)} vs "
                     f"{len(clean)} clean, mismatches {int(not same) + int(not same_contexts)}")
    return out


# ------------------------------------------------------------------------------------------------- faults

MODELS = ("writer", "painter", "painter-image", "judge-a", "judge-b", "judge-r1", "reflector", "equivalence")


class Faulty:
    """A responder around the scripted committee that injects faults, drawn from one seeded stream in arrival
    order: HTTP 500, a reply slower than the client's timeout, and a 429 storm during a window of time."""

    def __init__(self, inner: Callable, *, error_rate: float, timeout_rate: float, slow_s: float,
                 storm_start_s: float, storm_s: float, retry_after: float, seed: int) -> None:
        self.inner = inner
        self.error_rate, self.timeout_rate, self.slow_s = error_rate, timeout_rate, slow_s
        self.storm = (storm_start_s, storm_start_s + storm_s)
        self.retry_after = retry_after
        self.rng = random.Random(seed)
        self.started = time.monotonic()
        self.counts: Counter = Counter()

    def __call__(self, path: str, body: bytes) -> Any:
        from scripted_server import http_error, rate_limited

        now = time.monotonic() - self.started
        if self.storm[0] <= now < self.storm[1]:
            self.counts["429 (storm)"] += 1
            return rate_limited(self.retry_after)
        draw = self.rng.random()
        if draw < self.error_rate:
            self.counts["500"] += 1
            return http_error(500, "injected fault")
        reply = self.inner(path, body)
        if draw < self.error_rate + self.timeout_rate:
            self.counts["slow"] += 1
            return replace(reply, delay=self.slow_s)
        self.counts["ok"] += 1
        return reply


def _paper_run(args: argparse.Namespace, runs: Path, name: str, responder: Callable) -> tuple[float, Any, str | None]:
    """One paper-mode run in this process against `responder`; (wall seconds, store, error or None)."""
    from scripted_server import ScriptedServer
    from test_paper_mode import KEY, paper_config

    from cadsynth.config import parse_config
    from cadsynth.pipeline import Pipeline
    from cadsynth.store import RunStore

    os.environ["CADSYNTH_TEST_KEY"] = KEY
    policy = {"timeout_s": args.endpoint_timeout_s, "breaker_failures": args.breaker_failures,
              "breaker_cooldown_s": args.breaker_cooldown_s, "backoff_max_s": args.backoff_max_s}
    error = None
    with ScriptedServer(responder=responder) as url:
        if isinstance(responder, Faulty):
            responder.started = time.monotonic()
        data = paper_config(url, runs, max_rounds=args.fault_rounds)
        data["name"] = name
        data["seeds"]["limit"] = args.fault_seeds
        data["executor"] = {"endpoints": dict.fromkeys(MODELS, policy)}
        config = parse_config(data)
        started = time.monotonic()
        try:
            asyncio.run(Pipeline(config, RunStore.open(config.run_dir)).run())
        except Exception as exc:  # noqa: BLE001 - the finding: a fault stopped the run
            error = f"{type(exc).__name__}: {exc}"
        wall = time.monotonic() - started
    return wall, RunStore(config.run_dir), error


def scenario_faults(args: argparse.Namespace, work: Path) -> Outcome:
    out = Outcome("faults")
    sys.path.insert(0, str(TESTS))
    from paper_committee import Committee
    from test_paper_mode import MATHV

    if not MATHV.is_dir():
        out.check(False, f"{MATHV} is not here (the mathv seeds of the paper-mode run)")
        return out
    runs = work / "faults"
    clean_s, clean_store, clean_error = _paper_run(args, runs, "fault-free", Committee())
    out.check(clean_error is None, f"the fault-free run failed: {clean_error}")
    faulty = Faulty(Committee(), error_rate=args.error_rate, timeout_rate=args.timeout_rate,
                    slow_s=args.endpoint_timeout_s + 1.0, storm_start_s=args.storm_start_s, storm_s=args.storm_s,
                    retry_after=args.retry_after_s, seed=args.seed)
    wall, store, error = _paper_run(args, runs, "faulty", faulty)
    out.check(error is None and (store.read_json("state.json") or {}).get("finished"),
              f"the faulty run did not finish: {error}")
    seeds = store.seeds()
    units = list(store.units())
    expected_units = {f"r{r}:{s.id}" for r in range(1, args.fault_rounds + 1) for s in seeds}
    out.check({u for _, u, _ in units} == expected_units and len(units) == len(expected_units),
              f"{len(units)} units committed, expected {len(expected_units)}")
    samples = [s for _, _, batch in units for s in batch]
    candidates = 4  # paper_config: writer 3 + painter 1
    expected = len(seeds) * args.fault_rounds * candidates
    out.check(len(samples) == expected, f"{len(samples)} samples, expected {expected} (seeds x rounds x candidates)")
    unexplained = [s.id for s in samples if not s.kept and not s.discard_reasons]
    error_votes = [v for s in samples if s.judgement for v in s.judgement.votes if v.verdict.value == "error"]
    silent = [v for v in error_votes if not (v.reason or "").strip()]
    out.check(not unexplained and not silent,
              f"{len(unexplained)} discarded samples without a reason, {len(silent)} failed votes without one")
    injected = ("HTTP 500", "HTTP 429", "no reply", "circuit open", "Timeout")
    by_fault = Counter(next((k for k in injected if k in text), "other")
                       for s in samples for text in [*s.discard_reasons[:1],
                                                     *[v.reason or "" for v in (s.judgement.votes if s.judgement else [])
                                                       if v.verdict.value == "error"]]
                       if any(k in text for k in injected))
    events = Counter(e.get("event") for e in store.events() if "endpoint" in e)
    out.check(events["limit_cut"] > 0, "no limit_cut event logged during the 429 storm")
    out.check(events["breaker_open"] > 0, "no breaker_open event logged")
    out.check(by_fault.total() > 0, "no failure of an injected fault reached a record (the faults did not bite?)")
    clean_samples = len(list(clean_store.samples()))
    out.notes.append(
        f"{len(seeds)} mathv seeds x {args.fault_rounds} rounds x {candidates} candidates = {len(samples)} samples "
        f"(fault-free {clean_samples}), {len(units)} units; injected {dict(faulty.counts)} (500 at "
        f"{args.error_rate:.0%}, slow {args.endpoint_timeout_s + 1:g}s > timeout {args.endpoint_timeout_s:g}s at "
        f"{args.timeout_rate:.0%}, storm {args.storm_s:g}s from t={args.storm_start_s:g}s, Retry-After "
        f"{args.retry_after_s:g}s); failures in records {dict(by_fault)}; kept {sum(s.kept for s in samples)} vs "
        f"{sum(s.kept for s in clean_store.samples())} fault-free; events "
        + ", ".join(f"{k} {events[k]}" for k in ("retry", "limit_cut", "limit_raised", "breaker_open",
                                               "breaker_half_open", "breaker_closed"))
        + f"; wall {wall:.0f}s vs {clean_s:.0f}s fault-free")
    return out


# ------------------------------------------------------------------------------------------------- malformed


def _png(size: tuple[int, int] = (48, 48)) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, format="PNG")
    return buffer.getvalue()


def bad_seeds(folder: Path, limit: int | None = None) -> tuple[list[bytes], dict[str, str], dict[str, str]]:
    """Lines of a jsonl seed file; bad seed id -> a word its problem's reason must hold; good seed ids -> kind.

    Seeds whose text names no task family are good seeds (kind "nofamily"): their candidates must be discarded
    with the reason. Ids of rows that cannot be read are their line index, as the reader names them."""
    folder.mkdir(parents=True, exist_ok=True)
    good_png = _png()
    (folder / "good.png").write_bytes(good_png)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
    (folder / "empty.png").write_bytes(b"")
    (folder / "half.png").write_bytes(_png((256, 256))[: len(_png((256, 256))) // 2])
    (folder / "text.png").write_text("hello, I am not an image")
    (folder / "gif-header.png").write_bytes(b"GIF89a")
    (folder / "a-folder.png").mkdir(exist_ok=True)
    crc = zlib.crc32(b"IHDR")  # a header whose checksum is wrong
    (folder / "bad-crc.png").write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + b"\0" * 13
                                         + struct.pack(">I", crc))
    good = {
        "ok-bars": {"question": "Read the bar chart: which bar is tallest?", "answer": "Mon", "image": "good.png"},
        "ok-grid": {"question": "Questions about points on a coordinate grid", "answer": "1"},
        "ok-shapes": {"question": "Count the circles in the picture", "answer": "3"},
        "nofamily-1": {"question": "Describe the painting's mood", "answer": "calm"},
        "nofamily-2": {"question": "Which poet wrote this sonnet?", "answer": "Keats"},
    }
    objects: list[tuple[str | None, Any, str]] = [  # (id, row, word in the reason)
        (None, "{not json", "not valid JSON"),
        (None, "[1, 2, 3]", "not an object"),
        (None, '"just a string"', "not an object"),
        (None, "null", "not an object"),
        (None, b"\xff\xfe{\"id\": 1}", "not UTF-8"),
        ("no-question", {"answer": "1"}, "empty question"),
        ("blank-question", {"question": "   ", "answer": "1"}, "empty question"),
        ("null-question", {"question": None, "answer": "1"}, "empty question"),
        ("list-question", {"question": ["a", "b"], "answer": "1"}, "question is list"),
        ("dict-question", {"question": {"text": "hi"}, "answer": "1"}, "question is dict"),
        ("missing-image", {"question": "What is shown?", "answer": "1", "image": "nowhere.png"}, "image not found"),
        ("corrupt-image", {"question": "What is shown?", "answer": "1", "image": "corrupt.png"}, "unreadable image"),
        ("empty-image", {"question": "What is shown?", "answer": "1", "image": "empty.png"}, "unreadable image"),
        ("half-image", {"question": "What is shown?", "answer": "1", "image": "half.png"}, "unreadable image"),
        ("text-image", {"question": "What is shown?", "answer": "1", "image": "text.png"}, "unreadable image"),
        ("gif-header", {"question": "What is shown?", "answer": "1", "image": "gif-header.png"}, "unreadable image"),
        ("bad-crc", {"question": "What is shown?", "answer": "1", "image": "bad-crc.png"}, "unreadable image"),
        ("folder-image", {"question": "What is shown?", "answer": "1", "image": "a-folder.png"}, "image not found"),
        ("number-image", {"question": "What is shown?", "answer": "1", "image": 42}, "image field holds int"),
        ("two-images", {"question": "What is shown?", "answer": "1", "image": ["good.png", "good.png"]},
         "2 images"),
        ("bad-type", {"question": "What is shown?", "answer": "1", "answer_type": "banana"}, "unknown answer type"),
        ("ok-bars", {"question": "A second seed with the same id", "answer": "2"}, "duplicate id"),
        ("mcq-not-a-choice", {"question": "Pick one", "answer": "E", "choices": {"A": "1", "B": "2"}},
         "not one of the choices"),
        ("mcq-no-letter", {"question": "Pick one", "answer": "forty", "answer_type": "mcq"}, "not a choice letter"),
        ("choices-number", {"question": "Pick one", "answer": "A", "choices": 5}, "choices"),
    ]
    lines: list[bytes] = [json.dumps({"id": k, **v}).encode() for k, v in good.items()]
    expected: dict[str, str] = {}
    for ident, row, word in objects[:limit]:
        if ident is None:
            expected[str(len(lines))] = word
            lines.append(row if isinstance(row, bytes) else row.encode())
        else:
            key = ident if ident not in expected and ident not in good else f"{ident}#dup"
            expected[key] = word
            lines.append(json.dumps({"id": ident, **row}).encode())
    return lines, expected, {k: ("nofamily" if k.startswith("nofamily") else "good") for k in good}


def bad_configs(folder: Path, seeds_file: Path) -> list[tuple[str, str, str]]:
    """(name, YAML text or None for a missing file, a word the message must hold)."""
    good_seeds = f"seeds:\n  source: jsonl\n  path: {seeds_file}\n"
    return [
        ("typo-key", "loop:\n  max_round: 3\n", "loop.max_round"),
        ("unknown-top-key", "bogus: 1\n", "bogus"),
        ("unknown-section-key", "executor:\n  threads: 4\n", "executor.threads"),
        ("negative-rounds", "loop:\n  max_rounds: -1\n", "loop.max_rounds"),
        ("zero-target", "loop:\n  target_kept: 0\n", "loop.target_kept"),
        ("negative-budget", "loop:\n  budget_usd: -5\n", "loop.budget_usd"),
        ("wrong-type-int", "seeds:\n  per_family: many\n", "seeds.per_family"),
        ("wrong-type-list", "generators: 5\n", "generators"),
        ("wrong-type-section", "loop: 3\n", "loop"),
        ("unknown-source", "seeds:\n  source: nonsense\n", "seeds.source"),
        ("unknown-strategy", "loop:\n  allowed_strategies: [teleport]\n", "loop.allowed_strategies"),
        ("llm-member-no-model", "generators:\n  - kind: llm\n    name: x\n", "generators.0.model"),
        ("zero-candidates", "generators:\n  - name: p\n    candidates: 0\n", "generators.0.candidates"),
        ("no-judges", "judges: []\n", "judges"),
        ("duplicate-judges", "judges:\n  - {name: j, weights: 'builtin:judge-a'}\n"
                             "  - {name: j, weights: 'builtin:judge-b'}\n", "judges"),
        ("negative-timeout", "executor:\n  endpoints:\n    m:\n      timeout_s: -1\n", "timeout_s"),
        ("tiny-sandbox", "sandbox:\n  memory_mb: 10\n", "sandbox.memory_mb"),
        ("bad-check-mode", "checks:\n  ocr: maybe\n", "checks.ocr"),
        ("floor-too-high", "context:\n  floor: 0.5\n", "context.floor"),
        ("yaml-list", "- a\n- b\n", "mapping"),
        ("yaml-scalar", "just some text\n", "mapping"),
        ("yaml-syntax", "loop: [1, 2\n", "YAML"),
        ("missing-config-file", None, "not found"),
        ("missing-seeds-path", "seeds:\n  source: jsonl\n  path: /nonexistent/seeds.jsonl\n", "seeds.path"),
        ("missing-image-dir", good_seeds + "  image_dir: /nonexistent/images\n", "seeds.image_dir"),
    ]


def scenario_malformed(args: argparse.Namespace, work: Path, n_seeds: int | None = None,
                       n_configs: int | None = None) -> Outcome:
    out = Outcome("malformed")
    folder = work / "malformed"
    lines, expected, good = bad_seeds(folder / "seeds", n_seeds)
    seeds_file = folder / "seeds" / "seeds.jsonl"
    seeds_file.write_bytes(b"\n".join(lines) + b"\n")
    config = folder / "seeds.yaml"
    config.write_text(json.dumps({"name": "seeds", "runs_dir": str(folder / "runs"),
                                  "seeds": {"source": "jsonl", "path": str(seeds_file)},
                                  "generators": [{"name": "program", "candidates": 2}],
                                  "loop": {"max_rounds": 1, "target_kept": None}}))
    result = run_cli(["-c", str(config)])
    seed_messages = 0
    if out.check(result.returncode == 0, f"the run with bad seeds failed: {tail(result.stderr)}"):
        from cadsynth.store import RunStore

        store = RunStore(folder / "runs" / "seeds")
        problems: dict[str, list[str]] = {}
        for p in store.seed_problems():
            problems.setdefault(p.seed_id, []).append(p.reason)
        samples = list(store.samples())
        used = {s.provenance.seed_id for s in samples}
        for key, word in expected.items():
            ident = key.split("#")[0]
            reasons = problems.get(ident, [])
            ok = any(word.lower() in r.lower() for r in reasons)
            seed_messages += ok
            out.check(ok, f"seed {ident}: expected a problem saying '{word}', got {reasons or 'none'}")
        for ident, kind in good.items():
            if kind == "good":
                out.check(ident in used, f"good seed {ident} was not used")
            else:
                mine = [s for s in samples if s.provenance.seed_id == ident]
                ok = bool(mine) and all(not s.kept and s.discard_reasons
                                        and "names no task family" in s.discard_reasons[0] for s in mine)
                seed_messages += ok
                out.check(ok, f"seed {ident}: candidates not all discarded with 'names no task family'")
    configs = bad_configs(folder / "configs", folder / "seeds" / "seeds.jsonl")
    if n_configs is not None:
        configs = configs[:n_configs]
    config_messages = 0
    for name, text, word in configs:
        runs = folder / "config-runs" / name
        cwd = folder / "config-cwd" / name
        cwd.mkdir(parents=True, exist_ok=True)
        path = folder / "configs" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is not None:
            path.write_text(text)
        result = run_cli(["-c", str(path), "--set", f"runs_dir={runs}", "--name", name], cwd=cwd, timeout=300)
        output = result.stdout + result.stderr
        lines_out = [line for line in result.stderr.splitlines() if line.strip()]
        body = [line for line in lines_out if line.strip() not in ("error: invalid config:",)]
        problems = []
        if result.returncode == 0:
            problems.append("exit 0")
        if "Traceback" in output or "╭─" in output:
            problems.append("traceback")
        if word.lower() not in output.lower():
            problems.append(f"no '{word}' in the message")
        if len(body) != 1:
            problems.append(f"{len(body)} lines of message")
        if runs.exists() or (cwd / "runs").exists():
            problems.append("created a run directory")
        config_messages += not problems
        out.check(not problems, f"config {name}: {', '.join(problems)}: {tail(result.stderr, 160)}")
    out.notes.append(f"seeds: {len(expected)} bad + {sum(k == 'nofamily' for k in good.values())} naming no family "
                     f"+ {sum(k == 'good' for k in good.values())} good, clear reasons {seed_messages}/"
                     f"{len(expected) + sum(k == 'nofamily' for k in good.values())}; configs: clear one-line "
                     f"messages {config_messages}/{len(configs)}")
    return out


# ------------------------------------------------------------------------------------------------- hostile


def scenario_hostile(args: argparse.Namespace, work: Path) -> Outcome:
    out = Outcome("hostile")
    sys.path.insert(0, str(TESTS / "sandbox"))
    import socket
    import uuid

    from test_sandbox import BAR_CHART, HAS_DOT, LIMITS, SECRET, Host, assert_host_unchanged

    from cadsynth.sandbox import Sandbox
    from cadsynth.sandbox.hostile import HOSTILE

    home = work / "hostile-home"
    home.mkdir(parents=True, exist_ok=True)
    planted = home / "secret.txt"
    planted.write_text("TOP SECRET")
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    host = Host(home, planted, Path(f"/tmp/cadsynth-escape-{uuid.uuid4().hex}"), server)
    os.environ[SECRET] = "s3cret"  # the workers must not pass it on to jobs
    pool = Sandbox(workers=2, limits=LIMITS)
    os.environ.pop(SECRET, None)
    reasons: Counter = Counter()
    skipped = 0
    try:
        pids = pool.worker_pids
        for case in HOSTILE:
            if case.language == "dot" and not HAS_DOT:
                skipped += 1
                continue
            result = pool.render(case.language, host.code(case))
            reasons[result.reason.split(":")[0]] += 1
            stopped = not result.ok and result.reason.startswith(case.expected)
            try:
                assert_host_unchanged(host, pool)
                unchanged = ""
            except AssertionError as exc:
                unchanged = f"host changed: {exc}"
            out.check(stopped and not unchanged,
                      f"{case.name}: {'ok' if result.ok else result.reason} (expected {'/'.join(case.expected)})"
                      f" {unchanged}".strip())
        serving = all(pool.render("matplotlib", BAR_CHART).ok for _ in range(3))
        out.check(serving and pool.worker_pids == pids, "the pool stopped serving or lost a worker to a job")
    finally:
        pool.close()
        server.close()
    out.notes.append(f"{len(HOSTILE) - skipped} hostile cases ({skipped} DOT cases skipped: no graphviz), stopped as "
                     + ", ".join(f"{k} {v}" for k, v in reasons.most_common())
                     + "; then 3 bar charts from the same 2 workers")
    return out


# ------------------------------------------------------------------------------------------------- disk full


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True,
                   capture_output=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def can_mount() -> str | None:
    """None if a tmpfs can be mounted here, else why not."""
    if os.geteuid() != 0:
        return "not root"
    probe = Path(tempfile.mkdtemp(prefix="cadsynth-mount-probe-"))
    try:
        with tmpfs(probe, "1m"):
            pass
    except (subprocess.CalledProcessError, OSError) as exc:
        return f"cannot mount a tmpfs: {exc}"
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return None


def scenario_disk_full(args: argparse.Namespace, work: Path, sets: list[str] | None = None,
                       size: str | None = None) -> Outcome:
    out = Outcome("disk_full")
    why = can_mount()
    if why:
        out.notes.append(f"skipped: {why}")
        return out
    sets = [a for s in (args.disk_set if sets is None else sets) for a in ("--set", s)]
    size = size or args.disk_size
    reference = work / "disk-reference"
    mount = work / "disk-tmpfs"
    clean = run_cli(["--name", "full", "--set", f"runs_dir={reference}", *sets])
    if not out.check(clean.returncode == 0, f"the uninterrupted run failed: {tail(clean.stderr)}"):
        return out
    with tmpfs(mount, size):
        full = run_cli(["--name", "full", "--set", f"runs_dir={mount}", *sets])
        output = full.stdout + full.stderr
        message = " ".join(full.stderr.split())
        out.check(full.returncode != 0, f"the run on a {size} tmpfs exited 0 (did it fit? raise the run size)")
        out.check("Traceback" not in output and "╭─" not in output, f"a traceback: {tail(output)}")
        out.check("disk full" in message.lower() and "resume" in message.lower(),
                  f"no message saying the disk is full and that a re-run resumes: {tail(message)}")
        run_dir = mount / "full"
        found = check_store(run_dir, repair=False)
        out.check(found.torn_bytes == 0 and found.temporary_files == 0 and not found.problems,
                  f"store left inconsistent: {found.torn_bytes} bytes after the last commit, "
                  f"{found.temporary_files} temporary files, {'; '.join(found.problems)}")
        committed = found.units
        subprocess.run(["mount", "-o", "remount,size=256m", str(mount)], check=True, capture_output=True)
        resumed = run_cli(["--name", "full", "--set", f"runs_dir={mount}", *sets])
        out.check(resumed.returncode == 0, f"the resume after freeing space failed: {tail(resumed.stderr)}")
        same = records(run_dir) == records(reference / "full")
        out.check(same, "records after the resume differ from the uninterrupted run")
        same_contexts = contexts(run_dir) == contexts(reference / "full")
        out.check(same_contexts, "contexts after the resume differ from the uninterrupted run")
        n = len(records(run_dir))
    out.notes.append(f"{size} tmpfs, config {' '.join(sets[1::2]) or 'embedded default'}: stopped with exit "
                     f"{full.returncode} after {committed} units, message: \"{tail(message, 400)}\"; resumed to "
                     f"{n} records, equal to the uninterrupted run: {same and same_contexts}")
    return out


# ------------------------------------------------------------------------------------------------- main


def snapshot(work: Path) -> str:
    """Copy src/ so that child processes import one version of cadsynth for the whole suite."""
    target = work / "snapshot" / "src"
    shutil.copytree(REPO / "src", target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return str(target)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated: {', '.join(SCENARIOS)}")
    p.add_argument("--workdir", type=Path, help="where runs go (default: a temporary folder, removed after)")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    p.add_argument("--no-snapshot", dest="snapshot", action="store_false", help="children import src/ as it is")
    p.add_argument("--seed", type=int, default=7)
    g = p.add_argument_group("kills")
    g.add_argument("--kills", type=int, default=20)
    g.add_argument("--kill-set", action="append", default=None, help="--set for the killed run (repeatable)")
    g = p.add_argument_group("faults")
    g.add_argument("--fault-seeds", type=int, default=6)
    g.add_argument("--fault-rounds", type=int, default=2)
    g.add_argument("--error-rate", type=float, default=0.30)
    g.add_argument("--timeout-rate", type=float, default=0.05)
    g.add_argument("--endpoint-timeout-s", type=float, default=2.0)
    g.add_argument("--storm-start-s", type=float, default=5.0)
    g.add_argument("--storm-s", type=float, default=60.0, help="duration of the 429 storm")
    g.add_argument("--retry-after-s", type=float, default=2.0)
    g.add_argument("--breaker-failures", type=int, default=4)
    g.add_argument("--breaker-cooldown-s", type=float, default=2.0)
    g.add_argument("--backoff-max-s", type=float, default=8.0)
    g = p.add_argument_group("disk_full")
    g.add_argument("--disk-size", default="8m")
    g.add_argument("--disk-set", action="append", default=None, help="--set for the disk-full run (repeatable)")
    args = p.parse_args(argv)
    args.kill_set = args.kill_set or ["loop.target_kept=120"]
    args.disk_set = args.disk_set or []
    unknown = set(args.only.split(",")) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    global PYTHONPATH
    args = parse(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="cadsynth-reliability-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.snapshot:
        PYTHONPATH = snapshot(work)
        sys.path.insert(0, PYTHONPATH)
    functions = {"kills": scenario_kills, "faults": scenario_faults, "malformed": scenario_malformed,
                 "hostile": scenario_hostile, "disk_full": scenario_disk_full}
    outcomes = []
    try:
        for name in [s for s in SCENARIOS if s in args.only.split(",")]:
            started = time.monotonic()
            try:
                outcome = functions[name](args, work)
            except Exception as exc:  # noqa: BLE001 - a scenario that crashes is a failed scenario
                outcome = Outcome(name)
                outcome.check(False, f"the scenario crashed: {type(exc).__name__}: {exc}")
            outcome.seconds = time.monotonic() - started
            outcomes.append(outcome)
            print(f"{name}: {outcome.passed}/{outcome.trials} passed in {outcome.seconds:.0f}s", file=sys.stderr,
                  flush=True)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()
    print(f"reliability suite on {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(table(outcomes))
    return 1 if any(o.failed for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
