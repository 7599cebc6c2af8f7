"""The OCR matching rule, on given OCR readings (no model needed), and the fidelity checks built on it."""

from cadsynth.checks.ocr import fidelity, fold, match_texts


def _checks(lines, required, answer):
    return {c.name: c for c in fidelity(None, required, answer, ocr=[(t, 0.99) for t in lines])}


def test_fold_treats_ocr_confusables_alike():
    assert fold("M0n") == fold("Mon")
    assert fold("4O") == fold("40")
    assert fold("\u22125") == fold("-5")


def test_every_required_text_read_passes():
    lines = ["Sales", "Sales (units)", "0", "10", "20", "Mon", "Tue"]
    assert _checks(lines, ["Mon", "Tue", "Sales (units)", "0", "10", "20", "Sales"], "20")["labels_visible"].passed


def test_missing_label_is_named():
    check = _checks(["Mon", "0", "10"], ["Mon", "Tue", "0", "10"], None)["labels_visible"]
    assert not check.passed and "Tue" in check.detail


def test_multiset_a_label_drawn_twice_must_be_read_twice():
    missing, _ = match_texts(["0", "1", "2", "3", "0", "1", "2"], ["0", "1", "2", "3"] * 2)
    assert missing == {"3": 1}


def test_merged_split_and_upside_down_readings_count():
    missing, leftover = match_texts(["y3", "Sales", "(units)", "06"], ["y", "3", "Sales (units)", "90"])
    assert not missing and not leftover


def test_answer_equal_to_a_tick_is_not_a_leak():
    lines = ["0", "10", "20", "30", "40", "Mon", "Tue"]
    assert _checks(lines, ["0", "10", "20", "30", "40", "Mon", "Tue"], "40")["answer_leak"].passed


def test_answer_printed_besides_the_tick_is_a_leak():
    lines = ["0", "10", "20", "30", "40", "Mon", "Tue", "40"]
    check = _checks(lines, ["0", "10", "20", "30", "40", "Mon", "Tue"], "40")["answer_leak"]
    assert not check.passed and "40" in check.detail


def test_leak_inside_a_sentence_and_numeric_forms():
    assert not _checks(["Answer: 2√5"], [], "2√5")["answer_leak"].passed
    assert not _checks(["25%"], [], "25%")["answer_leak"].passed
    assert not _checks(["sky blue"], [], "sky blue")["answer_leak"].passed
    assert _checks(["250"], [], "25")["answer_leak"].passed


def test_no_answer_no_leak_check():
    assert [c.name for c in fidelity(None, [], None, ocr=[])] == ["labels_visible"]
