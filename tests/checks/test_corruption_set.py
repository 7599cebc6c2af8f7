"""The labelled corruption set: every label present, each corruption really applied, deterministic."""

import numpy as np
import pytest

from cadsynth.checks.corruption import LABELS, build_corruption_set


@pytest.fixture(scope="module")
def items():
    return build_corruption_set(seed=1, clean_per_family=1, per_type=2, duplicates=1)


def test_every_label_is_present(items):
    assert {it.label for it in items} == set(LABELS)
    assert len({it.id for it in items}) == len(items)


def test_wrong_answer_differs_from_the_truth(items):
    for it in items:
        if it.label == "wrong_answer":
            assert it.answer_text != it.true_answer
        else:
            assert it.answer_text == it.true_answer


def test_image_corruptions_change_pixels_and_keep_the_spec(items):
    from cadsynth.tasks import family

    for it in items:
        if it.label in ("label_removed", "label_changed", "answer_in_image"):
            clean = np.asarray(family(it.family).render(it.scene))
            assert (np.asarray(it.image) != clean).any(), it.detail
            assert it.required == family(it.family).visible_texts(it.scene)
    assert all(it.family in ("bars", "grid") for it in items if it.label.startswith("label_"))


def test_text_only_states_the_answer_and_duplicates_name_their_source(items):
    by_id = {it.id: it for it in items}
    for it in items:
        if it.label == "text_only":
            assert it.answer_text in it.question
        if it.label.endswith("duplicate"):
            src = by_id[it.duplicate_of]
            assert src.label == "clean" and src.scene == it.scene
            if it.label == "exact_duplicate":
                assert src.question == it.question and (np.asarray(src.image) == np.asarray(it.image)).all()


def test_items_convert_to_samples_and_the_set_is_deterministic(items):
    assert items[0].to_sample().id == items[0].id
    again = build_corruption_set(seed=1, clean_per_family=1, per_type=2, duplicates=1)
    assert [(a.id, a.label, a.question, a.answer) for a in again] == [(a.id, a.label, a.question, a.answer)
                                                                       for a in items]


def test_kinds_restrict_the_questions():
    got = build_corruption_set(seed=2, clean_per_family=1, per_type=1, duplicates=1,
                               kinds={"bars": ["max_value"], "grid": ["rect_area"], "shapes": ["count_all"]})
    assert {it.kind for it in got} <= {"max_value", "rect_area", "count_all"}
