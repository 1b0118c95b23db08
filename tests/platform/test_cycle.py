from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alianza.appraisal import evaluate, parse_plan
from alianza.appraisal.report import report_of
from alianza.platform.db import Database
from alianza.platform.errors import Forbidden, Invalid, NotFound, Refused
from alianza.platform.ledger import service as ledger
from alianza.platform.programmes.service import Actor, act_as, create_user, grant_role
from alianza.platform.registry import service as registry
from alianza.platform.subprojects import service as cycle
from alianza.platform.subprojects.models import PlanVersion, StateChange, Subproject
from alianza.platform.subprojects.plans import stored_report
from alianza.platform.subprojects.states import STATES
from alianza.problems import Message
from alianza.web import i18n
from tests.platform.cycle_fixtures import (
    AGREEMENT,
    World,
    approved,
    build_world,
    counterpart_paid,
    example_plan,
    profile,
)

PROFILE_PLAN = Path(__file__).parents[2] / "examples" / "plans" / "honey-production.profile.yaml"


@pytest.fixture
def world(admin: Actor) -> World:
    return build_world(admin)


def under_evaluation(world: World, plan: dict[str, Any] | None = None) -> Subproject:
    """A profile found eligible, its plan (the example's by default) submitted, under
    evaluation: what every decision test starts from."""
    actor = world.actor
    sub = profile(world)
    cycle.check_eligibility(actor, sub.id, date(2025, 2, 10))
    cycle.submit_plan(actor, sub.id, {"plan": plan or example_plan()}, date(2025, 3, 1))
    cycle.start_evaluation(actor, sub.id, date(2025, 3, 5))
    return sub


def test_the_whole_cycle(world: World) -> None:
    from alianza.platform.agreements.service import sign_agreement

    actor = world.actor
    sub = counterpart_paid(world)
    tranches = cycle.schedule_tranches(
        actor,
        sub.id,
        [
            {"amount": "6000.00", "milestone": "greenhouses built"},
            {"amount": "4000.00", "milestone": "first harvest sold"},
            {"amount": "3000.00", "milestone": "packing shed running"},
        ],
    )
    assert [t.number for t in tranches] == [1, 2, 3]
    sign_agreement(actor, sub.id, AGREEMENT)
    cycle.release_tranche(actor, sub.id, 1, world.funds.id, date(2025, 5, 2))
    assert sub.state == "in_execution"
    with pytest.raises(Refused) as refused:
        cycle.release_tranche(actor, sub.id, 2, world.funds.id, date(2025, 6, 1))
    assert refused.value.rule == "tranche n+1 after tranche n is justified and verified"
    cycle.justify_tranche(actor, sub.id, 1, "invoices 1-14, photos", date(2025, 7, 1))
    with pytest.raises(Refused, match="justified and its milestone verified"):
        cycle.release_tranche(actor, sub.id, 2, world.funds.id, date(2025, 7, 2))
    cycle.verify_milestone(actor, sub.id, 1, date(2025, 7, 5))
    cycle.release_tranche(actor, sub.id, 2, world.funds.id, date(2025, 7, 6))
    with pytest.raises(Refused, match="completion after every tranche"):
        cycle.complete(actor, sub.id, date(2026, 1, 1))
    for n, day in ((2, date(2025, 9, 1)), (3, date(2025, 12, 1))):
        if n == 3:
            cycle.release_tranche(actor, sub.id, 3, world.funds.id, date(2025, 10, 1))
        cycle.justify_tranche(actor, sub.id, n, "report", day)
        cycle.verify_milestone(actor, sub.id, n, day)
    cycle.complete(actor, sub.id, date(2026, 1, 1))
    cycle.start_monitoring(actor, sub.id, date(2026, 1, 2))
    states = [c.to_state for c in cycle.history(actor, sub.id)]
    assert states == [
        "profile_submitted",
        "eligible",
        "business_plan_submitted",
        "under_evaluation",
        "approved",
        "counterpart_paid",
        "agreement_signed",
        "in_execution",
        "completed",
        "post_project_monitoring",
    ]
    notes = {c.to_state: c.translatable_note for c in cycle.history(actor, sub.id)}
    assert notes["in_execution"] == "tranche 1 released"
    assert notes["in_execution"].template == "tranche %(number)s released"  # type: ignore[attr-defined]
    assert notes["agreement_signed"].template == "agreement %(id)s"  # type: ignore[attr-defined]
    po = cycle.po_account(actor, sub.id)
    assert ledger.balance(actor, po.id) == Decimal(
        "19000.00"
    )  # 13000 grant + 6000 cash counterpart
    assert ledger.balance(actor, world.funds.id) == Decimal("987000.00")


