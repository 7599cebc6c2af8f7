"""The built-in task families by name."""

from cadsynth.tasks.bars import Bars
from cadsynth.tasks.base import Family
from cadsynth.tasks.grid import Grid
from cadsynth.tasks.shapes import Shapes

FAMILIES: dict[str, Family] = {f.name: f for f in (Bars(), Grid(), Shapes())}


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown task family '{name}'; known: {', '.join(FAMILIES)}") from None
