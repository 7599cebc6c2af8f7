"""Image fidelity by OCR: the labels the visual spec requires are in the image, and the answer is not.

`read_text` runs RapidOCR 3.x (its detection/recognition models ship inside the wheel; nothing is downloaded).
The engine is built lazily, once per process.

Matching rule (`match_texts`), used by both checks:

- every text is *folded* before comparison: lower case, no spaces, Unicode minus/dashes to "-", and the usual
  OCR confusables mapped to one symbol (o→0, i/l/|→1, s→5, z→2, b→8), applied to both sides, so "M0n" matches
  "Mon" and "4O" matches "40";
- matching is a multiset: a label drawn twice (the "3" tick on both axes of a grid) must be read twice;
- an OCR line that matches no required text whole is split on spaces, then at letter/digit boundaries
  ("y3" → "y", "3"; OCR merges neighbouring labels), and each piece is matched on its own; a required text of
  several words may be read as separate lines ("Sales", "(units)"); a digit string read upside down ("06" for
  "90": RapidOCR's angle classifier flips some short crops) counts as read.

`labels_visible` fails when a required text is not read. `answer_leak` fails when, after every legitimate text
has been consumed, a leftover OCR line or piece still equals the answer (folded, or numerically equal). So an
answer "40" on a bar chart whose y axis has a "40" tick is not a leak: the tick consumes the "40" the OCR reads;
a second "40" printed in the corner is. For program samples pass `Family.visible_texts(scene)` as `required`
(the renderer's own texts); for text-to-image or model-code images pass the labels the visual spec names.
For MCQ pass the option text of the correct answer, not the letter.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from functools import lru_cache

import numpy as np
from PIL import Image

from cadsynth.records import Check

MIN_CONFIDENCE = 0.3
_CONFUSABLE = str.maketrans({"o": "0", "i": "1", "l": "1", "|": "1", "s": "5", "z": "2", "b": "8",
                             "\u2212": "-", "\u2013": "-", "\u2014": "-"})
_PIECES = re.compile(r"[a-z]+|[0-9]+(?:[.,][0-9]+)?%?|[^a-z0-9\s]+")
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _engine():
    from rapidocr import RapidOCR  # optional dependency: the `checks` extra

    return RapidOCR()


def read_text(image: Image.Image, min_confidence: float = MIN_CONFIDENCE) -> list[tuple[str, float]]:
    """Every text line RapidOCR reads in the image, with its confidence, lines below `min_confidence` dropped."""
    array = np.asarray(image.convert("RGB"))
    with _lock:  # one engine per process; onnxruntime sessions are not meant to be shared mid-call
        result = _engine()(array)
    texts = result.txts or ()
    scores = result.scores or ()
    return [(str(t), float(s)) for t, s in zip(texts, scores, strict=True) if str(t).strip() and s >= min_confidence]


def fold(text: str) -> str:
    """A text in the form used for comparison (see the module docstring)."""
    return re.sub(r"\s+", "", text.strip().lower()).translate(_CONFUSABLE).strip(".:;,")


def _pieces(line: str) -> list[str]:
    out: list[str] = []
    for word in line.split():
        out.extend(_PIECES.findall(word.lower()))
    return [p for p in out if p.strip()]


def _rot180(text: str) -> str:
    """A digit string as it reads upside down ("90" -> "06"): the angle classifier sometimes flips short crops."""
    flip = {"0": "0", "1": "1", "6": "9", "8": "8", "9": "6"}
    return "".join(flip[c] for c in reversed(text)) if text and all(c in flip for c in text) else ""


def match_texts(ocr_lines: list[str], legitimate: list[str]) -> tuple[Counter, list[str]]:
    """(legitimate texts not read, as a Counter of original texts; OCR lines/pieces left unexplained)."""
    wanted: Counter = Counter()
    original: dict[str, str] = {}
    for text in legitimate:
        key = fold(text)
        if key:
            wanted[key] += 1
            original.setdefault(key, text)

    def take(key: str) -> bool:
        if key and wanted[key] > 0:
            wanted[key] -= 1
            return True
        return False

    pending = [line for line in ocr_lines if not take(fold(line))]  # pass 1: whole lines
    for key, text in list(original.items()):  # pass 2: multi-word texts OCR split in lines ("Sales" "(units)")
        words = text.split()
        if len(words) > 1 and wanted[key] > 0:
            n, wanted[key] = wanted[key], 0
            for word in words:
                wanted[fold(word)] += n
                original.setdefault(fold(word), text)
    leftover: list[str] = []
    for line in pending:
        for word in line.split():
            if take(fold(word)):
                continue
            unexplained = []
            for piece in _pieces(word):  # merged neighbours ("y3")
                k = fold(piece)
                if not (take(k) or take(_rot180(k))):
                    unexplained.append(piece)
            # a word nothing explains stays whole ("2√5"), else its unexplained pieces ("y40" -> "40")
            leftover.extend([word, *unexplained] if len(unexplained) == len(_pieces(word)) else unexplained)
    missing: Counter = Counter()
    for key, n in wanted.items():
        if n > 0:
            missing[original[key]] = max(missing[original[key]], n)
    return missing, leftover


def _same_answer(text: str, answer: str) -> bool:
    from cadsynth.answers import equivalent
    from cadsynth.records import AnswerType

    if fold(text) == fold(answer):
        return True
    return equivalent(text, answer, AnswerType.NUMBER) if re.search(r"\d", answer) else False


def fidelity(image: Image.Image, required: list[str], answer: str | None,
             ocr: list[tuple[str, float]] | None = None) -> list[Check]:
    """`labels_visible` and (when `answer` is given) `answer_leak` for one image; `ocr` reuses a reading."""
    lines = [t for t, _ in (read_text(image) if ocr is None else ocr)]
    missing, leftover = match_texts(lines, required)
    checks = [Check(name="labels_visible", passed=not missing,
                    detail=("missing: " + ", ".join(f"{t!r}" + (f" x{n}" if n > 1 else "")
                                                     for t, n in sorted(missing.items()))) if missing else None)]
    if answer is not None and answer.strip():
        whole = fold(answer)
        leaked = [t for t in leftover if _same_answer(t, answer)]
        # a multi-word answer ("sky blue") printed as one line survives as a leftover line, not a piece
        if not leaked and len(answer.split()) > 1:
            leaked = [line for line in lines if fold(line) == whole and required.count(answer) == 0]
        checks.append(Check(name="answer_leak", passed=not leaked,
                            detail=f"answer {answer!r} written in the image as {leaked[0]!r}" if leaked else None))
    return checks


def program_fidelity(family_name: str, scene: dict, png: bytes, answer: str) -> list[Check]:
    """`fidelity` of a program image against the texts its own renderer drew; module-level for a process pool."""
    import io

    from cadsynth.tasks import family

    with Image.open(io.BytesIO(png)) as image:
        return fidelity(image.convert("RGB"), family(family_name).visible_texts(scene), answer)


def image_fidelity(source: dict, png: bytes, answer: str) -> list[Check]:
    """OCR checks of any sample image: program images against their drawn texts; model-drawn images (code,
    text-to-image) only for the answer written into them, since nothing says which labels they must show."""
    if source.get("kind") == "program":
        params = source["params"]
        return program_fidelity(params["family"], params["scene"], png, answer)
    import io

    with Image.open(io.BytesIO(png)) as image:
        return [c for c in fidelity(image.convert("RGB"), [], answer) if c.name == "answer_leak"]