def test_ineligible_profiles_name_the_rules(world: World) -> None:
    sub = profile(
        world,
        value_chain="cattle",
        families=70,
        buyer_letter_of_interest=False,
        funding_window="export",
    )
    cycle.check_eligibility(world.actor, sub.id, date(2025, 2, 10))
    assert sub.state == "ineligible"
    note = cycle.history(world.actor, sub.id)[-1].note
    for rule in (  # each rule by its name as people read it (alianza.platform.rules)
        "the call's value chains",
        "the call's windows",
        "families per alliance",
        "the buyer's letter of interest",
        "eligibility of the members",
    ):
        assert rule in note
    with pytest.raises(Refused, match="call window"):
        profile(world, submitted_on=date(2025, 6, 1))


def test_member_rules_count_the_members_who_break_them(world: World) -> None:
    village_id = world.members[0].village_id
    for name, birth_year, land in (
        ("Just eighteen", 2007, "1.0"),  # 18 in 2025: old enough
        ("Seventeen", 2008, "1.0"),
        ("Large holder", 1980, "5.01"),
        ("At the limit", 1980, "5"),
    ):
        farmer = registry.add_farmer(
            world.actor,
            {
                "name": name,
                "sex": "female",
                "birth_year": birth_year,
                "household_size": 3,
                "land_hectares": land,
                "village_id": village_id,
            },
        )
        registry.add_membership(
            world.actor, {"farmer_id": farmer.id, "organization_id": world.po.id}
        )
    sub = profile(world)
    cycle.check_eligibility(world.actor, sub.id, date(2025, 2, 10))
    note = cycle.history(world.actor, sub.id)[-1].note
    assert sub.state == "ineligible"
    assert "1 members under 18" in note
    assert "1 members hold more than 5 ha" in note


def test_an_ineligible_profiles_note_is_the_message_of_its_broken_rules(world: World) -> None:
    """The note keeps its English text and comes back from the database as the Message it was
    written as: each rule with its reason, said in the reader's language."""
    sub = profile(world, value_chain="cattle", buyer_letter_of_interest=False)
    cycle.check_eligibility(world.actor, sub.id, date(2025, 2, 10))
    world.actor.session.commit()
    world.actor.session.expire_all()  # read back from the database
    change = cycle.history(world.actor, sub.id)[-1]
    written = Message(
        "%(reasons)s; %(rule)s: %(reason)s",
        reasons=Message(
            "%(rule)s: %(reason)s",
            rule=Message("the call's value chains"),
            reason=Message(
                "value chain '%(value_chain)s' is not in the call", value_chain="cattle"
            ),
        ),
        rule=Message("the buyer's letter of interest"),
        reason=Message("the profile has no buyer's letter of interest"),
    )
    assert (
        change.note
        == written
        == (
            "the call's value chains: value chain 'cattle' is not in the call; "
            "the buyer's letter of interest: the profile has no buyer's letter of interest"
        )
    )
    said = change.translatable_note
    assert isinstance(said, Message) and said == written
    assert said.template == written.template
    assert isinstance(said.variables["reasons"], Message)
    gettext = i18n.translations("es").gettext
    assert said.say("es", gettext) == written.say("es", gettext)
    assert said.say("es", gettext) == (  # the rules' names and reasons from the catalogue
        "las cadenas de valor de la convocatoria: la cadena de valor «cattle» no está en la "
        "convocatoria; la carta de interés del comprador: el perfil no tiene carta de interés "
        "del comprador"
    )


