"""Verifiable task families: programs that draw a scene, ask about it, and compute the answer."""

from cadsynth.tasks.base import DIFFICULTIES, Family, Instance, Kind
from cadsynth.tasks.registry import FAMILIES, family
from cadsynth.tasks.strategies import apply_strategy, build, sample

__all__ = ["DIFFICULTIES", "FAMILIES", "Family", "Instance", "Kind", "apply_strategy", "build", "family", "sample"]
