"""Rule-based rewards for R1-style RL on cadsynth data: accuracy and format, for EasyR1, verl and TRL.

One matcher: the final answer is pulled out of a reply and compared with ``cadsynth.answers`` (letters for
multiple choice, normalised text, numbers with units, percent, fractions and surds within a tolerance). When the
``math-verify`` package is installed it is asked as well, for LaTeX expressions that ``cadsynth.answers`` does not
know (``x^2+1`` vs ``1+x^2``, ``\\frac{\\sqrt3}{2}`` vs ``\\sqrt{3}/2``). ``cadsynth eval`` grades with the same
functions, so a reward and an evaluation never disagree about the same reply.

The reply format (R1 style)::

    <think> reasoning </think> final answer with \\boxed{ANSWER}     (or <answer>ANSWER</answer>)

* **accuracy** (0 or 1): the final answer is taken after ``</think>`` when the reply has one; a ``<think>`` that
  is never closed (a truncated reply) has no answer. Inside that part: ``<answer>…</answer>`` if present, then the
  last ``\\boxed{}``, else an "answer: …" line, else the last line. A ground truth that is a single letter A-E
  (``C`` or ``(C)``) is multiple choice, graded on the letter the reply names.
* **format** (0 or 1): exactly one ``<think>…</think>`` block with some reasoning, at the start, followed by an
  answer in ``\\boxed{}`` or ``<answer></answer>``.
* **overall** = (1 - w) * accuracy + w * format, with w = ``FORMAT_WEIGHT`` = 0.1, as in EasyR1's math recipe.

Entry points, one per trainer:

* EasyR1 (``worker.reward.reward_function=/path/to/rewards.py:compute_score``; EasyR1 loads the file by path, so
  ``cadsynth`` must be importable in EasyR1's Python: ``pip install --no-deps -e /path/to/cadsynth``; the rewards
  need only pydantic and pyyaml, and ``--no-deps`` leaves EasyR1's torch alone):
  - ``reward_type: batch`` (current EasyR1): ``compute_score(reward_inputs: list[dict], format_weight=0.1)``
    with dicts ``{"response", "response_length", "ground_truth"}``, returns ``[{"overall", "format", "accuracy"}]``;
  - ``reward_type: sequential``: ``compute_score(reward_input: dict, format_weight=0.1)`` returns one dict;
  - older EasyR1 (``score_function``): ``compute_score(predict_str, ground_truth)`` returns one dict.
* verl (``custom_reward_function.path=…/rewards.py``, ``name=compute_score``):
  ``compute_score(data_source, solution_str, ground_truth, extra_info=None)`` returns the overall score as a float;
  ``extra_info`` may carry ``answer_type`` and ``choices``.
* TRL ``GRPOTrainer``: ``reward_funcs=[accuracy_reward, format_reward]`` with ``reward_weights=TRL_REWARD_WEIGHTS``;
  each takes ``(completions, answer, **columns)`` where a completion is a string or a list of chat messages, and
  returns ``list[float]``. Optional columns ``answer_type`` and ``choices`` refine the grading.

``compute_score`` tells the forms apart by their arguments; ``easyr1_compute_score`` and ``verl_compute_score``
are the same functions under fixed names.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from cadsynth.answers import MATCHER_VERSION, _last_boxed, equivalent, extract, letter, normalise
from cadsynth.records import AnswerType

__all__ = [
    "FORMAT_WEIGHT",
    "REWARDS_VERSION",
    "TRL_REWARD_WEIGHTS",
    "accuracy_reward",
    "accuracy_score",
    "answer_kind",
    "compute_score",
    "easyr1_compute_score",
    "final_answer",
    "format_reward",
    "format_score",
    "is_correct",
    "matcher_info",
    "score",
    "verl_compute_score",
]

REWARDS_VERSION = "1"
FORMAT_WEIGHT = 0.1
TRL_REWARD_WEIGHTS = [1.0 - FORMAT_WEIGHT, FORMAT_WEIGHT]  # for reward_funcs=[accuracy_reward, format_reward]

_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_FORMAT = re.compile(r"\s*<think>(?P<think>.*?)</think>(?P<answer>.*)", re.DOTALL)
_MCQ_TRUTH = re.compile(r"^\(?\s*([A-Ea-e])\s*\)?\.?$")
_TEX_WRAPPERS = re.compile(r"\\(?:text|textbf|mathrm|mathbf|mbox)\s*\{([^{}]*)\}")
_MATH_VERIFY_MAX_CHARS = 200  # longer strings are prose or worse; sympy on them can take very long


# ---------------------------------------------------------------------------------------------- extraction


def _text_of(completion: Any) -> str:
    """The text of a completion: a string, a chat message, or a list of messages (the last assistant turn)."""
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        content = completion.get("content", "")
        if isinstance(content, list):  # content parts
            return "".join(p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type") == "text")
        return str(content or "")
    if isinstance(completion, Sequence):
        messages = [m for m in completion if isinstance(m, Mapping)]
        assistant = [m for m in messages if m.get("role", "assistant") == "assistant"]
        return _text_of((assistant or messages)[-1]) if messages else ""
    return str(completion)


def final_answer(response: str) -> str | None:
    """The final answer of a reply, or None (empty reply, or a ``<think>`` that is never closed)."""
    text = response.strip()
    if _THINK_CLOSE in text:
        text = text.rsplit(_THINK_CLOSE, 1)[1].strip()
    elif _THINK_OPEN in text:  # the reply stopped while thinking
        return None
    if not text:
        return None
    tags = _ANSWER_TAG.findall(text)
    if tags:
        text = tags[-1].strip()
        if not text:
            return None
    return extract(text)


def format_score(response: str) -> float:
    """1.0 for one ``<think>`` block with reasoning, at the start, then an answer in ``\\boxed{}`` or
    ``<answer></answer>``; else 0.0."""
    match = _FORMAT.fullmatch(response)
    if not match or not match.group("think").strip():
        return 0.0
    if response.count(_THINK_OPEN) != 1 or response.count(_THINK_CLOSE) != 1:
        return 0.0
    answer = match.group("answer")
    tags = _ANSWER_TAG.findall(answer)
    if tags:
        return 1.0 if tags[-1].strip() else 0.0
    boxed = _last_boxed(answer)  # the content of the last closed \boxed{...}
    return 1.0 if boxed is not None and boxed.strip() else 0.0


# ---------------------------------------------------------------------------------------------- matching


def answer_kind(ground_truth: str, answer_type: AnswerType | str | None = None) -> AnswerType:
    """How a ground truth is compared: the given type, else a single letter A-E is MCQ, else inferred."""
    if answer_type:
        try:
            return AnswerType(str(answer_type).strip().lower())
        except ValueError:
            from cadsynth.seeds import normalise_answer_type

            try:
                found = normalise_answer_type(answer_type)
            except ValueError:
                found = None
            if found is not None:
                return found
    if _MCQ_TRUTH.match(ground_truth.strip()):
        return AnswerType.MCQ
    from cadsynth.seeds import infer_answer_type

    return infer_answer_type(ground_truth.strip()) or AnswerType.TEXT


def _choices(value: Any) -> dict[str, str] | None:
    if not value:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    if isinstance(value, Mapping):
        return {str(k).strip().upper(): str(v) for k, v in value.items() if v is not None} or None
    if isinstance(value, Sequence):
        return {chr(ord("A") + i): str(v) for i, v in enumerate(value)} or None
    return None


def _strip_tex(text: str) -> str:
    text = text.strip().strip("$").strip()
    for _ in range(3):
        text = _TEX_WRAPPERS.sub(r"\1", text)
    return text.strip()


_mv_state: dict[str, Any] = {}


def _math_verify() -> tuple[Any, Any, Any] | None:
    """(parse, verify, extraction configs) of math-verify, or None when it is not installed."""
    if "mod" not in _mv_state:
        try:
            from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

            _mv_state["mod"] = (parse, verify, [LatexExtractionConfig(), ExprExtractionConfig()])
        except ImportError:
            _mv_state["mod"] = None
    return _mv_state["mod"]


def _math_verify_version() -> str | None:
    try:
        return importlib.metadata.version("math-verify") if _math_verify() else None
    except importlib.metadata.PackageNotFoundError:
        return None


def matcher_info() -> dict[str, Any]:
    """What graded the answers: cadsynth.answers' version, this module's, and math-verify's (None if absent)."""
    return {"answers": MATCHER_VERSION, "rewards": REWARDS_VERSION, "math_verify": _math_verify_version()}


