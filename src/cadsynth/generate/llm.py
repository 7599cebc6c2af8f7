"""The LLM member: CAD-Generate with a language model, one call per step, each from a versioned template.

1. rationale analysis of the seed (domain, core concepts, constraints, solution rationale), once per seed and
   member; a member only ever sees its own analysis;
2. synthesis of one new problem idea with exactly one meta-strategy (assigned in turn or chosen by the model),
   following the seed's generation context (guidance) and avoiding the seed's earlier questions;
3. construction: question, task type (MCQ with options A-D and a letter, or open with a minimal answer),
   solution and a visual spec;
4. the image recipe: rendering code written by the member (run later in the sandbox) or the visual spec as a
   prompt for a text-to-image model.
Every call is recorded as a `Step`; a failed step ends the candidate with its reason, never the run.
"""

from __future__ import annotations

import asyncio
import re
from typing import Literal

from PIL import Image
from pydantic import BaseModel, Field

from cadsynth.answers import number
from cadsynth.config import LLMMemberConfig
from cadsynth.executor import CallError, Executor
from cadsynth.generate.base import Candidate, Draft, Request
from cadsynth.images import png_bytes
from cadsynth.llm import ModelClient, user
from cadsynth.prompts import Template, load
from cadsynth.records import AnswerType, ImageSource, Seed, Step, Strategy
from cadsynth.store import RequestCache

PREVIOUS_SHOWN = 12  # earlier questions of the seed listed as "do not repeat"
_FENCE = re.compile(r"```[a-zA-Z]*\s*\n(.*?)```", re.DOTALL)


class Analysis(BaseModel):
    domain: str
    core_concepts: list[str]
    constraints: list[str]
    solution_rationale: str


class Idea(BaseModel):
    strategy: str
    idea: str = Field(min_length=10)


class Construction(BaseModel):
    question: str = Field(min_length=5)
    task_type: Literal["mcq", "open"]
    options: dict[str, str] | None = None
    answer: str = Field(min_length=1)
    solution: str = ""
    visual: str = Field(min_length=5)


class Failed(Exception):
    """A step that produced nothing usable; `step` records it."""

    def __init__(self, reason: str, step: Step) -> None:
        super().__init__(reason)
        self.reason = reason
        self.step = step


def answer_type_of(answer: str) -> AnswerType:
    """How an open answer compares: integers and reals (with units), expressions (surds, LaTeX), or text."""
    parsed = number(answer)
    if parsed is not None:
        return AnswerType.INTEGER if parsed[0].is_integer() and not re.search(r"[.√/\\]", answer) else AnswerType.NUMBER
    return AnswerType.EXPRESSION if re.search(r"[\\^√π=+*/]|\d", answer) else AnswerType.TEXT


def checked(built: Construction, mcq: bool) -> tuple[str, AnswerType, dict[str, str] | None]:
    """The answer, its type and the options of a construction, or ValueError saying what is wrong."""
    if built.task_type != ("mcq" if mcq else "open"):
        raise ValueError(f"asked for task_type {'mcq' if mcq else 'open'}, got {built.task_type}")
    if not mcq:
        return built.answer.strip(), answer_type_of(built.answer.strip()), None
    options = {k.strip().upper(): str(v).strip() for k, v in (built.options or {}).items()}
    if sorted(options) != list("ABCD") or not all(options.values()):
        raise ValueError(f"an MCQ needs options A, B, C and D, got {sorted(options) or 'none'}")
    if len({v.lower() for v in options.values()}) < 4:
        raise ValueError("two options are the same")
    letter = built.answer.strip().strip("()").rstrip(".").upper()[:1]
    if letter not in options:
        raise ValueError(f"the MCQ answer must be a letter A-D, got {built.answer!r}")
    return letter, AnswerType.MCQ, options


