"""The Ray executor on a real local Ray runtime: the records of a local run, resume after a driver crash, HTTP
through the actors, and the sandbox in an actor."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scripted_server import ScriptedServer, chat_completion, rate_limited

from cadsynth.config import EndpointPolicy, ExecutorConfig, ModelEndpoint, parse_config
from cadsynth.executor import Executor, Retryable
from cadsynth.llm import ModelClient, user
from cadsynth.pipeline import Pipeline
from cadsynth.sandbox import Limits
from cadsynth.sandbox.hostile import HOSTILE
from cadsynth.store import RunStore

ray = pytest.importorskip("ray")
from cadsynth.distributed.ray import RayExecutor  # noqa: E402 (needs ray)

CPUS = 4  # logical CPUs: the three judge actors hold one each, the renders share the rest (2 real cores do)
SMALL = {"seeds": {"families": ["bars", "grid", "shapes"], "per_family": 1},  # 3 seeds x 2 rounds
         "loop": {"max_rounds": 2, "target_kept": None}}
MODEL = "scripted-model"
KEY_ENV = "CADSYNTH_TEST_API_KEY"
CHAT = "/v1/chat/completions"
POLICY = EndpointPolicy(timeout_s=5, max_retries=2, backoff_base_s=0.01, backoff_max_s=0.02)


@pytest.fixture(scope="module")
def cluster() -> str:
    """One local Ray runtime for the module; its address, for drivers in other processes."""
    ray.init(num_cpus=CPUS, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def outcome(run_dir: Path) -> tuple[list[str], dict[str, list]]:
    """The committed records, in order, and every context version."""
    store = RunStore(run_dir)
    return [s.to_json() for s in store.samples()], {k: store.contexts(k) for k in store.context_keys()}


def run(runs: Path, name: str, kind: str) -> float:
    """The small run with ``kind``'s executor into runs/name (resuming it if there); its wall time."""
    config = parse_config({**SMALL, "name": name, "runs_dir": str(runs), "executor": {"kind": kind}})
    started = time.monotonic()
    asyncio.run(Pipeline(config, RunStore.open(config.run_dir)).run())
    return time.monotonic() - started


@pytest.fixture(scope="module")
def reference(cluster: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float]]:
    """The small run done once per executor kind, into runs/local and runs/ray; and their wall times."""
    runs = tmp_path_factory.mktemp("runs")
    return runs, {kind: run(runs, kind, kind) for kind in ("local", "ray")}


def test_ray_run_commits_the_records_of_a_local_run(reference):
    runs, seconds = reference
    local, remote = outcome(runs / "local"), outcome(runs / "ray")
    print(f"wall time: local {seconds['local']:.1f}s, ray {seconds['ray']:.1f}s")
    assert local[0]
    assert remote == local


@pytest.mark.slow
def test_resume_after_a_driver_crash_matches_the_uninterrupted_run(reference, cluster, tmp_path):
    """SIGKILL `cadsynth run --executor ray` once a unit is committed; the cluster lives on, and a new driver
    (this process) resumes the run."""
    runs, _ = reference
    config = tmp_path / "small.yaml"
    config.write_text(json.dumps({**SMALL, "runs_dir": str(runs), "executor": {"units_in_flight": 1}}))
    command = [sys.executable, "-m", "cadsynth", "run", "-c", str(config), "--name", "crashed",
               "--executor", "ray", "--address", cluster]
    records = runs / "crashed" / "records"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while not any(shard.stat().st_size for shard in records.glob("round-*.jsonl")):
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before its first commit"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    state = RunStore(runs / "crashed").read_json("state.json")
    assert not (state and state.get("finished"))
    run(runs, "crashed", "ray")
    assert outcome(runs / "crashed") == outcome(runs / "ray")


def _chat(executor: Executor, url: str) -> tuple[object, object]:
    """One chat call through ``executor``: (the completion or the raised error, the endpoint's pool stats)."""
    endpoint = ModelEndpoint(model=MODEL, base_url=f"{url}/v1", api_key_env=KEY_ENV)

    async def main():
        async with ModelClient(endpoint, executor) as client:
            return await client.chat([user("What is 6 x 7?")])

    try:
        reply = asyncio.run(main())
    except Retryable as error:
        reply = error
    return reply, executor.pool(MODEL).stats


@pytest.fixture
def executors(cluster, monkeypatch):
    """(local, ray) executors with a fast policy for the scripted endpoint; a key in the environment."""
    monkeypatch.setenv(KEY_ENV, "sk-test-key")
    config = ExecutorConfig(endpoints={MODEL: POLICY}, http_actors=2)
    local, remote = Executor(config), RayExecutor(config.model_copy(update={"kind": "ray"}))
    yield local, remote
    local.close()
    remote.close()


def test_http_through_the_actors_gets_the_local_reply(executors):
    local, remote = executors
    server = ScriptedServer(default=chat_completion("42"))
    with server as url:
        (here, _), (there, _) = _chat(local, url), _chat(remote, url)
    assert there == here and there.text == "42"
    assert [r.headers.get("Authorization") for r in server.requests] == ["Bearer sk-test-key"] * 2
    assert server.requests[0].json() == server.requests[1].json()


def test_429_through_the_actors_is_retried_by_the_driver_pool(executors):
    _, remote = executors
    server = ScriptedServer({CHAT: [rate_limited(), chat_completion("ok")]})
    with server as url:
        reply, stats = _chat(remote, url)
    assert reply.text == "ok" and stats.rate_limited == 1 and stats.retries == 1 and server.count(CHAT) == 2


def test_connection_errors_through_the_actors_read_as_local_ones(executors):
    local, remote = executors
    with ScriptedServer() as url:
        pass  # the port is closed now
    (here, _), (there, stats) = _chat(local, url), _chat(remote, url)
    assert isinstance(there, Retryable) and there.reason == here.reason and "ConnectError" in there.reason
    assert stats.attempts == 1 + POLICY.max_retries


BAR_CHART = """
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.bar(["apples", "pears", "plums"], [3, 5, 2])
"""


def test_sandbox_actor_renders_and_stops_hostile_code(cluster):
    executor = RayExecutor(ExecutorConfig(kind="ray"))
    sandbox = executor.sandbox(2, Limits(cpu_s=1, wall_s=3))
    hostile = [case for case in HOSTILE if case.name in ("read_proc_environ", "fork_bomb", "infinite_loop", "segfault")]

    async def main():
        jobs = [("matplotlib", BAR_CHART)] + [(case.language, case.code) for case in hostile]
        return await asyncio.gather(*(sandbox.render_async(language, code) for language, code in jobs))

    try:
        chart, *stopped = asyncio.run(main())
        again = asyncio.run(sandbox.render_async("matplotlib", BAR_CHART))  # the pool survived the crash
    finally:
        sandbox.close()
        executor.close()
    assert chart.ok and chart.png.startswith(b"\x89PNG") and again.ok
    for case, rendered in zip(hostile, stopped, strict=True):
        assert not rendered.ok and rendered.reason.startswith(case.expected), (case.name, rendered)
