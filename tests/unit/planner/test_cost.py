"""A trial's deadline follows its projected cost, within the user's cap and the budget left; the
planner sizes trials by the same rule, so what it proposes fits the deadline the study gives it."""

from __future__ import annotations

import math

import pytest

from agent.planner._cost import (
    BUDGET_GRACE_S,
    DEADLINE_SAFETY,
    MIN_DEADLINE_S,
    UNMEASURED_DEADLINE_S,
    deadline_s,
    room_s,
    seeds_that_fit,
)
from agent.records import DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S

HOUR = 3600.0


def test_a_short_projection_gets_about_a_minute():
    # 20 s x 1.5 = 30 s would not cover a container start on a busy machine
    assert deadline_s(20, None, HOUR) == MIN_DEADLINE_S == 60
    assert deadline_s(50, None, HOUR) == 75  # past the minimum, the safety factor rules


def test_a_long_projection_is_not_cut_at_the_old_ten_minute_default():
    # before: every trial got DEFAULT_TIMEOUT_S (600 s), so a 700 s trial always lost its last seeds
    assert deadline_s(700, None, HOUR) == 700 * DEADLINE_SAFETY == 1050 > DEFAULT_TIMEOUT_S
    assert deadline_s(700, None, None) == 1050  # no budget: only the projection


def test_the_users_cap_bounds_every_deadline():
    assert deadline_s(700, 300, HOUR) == 300
    assert deadline_s(20, 30, HOUR) == 30  # below the minute too: --timeout is the user's word
    assert deadline_s(100, 300, HOUR) == 150  # a cap above the projection changes nothing
    assert deadline_s(None, 120, HOUR) == 120


def test_the_budget_left_plus_grace_bounds_the_deadline():
    assert deadline_s(700, None, 400) == 400 + BUDGET_GRACE_S
    assert deadline_s(700, 300, 100) == 100 + BUDGET_GRACE_S  # the budget is tighter than the cap
    # a budget (nearly) spent still leaves a trial that was started a minute, never nothing
    assert deadline_s(700, None, 0) == MIN_DEADLINE_S
    assert deadline_s(700, None, -500) == MIN_DEADLINE_S


def test_an_unmeasured_trial_gets_the_default_within_the_room():
    assert UNMEASURED_DEADLINE_S == DEFAULT_TIMEOUT_S
    assert deadline_s(None, None, HOUR) == UNMEASURED_DEADLINE_S
    assert deadline_s(None, None, None) == UNMEASURED_DEADLINE_S
    assert deadline_s(None, None, 100) == 100 + BUDGET_GRACE_S
    assert deadline_s(None, 2 * DEFAULT_TIMEOUT_S, None) == UNMEASURED_DEADLINE_S  # a cap bounds, it is no target


def test_room_is_the_cap_or_the_budget_whichever_is_less():
    assert room_s(None, None) == MAX_TIMEOUT_S  # never unbounded: a week at most
    assert room_s(300, None) == 300
    assert room_s(None, 1000) == 1000 + BUDGET_GRACE_S
    assert room_s(300, 1000) == 300
    assert room_s(None, -10) == MIN_DEADLINE_S


@pytest.mark.parametrize(("seed_s", "fixed_s", "room", "expected"), [
    (100, 10, 600, 3),   # 600 / 1.5 = 400; (400 - 10) / 100 = 3.9
    (100, 10, 400, 2),   # 266.7 - 10 = 256.7 -> 2
    (100, 0, 450, 3),    # exactly 3 seeds at the safety factor: they fit
    (100, 0, 449, 2),
    (1000, 0, 600, 0),   # not even one seed
    (10, 500, 600, 0),   # the fixed part alone overruns: none, never a negative count
])
def test_seeds_that_fit(seed_s, fixed_s, room, expected):
    assert seeds_that_fit(seed_s, fixed_s, room) == expected


def test_seeds_that_fit_without_a_seed_cost_or_a_bound_is_any_seed_list():
    assert seeds_that_fit(0, 10, 600) >= 100
    assert seeds_that_fit(50, 10, math.inf) >= 100


@pytest.mark.parametrize(("seed_s", "fixed_s", "cap", "left"), [
    (100, 10, 600, None), (37.5, 4, None, 500), (250, 20, 1000, 2000), (5, 1, 90, None)])
def test_what_fits_gets_its_full_safety_factor_and_one_more_seed_would_not(seed_s, fixed_s, cap, left):
    """The planner's sizing and the study's deadline agree: n seeds that fit run with 1.5x their
    projection; n + 1 seeds would be cut by the room."""
    room = room_s(cap, left)
    n = seeds_that_fit(seed_s, fixed_s, room)
    assert n >= 1
    projected = fixed_s + n * seed_s
    assert deadline_s(projected, cap, left) >= DEADLINE_SAFETY * projected
    assert DEADLINE_SAFETY * (projected + seed_s) > room
