import importlib.util
import threading

import pytest

from cadsynth.answers import MATCHER_VERSION
from cadsynth.train import rewards
from cadsynth.train.rewards import (
    accuracy_reward,
    accuracy_score,
    answer_kind,
    compute_score,
    final_answer,
    format_reward,
    format_score,
    is_correct,
    verl_compute_score,
)

HAS_MATH_VERIFY = importlib.util.find_spec("math_verify") is not None


@pytest.mark.parametrize(
    ("reply", "truth"),
    [
        ("<think>d = sqrt(4+16)</think> so \\boxed{2\\sqrt{5}}", "2√5"),
        ("The answer is 2√5", "2\\sqrt{5}"),
        ("\\boxed{6.9 V}", "6.9V"),
        ("\\boxed{6.9V}", "6.9 V"),
        ("\\boxed{0.63}", "63%"),
        ("\\boxed{63\\%}", "0.63"),
        ("(C)", "C"),
        ("\\boxed{C}", "(C)"),
        ("Answer: C. 40", "C"),
        ("\\boxed{\\text{B}}", "B"),
        ("\\boxed{$4 \\pi$}", "4\\pi"),
        ("\\boxed{(3, -4)}", "(3,-4)"),
        ("<think>a</think><answer>12</answer>", "12"),
        ("\\boxed{1,200}", "1200"),
        ("\\boxed{150 m}", "150m"),
    ],
)
def test_tricky_answers_are_correct(reply, truth):
    assert accuracy_score(reply, truth) == 1.0


@pytest.mark.parametrize(
    ("reply", "truth"),
    [
        ("<think>the answer is \\boxed{5}", "5"),  # thinking never closed: a truncated reply has no answer
        ("<think>\\boxed{5}</think>", "5"),  # the answer must come after the thinking
        ("\\boxed{2}", "2\\sqrt{5}"),
        ("\\boxed{10001}", "10000"),  # integers are exact
        ("\\boxed{12.57}", "4\\pi"),
        ("\\boxed{A}", "C"),
        ("\\boxed{2 million}", "2"),
        ("\\boxed{6.9 A}", "6.9V"),  # different units
        ("", "3"),
    ],
)
def test_wrong_or_missing_answers_score_zero(reply, truth):
    assert accuracy_score(reply, truth) == 0.0


@pytest.mark.skipif(not HAS_MATH_VERIFY, reason="math-verify not installed")
@pytest.mark.parametrize(
    ("reply", "truth"),
    [
        ("\\boxed{1+x^2}", "x^2+1"),
        ("\\boxed{\\sqrt{3}/2}", "\\frac{\\sqrt3}{2}"),
        ("\\boxed{\\frac{\\pi}{3}}", "π/3"),
    ],
)
def test_math_verify_fallback_for_latex(reply, truth):
    assert accuracy_score(reply, truth) == 1.0


def test_math_verify_runs_without_signals_off_the_main_thread():
    found = []
    thread = threading.Thread(target=lambda: found.append(is_correct("1+x^2", "x^2+1")))
    thread.start()
    thread.join()
    assert found == [HAS_MATH_VERIFY]


def test_mcq_detection_and_choices():
    assert answer_kind("C").value == "mcq" and answer_kind("(D)").value == "mcq"
    assert answer_kind("F").value != "mcq"  # only A-E
    assert answer_kind("12").value == "integer" and answer_kind("2√5").value == "expression"
    choices = {"A": "30", "B": "40", "C": "50"}
    assert is_correct("40", "B", choices=choices)  # the option's text names it
    assert is_correct("B", "B", choices=choices)
    assert not is_correct("50", "B", choices=choices)


def test_final_answer_extraction():
    assert final_answer("<think>maybe \\boxed{3}</think> so \\boxed{4}") == "4"
    assert final_answer("<think>x</think><answer>\\boxed{7}</answer>") == "7"
    assert final_answer("lots of text\nFinal answer: 12") == "12"
    assert final_answer("<think>unfinished") is None


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("<think>add them</think> The sum is \\boxed{7}.", 1.0),
        ("  <think>\nadd\n</think>\n<answer>7</answer>", 1.0),
        ("\\boxed{7}", 0.0),  # no thinking
        ("<think>   </think> \\boxed{7}", 0.0),  # empty thinking
        ("<think>add</think> 7", 0.0),  # no boxed answer
        ("<think>add</think> \\boxed{}", 0.0),  # empty box
        ("<think>a</think><think>b</think> \\boxed{7}", 0.0),  # two thinking blocks
        ("intro <think>a</think> \\boxed{7}", 0.0),  # thinking not first
    ],
)
def test_format_score(reply, expected):
    assert format_score(reply) == expected


def test_easyr1_batch_sequential_and_legacy_forms():
    good, bad = "<think>count</think> \\boxed{3}", "\\boxed{3}"
    batch = compute_score(
        [{"response": good, "response_length": 9, "ground_truth": "3"},
         {"response": bad, "response_length": 4, "ground_truth": "4"}],
        format_weight=0.1,
    )
    assert batch == [{"overall": 1.0, "format": 1.0, "accuracy": 1.0},
                     {"overall": 0.0, "format": 0.0, "accuracy": 0.0}]
    assert compute_score({"response": bad, "ground_truth": "3"}) == pytest.approx(
        {"overall": 0.9, "format": 0.0, "accuracy": 1.0})
    assert compute_score(good, "3")["overall"] == 1.0  # EasyR1 before batch rewards: (predict_str, ground_truth)
    assert compute_score([{"response": good, "ground_truth": "3"}], format_weight=0.5)[0]["overall"] == 1.0


def test_verl_form_returns_a_float():
    value = compute_score(data_source="cadsynth", solution_str="\\boxed{C}", ground_truth="C", extra_info={"split": "train"})
    assert value == pytest.approx(0.9) and isinstance(value, float)
    assert verl_compute_score("cadsynth", "\\boxed{40}", "B", {"choices": {"A": "30", "B": "40"}}) == pytest.approx(0.9)
    assert compute_score("cadsynth", "<think>x</think>\\boxed{5}", "5", None) == 1.0


def test_trl_reward_functions_take_strings_and_messages():
    completions = ["<think>a</think> \\boxed{3}", [{"role": "assistant", "content": "\\boxed{4}"}],
                   [{"role": "assistant", "content": [{"type": "text", "text": "\\boxed{C}"}]}]]
    assert accuracy_reward(completions, answer=["3", "3", "(C)"]) == [1.0, 0.0, 1.0]
    assert format_reward(completions, answer=["3", "3", "C"]) == [1.0, 0.0, 0.0]
    assert accuracy_reward(["\\boxed{10001}"], answer=["10000"], answer_type=["number"]) == [1.0]  # within 1e-4
    assert rewards.TRL_REWARD_WEIGHTS == [0.9, 0.1]


def test_matcher_info_pins_versions():
    info = rewards.matcher_info()
    assert info["answers"] == MATCHER_VERSION and info["rewards"] == rewards.REWARDS_VERSION
    assert (info["math_verify"] is not None) == HAS_MATH_VERIFY


def test_easyr1_can_load_the_file_by_path():
    spec = importlib.util.spec_from_file_location("custom_reward_fn", rewards.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # as EasyR1's FunctionRewardManager does
    assert module.compute_score([{"response": "\\boxed{2√5}", "ground_truth": "2\\sqrt{5}"}])[0]["accuracy"] == 1.0
