"""Matplotlib figures for task families: a fixed canvas, drawn off-screen, returned as a PIL image."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

SIZE_PX = 448
DPI = 100
FONT_SIZE = 11  # readable at 448 px


def canvas(rect: tuple[float, float, float, float] = (0.12, 0.12, 0.84, 0.8)) -> tuple[Figure, Axes]:
    """A white square figure of SIZE_PX pixels with one axes at `rect` (figure fractions)."""
    fig = Figure(figsize=(SIZE_PX / DPI, SIZE_PX / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes(rect)
    ax.tick_params(labelsize=FONT_SIZE)
    return fig, ax


def to_image(fig: Figure) -> Image.Image:
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    return Image.fromarray(rgba[..., :3].copy())


def text_boxes(fig: Figure) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Every visible text of a drawn figure with its pixel box (x0, y0, x1, y1), origin top-left."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    height = fig.bbox.height
    boxes = []
    for text in fig.findobj(Text):  # Text only: a legend's text containers would count each label twice
        content = text.get_text()
        if not content or not text.get_visible():
            continue
        box = text.get_window_extent(renderer)
        boxes.append((content, (box.x0, height - box.y1, box.x1, height - box.y0)))
    return boxes
