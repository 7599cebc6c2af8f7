"""Everything the report shows, computed in one pass over a run's committed units.

`collect(run_dir)` returns a `RunData`: the aggregates of the overview (funnel per round, cost and tokens per
member, consensus, strategy and domain mix, diversity proxy, judge agreement and accuracy), the compact per-sample
index that the browser filters on, the full sample records for the detail chunks, the seeds and the contexts.
"""

from __future__ import annotations

import gc
import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadsynth.answers import equivalent
from cadsynth.records import Partition, Sample, Seed, Usage, Verdict
from cadsynth.store import RunStore

PARTITIONS = [p.value for p in Partition]
VOTED = (Verdict.CORRECT, Verdict.WRONG)
MAX_FLAG_BITS = 30  # flags are a bitmask in the index; rarer flags beyond this fold into "other"
_NUMBERS = re.compile(r"\d+(?:\.\d+)?")


class NotARun(FileNotFoundError):
    pass


@dataclass
class RoundStats:
    round: int
    generated: int = 0
    kept: int = 0  # C >= 1, adversarial included
    adversarial: int = 0
    discarded: int = 0
    reasons: Counter = field(default_factory=Counter)  # discard reason category -> count
    consensus: Counter = field(default_factory=Counter)  # "C/K" -> count
    strategy: Counter = field(default_factory=Counter)
    domain: Counter = field(default_factory=Counter)
    questions: set = field(default_factory=set)
    templates: set = field(default_factory=set)
    images: set = field(default_factory=set)
    with_image: int = 0
    difficulty: dict = field(default_factory=lambda: defaultdict(list))  # family -> difficulties

    def as_dict(self) -> dict[str, Any]:
        g = self.generated or 1
        return {
            "round": self.round, "generated": self.generated, "kept": self.kept, "adversarial": self.adversarial,
            "discarded": self.discarded, "reasons": dict(self.reasons), "consensus": dict(self.consensus),
            "adversarial_share": self.adversarial / g if self.generated else 0.0,
            "kept_share": self.kept / g if self.generated else 0.0,
            "strategy": dict(self.strategy), "domain": dict(self.domain),
            "diversity": {
                "distinct_questions": len(self.questions) / g if self.generated else 0.0,
                "distinct_templates": len(self.templates) / g if self.generated else 0.0,
                "distinct_images": len(self.images) / self.with_image if self.with_image else 0.0,
            },
            "difficulty": {f: sum(v) / len(v) for f, v in sorted(self.difficulty.items()) if v},
        }


@dataclass
class RunData:
    path: Path
    summary: dict[str, Any]
    index: dict[str, Any]
    records: list[dict[str, Any]]  # full sample records, in index order, with derived fields
    seeds: dict[str, dict[str, Any]]
    seed_images: dict[str, Path]  # seed id -> image file (absolute)
    contexts: dict[str, list[dict[str, Any]]]  # key -> versions
    sample_images: set[str]  # run-relative image paths referenced by samples


class _Tally:
    """Usage added up without building a pydantic model per addition."""

    __slots__ = ("calls", "prompt_tokens", "completion_tokens", "cost_usd")

    def __init__(self) -> None:
        self.calls = self.prompt_tokens = self.completion_tokens = 0
        self.cost_usd = 0.0

    def add(self, u: Usage | _Tally, sign: int = 1) -> None:
        self.calls += sign * u.calls
        self.prompt_tokens += sign * u.prompt_tokens
        self.completion_tokens += sign * u.completion_tokens
        self.cost_usd += sign * u.cost_usd

    def as_dict(self) -> dict[str, Any]:
        return {"calls": max(0, self.calls), "prompt_tokens": max(0, self.prompt_tokens),
                "completion_tokens": max(0, self.completion_tokens), "cost_usd": max(0.0, self.cost_usd)}


