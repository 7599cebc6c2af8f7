"""Adversarial context optimisation for LLM members: a reflector model reads the round's disagreements and
rewrites the seed's guidance (toward harder reasoning, never toward ambiguity, missing evidence or wrong labels).

The guidance is part of the seed's generation context, versioned in the run store with the reflector's call.
A failed reflection keeps the previous guidance and records why.
"""

from __future__ import annotations

from pydantic import BaseModel

from cadsynth.config import ModelEndpoint
from cadsynth.executor import CallError, Executor
from cadsynth.llm import ModelClient, user
from cadsynth.prompts import load
from cadsynth.records import Partition, Sample, Step, Verdict
from cadsynth.store import RequestCache, RunStore

CASES_SHOWN = 6  # disagreements shown to the reflector per seed and round


class Reflection(BaseModel):
    guidance: str
    rationale: str = ""


def capped(text: str, limit: int) -> str:
    """At most `limit` characters, cut at the last sentence end that fits."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind(".\n"))
    return cut[: end + 1] if end > limit // 2 else cut.rstrip()


def describe(sample: Sample) -> str:
    options = "".join(f"\n   {k}. {v}" for k, v in (sample.choices or {}).items())
    votes = "; ".join(f"{v.judge}: {v.extracted!r} ({v.verdict.value})" for v in sample.judgement.votes
                      if v.verdict in (Verdict.CORRECT, Verdict.WRONG)) if sample.judgement else ""
    return f"- Question: {sample.question}{options}\n  Reference: {sample.answer}\n  Judges: {votes}"


class Reflector:
    def __init__(self, endpoint: ModelEndpoint, executor: Executor, cache: RequestCache | None, max_chars: int):
        self.client = ModelClient(endpoint, executor, cache)
        self.template = load("reflect")
        self.max_chars = max_chars

    async def reflect(self, guidance: str, samples: list[Sample], store: RunStore) -> tuple[str, Step | None]:
        """The new guidance from a round's samples of one seed (unchanged, with no step, when none disagreed)."""
        cases = [s for s in samples if s.partition is Partition.ADVERSARIAL][:CASES_SHOWN]
        if not cases:
            return guidance, None
        fields = {"guidance": guidance or "(none yet)", "cases": "\n".join(describe(s) for s in cases),
                  "max_chars": self.max_chars}
        if self.client.endpoint.api == "completions":
            request = self.template.one_shot(**fields)
        else:
            images = [store.image_path(s.image).read_bytes() for s in cases if s.image] if self.client.endpoint.vision else []
            request = [user(self.template.fill(**fields), images)]
        try:
            reply = await self.client.structured(request, Reflection)
        except CallError as exc:
            return guidance, Step(name="reflect", template=self.template.id, error=exc.reason)
        step = Step(name="reflect", template=self.template.id, raw=reply.text, error=reply.error,
                    usage=reply.original_usage)
        if reply.value is None or not reply.value.guidance.strip():
            return guidance, step.model_copy(update={"error": reply.error or "empty guidance"})
        return capped(reply.value.guidance, self.max_chars), step

    async def aclose(self) -> None:
        await self.client.aclose()
