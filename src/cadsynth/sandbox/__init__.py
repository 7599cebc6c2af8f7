"""Rendering model-written code (matplotlib, SVG, Graphviz DOT) to PNG in isolated, resource-limited processes.

Model-written code is hostile input: every job runs in a fresh child forked from a warm worker, with kernel
limits, no network, no privileges, a Landlock filesystem view and an audit hook (see ``isolation`` and ``guard``).
"""

from cadsynth.sandbox.limits import LANGUAGES, Language, Limits, Rendered
from cadsynth.sandbox.pool import Sandbox

__all__ = ["LANGUAGES", "Language", "Limits", "Rendered", "Sandbox"]
