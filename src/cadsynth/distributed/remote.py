"""Actors for the stateful parts, and the driver-side proxies the pipeline uses in their place."""

from __future__ import annotations

import ray
from ray.actor import ActorHandle
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

from cadsynth.distributed.refs import result
from cadsynth.judge.base import JudgeItem, Reply
from cadsynth.sandbox import Limits, Rendered, Sandbox

_CLOSE_TIMEOUT_S = 30
_RESTARTS = 3  # an actor lost with its node comes back this many times
_PLACE_TIMEOUT_S = 300  # a judge actor waits for a free CPU, then loads torch and its weights


@ray.remote(num_cpus=1, max_restarts=_RESTARTS, max_task_retries=_RESTARTS)
class JudgeActor:
    """A ``LocalJudge`` (its tiny VLM loaded once) on a cluster node; one batch at a time. A judge lost with its
    node is restarted elsewhere and asked again (its answers depend only on its weights)."""

    def __init__(self, name: str, weights: str) -> None:
        from cadsynth.judge.local import LocalJudge

        self._judge = LocalJudge(name, weights)

    def fingerprint(self) -> str:
        return self._judge.fingerprint

    def answer(self, items: list[JudgeItem]) -> list[Reply]:
        return self._judge.answer_sync(items)


class RemoteJudge:
    """A local judge running in a ``JudgeActor``: same ``name``, ``fingerprint`` and ``answer``."""

    def __init__(self, name: str, actor: ActorHandle) -> None:
        self.name = name
        self._actor = actor
        try:
            self.fingerprint: str = ray.get(actor.fingerprint.remote(), timeout=_PLACE_TIMEOUT_S)  # weights loaded
        except RayTaskError as error:
            raise error.cause from error
        except GetTimeoutError:
            cpus = ray.cluster_resources().get("CPU", 0)
            raise RuntimeError(f"local judge {name!r} not ready within {_PLACE_TIMEOUT_S}s: each local judge holds "
                               f"one CPU and the renders need more (the cluster has {cpus:g})") from None

    async def answer(self, items: list[JudgeItem]) -> list[Reply]:
        return await result(self._actor.answer.remote(items))


@ray.remote(num_cpus=1, max_restarts=_RESTARTS, max_task_retries=_RESTARTS)
class SandboxActor:
    """A ``Sandbox`` on a cluster node: its warm workers are forked there (they are not counted as Ray CPUs).
    Lost with its node, it is restarted elsewhere and the renders in flight are sent again."""

    def __init__(self, workers: int, limits: Limits) -> None:
        self._sandbox = Sandbox(workers, limits)

    def render(self, language: str, code: str) -> Rendered:
        return self._sandbox.render(language, code)

    def close(self) -> None:
        self._sandbox.close()


class RemoteSandbox:
    """A sandbox running in a ``SandboxActor``: ``render_async`` and ``close``."""

    def __init__(self, actor: ActorHandle) -> None:
        self._actor = actor

    async def render_async(self, language: str, code: str) -> Rendered:
        return await result(self._actor.render.remote(language, code))

    def close(self) -> None:
        """Stop the workers and delete their directories, then end the actor."""
        try:
            ray.get(self._actor.close.remote(), timeout=_CLOSE_TIMEOUT_S)
        except (RayActorError, GetTimeoutError):
            pass  # gone or stuck: killing the actor closes the workers' job pipes, which ends them
        ray.kill(self._actor)
