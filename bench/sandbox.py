"""Throughput of the code-rendering sandbox: the warm zygote pool against one fresh interpreter per image.

    python bench/sandbox.py [--images 30]

Renders ``--images`` small matplotlib charts (bar, line, scatter, pie in turn) through ``cadsynth.sandbox.Sandbox``
with 1 and 2 workers, each kept busy by one thread, and through one fresh ``python -I -c`` process per image
that applies the same isolation (``cadsynth.sandbox.child.run``: netns, setuid, rlimits, Landlock, audit hook)
with the same limits; then SVG and DOT through the pool. Every image must come back valid. Prints a markdown
table: images per second and the median latency of one image. Pool start-up (the imports the pool pays once)
is timed separately and left out of the throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

from cadsynth.sandbox import Limits, Sandbox
from cadsynth.sandbox.isolation import NOBODY
from cadsynth.sandbox.png import normalise

LIMITS = Limits()
CHARTS = (
    "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.bar(['a', 'b', 'c', 'd'], [{i}, 3, 5, 2])\n"
    "ax.set_title('Sales {i}')",
    "import matplotlib.pyplot as plt\nimport numpy as np\nx = np.linspace(0, 10, 50)\n"
    "plt.plot(x, np.sin(x + {i}), label='sin')\nplt.legend()\nplt.xlabel('t')",
    "import matplotlib.pyplot as plt\nimport random\nrandom.seed({i})\n"
    "plt.scatter([random.random() for _ in range(40)], [random.random() for _ in range(40)])",
    "import matplotlib.pyplot as plt\nplt.pie([{i} + 1, 2, 3], labels=['x', 'y', 'z'])\nplt.title('Share')",
)
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="448" height="448"><rect x="40" y="40" width="{w}" '
       'height="120" fill="steelblue"/><circle cx="300" cy="300" r="80" fill="orange"/>'
       '<text x="40" y="420" font-size="32">Figure {i}</text></svg>')
DOT = "digraph {{ rankdir=LR; a{i} -> b -> c; a{i} -> c; c -> d [label=\"{i}\"] }}"

# One fresh interpreter per image: the imports, then exactly what a forked child does.
COLD = """
import json, os, shutil, sys
import matplotlib
matplotlib.use("Agg")
from cadsynth.sandbox import child
from cadsynth.sandbox.isolation import readable_roots
from cadsynth.sandbox.limits import Limits
language, code, workdir, limits, fd = sys.argv[1:]
child.run(language, code, workdir, readable_roots(), Limits(**json.loads(limits)), int(fd), parent=os.getppid(),
          audit_hook=True, dot=shutil.which("dot"), fonts=os.path.join(matplotlib.get_data_path(), "fonts", "ttf"))
"""


def cold_render(language: str, code: str, base: str) -> bool:
    """Render in a fresh ``python -I -c`` process; True when it produced a valid PNG."""
    workdir = tempfile.mkdtemp(dir=base)
    if os.geteuid() == 0:
        os.chown(workdir, NOBODY, NOBODY)
    status_read, status_write = os.pipe()
    try:
        argv = [sys.executable, "-I", "-B", "-c", COLD, language, code, workdir, json.dumps(asdict(LIMITS)),
                str(status_write)]
        subprocess.run(argv, pass_fds=(status_write,), timeout=LIMITS.wall_s, check=False)
        os.close(status_write)
        status = json.loads(os.read(status_read, 65536) or b"{}")
        with open(os.path.join(workdir, "out.png"), "rb") as file:
            return status.get("reason") is None and bool(normalise(file.read(), LIMITS.max_pixels))
    finally:
        os.close(status_read)
        shutil.rmtree(workdir, ignore_errors=True)


def measure(render: Callable[[str, str], bool], language: str, codes: list[str], threads: int) -> dict:
    latencies: list[float] = []

    def one(code: str) -> bool:
        started = time.perf_counter()
        ok = render(language, code)
        latencies.append(time.perf_counter() - started)
        return ok

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, codes))
    seconds = time.perf_counter() - started
    if not all(results):
        raise SystemExit(f"{results.count(False)} of {len(codes)} {language} images failed")
    return {"seconds": seconds, "rate": len(codes) / seconds, "median_ms": 1000 * statistics.median(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=30)
    args = parser.parse_args()
    n = args.images
    charts = [CHARTS[i % len(CHARTS)].format(i=i) for i in range(n)]
    inputs = {"matplotlib": charts, "svg": [SVG.format(i=i, w=100 + i) for i in range(n)],
              "dot": [DOT.format(i=i) for i in range(n)]}
    rows = []
    for workers in (1, 2):
        started = time.perf_counter()
        with Sandbox(workers, LIMITS) as sandbox:
            startup = time.perf_counter() - started
            layers = ", ".join(sandbox.layers)
            for language, codes in inputs.items():
                result = measure(lambda lang, code: sandbox.render(lang, code).ok, language, codes, workers)
                rows.append((language, f"warm pool (start-up {startup:.1f} s)", workers, result))
    base = tempfile.mkdtemp(prefix="cadsynth-bench-")
    os.chmod(base, 0o711)
    try:
        for workers in (1, 2):
            result = measure(lambda lang, code: cold_render(lang, code, base), "matplotlib", charts, workers)
            rows.append(("matplotlib", "fresh `python -c` per image", workers, result))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"{n} images each; limits {asdict(LIMITS)}; layers: {layers}; load average {os.getloadavg()[0]:.1f}\n")
    print("| input | mode | workers | images/s | median latency (ms) | total (s) |")
    print("|---|---|---|---|---|---|")
    for language, mode, workers, result in rows:
        print(f"| {language} | {mode} | {workers} | {result['rate']:.1f} | {result['median_ms']:.0f} "
              f"| {result['seconds']:.2f} |")


if __name__ == "__main__":
    main()
