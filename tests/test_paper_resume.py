"""Kill a paper-mode run with SIGKILL at random moments and resume it: no request that already succeeded is
sent again (counted at the scripted server), and the resumed run ends with every unit committed."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from paper_committee import Committee
from scripted_server import ScriptedServer
from test_paper_mode import KEY, MATHV, paper_config

from cadsynth.store import RunStore

LATENCY = 0.05  # every reply takes this long, so kills land while calls are in flight
GRACE = LATENCY + 1.0  # a reply sent this close before a kill may not have reached the request cache


class SlowCommittee(Committee):
    def __call__(self, path, body):
        reply = super().__call__(path, body)
        return replace(reply, delay=LATENCY) if reply else reply


def _run(config: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cadsynth", "run", "-c", str(config)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


@pytest.mark.slow
def test_sigkill_and_resume_resends_no_succeeded_request(tmp_path):
    if not MATHV.is_dir():
        pytest.skip("../shared/data/mathv is not here")
    env = {**os.environ, "CADSYNTH_TEST_KEY": KEY}
    server = ScriptedServer(responder=SlowCommittee())
    rng = random.Random(7)
    kills: list[float] = []
    with server as url:
        config = tmp_path / "paper.yaml"
        config.write_text(yaml.safe_dump(paper_config(url, tmp_path / "runs")))
        for _ in range(4):
            process = _run(config, env)
            time.sleep(rng.uniform(2.0, 6.0))
            if process.poll() is not None:
                break
            os.killpg(process.pid, signal.SIGKILL)
            kills.append(time.monotonic())
            process.wait()
        final = _run(config, env)
        _, stderr = final.communicate(timeout=300)
        assert final.returncode == 0, stderr.decode()[-2000:]
        requests = list(server.requests)
    assert len(kills) >= 2, "the run ended before it could be killed twice; make it longer"
    sent: dict[str, list[float]] = defaultdict(list)
    for r in requests:
        if r.status == 200:
            sent[hashlib.sha256(r.path.encode() + r.body).hexdigest()].append(r.time)
    resent = {k: times for k, times in sent.items() if len(times) > 1}
    unexplained = [k for k, times in resent.items()
                   if not any(kill - GRACE <= times[0] <= kill for kill in kills)]
    assert not unexplained, f"{len(unexplained)} succeeded requests were sent again after a resume"
    store = RunStore.open(tmp_path / "runs" / "paper")
    units = {unit for _, unit, _ in store.units()}
    assert len(units) == 3 * 2  # seeds x rounds
    assert (store.read_json("state.json") or {}).get("finished")
