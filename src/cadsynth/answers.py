"""Answer extraction and equivalence: the one matcher used by judges, rewards and evaluation.

Order of tests: multiple-choice letters; exact match after normalisation; numbers (with units, percent,
fractions and surds such as ``2√5`` or ``2\\sqrt{5}``) within a relative tolerance; otherwise unequal.
"""

from __future__ import annotations

import math
import re

from cadsynth.records import AnswerType

MATCHER_VERSION = "1"
REL_TOL = 1e-4

_BOXED = re.compile(r"\\boxed\s*\{")
_ANSWER_LINE = re.compile(r"(?:final answer|answer)\s*(?:is|:)\s*(.+)", re.IGNORECASE)
_LETTER = re.compile(r"^\(?\s*([A-Ea-e])\s*\)?(?:[.:)]|\s|$)")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)"
_SURD = re.compile(rf"^({_NUMBER})?\s*\*?\s*(?:√|\\sqrt)\s*\{{?\s*({_NUMBER})\s*\}}?$")
_FRAC = re.compile(rf"^(?:\\[dt]?frac\s*\{{\s*({_NUMBER})\s*\}}\s*\{{\s*({_NUMBER})\s*\}}|({_NUMBER})\s*/\s*({_NUMBER}))$")
_UNIT = re.compile(rf"^({_NUMBER})\s*([a-zA-Z°Ω]{{1,4}}\.?|\\?%|%)?$")


def extract(reply: str) -> str | None:
    """The final answer in a reply: the last ``\\boxed{}``, else an "answer is/:" line, else the last line."""
    text = reply.strip()
    if not text:
        return None
    boxed = _last_boxed(text)
    if boxed is not None:
        return boxed.strip()
    for line in reversed(text.splitlines()):
        match = _ANSWER_LINE.search(line)
        if match:
            return match.group(1).strip().rstrip(".")
    return text.splitlines()[-1].strip()


def _last_boxed(text: str) -> str | None:
    starts = [m.end() for m in _BOXED.finditer(text)]
    if not starts:
        return None
    depth, start = 1, starts[-1]
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i]
    return None


def normalise(text: str) -> str:
    """Lower case, no TeX wrappers, spaces, trailing full stop or thousands separators."""
    text = text.strip().strip("$").strip()
    text = re.sub(r"\\(?:text|mathrm|mbox)\s*\{([^}]*)\}", r"\1", text)
    text = text.replace("\\left", "").replace("\\right", "").replace("\\,", "").replace("\\!", "")
    text = text.replace("^\\circ", "°").replace("^{\\circ}", "°").replace("\\%", "%").replace("\\pi", "π")
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    return re.sub(r"\s+", "", text).rstrip(".").lower()


def number(text: str) -> tuple[float, str] | None:
    """A numeric value and its unit ('%' for percent) or None; handles surds and fractions."""
    t = normalise(text)
    surd = _SURD.match(t)
    if surd:
        return (float(surd.group(1) or 1) * math.sqrt(float(surd.group(2)))), ""
    frac = _FRAC.match(t)
    if frac:
        num, den = (frac.group(1), frac.group(2)) if frac.group(1) else (frac.group(3), frac.group(4))
        return (float(num) / float(den), "") if float(den) else None
    unit = _UNIT.match(t)
    if unit:
        return float(unit.group(1)), (unit.group(2) or "").replace("\\", "").rstrip(".")
    return None


def letter(text: str, choices: dict[str, str] | None = None) -> str | None:
    """The option letter a reply names ("C", "(C)", "C. 40", "option C"), or the letter whose text it gives."""
    t = text.strip()
    t = re.sub(r"^(?:option|choice|answer)\s*", "", t, flags=re.IGNORECASE)
    match = _LETTER.match(t)
    if match and (choices is None or match.group(1).upper() in choices):
        return match.group(1).upper()
    if choices:
        for key, option in choices.items():
            if option and equivalent(t, option, AnswerType.TEXT):
                return key
    return None


def _numbers_equal(a: tuple[float, str], b: tuple[float, str]) -> bool:
    (x, ux), (y, uy) = a, b
    if ux and uy and ux != uy:
        return False
    if math.isclose(x, y, rel_tol=REL_TOL, abs_tol=1e-9):
        return True
    if (ux == "%") != (uy == "%"):  # 63% and 0.63
        scaled = (x / 100, y) if ux == "%" else (x, y / 100)
        return math.isclose(*scaled, rel_tol=REL_TOL, abs_tol=1e-9)
    return False


def equivalent(candidate: str | None, reference: str, answer_type: AnswerType | str,
               choices: dict[str, str] | None = None) -> bool:
    """Whether a candidate answer means the same as the reference."""
    if candidate is None or not candidate.strip():
        return False
    if AnswerType(answer_type) is AnswerType.MCQ:
        return letter(candidate, choices) == reference.strip().upper()
    if normalise(candidate) == normalise(reference):
        return True
    a, b = number(candidate), number(reference)
    return a is not None and b is not None and _numbers_equal(a, b)
