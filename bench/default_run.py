"""Benchmark the embedded default run: wall time, peak memory, kept samples per minute, judge calls per kept.

    python bench/default_run.py [--runs-dir /tmp/cadsynth-bench] [extra `cadsynth run` arguments]

Runs `cadsynth run --fresh` in a child process and prints a table.
"""

from __future__ import annotations

import argparse
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from cadsynth.status import run_status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", default="/tmp/cadsynth-bench")
    args, extra = parser.parse_known_args()
    command = [sys.executable, "-m", "cadsynth", "run", "--fresh", "--name", "bench", "--set",
               f"runs_dir={args.runs_dir}", *extra]
    started = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - started
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    status = run_status(Path(args.runs_dir) / "bench")
    total = status.total
    rows = [
        ("machine", f"{platform.machine()}, {platform.python_version()}, {_cores()} cores"),
        ("wall time (s)", f"{wall:.1f}"),
        ("peak memory of the largest process (MiB)", f"{peak_mib:.0f}"),
        ("rounds", str(len(status.rounds))),
        ("generated", str(total.generated)),
        ("kept (C >= 1)", str(total.kept)),
        ("adversarial", str(total.adversarial)),
        ("kept per minute", f"{total.kept / wall * 60:.0f}"),
        ("judge calls per kept sample", f"{status.judge_calls_per_kept:.2f}"),
        ("adversarial share, first -> last complete round",
         " -> ".join(f"{r.adversarial_share:.1%} (round {r.round})" for r in status.share_trend or ())),
        ("consensus C of K=3 histogram", ", ".join(
            f"C={c}: {total.consensus[(c, 3)]}" for c in range(4))),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"| {'metric':<{width}} | value |\n|{'-' * (width + 2)}|-------|")
    for key, value in rows:
        print(f"| {key:<{width}} | {value} |")


def _cores() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    main()
