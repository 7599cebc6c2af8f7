"""A labelled corruption set, built from clean program instances, to measure the checks on known truth.

Every item carries the question, options and reference the pipeline would hold, its image, the texts its visual
spec requires (`Family.visible_texts` of the *uncorrupted* scene: the spec does not change when the image goes
wrong) and a label:

- `clean`: a program instance as generated;
- `wrong_answer`: the reference replaced by a plausible wrong value (a distractor);
- `label_removed` / `label_changed`: the image re-rendered with one drawn text blanked, or altered to another
  plausible text ("Tue" → "Sun", "40" → "45", "A" → "E"); bars and grid only (shapes draw no text);
- `answer_in_image`: the answer printed in a corner of the image;
- `text_only`: the question states its own answer, so the image is not needed;
- `exact_duplicate` / `near_duplicate`: a copy of a clean item (same question and image), or the same scene
  re-rendered, resampled and the question paraphrased; `duplicate_of` names the clean item.

Each corrupted item is made from its own fresh instance (never from a clean item of the set), so a corruption
is not also a duplicate. Deterministic from `seed`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from PIL import Image

from cadsynth.records import AnswerType, ImageSource, Partition, Provenance, Sample, Strategy, stable_hash
from cadsynth.tasks import family, sample
from cadsynth.tasks.base import Instance
from cadsynth.tasks.render import to_image

LABELS = ("clean", "wrong_answer", "label_removed", "label_changed", "answer_in_image", "text_only",
          "exact_duplicate", "near_duplicate")
TEXT_FAMILIES = ("bars", "grid")
FAMILIES = ("bars", "grid", "shapes")
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass
class CorruptItem:
    id: str
    label: str
    family: str
    kind: str
    question: str
    answer: str  # the reference the item carries (a letter for MCQ)
    answer_type: AnswerType
    choices: dict[str, str] | None
    true_answer: str  # the correct reference for the scene
    scene: dict[str, Any]
    image: Image.Image
    required: list[str]  # the texts the visual spec says the image shows
    duplicate_of: str | None = None
    detail: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def answer_text(self) -> str:
        """The reference as a value (the option text for MCQ)."""
        return self.choices[self.answer] if self.choices and self.answer in self.choices else self.answer

    def to_sample(self) -> Sample:
        return Sample(
            id=self.id,
            provenance=Provenance(seed_id=f"corruption-{self.id}", member="program",
                                  strategy=Strategy.PARAMETER_VARIATION, round=1, context_version=0,
                                  image_source=ImageSource(kind="program", program=self.family, params=self.scene)),
            question=self.question, choices=self.choices, answer=self.answer, answer_type=self.answer_type,
            family=self.family, question_kind=self.kind, partition=Partition.KEPT,
        )


def render_edited(family_name: str, scene: dict, edit: Callable[[str], str | None] | None = None,
                  extra_text: str | None = None) -> Image.Image:
    """The scene's image with each drawn text passed through `edit` (None or "" blanks it), and optionally one
    more text printed in the top-right corner."""
    fig = family(family_name).draw(scene)
    if edit is not None:
        fig.canvas.draw()  # tick labels exist only once drawn
        ticks = []
        for ax in fig.axes:
            ticks.append((ax.xaxis, [t.get_text() for t in ax.get_xticklabels()]))
            ticks.append((ax.yaxis, [t.get_text() for t in ax.get_yticklabels()]))
        for axis, labels in ticks:  # tick labels are re-created on draw: set them through the axis
            axis.set_ticks(axis.get_ticklocs(), [edit(t) or "" for t in labels])
        for text in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "set_text")):
            content = text.get_text()
            if content and not _is_tick(text, fig):
                text.set_text(edit(content) or "")
    if extra_text:
        fig.text(0.97, 0.97, extra_text, ha="right", va="top", fontsize=13, color="black")
    return to_image(fig)


def _is_tick(text, fig) -> bool:
    return any(text in ax.get_xticklabels() or text in ax.get_yticklabels() for ax in fig.axes)


def _altered(text: str, present: set[str]) -> str:
    if re.fullmatch(r"\d{4}", text):
        return str(int(text) + 10)
    if re.fullmatch(r"-?\d+", text):
        return str(int(text) + 5)
    if text in DAYS:
        return next(d for d in reversed(DAYS) if d not in present)
    if len(text) == 1 and text.isalpha():
        return next(c for c in "EFGH" if c not in present)
    return text[::-1] if len(text) > 1 else "?"


def _target_text(fam: str, scene: dict, rng: np.random.Generator) -> str:
    """A text worth corrupting: a category label or a y tick on bars, a point name or a tick on grid."""
    if fam == "bars":
        pool = list(scene["labels"]) + [str(v) for v in range(10, scene["ymax"] + 1, 10)]
    else:
        pool = [p["name"] for p in scene["points"]] + [str(v) for v in range(1, scene["size"] + 1)]
    return pool[int(rng.integers(len(pool)))]


def _wrong(fam_name: str, inst: Instance, rng: np.random.Generator) -> str:
    if inst.choices:
        letters = [k for k in inst.choices if k != inst.answer]
        return letters[int(rng.integers(len(letters)))]
    fam = family(fam_name)
    value: Any = inst.answer
    if re.fullmatch(r"-?\d+", inst.answer):
        value = int(inst.answer)
    elif re.fullmatch(r"-?\d+%", inst.answer):
        value = int(inst.answer[:-1])
    options = [fam.format_answer(inst.kind, v) for v in fam.distractors(inst.scene, inst.kind, inst.args, value, rng)]
    options = [o for o in options if o != inst.answer]
    if not options:
        return f"{inst.answer}0"
    return options[int(rng.integers(len(options)))]


def _item(id_: str, label: str, inst: Instance, image: Image.Image, **kw: Any) -> CorruptItem:
    fam = family(inst.family)
    true = inst.choices[inst.answer] if inst.choices else inst.answer
    return CorruptItem(id=id_, label=label, family=inst.family, kind=inst.kind, question=inst.question,
                       answer=inst.answer, answer_type=inst.answer_type, choices=inst.choices, true_answer=true,
                       scene=inst.scene, image=image, required=fam.visible_texts(inst.scene), **kw)


def build_corruption_set(seed: int = 0, clean_per_family: int = 4, per_type: int = 6,
                         duplicates: int = 4, kinds: dict[str, list[str]] | None = None) -> list[CorruptItem]:
    """The labelled set: clean items, then `per_type` items of each corruption, then the duplicates.

    `kinds` limits the question kinds per family (e.g. to those a judging committee can answer); a family
    missing from it asks any kind.
    """
    rng = np.random.default_rng(seed)

    def _fresh(fam: str, rng: np.random.Generator) -> Instance:
        difficulty = int(rng.integers(1, 4))
        mcq = bool(rng.random() < 0.3)
        allowed = (kinds or {}).get(fam)
        if allowed:
            for _ in range(50):
                try:
                    return sample(fam, rng, difficulty, kind=allowed[int(rng.integers(len(allowed)))], mcq=mcq)
                except RuntimeError:  # the kind cannot be asked at this difficulty: draw another
                    difficulty = int(rng.integers(1, 4))
        return sample(fam, rng, difficulty, mcq=mcq)
    items: list[CorruptItem] = []

    def new_id(label: str) -> str:
        return f"{label}-{stable_hash(seed, len(items), length=8)}"

    for fam in FAMILIES:
        for _ in range(clean_per_family):
            inst = _fresh(fam, rng)
            items.append(_item(new_id("clean"), "clean", inst, family(fam).render(inst.scene)))
    clean = list(items)

    for i in range(per_type):
        fam = FAMILIES[i % len(FAMILIES)]
        inst = _fresh(fam, rng)
        wrong = _wrong(fam, inst, rng)
        item = _item(new_id("wrong_answer"), "wrong_answer", inst, family(fam).render(inst.scene),
                     detail=f"reference {inst.answer!r} replaced by {wrong!r}")
        items.append(replace(item, answer=wrong))

    for label in ("label_removed", "label_changed"):
        for i in range(per_type):
            fam = TEXT_FAMILIES[i % len(TEXT_FAMILIES)]
            inst = _fresh(fam, rng)
            target = _target_text(fam, inst.scene, rng)
            present = set(family(fam).visible_texts(inst.scene))
            new = "" if label == "label_removed" else _altered(target, present)
            done = {"n": 0}

            def edit(text: str, target: str = target, new: str = new, done: dict = done) -> str:
                if text == target and done["n"] == 0:  # only the first occurrence ("3" is on both grid axes)
                    done["n"] += 1
                    return new
                return text

            image = render_edited(fam, inst.scene, edit)
            items.append(_item(new_id(label), label, inst, image, detail=f"{target!r} -> {new!r}"))

    for i in range(per_type):
        fam = FAMILIES[i % len(FAMILIES)]
        inst = _fresh(fam, rng)
        answer = inst.choices[inst.answer] if inst.choices else inst.answer
        items.append(_item(new_id("answer_in_image"), "answer_in_image", inst,
                           render_edited(fam, inst.scene, extra_text=answer), detail=f"printed {answer!r}"))

    for i in range(per_type):
        fam = FAMILIES[i % len(FAMILIES)]
        inst = _fresh(fam, rng)
        answer = inst.choices[inst.answer] if inst.choices else inst.answer
        question = f"{inst.question} (Hint: the answer is {answer}.)"
        item = _item(new_id("text_only"), "text_only", inst, family(fam).render(inst.scene),
                     detail="the question states its answer")
        items.append(replace(item, question=question))

    for i in range(duplicates):
        src = clean[(i * 5) % len(clean)]
        items.append(replace(src, id=new_id("exact_duplicate"), label="exact_duplicate", duplicate_of=src.id,
                             image=src.image.copy(), detail="copy"))
    for i in range(duplicates):
        src = clean[(i * 5 + 2) % len(clean)]
        w, h = src.image.size
        image = family(src.family).render(src.scene).resize((w * 9 // 10, h * 9 // 10)).resize((w, h))
        question = "Looking at the figure, " + src.question[0].lower() + src.question[1:]
        items.append(replace(src, id=new_id("near_duplicate"), label="near_duplicate", duplicate_of=src.id,
                             image=image, question=question, detail="paraphrased and resampled"))
    return items