def _latex(text: str) -> str:
    """Unicode math to LaTeX for math-verify (which reads ``2√5`` as 2), wrapped in ``$…$``."""
    text = _strip_tex(text)
    text = re.sub(r"√\s*\{", r"\\sqrt{", text)
    text = re.sub(r"√\s*\(([^()]*)\)", r"\\sqrt{\1}", text)
    text = re.sub(r"√\s*([0-9.]+|[A-Za-z])", r"\\sqrt{\1}", text)
    text = text.replace("π", "\\pi ").replace("°", "^\\circ").replace("\u2212", "-").replace("×", "\\times ")
    return f"${text}$"


def _mathy(text: str) -> bool:
    """Worth asking math-verify: short, with a digit or a TeX command, and no words."""
    if len(text) > _MATH_VERIFY_MAX_CHARS or not re.search(r"[\d\\√π]", text):
        return False
    return not re.search(r"[A-Za-z]{3,}", re.sub(r"\\[A-Za-z]+", " ", _TEX_WRAPPERS.sub(" ", text)))


def _math_verify_equal(candidate: str, reference: str) -> bool:
    found = _math_verify()
    if found is None or not (_mathy(candidate) and _mathy(reference)):
        return False
    parse, verify, configs = found
    # math-verify times out with SIGALRM, which only the main thread may use; elsewhere run without a timeout
    timeout = 5 if threading.current_thread() is threading.main_thread() else None
    try:
        gold = parse(_latex(reference), extraction_config=configs, parsing_timeout=timeout)
        pred = parse(_latex(candidate), extraction_config=configs, parsing_timeout=timeout)
        return bool(gold and pred and verify(gold, pred, timeout_seconds=timeout))
    except Exception:  # noqa: BLE001 - a parser failure means "not shown equal", never a crash in a trainer
        return False


