"""The answer matcher: extraction from replies and equivalence with the reference."""

from __future__ import annotations

import pytest

from cadsynth.answers import equivalent, extract, letter, normalise, number
from cadsynth.records import AnswerType

N, INT, T, E, M = AnswerType.NUMBER, AnswerType.INTEGER, AnswerType.TEXT, AnswerType.EXPRESSION, AnswerType.MCQ
CHOICES = {"A": "30", "B": "40", "C": "50", "D": "60"}


# -- extract -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (r"The distance is \boxed{2\sqrt{5}}.", r"2\sqrt{5}"),
        (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),
        (r"First \boxed{3}, on reflection \boxed{\dfrac{3}{4}}", r"\dfrac{3}{4}"),  # the last box wins
        (r"Answer: \boxed{ 7 }", "7"),
        ("The answer is 40.", "40"),
        ("Answer: C", "C"),
        ("Final answer: 6.9 V", "6.9 V"),
        ("The answer is: C", "C"),
        ("**Answer:** C", "C"),
        ("Answer: **C**", "C"),
        ("Reading the bars...\nMon = 30, Tue = 40\nThe answer is 40 people.\nHope this helps!", "40 people"),
        ("Step 1: read\nStep 2: add\n42", "42"),  # no box, no answer line: the last line
        ("  \n 17 \n\n", "17"),
        ("The answer is $4\\pi$.", "$4\\pi$"),
    ],
)
def test_extract(reply, expected):
    assert extract(reply) == expected


@pytest.mark.parametrize("reply", ["", "   ", "\n\n", r"\boxed{}", "The answer is: **"])
def test_extract_nothing(reply):
    assert extract(reply) is None


def test_extract_unclosed_box_falls_back():
    assert extract("The answer is 5\n\\boxed{5") == "5"


def test_extract_answer_line_beats_last_line():
    assert extract("The answer is 12\nI am fairly confident.") == "12"


def test_extract_does_not_take_isnt_as_is():
    # "the answer isn't obvious" is not an answer line; the last line is the answer
    assert extract("The answer isn't obvious at first.\n8") == "8"


# -- normalise / number ----------------------------------------------------------------------------------------
def test_normalise():
    assert normalise(" $1,000$. ") == "1000"
    assert normalise(r"\text{Blue}") == "blue"
    assert normalise(r"4\pi") == "4π"
    assert normalise(r"40^\circ") == "40°"
    assert normalise(r"\(12\)") == "12"
    assert normalise("\u22125") == "-5"


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("2√5", 20**0.5, ""),
        (r"2\sqrt{5}", 20**0.5, ""),
        ("√2", 2**0.5, ""),
        ("-√20", -(20**0.5), ""),
        (r"\frac{3}{4}", 0.75, ""),
        ("3/4", 0.75, ""),
        ("6.9 V", 6.9, "v"),
        ("63%", 63.0, "%"),
        (r"63\%", 63.0, "%"),
        ("-25%", -25.0, "%"),
        ("1,000", 1000.0, ""),
        ("40 people", 40.0, "people"),
        (".5", 0.5, ""),
    ],
)
def test_number(text, value, unit):
    parsed = number(text)
    assert parsed is not None
    assert parsed[0] == pytest.approx(value)
    assert parsed[1] == unit


@pytest.mark.parametrize("text", ["blue", "", "1/0", "4π", "x = 5", "2 million", "5 and 6"])
def test_number_rejects(text):
    assert number(text) is None


