"""OCR fidelity on real program images, where the renderer knows every text (needs rapidocr)."""

import numpy as np
import pytest

pytest.importorskip("rapidocr")

from cadsynth.checks.corruption import render_edited  # noqa: E402
from cadsynth.checks.ocr import fidelity, read_text  # noqa: E402
from cadsynth.tasks import family, sample  # noqa: E402


@pytest.fixture(scope="module")
def bars():
    inst = sample("bars", np.random.default_rng(3), 2, kind="value_at")
    return inst, family("bars").visible_texts(inst.scene)


def test_read_text_reads_the_day_labels(bars):
    inst, _ = bars
    texts = [t for t, _ in read_text(family("bars").render(inst.scene))]
    assert set(inst.scene["labels"]) <= set(texts)


def test_clean_chart_passes_even_when_the_answer_is_a_tick(bars):
    inst, required = bars
    assert inst.answer in required  # value_at answers sit on gridlines: the answer is also a y tick
    checks = fidelity(family("bars").render(inst.scene), required, inst.answer)
    assert all(c.passed for c in checks), checks


def test_removed_label_and_printed_answer_are_caught(bars):
    inst, required = bars
    label = inst.scene["labels"][1]
    image = render_edited("bars", inst.scene, edit=lambda t: "" if t == label else t, extra_text=inst.answer)
    checks = {c.name: c for c in fidelity(image, required, inst.answer)}
    assert not checks["labels_visible"].passed and label in checks["labels_visible"].detail
    assert not checks["answer_leak"].passed