def test_the_systems_notes_are_messages_and_a_persons_note_stays_as_typed(world: World) -> None:
    """Eligible, the plan's version, the counterpart paid (its amounts as Decimals, written for
    the reader's locale), a tranche released: Messages; a decision's conditions: as typed."""
    actor = world.actor
    sub = under_evaluation(world)
    cycle.score(actor, sub.id, "market", 80)
    cycle.score(actor, sub.id, "technical", 60)
    typed = "hand in the water permit: 50% before tranche 2"
    cycle.decide(actor, sub.id, "approved_with_conditions", date(2025, 4, 1), typed)
    for kind, amount in (("cash", "6000.00"), ("in_kind", "2000.00")):
        cycle.record_counterpart(
            actor, sub.id, kind, world.member_account.id, amount, date(2025, 4, 10)
        )
    cycle.confirm_counterpart_paid(actor, sub.id, date(2025, 4, 11))
    actor.session.commit()
    actor.session.expire_all()
    notes = {c.to_state: c for c in cycle.history(actor, sub.id)}
    assert notes["profile_submitted"].note == "" and notes["under_evaluation"].note == ""
    assert notes["profile_submitted"].note_parts is None
    assert notes["eligible"].translatable_note.template == "meets the call's eligibility rules"  # type: ignore[attr-defined]
    plan = notes["business_plan_submitted"].translatable_note
    assert (
        isinstance(plan, Message) and plan == "plan version 1" and plan.variables == {"version": 1}
    )
    paid = notes["counterpart_paid"].translatable_note
    assert isinstance(paid, Message) and paid == "6,000.00 cash, 2,000.00 in kind"
    assert paid.say("es", lambda template: template) == "6.000,00 cash, 2.000,00 in kind"
    person = notes["approved_with_conditions"]
    assert person.note == typed and person.note_parts is None
    assert person.translatable_note == typed
    assert not isinstance(person.translatable_note, Message)


def test_plans_are_versioned_with_their_appraisal(world: World) -> None:
    actor = world.actor
    sub = profile(world)
    with pytest.raises(Refused, match="eligible or business_plan_submitted"):
        cycle.submit_plan(actor, sub.id, {"plan": example_plan()}, date(2025, 3, 1))
    cycle.check_eligibility(actor, sub.id, date(2025, 2, 10))
    first = cycle.submit_plan(actor, sub.id, {"plan": example_plan()}, date(2025, 3, 1))
    assert first.npv == Decimal("14895.97") and first.irr == pytest.approx(0.1209, abs=1e-4)
    assert first.appraisal["npv"] == 14895.97
    revised = example_plan()
    revised["discount_rate"] = 0.10
    second = cycle.submit_plan(actor, sub.id, {"plan": revised}, date(2025, 3, 2))
    assert (second.version, second.npv < first.npv) == (2, True)
    assert cycle.latest_plan(actor, sub.id).id == second.id
    bad = example_plan()
    bad["investments"][0]["life_years"] = 0
    with pytest.raises(Refused, match=r"investments\.0\.life_years|investments\[0\]"):
        cycle.submit_plan(actor, sub.id, {"plan": bad}, date(2025, 3, 3))
    with pytest.raises(Refused, match="plan in the call's currency"):
        cycle.submit_plan(actor, sub.id, {"plan": example_plan("USD")}, date(2025, 3, 3))
    assert actor.session.scalar(select(func.count()).select_from(PlanVersion)) == 2


@pytest.mark.parametrize(
    ("plan", "rule"),
    [
        # Of 21,163.95: a grant of 75.6% (and a counterpart of 10.1%).
        (
            example_plan(financing={"grant": "16000", "cash": "2146.81", "in_kind": "0"}),
            "max grant share",
        ),
        # A counterpart of 4.7%, a loan for the rest.
        (
            example_plan(financing={"grant": "13500", "cash": "1000", "in_kind": "0"}),
            "min counterpart share",
        ),
        # Three times the investment: a grant of 35,000 above the window's 30,000.
        (
            example_plan(financing={"grant": "35000", "cash": "15000", "in_kind": "0"}, scale=3),
            "ceiling per alliance",
        ),
        # A loan of 1,500 left out: part of the investment has no source.
        (
            {
                **example_plan(financing={"grant": "12000", "cash": "3646.81", "in_kind": "1000"}),
                "loans": [],
            },
            "financing plan",
        ),
    ],
)
def test_approval_refused_when_the_plan_breaks_a_call_rule(
    world: World, plan: dict[str, Any], rule: str
) -> None:
    actor = world.actor
    sub = under_evaluation(world, plan)
    cycle.score(actor, sub.id, "market", 90)
    cycle.score(actor, sub.id, "technical", 90)
    with pytest.raises(Refused) as refused:
        cycle.decide(actor, sub.id, "approved", date(2025, 4, 1))
    assert refused.value.rule == rule
    assert sub.state == "under_evaluation"
    cycle.decide(actor, sub.id, "rejected", date(2025, 4, 1), "does not fit the call")
    assert sub.state == "rejected"