def is_correct(
    candidate: str | None,
    ground_truth: Any,
    answer_type: AnswerType | str | None = None,
    choices: Mapping[str, str] | Sequence[str] | str | None = None,
) -> bool:
    """Whether an extracted answer means the ground truth (``cadsynth.answers``, then math-verify if present)."""
    if candidate is None or ground_truth is None or not str(candidate).strip():
        return False
    reference = str(ground_truth).strip()
    kind = answer_kind(reference, answer_type)
    options = _choices(choices)
    if kind is AnswerType.MCQ:
        truth = _MCQ_TRUTH.match(reference)
        reference = truth.group(1).upper() if truth else reference.upper()
        return any(
            letter(c, options) == reference for c in dict.fromkeys((candidate, _strip_tex(candidate))) if c
        )
    if equivalent(candidate, reference, kind) or equivalent(_strip_tex(candidate), reference, kind):
        return True
    if kind is AnswerType.INTEGER:  # math-verify rounds floats; an integer answer is exact
        return False
    if normalise(candidate) in ("", "none"):
        return False
    return _math_verify_equal(candidate, reference)


def accuracy_score(
    response: str,
    ground_truth: Any,
    answer_type: AnswerType | str | None = None,
    choices: Mapping[str, str] | Sequence[str] | str | None = None,
) -> float:
    """1.0 when the reply's final answer means the ground truth, else 0.0."""
    return 1.0 if is_correct(final_answer(_text_of(response)), ground_truth, answer_type, choices) else 0.0


