"""The SVG/DOT reference checks alone: what may and may not reach the renderer."""

from __future__ import annotations

import pytest

from cadsynth.sandbox.references import dot_problem, svg_problem

SVG = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">{}</svg>'


@pytest.mark.parametrize("body", [
    '<rect fill="url(#grad)"/>',
    '<use href="#shape"/>',
    '<use xlink:href="#shape"/>',
    '<image href="data:image/png;base64,iVBORw0KGgo="/>',
    "<text>a href = example</text>",
])
def test_svg_allowed(body: str):
    assert svg_problem(SVG.format(body)) is None


@pytest.mark.parametrize("body", [
    '<image href="/etc/passwd"/>',
    "<image xlink:href='file:///etc/passwd'/>",
    '<image foo:href="http://example.com/x.png"/>',
    '<image href="data:image/svg+xml;base64,PHN2Zz4="/>',
    '<image href="&#47;etc/passwd"/>',
    '<rect style="fill: URL(/etc/passwd)"/>',
    "<style>@import 'x.css';</style>",
])
def test_svg_refused(body: str):
    assert svg_problem(SVG.format(body)) is not None


def test_svg_doctype_refused():
    assert svg_problem('<!DOCTYPE svg [<!ENTITY a "b">]>' + SVG.format("&a;")) is not None


def test_dot_file_attributes_refused():
    assert dot_problem("digraph { a -> b }") is None
    assert dot_problem('digraph { a [shapefile = "/etc/passwd"] }') is not None
    assert dot_problem('digraph { a [IMAGE="x.png"] }') is not None