def flags(sample: Sample) -> list[str]:
    """Short labels to filter on: the discard category, abstentions, failed calls, failed checks, no image."""
    out = []
    if sample.partition is Partition.DISCARDED:
        out.append((sample.discard_reasons or ["unknown"])[0].split(":")[0].strip() or "unknown")
    votes = sample.judgement.votes if sample.judgement else []
    if any(v.verdict is Verdict.ABSTAIN for v in votes):
        out.append("abstained")
    if any(v.verdict is Verdict.ERROR for v in votes):
        out.append("judge_error")
    out.extend(f"check_failed:{c.name}" for c in sample.checks if not c.passed)
    if sample.image is None:
        out.append("no_image")
    if sample.judgement is not None and sample.judgement.k >= 2:
        answers = {(v.extracted or "").strip().lower() for v in votes if v.verdict in VOTED}
        if len(answers) >= 3:
            out.append("judges_split")  # three or more different answers among the judges
    return out


def context_key_for(sample: Sample, keys: set[str]) -> str | None:
    """The context that produced a sample: per member and seed, per seed, per member, else the global one."""
    p = sample.provenance
    for key in (f"{p.member}/{p.seed_id}", p.seed_id, p.member, "global"):
        if key in keys:
            return key
    return None


class _Agreement:
    def __init__(self) -> None:
        self.agree: Counter = Counter()
        self.both: Counter = Counter()
        self._cache: dict[tuple, bool] = {}

    def add(self, sample: Sample) -> None:
        if sample.judgement is None:
            return
        voted = [v for v in sample.judgement.votes if v.verdict in VOTED and v.extracted is not None]
        for i, a in enumerate(voted):
            for b in voted[i + 1:]:
                pair = tuple(sorted((a.judge, b.judge)))
                self.both[pair] += 1
                self.agree[pair] += self._same(a.extracted, b.extracted, sample)

    def _same(self, x: str, y: str, sample: Sample) -> bool:
        if x.strip().lower() == y.strip().lower():
            return True
        key = (x, y, sample.answer_type.value, json.dumps(sample.choices, sort_keys=True) if sample.choices else "")
        if key not in self._cache:
            try:
                self._cache[key] = equivalent(x, y, sample.answer_type, sample.choices) or \
                    equivalent(y, x, sample.answer_type, sample.choices)
            except Exception:  # noqa: BLE001 - an odd answer string compares unequal
                self._cache[key] = False
        return self._cache[key]

    def matrix(self, judges: list[str]) -> dict[str, Any]:
        rate, count = [], []
        for a in judges:
            row_rate, row_count = [], []
            for b in judges:
                pair = tuple(sorted((a, b)))
                if a == b:
                    row_rate.append(1.0)
                    row_count.append(None)
                else:
                    n = self.both[pair]
                    row_rate.append(self.agree[pair] / n if n else None)
                    row_count.append(n)
            rate.append(row_rate)
            count.append(row_count)
        return {"judges": judges, "rate": rate, "count": count}


def _seed_image(seed: Seed, run: Path) -> Path | None:
    """A seed's image file; an absolute path into a moved run directory is found again under the run."""
    if not seed.image:
        return None
    path = Path(seed.image)
    if not path.is_absolute():
        path = run / path
    if path.exists():
        return path
    parts = path.parts
    for anchor in ("images", "seed_images"):
        if anchor in parts:
            candidate = run.joinpath(*parts[len(parts) - 1 - parts[::-1].index(anchor):])
            if candidate.exists():
                return candidate
    return None


def collect(run_dir: Path, live: bool = False) -> RunData:
    """Read a run once and compute everything the report shows."""
    enabled = gc.isenabled()
    gc.disable()  # hundreds of thousands of small objects that live to the end: no use collecting them midway
    try:
        return _collect(run_dir, live)
    finally:
        if enabled:
            gc.enable()


