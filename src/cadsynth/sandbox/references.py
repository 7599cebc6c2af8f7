"""Refusing SVG and DOT input that would make the renderer fetch something: a host file, a URL, an entity.

resvg loads ``<image href="/etc/passwd">`` and Graphviz ``image="..."`` from disk, and neither runs under the
audit hook. Landlock stops the read anyway where the kernel has it; this check says so up front, everywhere.
"""

from __future__ import annotations

import re

_SVG_HREF = re.compile(r"""(?:[\w.-]+:)?href\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)
_SVG_URL = re.compile(r"""url\(\s*["']?\s*([^)]*)""", re.IGNORECASE)
_SAFE_DATA = re.compile(r"data:image/(png|jpeg|jpg|gif|webp)[;,]", re.IGNORECASE)  # no nested SVG: it has hrefs
_SVG_FORBIDDEN = ("<!doctype", "<!entity", "<?xml-stylesheet", "@import")
_DOT_FILE_ATTRIBUTES = re.compile(r"\b(image|shapefile|imagepath|fontpath|stylesheet)\s*=", re.IGNORECASE)


def svg_problem(svg: str) -> str | None:
    """Why ``svg`` may not be rendered, or None. Only same-document (#id) and inline raster references pass."""
    lowered = svg.lower()
    for token in _SVG_FORBIDDEN:
        if token in lowered:
            return f"{token} is not allowed in SVG"
    for match in _SVG_HREF.finditer(svg):
        target = match.group(2).strip()
        if not (target.startswith("#") or _SAFE_DATA.match(target)):
            return f"external reference href={target[:80]!r}"
    for match in _SVG_URL.finditer(svg):
        if not match.group(1).startswith("#"):
            return f"external reference url({match.group(1)[:80]})"
    return None


def dot_problem(dot: str) -> str | None:
    """Why ``dot`` may not be rendered, or None: attributes that make Graphviz read files are refused."""
    if match := _DOT_FILE_ATTRIBUTES.search(dot):
        return f"the {match.group(1)} attribute reads files and is not allowed"
    return None
