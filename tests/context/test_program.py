"""The program generation context: multiplicative update toward adversarial options, and drawing from it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cadsynth.config import ContextConfig
from cadsynth.context.program import ProgramContext, initial, update
from cadsynth.records import Partition, Strategy

FAMILIES = ["bars", "grid", "shapes"]
ADV, KEPT, DISC = Partition.ADVERSARIAL, Partition.KEPT, Partition.DISCARDED


@pytest.fixture
def start() -> ProgramContext:
    return initial(FAMILIES, list(Strategy))


@pytest.fixture
def config() -> ContextConfig:
    return ContextConfig()


def _distributions(ctx: ProgramContext):
    yield ctx.strategy
    yield ctx.transfer
    yield from ctx.difficulty.values()


def _assert_valid(ctx: ProgramContext, floor: float):
    for dist in _distributions(ctx):
        assert math.isclose(sum(dist.values()), 1.0, abs_tol=1e-9)
        assert min(dist.values()) >= min(floor, 1 / len(dist)) - 1e-12


def _round(sample_factory, family="bars"):
    """Level 2 gives disagreements; level 1 only unanimous answers; level 3 only discards."""
    return (
        [sample_factory(family=family, difficulty=2, partition=ADV) for _ in range(3)]
        + [sample_factory(family=family, difficulty=2, partition=KEPT)]
        + [sample_factory(family=family, difficulty=1, partition=KEPT) for _ in range(4)]
        + [sample_factory(family=family, difficulty=3, partition=DISC) for _ in range(4)]
    )


def test_initial_is_uniform(start):
    assert start.version == 0
    assert set(start.strategy) == {s.value for s in Strategy}
    assert all(p == pytest.approx(0.25) for p in start.strategy.values())
    assert set(start.transfer) == set(FAMILIES)
    assert start.difficulty["grid"] == pytest.approx({"1": 1 / 3, "2": 1 / 3, "3": 1 / 3})
    _assert_valid(start, 0.04)


def test_update_moves_toward_adversarial_level(start, config, sample_factory):
    new = update(start, _round(sample_factory), config)
    bars = new.difficulty["bars"]
    assert new.version == 1
    assert bars["2"] > 1 / 3
    assert bars["1"] < 1 / 3 and bars["3"] < 1 / 3
    assert bars["1"] == pytest.approx(bars["3"])  # both had no disagreement at all
    _assert_valid(new, config.floor)
    assert "3/12" in new.note


def test_update_is_monotone_and_respects_floor(start, config, sample_factory):
    ctx = start
    previous = ctx.difficulty["bars"]["2"]
    for i in range(40):
        ctx = update(ctx, _round(sample_factory), config)
        assert ctx.version == i + 1
        assert ctx.difficulty["bars"]["2"] >= previous - 1e-12
        previous = ctx.difficulty["bars"]["2"]
        _assert_valid(ctx, config.floor)
    bars = ctx.difficulty["bars"]
    assert bars["2"] > 0.85
    assert bars["1"] >= config.floor and bars["3"] >= config.floor
    assert bars["1"] < 0.1 and bars["3"] < 0.1


def test_floor_binds_with_a_large_step(start, sample_factory):
    config = ContextConfig(learning_rate=50.0, floor=0.2)
    ctx = start
    for _ in range(10):
        ctx = update(ctx, _round(sample_factory), config)
    bars = ctx.difficulty["bars"]
    assert bars["1"] == pytest.approx(0.2, abs=1e-6) and bars["3"] == pytest.approx(0.2, abs=1e-6)
    assert bars["2"] == pytest.approx(0.6, abs=1e-6)
    _assert_valid(ctx, 0.2)


def test_more_adversarial_level_gains_more(start, config, sample_factory):
    samples = (
        [sample_factory(difficulty=1, partition=ADV)] + [sample_factory(difficulty=1, partition=KEPT)] * 3
        + [sample_factory(difficulty=2, partition=ADV)] * 3 + [sample_factory(difficulty=2, partition=KEPT)]
        + [sample_factory(difficulty=3, partition=KEPT)] * 4
    )
    bars = update(start, samples, config).difficulty["bars"]
    assert bars["2"] > bars["1"] > bars["3"]


def test_no_adversarial_sample_keeps_the_numbers(start, config, sample_factory):
    moved = update(start, _round(sample_factory), config)
    samples = [sample_factory(difficulty=d, partition=p) for d in (1, 2, 3) for p in (KEPT, DISC)]
    same = update(moved, samples, config)
    assert same.version == moved.version + 1
    assert same.strategy == moved.strategy
    assert same.transfer == moved.transfer
    assert same.difficulty == moved.difficulty
    assert "no adversarial" in same.note
    empty = update(same, [], config)
    assert empty.version == same.version + 1 and empty.difficulty == moved.difficulty


def test_familyless_samples_are_ignored(start, config, sample_factory):
    samples = [sample_factory(difficulty=2, partition=ADV, family=None) for _ in range(3)]  # not program samples
    new = update(start, samples, config)
    assert new.version == 1
    assert new.difficulty == start.difficulty and new.strategy == start.strategy


def test_samples_nobody_could_vote_on_count_against_their_options(start, config, sample_factory):
    samples = (
        [sample_factory(difficulty=1, partition=ADV) for _ in range(3)]
        + [sample_factory(difficulty=3, partition=DISC, k=0, consensus=0) for _ in range(3)]  # nobody voted
    )
    new = update(start, samples, config)
    assert new.difficulty["bars"]["1"] > start.difficulty["bars"]["1"]
    assert new.difficulty["bars"]["3"] < start.difficulty["bars"]["3"]


def test_family_absent_from_the_round_is_untouched(start, config, sample_factory):
    ctx = update(start, _round(sample_factory, "bars"), config)
    learned = dict(ctx.difficulty["bars"])
    for _ in range(5):
        ctx = update(ctx, _round(sample_factory, "grid"), config)
    assert ctx.difficulty["bars"] == learned
    assert ctx.difficulty["shapes"] == start.difficulty["shapes"]
    assert ctx.difficulty["grid"]["2"] > learned["2"]  # five rounds of evidence beat one


def test_strategy_moves_toward_adversarial_strategy(start, config, sample_factory):
    samples = (
        [sample_factory(strategy=Strategy.LOGIC_REVERSION, partition=ADV) for _ in range(3)]
        + [sample_factory(strategy=Strategy.PARAMETER_VARIATION, partition=KEPT) for _ in range(3)]
        + [sample_factory(strategy=Strategy.AUXILIARY_EXTENSION, partition=DISC) for _ in range(3)]
    )
    new = update(start, samples, config)
    s = new.strategy
    assert s["logic_reversion"] > 0.25
    assert s["parameter_variation"] < 0.25 and s["auxiliary_extension"] < 0.25
    # no sample: its rate is taken to be the round's, so it sits between winner and losers
    assert s["parameter_variation"] < s["isomorphic_transfer"] < s["logic_reversion"]
    assert new.transfer == start.transfer  # no transfer sample: nothing learned about targets
    _assert_valid(new, config.floor)


def test_transfer_moves_toward_adversarial_target(start, config, sample_factory):
    iso = Strategy.ISOMORPHIC_TRANSFER
    samples = (
        [sample_factory(family="grid", strategy=iso, partition=ADV) for _ in range(3)]
        + [sample_factory(family="shapes", strategy=iso, partition=KEPT) for _ in range(3)]
        + [sample_factory(family="bars", partition=KEPT) for _ in range(3)]  # not transfers
    )
    t = update(start, samples, config).transfer
    assert t["grid"] > 1 / 3 > t["shapes"]
    assert t["shapes"] < t["bars"] < t["grid"]


def test_context_round_trips_through_json(start, config, sample_factory):
    ctx = update(start, _round(sample_factory), config)
    assert ProgramContext.model_validate_json(ctx.model_dump_json()) == ctx
    assert ProgramContext.model_validate(ctx.model_dump()) == ctx


# -- draw ------------------------------------------------------------------------------------------------------
def test_draw_is_deterministic_for_a_seeded_rng(start, config, sample_factory):
    ctx = update(start, _round(sample_factory), config)
    a = [ctx.draw(np.random.default_rng(7), "bars") for _ in range(3)]
    rng1, rng2 = np.random.default_rng(123), np.random.default_rng(123)
    seq1 = [ctx.draw(rng1, "bars") for _ in range(50)]
    seq2 = [ctx.draw(rng2, "bars") for _ in range(50)]
    assert seq1 == seq2
    assert a[0] == a[1] == a[2]
    assert len(set(seq1)) > 1
    assert seq1 != [ctx.draw(np.random.default_rng(124), "bars") for _ in range(50)]


def test_draw_types_and_ranges(start):
    rng = np.random.default_rng(0)
    for _ in range(200):
        strategy, family, level = start.draw(rng, "grid")
        assert isinstance(strategy, Strategy)
        assert family in FAMILIES
        assert level in (1, 2, 3) and isinstance(level, int)
        if strategy is not Strategy.ISOMORPHIC_TRANSFER:
            assert family == "grid"


def test_draw_never_transfers_to_the_parent_family(start):
    only_transfer = {s.value: 0.0 for s in Strategy} | {Strategy.ISOMORPHIC_TRANSFER.value: 1.0}
    ctx = start.model_copy(update={"strategy": only_transfer,
                                   "transfer": {"bars": 0.98, "grid": 0.01, "shapes": 0.01}})
    rng = np.random.default_rng(1)
    families = set()
    for _ in range(300):
        strategy, family, _ = ctx.draw(rng, "bars")
        assert strategy is Strategy.ISOMORPHIC_TRANSFER
        assert family != "bars"
        families.add(family)
    assert families == {"grid", "shapes"}


def test_draw_uses_the_childs_family_difficulty(start):
    only_transfer = {s.value: 0.0 for s in Strategy} | {Strategy.ISOMORPHIC_TRANSFER.value: 1.0}
    difficulty = {**start.difficulty, "bars": {"1": 1.0, "2": 0.0, "3": 0.0},
                  "grid": {"1": 0.0, "2": 0.0, "3": 1.0}}
    ctx = start.model_copy(update={"strategy": only_transfer, "transfer": {"bars": 0.0, "grid": 1.0, "shapes": 0.0},
                                   "difficulty": difficulty})
    rng = np.random.default_rng(2)
    assert {ctx.draw(rng, "bars") for _ in range(20)} == {(Strategy.ISOMORPHIC_TRANSFER, "grid", 3)}


def test_draw_follows_the_distribution(start):
    ctx = start.model_copy(update={"difficulty": {**start.difficulty, "bars": {"1": 0.1, "2": 0.8, "3": 0.1}}})
    rng = np.random.default_rng(3)
    levels = [ctx.draw(rng, "bars")[2] for _ in range(2000)]
    share = levels.count(2) / len(levels)
    # the strategy may be a transfer away from bars (p = 1/4, then grid/shapes are uniform)
    assert 0.6 < share < 0.75


def test_draw_single_family_transfer_stays_put():
    ctx = initial(["bars"], [Strategy.ISOMORPHIC_TRANSFER])
    assert ctx.draw(np.random.default_rng(0), "bars")[1] == "bars"
