"""Render docs/gallery.md: two samples per task family and meta-strategy, each with its image, question,
options, answer and worked solution. Deterministic: `python scripts/gallery.py` rewrites the same files.

Each sample is a child made from a fresh parent of the family with one meta-strategy (an isomorphic transfer
lands in another family, named in the caption); the first is open-ended, the second multiple choice when the
question has plausible options.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from cadsynth.records import Strategy
from cadsynth.tasks import FAMILIES, apply_strategy, family, sample

ROOT = Path(__file__).resolve().parents[1]
DIFFICULTY_OF = (1, 3)  # the two samples: an easy one and a hard one


def save(image, path: Path) -> None:
    """A palette PNG: the families draw with few colours, so the gallery stays small."""
    image.convert("RGB").quantize(colors=64, dither=0).save(path, optimize=True)


def entry(name: str, strategy: Strategy, i: int, images: Path) -> str:
    rng = np.random.default_rng([sum(map(ord, name)), list(Strategy).index(strategy), i])
    parent = sample(name, rng, DIFFICULTY_OF[i])
    child = apply_strategy(strategy, parent, rng, DIFFICULTY_OF[i], mcq=i == 1)
    file = images / f"{name}-{strategy.value}-{i + 1}.png"
    save(family(child.family).render(child.scene), file)
    options = "".join(f"<br>{k}. {v}" for k, v in (child.choices or {}).items())
    moved = f" → **{child.family}**" if child.family != name else ""
    return (f'<td width="50%" valign="top"><img src="gallery/{file.name}" width="320"><br>'
            f"<sub>{parent.kind} → {child.kind}{moved}, difficulty {child.difficulty}</sub><br>"
            f"<b>Q:</b> {child.question}{options}<br><b>A:</b> {child.answer}<br>"
            f"<sub>{child.solution}</sub></td>")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    out = parser.parse_args().out
    images = out / "gallery"
    images.mkdir(parents=True, exist_ok=True)
    lines = ["# Gallery of the task families", "",
             "Made by `python scripts/gallery.py`. Every answer is computed by the family's program from the scene "
             "it draws; the four meta-strategies transform a parent instance (see `src/cadsynth/tasks/strategies.py`). "
             "Per family and strategy: an easy open-ended sample and a hard multiple-choice one.", ""]
    lines += [", ".join(f"[{n}](#{n})" for n in FAMILIES), ""]
    for name, fam in FAMILIES.items():
        lines += [f"## {name}", "", f"Domain: {fam.domain}. Question kinds: {', '.join(fam.kinds)}.", ""]
        for strategy in Strategy:
            cells = "".join(entry(name, strategy, i, images) for i in range(2))
            lines += [f"### {name}: {strategy.value.replace('_', ' ')}", "", f"<table><tr>{cells}</tr></table>", ""]
        print(f"{name}: done")
    (out / "gallery.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