def test_the_plan_is_the_one_source_of_its_financing(world: World) -> None:
    """Grant, counterpart and credit are the plan's own (items' grants and own
    contributions, loans, the working capital's credit); figures entered beside the plan
    are refused, not stored."""
    actor = world.actor
    sub = profile(world)
    cycle.check_eligibility(actor, sub.id, date(2025, 2, 10))
    plan = example_plan()
    version = cycle.submit_plan(actor, sub.id, {"plan": plan}, date(2025, 3, 1))
    report = evaluate(parse_plan(plan)).report()
    f = report.financing
    assert (version.grant, version.counterpart_cash, version.counterpart_in_kind) == (
        Decimal("13000.00"),
        Decimal("3500.00"),
        Decimal("1000.00"),
    )
    assert version.investment == Decimal("21163.95") == Decimal(str(f.total))
    # the credit is the loan for the rest of the investment plus the working capital's
    assert version.credit == Decimal("646.81") + Decimal("3017.14") == Decimal(str(f.credit))
    assert version.investment == (
        version.grant + version.counterpart_cash + version.counterpart_in_kind + version.credit
    )
    assert stored_report(version) == report_of(version.appraisal)
    assert stored_report(version).financing == f
    with pytest.raises(Invalid) as refused:
        cycle.submit_plan(actor, sub.id, {"plan": plan, "grant": "24000.00"}, date(2025, 3, 2))
    assert refused.value.problems[0].field == "grant"


def test_a_profile_is_refused_where_the_call_needs_a_business_plan(world: World) -> None:
    actor = world.actor
    sub = profile(world)
    cycle.check_eligibility(actor, sub.id, date(2025, 2, 10))
    honey = yaml.safe_load(PROFILE_PLAN.read_text())
    honey["currency"] = "HNL"
    with pytest.raises(Refused) as refused:
        cycle.submit_plan(actor, sub.id, {"plan": honey}, date(2025, 3, 1))
    assert (refused.value.rule, refused.value.field) == ("business plan required", "plan.stage")
    assert actor.session.scalar(select(func.count()).select_from(PlanVersion)) == 0
    assert sub.state == "eligible"


def test_scores_and_thresholds(session: Session, world: World) -> None:
    actor = world.actor
    sub = under_evaluation(world)
    with pytest.raises(Refused, match="committee scores"):
        cycle.decide(actor, sub.id, "approved", date(2025, 4, 1))
    member = create_user(
        session, {"username": "comite", "display_name": "C", "password": "password1"}
    )
    grant_role(actor, member.id, {"role": "evaluator", "scope": "programme"})
    committee = act_as(session, member.id, actor.programme_id)
    cycle.score(committee, sub.id, "market", 40)
    cycle.score(committee, sub.id, "technical", 40)
    cycle.score(actor, sub.id, "market", 50)
    cycle.score(actor, sub.id, "technical", 50)
    with pytest.raises(Refused, match="one score per member"):
        cycle.score(committee, sub.id, "market", 99)
    with pytest.raises(Refused, match="not a criterion"):
        cycle.score(committee, sub.id, "beauty", 99)
    with pytest.raises(Forbidden):
        cycle.decide(committee, sub.id, "approved", date(2025, 4, 1))
    with pytest.raises(Refused) as refused:
        cycle.decide(actor, sub.id, "approved", date(2025, 4, 1))
    assert refused.value.rule == "pass score" and "45.00 < 60" in refused.value.reason
    with pytest.raises(Refused, match="states the conditions"):
        cycle.decide(actor, sub.id, "approved_with_conditions", date(2025, 4, 1))


def test_agreement_needs_the_counterpart(world: World) -> None:
    from alianza.platform.agreements.service import sign_agreement

    sub = approved(world)
    with pytest.raises(Refused) as refused:
        sign_agreement(world.actor, sub.id, AGREEMENT)
    assert refused.value.rule == "counterpart before agreement"
    cycle.record_counterpart(
        world.actor, sub.id, "cash", world.member_account.id, "5000.00", date(2025, 4, 10)
    )
    with pytest.raises(Refused, match="counterpart paid 5,000.00 cash"):
        cycle.confirm_counterpart_paid(world.actor, sub.id, date(2025, 4, 11))
    with pytest.raises(Refused, match="tranches = grant"):
        cycle.schedule_tranches(world.actor, sub.id, [{"amount": "1.00", "milestone": "x"}])
    with pytest.raises(Refused, match="cannot become post_project_monitoring"):
        cycle.start_monitoring(world.actor, sub.id, date(2025, 4, 12))


