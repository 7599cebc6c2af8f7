"""A synthetic run directory, written through the store API: for the report's tests, benchmark and demos.

It has everything a real run has (manifest, seeds with images, committed units over several rounds, contexts,
state), with the variety the report must show: every partition, C of K from 0/0 to K/K, abstentions and failed
calls, discards for several reasons, open and multiple-choice questions, program and LLM-style members and
contexts. Nothing here is a model: answers and votes are drawn from a seeded RNG.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image, ImageDraw

from cadsynth.records import (
    AnswerType,
    Check,
    ImageRef,
    ImageSource,
    Judgement,
    Partition,
    Provenance,
    Sample,
    Seed,
    SeedProblem,
    Strategy,
    Usage,
    Verdict,
    Vote,
    stable_hash,
)
from cadsynth.store import RunStore

FAMILIES = {"bars": "chart", "grid": "geometry", "shapes": "counting"}
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"]
LLM_TEXT = [
    "You write hard but answerable questions about the image.\nPrefer questions that need two reading steps.\n"
    "Never ask about text that is not visible.",
    "You write hard but answerable questions about the image.\nPrefer questions that need two reading steps.\n"
    "Ask for differences and ratios rather than single values.\nNever ask about text that is not visible.",
    "You write hard but answerable questions about the image.\nAsk for differences and ratios rather than single "
    "values.\nUse distractors that differ by one gridline.\nNever ask about text that is not visible.",
]


def png(rng: random.Random, width: int = 160, height: int = 120) -> bytes:
    """A small chart-like picture: a few coloured bars on a white background."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    bars = rng.randint(3, 6)
    step = (width - 20) // bars
    for i in range(bars):
        top = rng.randint(15, height - 15)
        draw.rectangle([12 + i * step, top, 12 + i * step + step - 6, height - 10], fill=rng.choice(COLOURS))
    draw.line([10, height - 10, width - 5, height - 10], fill="black")
    draw.line([10, 5, 10, height - 10], fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _program_context(version: int, families: list[str]) -> dict:
    tilt = min(version, 5) * 0.04
    strategies = [s.value for s in Strategy]
    strategy = {s: 0.25 + (tilt if i == 1 else -tilt / 3) for i, s in enumerate(strategies)}
    difficulty = {f: {"1": round(1 / 3 - tilt, 4), "2": 1 / 3, "3": round(1 / 3 + tilt, 4)} for f in families}
    return {"version": version, "strategy": strategy, "transfer": {f: 1 / len(families) for f in families},
            "difficulty": difficulty, "note": "uniform start" if version == 0 else f"step {version}"}


def make_run(path: Path, samples: int = 300, rounds: int = 3, seeds: int = 12, images: int = 40,
             judges: tuple[str, ...] = ("judge-a", "judge-b", "judge-c"), llm_member: bool = True,
             finished: bool = True, external_seed_image: Path | None = None, rng_seed: int = 0) -> RunStore:
    """Write a run of about `samples` samples spread over `rounds` rounds and `seeds` seeds into `path`.

    `external_seed_image`: a folder outside the run where one seed's image is put (seed pools from files keep
    their images where they are), so the report must copy it.
    """
    rng = random.Random(rng_seed)
    store = RunStore.open(path)
    families = list(FAMILIES)
    members = ["program", "writer"] if llm_member else ["program"]
    store.write_json("manifest.json", {
        "name": Path(path).name,
        "config": {"name": Path(path).name, "seeds": {"source": "program"}, "context": {"scope": "global"},
                   "generators": [{"kind": "program", "name": "program"}]
                   + ([{"kind": "llm", "name": "writer"}] if llm_member else []),
                   "judges": [{"kind": "local", "name": j} for j in judges],
                   "loop": {"max_rounds": rounds}},
        "fingerprint": {}, "versions": {"cadsynth": "synthetic"}, "judge_weights": {}, "templates": {},
    })
    refs: list[ImageRef] = [store.put_image(png(rng)) for _ in range(images)]
    seed_list: list[Seed] = []
    for i in range(seeds):
        family = families[i % len(families)]
        image = str((store.path / refs[i % len(refs)].path).resolve())
        if external_seed_image is not None and i == 0:
            external_seed_image.mkdir(parents=True, exist_ok=True)
            outside = external_seed_image / "seed-outside.png"
            outside.write_bytes(png(rng))
            image = str(outside.resolve())
        seed_list.append(Seed(id=f"{family}-{i:03d}", source="program", question=f"Seed question {i} about the "
                              f"{family} picture: what is the largest value?", answer=str(10 * (i + 1)),
                              answer_type=AnswerType.INTEGER, image=image, domain=FAMILIES[family],
                              meta={"program": {"family": family}}))
    store.write_seeds(seed_list, [SeedProblem(seed_id="broken-001", source="program", reason="image unreadable")])

    for version in range(rounds + 1):
        store.write_context("global", version, _program_context(version, families))
        if llm_member:
            store.write_context("writer", version, {"version": version, "member": "writer",
                                                    "text": LLM_TEXT[min(version, len(LLM_TEXT) - 1)]})

    per_round = max(1, samples // rounds)
    n = 0
    for round_ in range(1, rounds + 1):
        count = per_round if round_ < rounds else samples - per_round * (rounds - 1)
        per_seed = [count // seeds + (1 if i < count % seeds else 0) for i in range(seeds)]
        for seed, k in zip(seed_list, per_seed, strict=True):
            unit = [_sample(rng, n + j, seed, round_, members, judges, refs) for j in range(k)]
            n += k
            store.commit_unit(round_, f"r{round_}:{seed.id}", unit)
    store.write_json("state.json", {"finished": finished, "stop_reason": "max_rounds reached" if finished else None,
                                    "rounds": rounds, "generated": n})
    store.event("synthetic", detail="made by cadsynth.report.synthetic")
    return store


def _sample(rng: random.Random, n: int, seed: Seed, round_: int, members: list[str], judges: tuple[str, ...],
            refs: list[ImageRef]) -> Sample:
    member = members[n % len(members)]
    strategy = rng.choice(list(Strategy))
    family = rng.choice(list(FAMILIES)) if strategy is Strategy.ISOMORPHIC_TRANSFER else seed.meta["program"]["family"]
    difficulty = rng.choice((1, 2, 3))
    mcq = rng.random() < 0.25
    value = rng.randint(1, 12) * 10
    choices = None
    if mcq:
        letters = "ABCD"
        right = rng.randrange(4)
        options = [value + 10 * (i - right) for i in range(4)]
        choices = {letters[i]: str(options[i]) for i in range(4)}
        answer = letters[right]
    else:
        answer = str(value)
    question = rng.choice([
        f"What is the value of bar {rng.randint(1, 6)} in the {family} picture?",
        f"How much greater is the largest value than the smallest, in units of {rng.choice([1, 5, 10])}?",
        f"How many elements exceed {rng.randint(1, 9) * 10}?",
        f"What is the total of all {rng.randint(3, 6)} values shown?",
    ]) + (" Choose one option." if mcq else "")
    provenance = Provenance(seed_id=seed.id, member=member, strategy=strategy, round=round_,
                            context_version=round_ - 1, index=n, parent_id=seed.id,
                            image_source=ImageSource(kind="program", program=family,
                                                     params={"family": family, "scene": {"values": [value]}})
                            if member == "program" else ImageSource(kind="code", language="matplotlib",
                                                                    code="plt.bar(range(4), values)"))
    common = dict(id=stable_hash("synthetic", n), provenance=provenance, question=question, choices=choices,
                  answer=answer, answer_type=AnswerType.MCQ if mcq else AnswerType.INTEGER,
                  solution=f"Reading the picture, the answer is {answer}.", domain=FAMILIES[family], family=family,
                  difficulty=difficulty, knobs={"bars": [3, 6], "vmax": 120}, question_kind="read")
    if rng.random() < 0.03:  # a render failure: no image, never judged
        return Sample(**common, partition=Partition.DISCARDED,
                      discard_reasons=["render_failed: ValueError: empty scene"])
    image = refs[rng.randrange(len(refs))]
    votes = []
    for judge in judges:
        roll = rng.random()
        if roll < 0.08:
            votes.append(Vote(judge=judge, raw="", extracted=None, verdict=Verdict.ABSTAIN,
                              reason=f"cannot see {family}/read: held-out accuracy 0.40 vs blank image 0.41"))
        elif roll < 0.10:
            votes.append(Vote(judge=judge, raw="", extracted=None, verdict=Verdict.ERROR,
                              reason="TimeoutError: no reply in 120 s"))
        else:
            right = rng.random() < 0.55 + 0.1 * (3 - difficulty)
            if mcq:
                extracted = answer if right else rng.choice([c for c in "ABCD" if c != answer])
            else:
                extracted = answer if right else str(value + 10 * rng.choice([-2, -1, 1, 2]))
            usage = Usage(prompt_tokens=180, completion_tokens=12, cost_usd=0.00002, calls=1)
            votes.append(Vote(judge=judge, raw=f"The answer is {extracted}.", extracted=extracted,
                              verdict=Verdict.CORRECT if right else Verdict.WRONG, usage=usage))
    counted = [v for v in votes if v.verdict in (Verdict.CORRECT, Verdict.WRONG)]
    c = sum(v.verdict is Verdict.CORRECT for v in counted)
    judgement = Judgement(votes=votes, consensus=c, k=len(counted))
    if not counted:
        partition, reasons = Partition.DISCARDED, ["no_judge_voted", *sorted({f"{v.judge}: {v.reason}" for v in votes})]
    elif c == 0:
        partition, reasons = Partition.DISCARDED, ["consensus_zero"]
    else:
        partition, reasons = (Partition.ADVERSARIAL if c < len(counted) else Partition.KEPT), []
    checks = [Check(name="answer_recomputed", passed=rng.random() > 0.02)] if member == "program" else []
    usage = sum((v.usage for v in votes), Usage())
    if member == "writer":
        usage = usage + Usage(prompt_tokens=900, completion_tokens=160, cost_usd=0.0011, calls=1)
    return Sample(**common, image=image, judgement=judgement, partition=partition, discard_reasons=reasons,
                  checks=checks, usage=usage)
