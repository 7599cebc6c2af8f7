"""Benchmark the HTML report of a large run: build time, size, and how fast it opens in headless Chromium.

    python bench/report_open.py [--samples 20000] [--work /tmp/cadsynth-report-bench] [--loads 3]

Writes a synthetic run (the store API, a few hundred distinct images) of --samples samples, builds its report,
then opens ``report/index.html`` from file:// in Debian's headless Chromium --loads times (a fresh browser
each time, so nothing is cached) and measures the time to first paint of the sample list: from navigation start
to the moment the page's JS has rendered the first page of samples (``window.CADS_FIRST_RENDER``, a
``performance.now()`` value, whose origin is navigation start), followed by the next animation frame.
Prints a table; the open time reported is the median over loads, with the worst.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

from cadsynth.report.browser import Browser, find_chromium
from cadsynth.report.build import build_report
from cadsynth.report.synthetic import make_run

FIRST_PAINT = ("new Promise(r => requestAnimationFrame(() => setTimeout(() => "
               "r(window.CADS_FIRST_RENDER ? performance.now() : null), 0)))")


def open_once(index: Path) -> tuple[float, float, float, int]:
    """(first render ms, first paint ms, wall s from navigate to marker, rows shown) for one cold load."""
    with Browser(width=1400, height=1000, timeout=60) as browser:
        started = time.perf_counter()
        browser.goto(index.resolve().as_uri() + "#samples", wait=False)
        browser.wait_for("!!document.body && document.body.dataset.ready === '1'", timeout=60, interval=0.01)
        wall = time.perf_counter() - started
        painted = browser.eval(FIRST_PAINT)
        render = browser.eval("window.CADS_FIRST_RENDER")
        rows = browser.eval("document.querySelectorAll('#sample-list li.sample').length")
        errors = browser.console_errors()
        if errors:
            raise SystemExit(f"console errors while opening the report: {errors}")
    return render, painted, wall, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--work", type=Path, default=Path("/tmp/cadsynth-report-bench"))
    parser.add_argument("--loads", type=int, default=3)
    args = parser.parse_args()
    if not find_chromium():
        sys.exit("chromium not found: apt-get install -y chromium (or set $CHROMIUM)")

    run = args.work / "run"
    shutil.rmtree(args.work, ignore_errors=True)
    started = time.perf_counter()
    make_run(run, samples=args.samples, rounds=10, seeds=200, images=args.images)
    made = time.perf_counter() - started
    result = build_report(run)
    data_mb = sum(p.stat().st_size for p in (result.out / "data").iterdir()) / 1e6
    loads = [open_once(result.index_html) for _ in range(args.loads)]
    renders = [r[0] / 1000 for r in loads]
    paints = [r[1] / 1000 for r in loads]
    walls = [r[2] for r in loads]
    rows = [
        ("machine", f"{platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores"),
        ("samples", f"{result.samples:,}"),
        ("synthetic run written (s)", f"{made:.1f}"),
        ("report build (s)", f"{result.seconds:.1f}"),
        ("report size, without images (MB)", f"{result.bytes / 1e6:.1f}"),
        ("  of which data/ (MB)", f"{data_mb:.1f}"),
        ("  of which data/index.js, loaded at open (MB)", f"{(result.out / 'data' / 'index.js').stat().st_size / 1e6:.1f}"),
        ("open: navigation start -> first page of samples rendered (s), median / worst",
         f"{statistics.median(renders):.2f} / {max(renders):.2f}"),
        ("open: navigation start -> first paint after it (s), median / worst",
         f"{statistics.median(paints):.2f} / {max(paints):.2f}"),
        ("open: wall time from Page.navigate to the marker, as the driver saw it (s), median",
         f"{statistics.median(walls):.2f}"),
        ("sample rows on the first page", str(loads[0][3])),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"| {'what'.ljust(width)} | value |")
    print(f"| {'-' * width} | ----- |")
    for key, value in rows:
        print(f"| {key.ljust(width)} | {value} |")
    worst = max(paints)
    print(f"\n{'PASS' if worst < 3 else 'FAIL'}: the report of {result.samples:,} samples opens in {worst:.2f} s "
          f"(worst of {len(loads)}; limit 3 s)")


if __name__ == "__main__":
    main()