def score(
    response: str,
    ground_truth: Any,
    format_weight: float = FORMAT_WEIGHT,
    answer_type: AnswerType | str | None = None,
    choices: Mapping[str, str] | Sequence[str] | str | None = None,
) -> dict[str, float]:
    """``{"overall", "format", "accuracy"}``: overall = (1 - format_weight) * accuracy + format_weight * format."""
    text = _text_of(response)
    accuracy = accuracy_score(text, ground_truth, answer_type, choices)
    fmt = format_score(text)
    return {"overall": (1.0 - format_weight) * accuracy + format_weight * fmt, "format": fmt, "accuracy": accuracy}


# ---------------------------------------------------------------------------------------------- trainers


def easyr1_compute_score(
    reward_inputs: list[dict[str, Any]] | dict[str, Any] | str,
    ground_truth: str | None = None,
    format_weight: float = FORMAT_WEIGHT,
) -> list[dict[str, float]] | dict[str, float]:
    """EasyR1: a batch (list of ``{"response", "ground_truth"}``), one such dict, or (response, ground_truth)."""
    if isinstance(reward_inputs, list):
        return [easyr1_compute_score(item, format_weight=format_weight) for item in reward_inputs]  # type: ignore[misc]
    if isinstance(reward_inputs, Mapping):
        return score(
            reward_inputs["response"],
            reward_inputs["ground_truth"],
            format_weight,
            reward_inputs.get("answer_type"),
            reward_inputs.get("choices"),
        )
    if ground_truth is None:
        raise TypeError("compute_score(predict_str, ground_truth) needs the ground truth")
    return score(reward_inputs, ground_truth, format_weight)


def verl_compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    format_weight: float = FORMAT_WEIGHT,
    **_: Any,
) -> float:
    """verl: the overall score of one reply as a float."""
    extra = extra_info if isinstance(extra_info, Mapping) else {}
    if isinstance(ground_truth, Mapping):  # reward_model dict passed whole
        ground_truth = ground_truth.get("ground_truth")
    return score(solution_str, ground_truth, format_weight, extra.get("answer_type"), extra.get("choices"))[
        "overall"
    ]


def compute_score(*args: Any, **kwargs: Any) -> Any:
    """EasyR1's or verl's reward entry point, told apart by the arguments (see the module docstring)."""
    if "solution_str" in kwargs or "data_source" in kwargs or len(args) >= 3:
        return verl_compute_score(*args, **kwargs)
    if not args:
        for name in ("reward_inputs", "reward_input", "predict_str", "response"):
            if name in kwargs:
                args = (kwargs.pop(name),)
                break
    if not args:
        raise TypeError("compute_score needs reward inputs (EasyR1) or solution_str (verl)")
    return easyr1_compute_score(*args, **kwargs)


def _column(values: Any, n: int) -> list[Any]:
    if values is None:
        return [None] * n
    if isinstance(values, str) or not isinstance(values, Sequence):
        return [values] * n
    return list(values)


def accuracy_reward(completions: list[Any], answer: list[Any] | None = None, **kwargs: Any) -> list[float]:
    """TRL reward function: 1.0 per completion whose final answer means the row's ``answer``."""
    if answer is None:
        answer = kwargs.get("solution") or kwargs.get("ground_truth")
    if answer is None:
        raise ValueError("accuracy_reward needs an 'answer' column in the dataset")
    n = len(completions)
    types, choices = _column(kwargs.get("answer_type"), n), _column(kwargs.get("choices"), n)
    return [
        accuracy_score(_text_of(c), a, t, ch)
        for c, a, t, ch in zip(completions, _column(answer, n), types, choices, strict=True)
    ]


def format_reward(completions: list[Any], **kwargs: Any) -> list[float]:
    """TRL reward function: 1.0 per completion in the ``<think>…</think>`` then ``\\boxed{}`` format."""
    return [format_score(_text_of(c)) for c in completions]
