"""Which samples an export takes, and the train/validation split by seed.

Filters (all must hold; an empty set means "any"):

- ``partitions``: ``kept`` is C = K only (every judge that voted reached the reference), ``adversarial`` is
  0 < C < K, ``unjudged`` is a program sample every judge abstained on (verified by construction, never
  judged). The default takes all three. Discarded samples (C = 0 or another discard) are never exported.
- ``min_consensus`` / ``max_consensus``: bounds on C, inclusive. A sample without a judgement fails any bound.
- ``domains``, ``rounds``: the sample's domain / round is one of these.
- ``checks``: for each name, the sample has a check of that name with ``passed=True``.

Samples without an image are left out (every consumer here is a vision-language trainer or benchmark) and
counted as ``no_image``.

The split is by seed, never by sample: a seed goes to validation when the hash of (salt, seed id), read as a
number in [0, 1), is below ``val_share``. Every variant of a seed therefore lands in the same split, and a seed
lands in the same split in every export made with the same salt, whatever the filters, the format or the size
of the run. That keeps a benchmark exported from the validation split disjoint, seed for seed, from a training
export of the same run.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from cadsynth.export.base import ExportError
from cadsynth.records import Partition, Sample

DEFAULT_SALT = "cadsynth-split"
DEFAULT_VAL_SHARE = 0.1
EXPORTABLE = (Partition.KEPT, Partition.ADVERSARIAL, Partition.UNJUDGED)


@dataclass(frozen=True)
class Filters:
    partitions: frozenset[Partition] = frozenset(EXPORTABLE)
    min_consensus: int | None = None
    max_consensus: int | None = None
    domains: frozenset[str] = frozenset()
    rounds: frozenset[int] = frozenset()
    checks: frozenset[str] = frozenset()

    @classmethod
    def make(
        cls,
        partitions: Iterable[str | Partition] | None = None,
        min_consensus: int | None = None,
        max_consensus: int | None = None,
        domains: Iterable[str] | None = None,
        rounds: Iterable[int] | None = None,
        checks: Iterable[str] | None = None,
    ) -> Filters:
        """Filters from plain values (e.g. the command line), validated; raises `ExportError`."""
        parts: set[Partition] = set()
        for p in partitions or EXPORTABLE:
            try:
                part = Partition(p)
            except ValueError:
                raise ExportError(f"unknown partition '{p}'; choose from kept, adversarial, unjudged") from None
            if part not in EXPORTABLE:
                raise ExportError("discarded samples are never exported; choose from kept, adversarial, unjudged")
            parts.add(part)
        for name, bound in (("min", min_consensus), ("max", max_consensus)):
            if bound is not None and bound < 0:
                raise ExportError(f"--{name}-consensus must be ≥ 0, got {bound}")
        if min_consensus is not None and max_consensus is not None and min_consensus > max_consensus:
            raise ExportError(f"--min-consensus {min_consensus} is above --max-consensus {max_consensus}")
        return cls(frozenset(parts), min_consensus, max_consensus, frozenset(domains or ()),
                   frozenset(rounds or ()), frozenset(checks or ()))

    def reason(self, sample: Sample) -> str | None:
        """Why the sample is left out (a short key), or None when it is taken."""
        if sample.partition not in EXPORTABLE:
            return "discarded"
        if sample.partition not in self.partitions:
            return f"partition_{sample.partition.value}"
        c = sample.judgement.consensus if sample.judgement else None
        if self.min_consensus is not None and (c is None or c < self.min_consensus):
            return "consensus_below_min"
        if self.max_consensus is not None and (c is None or c > self.max_consensus):
            return "consensus_above_max"
        if self.domains and sample.domain not in self.domains:
            return "domain"
        if self.rounds and sample.provenance.round not in self.rounds:
            return "round"
        passed = {check.name for check in sample.checks if check.passed}
        if not self.checks <= passed:
            return "check"
        if sample.image is None:
            return "no_image"
        return None

    def describe(self) -> dict[str, object]:
        """The filters as plain values (for the card and the export manifest)."""
        return {
            "partitions": sorted(p.value for p in self.partitions),
            "min_consensus": self.min_consensus,
            "max_consensus": self.max_consensus,
            "domains": sorted(self.domains),
            "rounds": sorted(self.rounds),
            "checks": sorted(self.checks),
        }


@dataclass
class Selection:
    samples: list[Sample]
    left_out: Counter[str] = field(default_factory=Counter)  # reason -> samples (discarded ones included)


def select(samples: Iterable[Sample], filters: Filters | None = None) -> Selection:
    filters = filters or Filters()
    selection = Selection([])
    for sample in samples:
        reason = filters.reason(sample)
        if reason is None:
            selection.samples.append(sample)
        else:
            selection.left_out[reason] += 1
    return selection


def seed_bucket(seed_id: str, salt: str = DEFAULT_SALT) -> float:
    """A seed's place in [0, 1), from the hash of (salt, seed id)."""
    digest = hashlib.sha256(f"{salt}\x00{seed_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def seed_split(seed_id: str, val_share: float = DEFAULT_VAL_SHARE, salt: str = DEFAULT_SALT) -> str:
    return "validation" if seed_bucket(seed_id, salt) < val_share else "train"


def split_by_seed(samples: Iterable[Sample], val_share: float = DEFAULT_VAL_SHARE,
                  salt: str = DEFAULT_SALT) -> dict[str, list[Sample]]:
    """{"train": […], "validation": […]} in input order; whole seeds go to one split."""
    if not 0.0 <= val_share <= 1.0:
        raise ExportError(f"--val-share must be within [0, 1], got {val_share}")
    splits: dict[str, list[Sample]] = {"train": [], "validation": []}
    for sample in samples:
        splits[seed_split(sample.provenance.seed_id, val_share, salt)].append(sample)
    return splits
