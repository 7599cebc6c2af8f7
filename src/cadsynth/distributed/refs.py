"""Awaiting Ray object refs in asyncio as if the work had run here."""

from __future__ import annotations

import asyncio
from typing import Any

import ray
from ray.exceptions import RayTaskError


async def result(ref: ray.ObjectRef) -> Any:
    """The value of ``ref``; a remote exception is raised as itself (same type and message as a local call), and
    a cancelled wait cancels the remote work."""
    try:
        return await ref
    except RayTaskError as error:
        raise error.cause from error
    except asyncio.CancelledError:
        ray.cancel(ref)
        raise