# -- equivalent: positives ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("candidate", "reference", "kind"),
    [
        # surds, in every spelling, and numerically equal forms
        ("2√5", r"2\sqrt{5}", E),
        (r"2\sqrt{5}", "2√5", E),
        (r"\sqrt{20}", "2√5", E),
        ("√20", r"2\sqrt5", E),
        ("-√20", "-2√5", E),
        ("4.472136", "2√5", E),
        ("5", "5", E),
        # units
        ("6.9V", "6.9 V", N),
        ("6.9 V", "6.9V", N),
        ("6.9", "6.9 V", N),
        ("6.9 V", "6.9", N),
        (r"6.9\text{ V}", "6.9 V", N),
        ("40 people", "40", INT),
        ("40°", "40", INT),
        (r"40^\circ", "40°", INT),
        # percent
        ("63%", "0.63", N),
        ("0.63", "63%", N),
        ("63", "63%", N),
        ("63%", "63", N),
        (r"63\%", "63%", N),
        ("-25%", "-25", INT),
        ("-25", "-25%", INT),
        ("\u221225%", "-25%", INT),  # unicode minus
        # separators and formatting
        ("1,000", "1000", INT),
        ("1000", "1,000", INT),
        ("1,000,000", "1000000", INT),
        ("$40$", "40", INT),
        (r"\(40\)", "40", INT),
        ("40.", "40", INT),
        ("40.0", "40", INT),
        # fractions
        (r"\frac{1}{2}", "0.5", N),
        ("0.5", r"\frac{1}{2}", N),
        ("1/2", "0.5", N),
        (r"\frac{1}{2}", "1/2", N),
        (r"\dfrac{1}{2}", "0.5", N),
        # TeX compared as text
        ("$4\\pi$", "4\\pi", E),
        ("4π", "$4\\pi$", E),
        (r"\frac{\pi}{2}", r"\frac{\pi}{2}", E),
        # text
        ("Blue", "blue", T),
        ("blue.", "blue", T),
        ("sky blue", "sky blue", T),
        (r"\text{Mon}", "Mon", T),
    ],
)
def test_equivalent(candidate, reference, kind):
    assert equivalent(candidate, reference, kind)


# -- equivalent: negatives ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("candidate", "reference", "kind"),
    [
        ("40", "4", INT),
        ("4", "40", INT),
        ("400", "40", N),
        ("40", "41", N),
        ("2", "2.5", N),
        ("blue", "green", T),
        ("sky blue", "blue", T),
        ("", "40", INT),
        ("   ", "40", INT),
        (None, "40", INT),
        ("6.9 mV", "6.9 V", N),
        ("6.9 V", "6.9 A", N),
        ("63%", "0.64", N),
        ("0.63", "63", N),  # a bare number is not a percent of another bare number
        ("25%", "-25%", INT),
        ("25", "-25%", INT),
        ("2√5", "√5", E),
        ("2√5", "2√6", E),
        ("4π", "4", E),  # not evaluated: π is text
        ("1/0", "0", N),
        ("0.0001", "0", N),
        ("2 million", "2", INT),
        ("10001", "10000", INT),  # integers are exact
        ("x = 5", "6", E),
    ],
)
def test_not_equivalent(candidate, reference, kind):
    assert not equivalent(candidate, reference, kind)


def test_number_tolerance_is_relative_but_integers_are_exact():
    assert equivalent("10000.5", "10000", N)  # within 1e-4
    assert not equivalent("10001", "10000", INT)
    assert not equivalent("1.01", "1", N)


def test_answer_type_given_as_string():
    assert equivalent("6.9V", "6.9", "number")
    assert not equivalent("B", "C", "mcq")


# -- multiple choice ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "candidate",
    ["C", "c", "(C)", "C.", "C:", "C)", "option C", "Option C", "choice (C)", "Answer C", "Answer: C", "C) 50", "C. 50",
     "C 50", "50", "$50$", " 50 "],
)
def test_mcq_accepts_letter_forms_and_option_text(candidate):
    assert equivalent(candidate, "C", M, CHOICES)
    assert letter(candidate, CHOICES) == "C"


@pytest.mark.parametrize("candidate", ["B", "(B)", "option B", "40", "D) 60", "E", "Cat", "", "   ", None, "55"])
def test_mcq_rejects(candidate):
    assert not equivalent(candidate, "C", M, CHOICES)


def test_mcq_reference_letter_is_case_insensitive():
    assert equivalent("C", " c ", M, CHOICES)


def test_mcq_letter_outside_the_options():
    assert letter("E", CHOICES) is None
    assert letter("E") == "E"  # no options given: any of A-E
    assert letter("Cat") is None


def test_mcq_option_text_beats_a_leading_article():
    shapes = {"A": "circle", "B": "a triangle", "C": "square"}
    assert letter("a triangle", shapes) == "B"
    assert equivalent("a triangle", "B", M, shapes)
    assert not equivalent("a triangle", "A", M, shapes)
    assert letter("A", shapes) == "A"


def test_mcq_option_text_numeric():
    choices = {"A": "25%", "B": "-25%", "C": "50%", "D": "75%"}
    assert letter("-25%", choices) == "B"
    assert letter("-25", choices) == "B"
    assert letter("50", choices) == "C"
    surds = {"A": "√2", "B": "2√5", "C": "5"}
    assert letter(r"2\sqrt{5}", surds) == "B"
    assert letter("√20", surds) == "B"


def test_mcq_without_choices_needs_a_letter():
    assert equivalent("(C)", "C", M)
    assert not equivalent("50", "C", M)
