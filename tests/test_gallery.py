"""docs/gallery.md is current: two samples per family and meta-strategy, every image it shows exists."""

from __future__ import annotations

import re
from pathlib import Path

from cadsynth.records import Strategy
from cadsynth.tasks import FAMILIES

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_gallery_shows_two_samples_per_family_and_strategy():
    text = (DOCS / "gallery.md").read_text()
    images = re.findall(r'<img src="(gallery/[^"]+)"', text)
    assert all((DOCS / image).is_file() for image in images)
    for name in FAMILIES:
        for strategy in Strategy:
            shown = [i for i in images if Path(i).name.startswith(f"{name}-{strategy.value}-")]
            assert len(shown) == 2, (name, strategy, "rerun: python scripts/gallery.py")
