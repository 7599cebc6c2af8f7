"""A judge behind an OpenAI-compatible endpoint: answers the image and question blind, in an extractable form.

The judge sees the image, the question and its options, never the reference, the solution or the visual spec.
A text-only model (caption mode) answers from a description of the image that a vision judge writes; the
caption is recorded with the vote. A failed call is a recorded error (not counted in K), never a crash.
"""

from __future__ import annotations

import asyncio

from cadsynth.answers import extract, letter
from cadsynth.config import EndpointJudgeConfig
from cadsynth.executor import CallError, Executor
from cadsynth.images import png_bytes
from cadsynth.judge.base import JudgeItem, Reply
from cadsynth.llm import ModelClient, user
from cadsynth.prompts import load
from cadsynth.records import Usage, stable_hash
from cadsynth.store import RequestCache

MCQ_FORM = "the letter of the correct option (A, B, C or D)."
OPEN_FORM = "only the answer: a number with its unit if it has one, a short expression, or a word."


class EndpointJudge:
    def __init__(self, config: EndpointJudgeConfig, executor: Executor, cache: RequestCache | None,
                 captioner: EndpointJudge | None = None):
        self.name = config.name
        self.config = config
        self.client = ModelClient(config.model, executor, cache)
        self.template = load("judge")
        self.caption_template = load("caption")
        self.captioner = captioner
        endpoint = config.model
        self.fingerprint = stable_hash(endpoint.model, endpoint.api,
                                       endpoint.max_tokens, endpoint.temperature, self.template.sha256,
                                       captioner.fingerprint if captioner else None)

    @property
    def template_ids(self) -> dict[str, str]:
        return {t.id: t.sha256 for t in (self.template, self.caption_template)}

    async def answer(self, items: list[JudgeItem]) -> list[Reply]:
        return list(await asyncio.gather(*(self._answer(item) for item in items)))

    async def caption(self, png: bytes) -> tuple[str, Usage]:
        """A description of an image for a text-only judge (the same image is described once: request cache)."""
        reply = await self.client.chat([user(self.caption_template.fill(), [png])])
        return reply.text.strip(), reply.original_usage

    async def _answer(self, item: JudgeItem) -> Reply:
        caption, spent = None, Usage()
        png = png_bytes(item.image) if item.image is not None and not item.blind else None
        try:
            if png is not None and self.captioner is not None:
                caption, spent = await self.captioner.caption(png)
            text = self._prompt(item, caption)
            if self.config.model.api == "completions":
                reply = await self.client.complete(self.template.one_shot(**text))
            else:
                images = [png] if png is not None and self.captioner is None and self.config.model.vision else []
                reply = await self.client.chat([user(self.template.fill(**text), images)])
        except CallError as exc:
            return Reply(raw="", extracted=None, error=exc.reason, caption=caption, usage=spent)
        found = extract(reply.text)
        if found is not None and item.choices:
            found = letter(found, item.choices) or found
        return Reply(raw=reply.text, extracted=found, caption=caption, usage=spent + reply.original_usage)

    def _prompt(self, item: JudgeItem, caption: str | None) -> dict[str, str]:
        if caption is not None:
            block = f"You cannot see the image; here is a precise description of it:\n{caption}\n"
        elif item.blind or item.image is None:
            block = "(The image is not available; answer as well as you can.)\n"
        else:
            block = ""
        options = "\n".join(f"{k}. {v}" for k, v in item.choices.items()) if item.choices else ""
        return {"answer_form": MCQ_FORM if item.choices else OPEN_FORM, "caption_block": block,
                "question": item.question, "options": f"Options:\n{options}" if options else ""}

    async def aclose(self) -> None:
        await self.client.aclose()
