"""What a sandboxed render may use, and what came back from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Language = Literal["matplotlib", "svg", "dot"]
LANGUAGES: tuple[Language, ...] = ("matplotlib", "svg", "dot")


@dataclass(frozen=True)
class Limits:
    """Per-job ceilings. Each one is enforced by the kernel (rlimits) or by the worker, not by the job itself."""

    cpu_s: int = 10  # RLIMIT_CPU: SIGXCPU at cpu_s, SIGKILL one second later
    wall_s: float = 20  # the worker kills the job's process group after this
    memory_mb: int = 1024  # RLIMIT_AS: the whole address space, matplotlib included (~200 MB)
    output_mb: int = 16  # RLIMIT_FSIZE on every file written, and the largest PNG accepted
    max_pixels: int = 4096 * 4096  # a larger PNG is refused before it is decoded

    def __post_init__(self) -> None:
        for name in ("cpu_s", "wall_s", "memory_mb", "output_mb", "max_pixels"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive")


@dataclass(frozen=True)
class Rendered:
    """A validated RGB PNG, or the machine-readable ``reason`` it is missing and a ``message`` for humans.

    Reasons: timeout, cpu_time, memory, output_too_large, forbidden:<what>, syntax_error, runtime_error:<Type>,
    no_image, bad_image, crashed, unavailable:<tool>.
    """

    png: bytes | None
    reason: str | None
    message: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.png is not None
