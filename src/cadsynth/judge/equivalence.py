"""The optional LLM equivalence check: asked only where the rules (`answers.match`) find a judge's open answer
unequal to the reference. Its verdict is recorded on the vote (`matched_by: llm`); it is never a judge."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from pydantic import BaseModel

from cadsynth.answers import match
from cadsynth.config import ModelEndpoint
from cadsynth.executor import CallError, Executor
from cadsynth.generate.base import Draft
from cadsynth.judge.base import Reply
from cadsynth.llm import ModelClient, user
from cadsynth.prompts import load
from cadsynth.records import AnswerType
from cadsynth.store import RequestCache


class Verdict(BaseModel):
    equivalent: bool


class Equivalence:
    def __init__(self, endpoint: ModelEndpoint | None, executor: Executor, cache: RequestCache | None):
        self.client = ModelClient(endpoint, executor, cache) if endpoint else None
        self.template = load("equivalence")

    async def settle(self, replies: list[list[Reply]], drafts: list[Draft]) -> list[list[Reply]]:
        """The replies, with the equivalence model's verdict on each open answer the rules call unequal."""
        if self.client is None:
            return replies
        return [list(await asyncio.gather(*(self._settle(r, d) for r, d in zip(row, drafts, strict=True))))
                for row in replies]

    async def _settle(self, reply: Reply, draft: Draft) -> Reply:
        doubtful = (reply.extracted and reply.error is None and reply.abstain is None and not reply.skipped
                    and draft.answer_type is not AnswerType.MCQ
                    and match(reply.extracted, draft.answer, draft.answer_type) is None)
        if not doubtful:
            return reply
        fields = {"question": draft.question, "reference": draft.answer, "candidate": reply.extracted}
        completions = self.client.endpoint.api == "completions"
        request = self.template.one_shot(**fields) if completions else [user(self.template.fill(**fields))]
        try:
            verdict = await self.client.structured(request, Verdict)
        except CallError:
            return reply  # no verdict: the rules' answer stands
        if verdict.value is None:
            return reply
        return replace(reply, llm_equivalent=verdict.value.equivalent, usage=reply.usage + verdict.original_usage)

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
