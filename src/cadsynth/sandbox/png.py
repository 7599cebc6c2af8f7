"""Checking a job's PNG before anything downstream decodes it: size first, then a full decode, then RGB."""

from __future__ import annotations

import io

from PIL import Image

from cadsynth.images import png_bytes


class BadImage(Exception):
    """The output is not a usable PNG; ``reason`` is output_too_large or bad_image."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def normalise(data: bytes, max_pixels: int) -> bytes:
    """An RGB PNG of ``data`` (transparency flattened onto white); the pixel count is checked before decoding."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise BadImage("output_too_large", f"{width}x{height} px is over the limit of {max_pixels} px")
            image.load()
            rgba = image.convert("RGBA")
    except BadImage:
        raise
    except Image.DecompressionBombError as error:
        raise BadImage("output_too_large", str(error)) from error
    except (OSError, ValueError, SyntaxError) as error:  # PIL's errors for unreadable or truncated images
        raise BadImage("bad_image", f"not a readable PNG: {error}") from error
    flat = Image.new("RGBA", rgba.size, "white")
    flat.alpha_composite(rgba)
    return png_bytes(flat.convert("RGB"))
