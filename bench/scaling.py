"""How cadsynth scales with run size: the embedded default at growing targets, and status/export/report times.

    python bench/scaling.py [--targets 200 2000] [--sizes 200 2000 20000] [--work /tmp/cadsynth-scaling]

Part 1 runs `cadsynth run` (the embedded default, more seeds for larger targets: `seeds.per_family` =
target / 25, at least 8 as in the default) and reports wall time, the peak resident memory of the largest process (the driver;
rendering workers are separate processes of about 120 MiB each), samples generated and kept. Part 2 writes
synthetic runs (`cadsynth.report.synthetic.make_run`, the store API) of each size and times `cadsynth status`,
`cadsynth export` (easyr1 parquet) and `cadsynth report`, each in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cadsynth.report.synthetic import make_run


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB of the largest process) of a command run to completion."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return time.perf_counter() - started, max(peak, before) / 1024


def counts(run_dir: Path) -> tuple[int, int]:
    generated = kept = 0
    for shard in (run_dir / "records").glob("*.jsonl"):
        for line in shard.read_text().splitlines():
            if '"partition"' in line:
                generated += 1
                kept += json.loads(line)["partition"] in ("kept", "adversarial")
    return generated, kept


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cadsynth", *args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, nargs="*", default=[200, 2000])
    parser.add_argument("--sizes", type=int, nargs="*", default=[200, 2000, 20000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/cadsynth-scaling"))
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}")
    print("\n| target kept | seeds | generated | kept (C ≥ 1) | wall s | peak RSS MiB (driver) |")
    print("|---|---|---|---|---|---|")
    for target in args.targets:
        per_family = max(8, target // 25)
        name = f"default-{target}"
        wall, rss = timed(cli("run", "--name", name, "--set", f"runs_dir={args.work}",
                              "--set", f"loop.target_kept={target}", "--set", f"seeds.per_family={per_family}"))
        generated, kept = counts(args.work / name)
        seeds = len((args.work / name / "seeds.jsonl").read_text().splitlines())
        print(f"| {target} | {seeds} | {generated} | {kept} | {wall:.0f} | {rss:.0f} |", flush=True)
    print("\n| samples in run | status s | export s | report s | report size MiB |")
    print("|---|---|---|---|---|")
    for size in args.sizes:
        run = args.work / f"synthetic-{size}"
        make_run(run, samples=size, rounds=5, seeds=max(12, size // 50), images=200)
        status, _ = timed(cli("status", str(run)))
        export, _ = timed(cli("export", str(run), "--out", str(args.work / f"export-{size}")))
        report, _ = timed(cli("report", str(run)))
        size_mib = sum(p.stat().st_size for p in (run / "report").rglob("*") if p.is_file()) / 2**20
        print(f"| {size} | {status:.1f} | {export:.1f} | {report:.1f} | {size_mib:.1f} |", flush=True)


if __name__ == "__main__":
    main()