class LLMMember:
    def __init__(self, config: LLMMemberConfig, executor: Executor, cache: RequestCache | None):
        self.name = config.name
        self.config = config
        self.client = ModelClient(config.model, executor, cache)
        self.templates = {name: load(name, config.templates) for name in
                          ("analysis", "synthesis", "construction", f"draw_{config.code_language}")}
        self._analyses: dict[str, asyncio.Task] = {}

    @property
    def template_ids(self) -> dict[str, str]:
        return {t.id: t.sha256 for t in self.templates.values()}

    async def generate(self, request: Request) -> list[Candidate]:
        return list(await asyncio.gather(*(self._candidate(request, i) for i in range(self.config.candidates))))

    async def _candidate(self, request: Request, index: int) -> Candidate:
        allowed = list(request.allowed)
        strategy = allowed[(index + request.round) % len(allowed)]
        steps: list[Step] = []
        try:
            analysis, step = await self._analysis(request.seed, request.round)
            steps.append(step)
            idea, step = await self._synthesis(request, analysis, strategy, index)
            steps.append(step)
            if self.config.strategy_choice == "model":
                strategy = Strategy(idea.strategy) if idea.strategy in set(allowed) else _refuse(
                    f"the model chose strategy {idea.strategy!r}, not one of {', '.join(allowed)}", step)
            mcq = bool(request.rng.random() < self.config.mcq_share)
            built, step = await self._call("construction", Construction, {
                "idea": idea.idea,
                "task_instruction": "Make it multiple choice: four options A-D, exactly one correct, answer = its letter."
                if mcq else "Make it open-ended: the answer is one minimal value; put any unit in the question too.",
            })
            steps.append(step)
            try:
                answer, answer_type, choices = checked(built, mcq)
            except ValueError as exc:
                raise Failed(f"construction: {exc}", step) from None
            source, step = await self._image_source(built.visual)
            if step is not None:
                steps.append(step)
        except Failed as failure:
            if failure.step not in steps:
                steps.append(failure.step)
            return Candidate(index, strategy, None, f"{failure.reason}", tuple(steps))
        draft = Draft(question=built.question.strip(), answer=answer, answer_type=answer_type, image_source=source,
                      choices=choices, solution=built.solution.strip() or None, domain=analysis.domain.strip() or None)
        return Candidate(index, strategy, draft, None, tuple(steps))

    async def _analysis(self, seed: Seed, round_: int) -> tuple[Analysis, Step]:
        """The member's own analysis of a seed, shared by its candidates of a round (later rounds replay the
        same request from the cache)."""
        key = f"{seed.id}\n{round_}"
        if key not in self._analyses:
            image = _png(seed.image) if seed.image and self.config.model.vision else None
            self._analyses[key] = asyncio.ensure_future(self._call("analysis", Analysis, {
                "question": seed.question, "answer": seed.answer or "(not given)",
                "solution": seed.solution or "(not given)", "domain": seed.domain or "(unknown)",
            }, [image] if image else []))
        return await asyncio.shield(self._analyses[key])

    async def _synthesis(self, request: Request, analysis: Analysis, strategy: Strategy, index: int) -> tuple[Idea, Step]:
        allowed = ", ".join(s.value for s in request.allowed)
        instruction = (f"Use the meta-strategy: {strategy.value}." if self.config.strategy_choice == "round_robin"
                       else f"Choose the meta-strategy yourself, one of: {allowed}.")
        previous = request.previous[-PREVIOUS_SHOWN:]
        guidance = getattr(request.context, "guidance", "") or "(none yet)"
        return await self._call("synthesis", Idea, {
            "analysis": analysis.model_dump_json(indent=1), "question": request.seed.question,
            "strategy_instruction": f"{instruction} This is round {request.round}, candidate {index + 1}: make it "
                                    "different from the other candidates.",
            "guidance": guidance, "previous": "\n".join(f"- {q}" for q in previous) or "(none)",
        })

    async def _image_source(self, visual: str) -> tuple[ImageSource, Step | None]:
        if self.config.image_route == "text_to_image":
            return ImageSource(kind="prompt", prompt=visual), None
        language = self.config.code_language
        template = self.templates[f"draw_{language}"]
        step = await self._text(template, {"visual": visual})
        code = _fenced(step.raw)
        if not code:
            raise Failed(f"drawing: no ```{language} block in the reply", step.model_copy(
                update={"error": f"no ```{language} code block"}))
        return ImageSource(kind="code", code=code, language=language, prompt=visual), step

    # -- calls ------------------------------------------------------------------------------------------------
    async def _call(self, name: str, schema: type[BaseModel], fields: dict, images: list[bytes] | None = None):
        template = self.templates[name]
        chat = self.config.model.api != "completions"
        request = [user(template.fill(**fields), images or [])] if chat else template.one_shot(**fields)
        try:
            reply = await self.client.structured(request, schema)
        except CallError as exc:
            raise Failed(f"{name}: {exc.reason}", Step(name=name, template=template.id, error=exc.reason)) from None
        step = Step(name=name, template=template.id, raw=reply.text, error=reply.error, usage=reply.original_usage)
        if reply.value is None:
            raise Failed(f"{name}: {reply.error}", step)
        return reply.value, step

    async def _text(self, template: Template, fields: dict) -> Step:
        try:
            if self.config.model.api == "completions":
                reply = await self.client.complete(template.one_shot(**fields))
            else:
                reply = await self.client.chat([user(template.fill(**fields))])
        except CallError as exc:
            raise Failed(f"{template.name}: {exc.reason}", Step(name=template.name, template=template.id,
                                                                  error=exc.reason)) from None
        return Step(name=template.name, template=template.id, raw=reply.text, usage=reply.original_usage)

    async def aclose(self) -> None:
        await self.client.aclose()


def _refuse(reason: str, step: Step) -> Strategy:
    raise Failed(f"synthesis: {reason}", step.model_copy(update={"error": reason}))


def _fenced(text: str) -> str | None:
    blocks = _FENCE.findall(text)
    return blocks[-1].strip() if blocks else None


def _png(path: str) -> bytes | None:
    """A seed image as PNG bytes (any format PIL reads), or None when it cannot be read."""
    try:
        with Image.open(path) as image:
            return png_bytes(image.convert("RGB"))
    except (OSError, ValueError):
        return None