def test_every_state_is_reachable() -> None:
    from alianza.platform.subprojects.states import TRANSITIONS

    reachable = {"profile_submitted"}
    frontier = ["profile_submitted"]
    while frontier:
        for target in TRANSITIONS[frontier.pop()]:
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(STATES)


def test_concurrent_decisions_cannot_both_win(database: Database, world: World) -> None:
    """Two sessions decide the same subproject at once (approve vs reject): one wins."""
    actor = world.actor
    sub = under_evaluation(world)
    cycle.score(actor, sub.id, "market", 80)
    cycle.score(actor, sub.id, "technical", 80)
    actor.session.commit()
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def decide(outcome: str) -> None:
        barrier.wait()
        with database.sessions() as session:
            try:
                other = act_as(session, actor.user_id, actor.programme_id)
                cycle.decide(other, sub.id, outcome, date(2025, 4, 1), "")
                session.commit()
                outcomes.append(outcome)
            except Refused as refusal:
                session.rollback()
                outcomes.append(refusal.rule or "")
            except Exception as error:
                outcomes.append(repr(error))

    threads = [threading.Thread(target=decide, args=(o,)) for o in ("approved", "rejected")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) in (["approved", "subproject cycle"], ["rejected", "subproject cycle"])
    actor.session.expire_all()
    changes = actor.session.scalars(
        select(StateChange).where(StateChange.subproject_id == sub.id)
    ).all()
    assert [c.to_state for c in changes][-1] in ("approved", "rejected")
    assert sum(c.from_state == "under_evaluation" for c in changes) == 1
    assert actor.session.get(Subproject, sub.id).state in ("approved", "rejected")  # type: ignore[union-attr]


def test_one_programme_cannot_see_or_move_anothers_subprojects(
    session: Session, world: World
) -> None:
    from alianza.platform.agreements.service import alerts, sign_agreement
    from alianza.platform.audit.service import entries
    from alianza.platform.portfolio import service as portfolio
    from alianza.platform.programmes.service import create_programme

    theirs_user = create_user(
        session, {"username": "other", "display_name": "O", "password": "password1"}
    )
    theirs = build_world(
        create_programme(
            session, {"code": "OTHER", "name": "Other", "reporting_currency": "USD"}, theirs_user
        )
    )
    their_sub = counterpart_paid(theirs)
    sign_agreement(theirs.actor, their_sub.id, AGREEMENT)
    mine = world.actor
    for attempt in (
        lambda: cycle.history(mine, their_sub.id),
        lambda: cycle.start_evaluation(mine, their_sub.id, date(2025, 5, 1)),
        lambda: cycle.release_tranche(mine, their_sub.id, 1, world.funds.id, date(2025, 5, 1)),
        lambda: cycle.submit_profile(
            mine,
            {
                "call_id": theirs.call.id,
                "organization_id": world.po.id,
                "buyer_id": world.buyer.id,
                "title": "x",
                "value_chain": "coffee",
                "families": 10,
                "buyer_letter_of_interest": True,
                "submitted_on": date(2025, 2, 1),
            },
        ),
        lambda: cycle.record_counterpart(
            mine, their_sub.id, "cash", world.member_account.id, "1", date(2025, 5, 1)
        ),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert portfolio.subprojects_by_state_and_district(mine) == {}
    assert alerts(mine, date(2030, 1, 1)) == []
    assert all(entry.programme_id == mine.programme_id for entry in entries(mine))
    assert {b.account_id for b in ledger.balances(mine)}.isdisjoint(
        {b.account_id for b in ledger.balances(theirs.actor)}
    )


def test_concurrent_releases_of_one_tranche_pay_once(database: Database, world: World) -> None:
    from alianza.platform.agreements.service import sign_agreement

    actor = world.actor
    sub = counterpart_paid(world)
    cycle.schedule_tranches(actor, sub.id, [{"amount": "13000.00", "milestone": "all"}])
    sign_agreement(actor, sub.id, AGREEMENT)
    actor.session.commit()
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def release() -> None:
        barrier.wait()
        with database.sessions() as session:
            try:
                other = act_as(session, actor.user_id, actor.programme_id)
                cycle.release_tranche(other, sub.id, 1, world.funds.id, date(2025, 5, 2))
                session.commit()
                outcomes.append("released")
            except Refused as refusal:
                session.rollback()
                outcomes.append(refusal.rule or "")
            except Exception as error:
                outcomes.append(repr(error))

    threads = [threading.Thread(target=release) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["release once", "released"]
    actor.session.expire_all()
    assert ledger.balance(actor, world.funds.id) == Decimal("987000.00")
