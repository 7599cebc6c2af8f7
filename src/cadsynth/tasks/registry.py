"""The built-in task families by name."""

from cadsynth.tasks.bars import Bars
from cadsynth.tasks.base import Family
from cadsynth.tasks.circuits import Circuits
from cadsynth.tasks.conics import Conics
from cadsynth.tasks.contour import Contour
from cadsynth.tasks.foodweb import FoodWeb
from cadsynth.tasks.functions import Functions
from cadsynth.tasks.geometry import Geometry
from cadsynth.tasks.grid import Grid
from cadsynth.tasks.groupedbars import GroupedBars
from cadsynth.tasks.mechanics import Mechanics
from cadsynth.tasks.molecules import Molecules
from cadsynth.tasks.pie import Pie
from cadsynth.tasks.scatter import Scatter
from cadsynth.tasks.shapes import Shapes
from cadsynth.tasks.table import Table

FAMILIES: dict[str, Family] = {f.name: f for f in (Bars(), Grid(), Shapes(), FoodWeb(), Molecules(),
                                                    GroupedBars(), Pie(), Scatter(), Table(),
                                                    Circuits(), Mechanics(), Contour(),
                                                    Geometry(), Conics(), Functions())}


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown task family '{name}'; known: {', '.join(FAMILIES)}") from None
