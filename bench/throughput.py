"""Throughput of cadsynth's executor against a local latency server, and of two peers on the same server.

    bash bench/peers_env.sh          # once: the peers' own virtual environments (bench/.peers-venv/)
    python bench/throughput.py [--concurrency 16 64 256] [--latency 0.25] [--per-slot 16] [--only cadsynth]

For each concurrency C, every library sends N = per_slot x C distinct chat requests to one latency server
(``bench/latency_server.py``, a child process, fixed latency) while allowing C in flight; the limit is
C / latency requests per second. Each library runs in its own child process (``bench/peers/*_run.py``), so CPU
time and peak memory are its own: cadsynth with this interpreter, bespokelabs-curator and distilabel with their
environments' interpreters. Runs are interleaved (all libraries at C, then the next C) so a change in the
machine's load hits them alike; the load average is printed next to each run. A peer whose environment is
missing is skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from latency_server import Latency, LatencyServerProcess, ServerConfig, Stats

HERE = Path(__file__).resolve().parent
PEERS_VENV = HERE / ".peers-venv"
RUNNERS = {  # library -> (interpreter, runner script)
    "cadsynth": (Path(sys.executable), HERE / "peers" / "cadsynth_run.py"),
    "curator": (PEERS_VENV / "curator" / "bin" / "python", HERE / "peers" / "curator_run.py"),
    "distilabel": (PEERS_VENV / "distilabel" / "bin" / "python", HERE / "peers" / "distilabel_run.py"),
}
GOAL_SHARE_OF_LIMIT = 0.9
GOAL_CONCURRENCY = 64


@dataclass
class Run:
    """One library at one concurrency: the runner's report and what the server saw."""

    library: str
    concurrency: int
    requests: int
    result: dict
    served: Stats
    load: float  # 1-minute load average when the run ended

    @property
    def rate(self) -> float:
        return self.result["ok"] / self.result["wall_s"]


def run_one(library: str, url: str, concurrency: int, requests: int, timeout_s: float) -> dict:
    python, script = RUNNERS[library]
    command = [str(python), str(script), "--url", url, "--concurrency", str(concurrency), "--requests", str(requests)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, cwd=HERE)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{library} runner failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def print_runs(runs: list[Run], latency_s: float) -> None:
    header = (f"{'library':<20} {'C':>4} {'N':>5} {'wall s':>7} {'req/s':>7} {'limit':>6} {'ratio':>6} "
              f"{'CPU ms/req':>10} {'peak RSS MiB':>12} {'server peak C':>13} {'load':>5}")
    print(header)
    print("-" * len(header))
    for run in runs:
        limit = run.concurrency / latency_s
        cpu_ms = 1000 * run.result["cpu_s"] / run.requests
        name = f"{run.library} {run.result['version']}"
        print(f"{name:<20} {run.concurrency:>4} {run.requests:>5} {run.result['wall_s']:>7.2f} {run.rate:>7.1f} "
              f"{limit:>6.0f} {run.rate / limit:>6.2f} {cpu_ms:>10.2f} {run.result['peak_rss_mib']:>12.0f} "
              f"{run.served.peak_in_flight:>13} {run.load:>5.2f}")


def print_ratios(runs: list[Run], peers: list[str]) -> None:
    by_key = {(run.library, run.concurrency): run for run in runs}
    concurrencies = sorted({run.concurrency for run in runs})
    print("\ncadsynth / peer: throughput ratio (>= 1: cadsynth is not slower), CPU-per-request ratio (< 1: cheaper)")
    header = f"{'C':>4} " + " ".join(f"{'req/s vs ' + peer:>22} {'CPU vs ' + peer:>20}" for peer in peers)
    print(header)
    print("-" * len(header))
    for concurrency in concurrencies:
        ours = by_key[("cadsynth", concurrency)]
        cells = []
        for peer in peers:
            theirs = by_key[(peer, concurrency)]
            cpu_ratio = (ours.result["cpu_s"] / ours.requests) / (theirs.result["cpu_s"] / theirs.requests)
            cells.append(f"{ours.rate / theirs.rate:>22.2f} {cpu_ratio:>20.2f}")
        print(f"{concurrency:>4} " + " ".join(cells))


def print_goal(runs: list[Run], peers: list[str], latency_s: float) -> None:
    by_key = {(run.library, run.concurrency): run for run in runs}
    ours = {run.concurrency: run for run in runs if run.library == "cadsynth"}
    if GOAL_CONCURRENCY in ours:
        share = ours[GOAL_CONCURRENCY].rate / (GOAL_CONCURRENCY / latency_s)
        verdict = "met" if share >= GOAL_SHARE_OF_LIMIT else "MISSED"
        print(f"\ngoal: cadsynth at C={GOAL_CONCURRENCY} reaches {share:.0%} of the limit "
              f"(target {GOAL_SHARE_OF_LIMIT:.0%}): {verdict}")
    for peer in peers:
        slower = [str(c) for c, run in sorted(ours.items()) if run.rate < by_key[(peer, c)].rate]
        verdict = "met" if not slower else f"MISSED at C={', '.join(slower)}"
        print(f"goal: cadsynth not slower than {peer}: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--latency", type=float, default=0.25, help="seconds, fixed")
    parser.add_argument("--per-slot", type=int, default=16, help="N = per_slot x concurrency requests")
    parser.add_argument("--only", nargs="+", choices=list(RUNNERS), default=list(RUNNERS))
    args = parser.parse_args()

    libraries = [name for name in args.only if RUNNERS[name][0].exists()]
    for name in sorted(set(args.only) - set(libraries)):
        print(f"note: {name} skipped, {RUNNERS[name][0]} is missing (run bash bench/peers_env.sh)")
    peers = [name for name in libraries if name != "cadsynth"]
    runs: list[Run] = []
    how: dict[str, str] = {}
    with LatencyServerProcess(ServerConfig(latency=Latency("fixed", args.latency))) as server:
        for concurrency in args.concurrency:
            requests = args.per_slot * concurrency
            ideal_s = requests / concurrency * args.latency
            for library in libraries:
                server.reset()
                result = run_one(library, server.url, concurrency, requests, timeout_s=max(300.0, 60 * ideal_s))
                runs.append(Run(library, concurrency, requests, result, server.stats(), os.getloadavg()[0]))
                how[library] = result["how"]
                print(f"  {library} C={concurrency}: {runs[-1].rate:.1f} req/s, load {runs[-1].load:.2f}",
                      file=sys.stderr, flush=True)

    print(f"latency {args.latency * 1000:.0f} ms fixed; N = {args.per_slot} x C; {os.cpu_count()} cores; "
          f"CPU ms/req = the runner process's CPU time (user + system) during the requests / N")
    for library, description in how.items():
        print(f"  {library}: {description}")
    print()
    print_runs(runs, args.latency)
    if "cadsynth" in libraries and peers:
        print_ratios(runs, peers)
    if "cadsynth" in libraries:
        print_goal(runs, peers, args.latency)


if __name__ == "__main__":
    main()