def _collect(run_dir: Path, live: bool) -> RunData:
    started = time.perf_counter()
    run = Path(run_dir)
    store = RunStore(run)
    if not run.is_dir():
        raise NotARun(f"{run} does not exist")
    if not store.exists:
        raise NotARun(f"{run} is not a cadsynth run directory (no manifest.json)")
    manifest = store.read_json("manifest.json") or {}
    state = store.read_json("state.json")
    keys = store.context_keys()
    key_set = set(keys)

    rounds: dict[int, RoundStats] = {}
    members: dict[str, dict[str, Any]] = {}
    judges: dict[str, Counter] = defaultdict(Counter)
    judge_usage: dict[str, _Tally] = defaultdict(_Tally)
    agreement = _Agreement()
    flag_counts: Counter = Counter()
    records: list[dict[str, Any]] = []
    rows: list[tuple] = []
    sample_images: set[str] = set()
    cost = 0.0
    tokens = 0

    for round_, _, samples in store.units():
        stats = rounds.get(round_) or rounds.setdefault(round_, RoundStats(round_))
        for s in samples:
            p = s.provenance
            stats.generated += 1
            if s.partition is Partition.DISCARDED:
                stats.discarded += 1
                stats.reasons[(s.discard_reasons or ["unknown"])[0].split(":")[0].strip() or "unknown"] += 1
            else:
                stats.kept += 1
            stats.adversarial += s.partition is Partition.ADVERSARIAL
            j = s.judgement
            stats.consensus[f"{j.consensus}/{j.k}" if j else "not judged"] += 1
            stats.strategy[p.strategy.value] += 1
            domain = s.domain or s.family or "unknown"
            stats.domain[domain] += 1
            stats.questions.add(s.question)
            stats.templates.add(_NUMBERS.sub("#", s.question))
            if s.image is not None:
                stats.with_image += 1
                stats.images.add(s.image.sha256)
                sample_images.add(s.image.path)
            if s.family and s.difficulty is not None:
                stats.difficulty[s.family].append(s.difficulty)

            votes_usage = _Tally()
            for v in j.votes if j else []:
                judges[v.judge][v.verdict.value] += 1
                judge_usage[v.judge].add(v.usage)
                votes_usage.add(v.usage)
            agreement.add(s)
            m = members.get(p.member) or members.setdefault(p.member, {
                "samples": 0, "kept": 0, "adversarial": 0, "generation": _Tally(), "judging": _Tally()})
            m["samples"] += 1
            m["kept"] += s.kept
            m["adversarial"] += s.partition is Partition.ADVERSARIAL
            m["generation"].add(s.usage)  # a sample's usage less its votes' is what generating it cost
            m["generation"].add(votes_usage, -1)
            m["judging"].add(votes_usage)
            cost += s.usage.cost_usd
            tokens += s.usage.prompt_tokens + s.usage.completion_tokens

            f = flags(s)
            flag_counts.update(f)
            record = s.model_dump(mode="json")
            record["flags"] = f
            record["context_key"] = context_key_for(s, key_set)
            records.append(record)
            rows.append((s, domain, f))

    # -- the index: columnar, with small dictionaries for the categorical fields ---------------------------------
    flag_names = [name for name, _ in flag_counts.most_common(MAX_FLAG_BITS)]
    if len(flag_counts) > MAX_FLAG_BITS:
        flag_names.append("other")
    flag_bit = {name: i for i, name in enumerate(flag_names)}
    dicts: dict[str, list[str]] = {"p": list(PARTITIONS), "s": [], "d": [], "m": [], "fam": [], "fl": flag_names}
    lookup: dict[str, dict[str, int]] = {k: {v: i for i, v in enumerate(vs)} for k, vs in dicts.items()}

    def code(kind: str, value: str) -> int:
        table = lookup[kind]
        if value not in table:
            table[value] = len(dicts[kind])
            dicts[kind].append(value)
        return table[value]

    cols: dict[str, list] = {k: [] for k in ("id", "p", "c", "k", "s", "d", "m", "r", "fl", "fam", "dif", "q",
                                             "a", "img", "seed", "cv")}
    for s, domain, f in rows:
        cols["id"].append(s.id)
        cols["p"].append(code("p", s.partition.value))
        cols["c"].append(s.judgement.consensus if s.judgement else -1)
        cols["k"].append(s.judgement.k if s.judgement else -1)
        cols["s"].append(code("s", s.provenance.strategy.value))
        cols["d"].append(code("d", domain))
        cols["m"].append(code("m", s.provenance.member))
        cols["r"].append(s.provenance.round)
        mask = 0
        for name in f:
            mask |= 1 << flag_bit.get(name, flag_bit.get("other", 0))
        cols["fl"].append(mask)
        cols["fam"].append(code("fam", s.family or ""))
        cols["dif"].append(s.difficulty if s.difficulty is not None else 0)
        cols["q"].append(s.question)
        cols["a"].append(s.answer)
        cols["img"].append(s.image.path if s.image else "")
        cols["seed"].append(s.provenance.seed_id)
        cols["cv"].append(s.provenance.context_version)
    index = {"n": len(rows), "cols": cols, "dicts": dicts}

    # -- seeds and contexts ---------------------------------------------------------------------------------------
    seeds: dict[str, dict[str, Any]] = {}
    seed_images: dict[str, Path] = {}
    for seed in store.seeds():
        image = _seed_image(seed, run)
        if image is not None:
            seed_images[seed.id] = image
        seeds[seed.id] = {"id": seed.id, "source": seed.source, "question": seed.question, "answer": seed.answer,
                          "answer_type": seed.answer_type.value if seed.answer_type else None,
                          "choices": seed.choices, "solution": seed.solution, "domain": seed.domain,
                          "image": None, "had_image": bool(seed.image)}
    contexts = {key: store.contexts(key) for key in keys}
    cost += sum((version.get("reflection") or {}).get("usage", {}).get("cost_usd", 0.0)
                for versions in contexts.values() for version in versions)  # the reflector's calls

    judge_names = sorted(judges)
    ordered_rounds = [rounds[r].as_dict() for r in sorted(rounds)]
    total_generated = sum(r["generated"] for r in ordered_rounds)
    events = store.events()
    config = manifest.get("config", {})
    summary = {
        "name": manifest.get("name") or run.name,
        "run_dir": str(run.resolve()),
        "built_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "live": live,
        "state": state,
        "config": {
            "generators": [g.get("name") for g in config.get("generators", [])],
            "judges": [g.get("name") for g in config.get("judges", [])],
            "seeds_source": (config.get("seeds") or {}).get("source"),
            "context_scope": (config.get("context") or {}).get("scope"),
            "max_rounds": (config.get("loop") or {}).get("max_rounds"),
            "target_kept": (config.get("loop") or {}).get("target_kept"),
        },
        "versions": manifest.get("versions", {}),
        "totals": {
            "generated": total_generated,
            "kept": sum(r["kept"] for r in ordered_rounds),
            "adversarial": sum(r["adversarial"] for r in ordered_rounds),
            "discarded": sum(r["discarded"] for r in ordered_rounds),
            "cost_usd": cost, "tokens": tokens,
            "seeds": len(seeds), "seed_problems": len(store.seed_problems()),
            "judge_calls": sum(sum(c.values()) - c["abstain"] for c in judges.values()),  # as `cadsynth status`
        },
        "rounds": ordered_rounds,
        "reasons": [name for name, _ in sum((Counter(r["reasons"]) for r in ordered_rounds), Counter()).most_common()],
        "members": [{"name": name, "role": "generator", "samples": m["samples"], "kept": m["kept"],
                     "adversarial": m["adversarial"], "generation": m["generation"].as_dict(),
                     "judging": m["judging"].as_dict()} for name, m in sorted(members.items())],
        "judges": [{"name": name, "role": "judge", "votes": sum(judges[name].values()),
                    "calls": sum(judges[name].values()) - judges[name]["abstain"],
                    "verdicts": {v.value: judges[name][v.value] for v in Verdict},
                    "accuracy": (judges[name]["correct"] / (judges[name]["correct"] + judges[name]["wrong"])
                                 if judges[name]["correct"] + judges[name]["wrong"] else None),
                    "usage": judge_usage[name].as_dict()} for name in judge_names],
        "agreement": agreement.matrix(judge_names),
        "flags": dict(flag_counts.most_common()),
        "events": {"count": len(events), "kinds": dict(Counter(e.get("event", "?") for e in events)),
                   "last": events[-20:]},
        "contexts": [{"key": k, "versions": [c.get("version", i) for i, c in enumerate(v)]}
                     for k, v in contexts.items()],
        "collect_seconds": round(time.perf_counter() - started, 3),
    }
    return RunData(path=run, summary=summary, index=index, records=records, seeds=seeds, seed_images=seed_images,
                   contexts=contexts, sample_images=sample_images)
