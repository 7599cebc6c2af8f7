"""A judge backed by an in-process tiny VLM (see `cadsynth.local`), gated by its measured skills.

The judge answers open-form (a value, never a letter) and the value is mapped to an option letter in code, as
NANO.md recommends. It abstains on questions outside its skills: (family, kind) pairs where, at training time,
it did not beat a blank-image control by a clear margin; the abstention reason carries that measurement.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from pathlib import Path

from PIL import Image

from cadsynth.answers import letter
from cadsynth.judge.base import JudgeItem, Reply
from cadsynth.local.committee import BUILTIN_DIR, SKILLS_FILE
from cadsynth.local.vlm import TinyVLM


def weights_dir(weights: str) -> Path:
    """`builtin:<name>` names a judge shipped in the package; anything else is a directory."""
    if weights.startswith("builtin:"):
        path = BUILTIN_DIR / weights.removeprefix("builtin:")
    else:
        path = Path(weights).expanduser()
    if not (path / "model.safetensors").exists():
        raise FileNotFoundError(f"no judge weights in {path} (train them with `cadsynth local train`)")
    return path


BLANK = Image.new("RGB", (448, 448), "white")  # what a local judge sees when asked without the image


class LocalJudge:
    def __init__(self, name: str, weights: str):
        self.name = name
        self.path = weights_dir(weights)
        self.vlm = TinyVLM.load(self.path)
        self.fingerprint = hashlib.sha256((self.path / "model.safetensors").read_bytes()).hexdigest()[:16]
        report = json.loads((self.path / SKILLS_FILE).read_text())
        self.skills: dict[str, dict[str, float]] = report["skills"]
        self.measured: dict[str, dict[str, float]] = report["kinds"]
        self._lock = threading.Lock()

    def _abstain_reason(self, item: JudgeItem) -> str | None:
        key = f"{item.family}/{item.kind}"
        if item.image is None:
            return "text-only question: this judge answers from an image"
        if key in self.skills:
            return None
        if key in self.measured:
            m = self.measured[key]
            significance = f", paired z {m['z']:.1f}" if "z" in m else ""
            return (f"cannot see {key}: held-out accuracy {m['accuracy']:.2f} vs blank image {m['blank']:.2f}"
                    f"{significance} at training time")
        return f"cannot see {key}: not a task this judge was trained on"

    def answer_sync(self, items: list[JudgeItem]) -> list[Reply]:
        reasons = [self._abstain_reason(item) for item in items]
        todo = [i for i, reason in enumerate(reasons) if reason is None]
        images = [BLANK if items[i].blind else items[i].image for i in todo]
        with self._lock:
            raw = self.vlm.answer(images, [items[i].question for i in todo]) if todo else []
        answers = dict(zip(todo, raw, strict=True))
        replies = []
        for i, item in enumerate(items):
            if reasons[i] is not None:
                replies.append(Reply(raw="", extracted=None, abstain=reasons[i]))
                continue
            text = answers[i]
            extracted = (letter(text, item.choices) or text) if item.choices else text
            replies.append(Reply(raw=text, extracted=extracted))
        return replies

    async def answer(self, items: list[JudgeItem]) -> list[Reply]:
        return await asyncio.to_thread(self.answer_sync, items)
