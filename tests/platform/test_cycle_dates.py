"""Rules of time in the subproject cycle: a step is never dated before the step it follows, and
a completed subproject's tranches stay as they were justified (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from babel.dates import format_date
from sqlalchemy import func, select

from alianza.platform.agreements.models import Agreement
from alianza.platform.agreements.service import sign_agreement
from alianza.platform.errors import Refused
from alianza.platform.ledger.models import Posting
from alianza.platform.programmes.service import Actor
from alianza.platform.subprojects import service as cycle
from alianza.platform.subprojects.models import Decision, PlanVersion, StateChange, Subproject
from tests.platform.cycle_fixtures import (
    AGREEMENT,
    World,
    build_world,
    counterpart_paid,
    example_plan,
    profile,
)

DAY = timedelta(days=1)
TRANCHES = [
    {"amount": "8000.00", "milestone": "greenhouses built"},
    {"amount": "5000.00", "milestone": "first harvest sold"},
]


@pytest.fixture
def world(admin: Actor) -> World:
    return build_world(admin)


def last_step(world: World, sub: Subproject) -> date:
    return cycle.history(world.actor, sub.id)[-1].on


def count(world: World, model: Any) -> int:
    return world.actor.session.scalar(select(func.count()).select_from(model)) or 0


def assert_refused_in_time(world: World, sub: Subproject, step: Callable[[date], object]) -> None:
    """The step dated a day before the last one is refused and changes nothing; dated the same
    day it is taken."""
    session = world.actor.session
    session.commit()
    state, steps = sub.state, count(world, StateChange)
    rows = {model: count(world, model) for model in (PlanVersion, Decision, Agreement, Posting)}
    before = last_step(world, sub)
    with pytest.raises(Refused) as refused:
        step(before - DAY)
    assert refused.value.rule == "steps in date order"
    # the date as the English message writes it (Babel's medium format: "Feb 1, 2025")
    written = format_date(before, format="medium", locale="en")
    assert written in refused.value.reason and refused.value.field == "on"
    session.rollback()
    assert session.get(Subproject, sub.id).state == state
    assert count(world, StateChange) == steps
    assert {model: count(world, model) for model in rows} == rows
    step(before)
    assert count(world, StateChange) == steps + 1


def test_eligibility_is_not_dated_before_the_profile(world: World) -> None:
    sub = profile(world)
    assert_refused_in_time(world, sub, lambda on: cycle.check_eligibility(world.actor, sub.id, on))
    assert sub.state == "eligible"


def test_each_step_to_approval_follows_the_one_before(world: World) -> None:
    actor = world.actor
    sub = profile(world)
    cycle.check_eligibility(actor, sub.id, date(2025, 2, 10))
    plan = {"plan": example_plan()}
    assert_refused_in_time(world, sub, lambda on: cycle.submit_plan(actor, sub.id, plan, on))
    assert_refused_in_time(world, sub, lambda on: cycle.start_evaluation(actor, sub.id, on))
    cycle.score(actor, sub.id, "market", 80)
    cycle.score(actor, sub.id, "technical", 60)
    assert_refused_in_time(world, sub, lambda on: cycle.decide(actor, sub.id, "approved", on))
    assert sub.state == "approved"


def test_counterpart_agreement_execution_and_completion_follow_in_time(world: World) -> None:
    actor = world.actor
    sub = counterpart_paid(world)
    cycle.schedule_tranches(actor, sub.id, TRANCHES)
    actor.session.commit()
    counterpart_on = last_step(world, sub)
    agreement = {**AGREEMENT, "signed_on": counterpart_on - DAY}
    with pytest.raises(Refused) as refused:
        sign_agreement(actor, sub.id, agreement)
    assert refused.value.rule == "steps in date order"
    actor.session.rollback()
    assert count(world, Agreement) == 0
    sign_agreement(actor, sub.id, AGREEMENT)
    assert_refused_in_time(
        world, sub, lambda on: cycle.release_tranche(actor, sub.id, 1, world.funds.id, on)
    )
    assert sub.state == "in_execution"
    released = last_step(world, sub)
    cycle.justify_tranche(actor, sub.id, 1, "invoices", released + DAY)
    cycle.verify_milestone(actor, sub.id, 1, released + DAY)
    cycle.release_tranche(actor, sub.id, 2, world.funds.id, released + 2 * DAY)
    cycle.justify_tranche(actor, sub.id, 2, "report", released + 3 * DAY)
    cycle.verify_milestone(actor, sub.id, 2, released + 3 * DAY)
    assert_refused_in_time(world, sub, lambda on: cycle.complete(actor, sub.id, on))
    assert_refused_in_time(world, sub, lambda on: cycle.start_monitoring(actor, sub.id, on))
    assert sub.state == "post_project_monitoring"


def completed(world: World) -> Subproject:
    actor = world.actor
    sub = counterpart_paid(world)
    cycle.schedule_tranches(actor, sub.id, TRANCHES)
    sign_agreement(actor, sub.id, AGREEMENT)
    for number, day in ((1, date(2025, 6, 1)), (2, date(2025, 9, 1))):
        cycle.release_tranche(actor, sub.id, number, world.funds.id, day)
        cycle.justify_tranche(actor, sub.id, number, f"report {number}", day + DAY)
        cycle.verify_milestone(actor, sub.id, number, day + DAY)
    cycle.complete(actor, sub.id, date(2026, 1, 1))
    actor.session.commit()
    return sub


@pytest.mark.parametrize("state", ["completed", "post_project_monitoring"])
def test_a_completed_subprojects_tranches_are_not_justified_again(world: World, state: str) -> None:
    actor = world.actor
    sub = completed(world)
    if state == "post_project_monitoring":
        cycle.start_monitoring(actor, sub.id, date(2026, 1, 2))
        actor.session.commit()
    tranche = cycle.tranches(actor, sub.id)[0]
    for attempt in (
        lambda: cycle.justify_tranche(actor, sub.id, 1, "a new story", date(2026, 2, 1)),
        lambda: cycle.verify_milestone(actor, sub.id, 1, date(2026, 2, 1)),
    ):
        with pytest.raises(Refused) as refused:
            attempt()
        assert refused.value.rule == "tranches closed on completion"
        assert state in refused.value.reason
        actor.session.rollback()
    tranche = cycle.tranches(actor, sub.id)[0]
    assert (tranche.evidence, tranche.justified_on, tranche.milestone_verified_on) == (
        "report 1",
        date(2025, 6, 2),
        date(2025, 6, 2),
    )
