"""``RayExecutor``: the executor of ``executor.kind: ray``; the same pools and policy as ``Executor``, with the
work placed on a Ray cluster (or a local Ray runtime when no address is given)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from cadsynth.config import ConfigError, EndpointPolicy, ExecutorConfig

try:
    import ray
except ImportError as missing:
    raise ConfigError("executor.kind: ray needs Ray: pip install 'cadsynth[ray]'") from missing

from cadsynth.distributed.http_actors import ActorHttp, HttpActor
from cadsynth.distributed.refs import result
from cadsynth.distributed.remote import JudgeActor, RemoteJudge, RemoteSandbox, SandboxActor
from cadsynth.executor import EventSink, Executor, HttpClient

T = TypeVar("T")


@ray.remote(num_cpus=1)
def _call(fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)


class RayExecutor(Executor):
    """Renders and OCR as Ray tasks, local judges and the sandbox as actors, HTTP through a few async actors.

    The endpoint pools (limits, retries, breaker), the run policy and the run store stay in the driver.
    """

    def __init__(self, config: ExecutorConfig | None = None, *, on_event: EventSink | None = None) -> None:
        super().__init__(config, on_event=on_event)
        self._owns_runtime = not ray.is_initialized()
        if self._owns_runtime:
            local = self.config.ray_address is None
            ray.init(address=self.config.ray_address, num_cpus=self.config.cpu_workers if local else None,
                     include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
        self._actors: list[Any] = []
        self._senders: itertools.cycle | None = None

    async def run_cpu(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Run a picklable function as a Ray task on any node (one CPU)."""
        return await result(_call.remote(fn, *args))

    def local_judge(self, name: str, weights: str) -> RemoteJudge:
        """The judge in an actor (one CPU); returns once its weights are loaded."""
        actor = JudgeActor.remote(name, weights)
        self._actors.append(actor)
        return RemoteJudge(name, actor)

    def sandbox(self, workers: int, limits: Any) -> RemoteSandbox:
        """The sandbox in an actor, taking ``workers`` renders at once on its node."""
        actor = SandboxActor.options(max_concurrency=workers).remote(workers, limits)
        self._actors.append(actor)
        return RemoteSandbox(actor)

    def http_client(self, policy: EndpointPolicy) -> HttpClient:
        """Requests go round-robin to ``executor.http_actors`` async actors, started on first use."""
        if self._senders is None:
            senders = [HttpActor.remote() for _ in range(self.config.http_actors)]
            self._actors += senders
            self._senders = itertools.cycle(senders)
        return ActorHttp(self._senders, policy.timeout_s)

    def close(self) -> None:
        """Shut the local pools down, kill the actors, and stop the Ray runtime if this executor started it."""
        super().close()
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
        self._senders = None
        if self._owns_runtime:
            ray.shutdown()
