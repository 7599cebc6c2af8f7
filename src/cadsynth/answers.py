"""Answer extraction and equivalence: the one matcher used by judges, rewards and evaluation.

Order of tests: multiple-choice letters; exact match after normalisation; numbers (with units, percent,
fractions and surds such as ``2√5`` or ``2\\sqrt{5}``) within a relative tolerance; for expressions, symbolic
equivalence with math-verify; otherwise unequal. `match` says which test succeeded, for the record.
"""

from __future__ import annotations

import logging
import math
import re
import threading

from cadsynth.records import AnswerType

MATCHER_VERSION = "2"
REL_TOL = 1e-4

_BOXED = re.compile(r"\\boxed\s*\{")
_ANSWER_LINE = re.compile(r"(?:final answer|answer)\s*\**\s*(?:is\b\s*:?|:)\s*(.+)", re.IGNORECASE)
_LETTER = re.compile(r"^\(?\s*([A-Ea-e])\s*\)?(?:[.:)]|\s|$)")
_BARE_LETTER = re.compile(r"^\(?\s*([A-Ea-e])\s*\)?[.:]?$")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)"
_SURD = re.compile(rf"^({_NUMBER}|[-+])?\s*\*?\s*(?:√|\\sqrt)\s*\{{?\s*({_NUMBER})\s*\}}?$")
_FRAC = re.compile(rf"^(?:\\[dt]?frac\s*\{{\s*({_NUMBER})\s*\}}\s*\{{\s*({_NUMBER})\s*\}}|({_NUMBER})\s*/\s*({_NUMBER}))$")
_UNIT = re.compile(rf"^({_NUMBER})\s*([a-zA-Zμ°Ωω][a-zA-Z°Ωω²³]{{0,11}}(?:[/·][a-zA-Z°Ωω²³]{{1,8}})?\.?|\\?%|%)?$")
_SCALE_WORDS = {"dozen", "hundred", "thousand", "million", "billion", "trillion"}  # not units: "2 million" is not 2


def extract(reply: str) -> str | None:
    """The final answer in a reply: the last ``\\boxed{}``, else an "answer is/:" line, else the last line."""
    text = reply.strip()
    if not text:
        return None
    boxed = _last_boxed(text)
    if boxed is not None:
        return boxed.strip() or None
    for line in reversed(text.splitlines()):
        match = _ANSWER_LINE.search(line)
        if match:
            return match.group(1).strip().strip("*").strip().rstrip(".") or None
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
    text = text.strip().rstrip(".").strip().strip("$").strip().replace("\u2212", "-")
    text = re.sub(r"^\\[(\[]\s*(.*?)\s*\\[)\]]$", r"\1", text)
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
        coefficient = surd.group(1) or ""
        coefficient += "1" if coefficient in ("", "-", "+") else ""
        return float(coefficient) * math.sqrt(float(surd.group(2))), ""
    frac = _FRAC.match(t)
    if frac:
        num, den = (frac.group(1), frac.group(2)) if frac.group(1) else (frac.group(3), frac.group(4))
        return (float(num) / float(den), "") if float(den) else None
    unit = _UNIT.match(t)
    if unit and unit.group(2) not in _SCALE_WORDS:
        return float(unit.group(1)), (unit.group(2) or "").replace("\\", "").rstrip(".")
    return None


def letter(text: str, choices: dict[str, str] | None = None) -> str | None:
    """The option letter a reply names ("C", "(C)", "C. 40", "option C"), or the letter whose text it gives."""
    t = text.strip()
    t = re.sub(r"^(?:option|choice|answer)\s*:?\s*", "", t, flags=re.IGNORECASE)
    bare = _BARE_LETTER.match(t)
    if bare and (choices is None or bare.group(1).upper() in choices):
        return bare.group(1).upper()
    if choices:  # an option's text, before a letter followed by other words ("a triangle" is not option A)
        for key, option in choices.items():
            if option and equivalent(t, option, AnswerType.TEXT):
                return key
    match = _LETTER.match(t)
    if match and (choices is None or match.group(1).upper() in choices):
        return match.group(1).upper()
    return None


def _numbers_equal(a: tuple[float, str], b: tuple[float, str], rel_tol: float = REL_TOL) -> bool:
    (x, ux), (y, uy) = a, b
    if ux and uy and ux != uy:
        return False
    if math.isclose(x, y, rel_tol=rel_tol, abs_tol=1e-9):
        return True
    if (ux == "%") != (uy == "%"):  # 63% and 0.63
        scaled = (x / 100, y) if ux == "%" else (x, y / 100)
        return math.isclose(*scaled, rel_tol=rel_tol, abs_tol=1e-9)
    return False


def equivalent(candidate: str | None, reference: str, answer_type: AnswerType | str,
               choices: dict[str, str] | None = None) -> bool:
    """Whether a candidate answer means the same as the reference."""
    return match(candidate, reference, answer_type, choices) is not None


def match(candidate: str | None, reference: str, answer_type: AnswerType | str,
          choices: dict[str, str] | None = None) -> str | None:
    """How a candidate was found equivalent to the reference (letter, exact, numeric, math-verify), or None."""
    if candidate is None or not candidate.strip():
        return None
    kind = AnswerType(answer_type)
    if kind is AnswerType.MCQ:
        return "letter" if letter(candidate, choices) == reference.strip().upper() else None
    if normalise(candidate) == normalise(reference):
        return "exact"
    a, b = number(candidate), number(reference)
    if a is not None and b is not None:
        exact = kind is AnswerType.INTEGER  # 10001 is not 10000, whatever the tolerance
        return "numeric" if _numbers_equal(a, b, 0.0 if exact else REL_TOL) else None
    if kind is AnswerType.EXPRESSION and _math_verify(candidate, reference):
        return "math-verify"
    return None


def _math_verify(candidate: str, reference: str) -> bool:
    """Symbolic equivalence of LaTeX or plain expressions with math-verify (an answer it cannot parse is unequal)."""
    try:
        from math_verify import parse, verify
    except ImportError:  # pragma: no cover - math-verify is a default dependency
        return False

    # math-verify's timeouts use SIGALRM, which works in the main thread only
    seconds = 5 if threading.current_thread() is threading.main_thread() else None
    logging.getLogger("math_verify").setLevel(logging.ERROR)

    def parsed(text: str) -> list:
        text = text.strip()
        return parse(text if text.startswith("$") else f"${text}$", parsing_timeout=seconds)

    try:
        gold, answer = parsed(reference), parsed(candidate)
        return bool(gold and answer and verify(gold, answer, timeout_seconds=seconds))
    except Exception:  # math-verify raises on exotic input; unequal is the safe verdict
        return False
