"""What every throughput runner shares: its arguments, the prompts, the measurement and the JSON it prints.

A runner is a script run as ``python RUNNER --url URL --concurrency C --requests N`` in the interpreter of the
library it measures; it sends N chat requests at concurrency C and prints one JSON object (see ``report``).
Only the standard library is used here, so every runner's environment can import it.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from dataclasses import dataclass

MODEL = "latency-bench"
MAX_TOKENS = 16


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", required=True, help="the latency server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--requests", type=int, required=True)
    return parser.parse_args()


def prompts(n: int) -> list[str]:
    """N distinct prompts (no library may answer one from another's cache)."""
    return [f"Request {i}: what is {i} + {i}?" for i in range(n)]


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Measurement:
    """Wall and CPU seconds (this process and its children) spent inside the ``with`` block."""

    wall_s: float = 0.0
    cpu_s: float = 0.0

    def __enter__(self) -> Measurement:
        self._wall, self._cpu = time.perf_counter(), _cpu_seconds()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.wall_s = time.perf_counter() - self._wall
        self.cpu_s = _cpu_seconds() - self._cpu


def report(library: str, version: str, args: argparse.Namespace, measured: Measurement, ok: int, how: str) -> None:
    """Print the runner's result: one JSON object on one line."""
    peak_kib = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(json.dumps({
        "library": library,
        "version": version,
        "how": how,
        "concurrency": args.concurrency,
        "requests": args.requests,
        "ok": ok,
        "wall_s": measured.wall_s,
        "cpu_s": measured.cpu_s,
        "peak_rss_mib": peak_kib / 1024,
    }), flush=True)
