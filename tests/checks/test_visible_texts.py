"""`Family.visible_texts`: the texts the renderer draws, derived from the scene."""

import numpy as np

from cadsynth.tasks import family, sample


def test_bars_shows_labels_ticks_and_titles():
    inst = sample("bars", np.random.default_rng(0), 1)
    texts = family("bars").visible_texts(inst.scene)
    assert set(inst.scene["labels"]) <= set(texts)
    assert {str(v) for v in range(0, inst.scene["ymax"] + 1, 10)} <= set(texts)
    assert inst.scene["topic"] in texts


def test_grid_shows_point_names_and_both_axes():
    inst = sample("grid", np.random.default_rng(0), 3)
    texts = family("grid").visible_texts(inst.scene)
    assert {p["name"] for p in inst.scene["points"]} <= set(texts)
    assert texts.count("1") == 2  # one tick per axis


def test_shapes_draw_no_text():
    inst = sample("shapes", np.random.default_rng(0), 2)
    assert family("shapes").visible_texts(inst.scene) == []
