"""Turning a visual spec into pixels. Program images: the family draws its scene (run in worker processes)."""

from __future__ import annotations

import io

from PIL import Image

from cadsynth.tasks import family


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def render_program(family_name: str, scene: dict) -> bytes:
    """PNG of a program scene; module-level so a process pool can run it."""
    return png_bytes(family(family_name).render(scene))


def load_rgb(png: bytes) -> Image.Image:
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB")
