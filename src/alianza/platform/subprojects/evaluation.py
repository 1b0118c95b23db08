"""Evaluation by the committee: evaluators assigned, scores on the call's sheet, the rules a plan
must meet to be approved, and the decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import select

from alianza.platform.access import Actor, Permission, Role, act_as, get, scoped
from alianza.platform.audit.service import now, record_for
from alianza.platform.calls.models import Call
from alianza.platform.calls.schemas import ScoringSheet
from alianza.platform.calls.service import scoring_sheet
from alianza.platform.errors import Refused
from alianza.platform.registry.service import members as registry_members
from alianza.platform.subprojects.models import (
    CommitteeScore,
    Decision,
    EvaluatorAssignment,
    PlanVersion,
    Subproject,
)
from alianza.platform.subprojects.plans import latest_plan
from alianza.platform.subprojects.states import (
    APPROVED,
    DECISIONS,
    State,
    check_step_date,
    locked_subproject,
    move_state,
    require_state,
)
from alianza.problems import Message

CENT = Decimal("0.01")


def start_evaluation(actor: Actor, subproject_id: int, on: date) -> Subproject:
    """Send the submitted business plan to the committee."""
    actor.require(Permission.CYCLE_REVIEW)
    subproject = locked_subproject(actor, subproject_id)
    move_state(actor, subproject, State.UNDER_EVALUATION, on, "")
    return subproject


def assign_evaluator(actor: Actor, subproject_id: int, user_id: int) -> EvaluatorAssignment:
    """Assign a committee member (an evaluator of the programme) to a subproject."""
    actor.require(Permission.CYCLE_REVIEW)
    subproject = get(actor, Subproject, subproject_id)
    evaluator = act_as(actor.session, user_id, actor.programme_id)
    if evaluator.role is not Role.EVALUATOR:
        raise Refused(
            Message("only an evaluator is assigned to evaluate"),
            rule="evaluators",
            field="user_id",
        )
    clash = actor.session.scalar(
        select(EvaluatorAssignment.id).where(
            EvaluatorAssignment.subproject_id == subproject.id,
            EvaluatorAssignment.user_id == user_id,
        )
    )
    if clash is not None:
        raise Refused(
            Message("the evaluator is assigned already"), rule="one assignment per evaluator"
        )
    assignment = EvaluatorAssignment(
        programme_id=actor.programme_id,
        subproject_id=subproject.id,
        user_id=user_id,
        assigned_by=actor.user_id,
        assigned_at=now(),
    )
    actor.session.add(assignment)
    record_for(actor, "create", assignment)
    return assignment


def evaluators(actor: Actor, subproject_id: int) -> list[int]:
    """The user ids of the evaluators assigned to the subproject."""
    actor.require(Permission.CYCLE_READ)
    return list(
        actor.session.scalars(
            scoped(actor, select(EvaluatorAssignment.user_id))
            .where(EvaluatorAssignment.subproject_id == subproject_id)
            .order_by(EvaluatorAssignment.id)
        )
    )


def scores(actor: Actor, subproject_id: int) -> list[CommitteeScore]:
    """The committee's scores of the subproject's plans."""
    actor.require(Permission.CYCLE_READ)
    return list(
        actor.session.scalars(
            scoped(actor, select(CommitteeScore))
            .where(CommitteeScore.subproject_id == subproject_id)
            .order_by(CommitteeScore.id)
        )
    )


def decisions(actor: Actor, subproject_id: int) -> list[Decision]:
    """The committee's decisions on the subproject, oldest first."""
    actor.require(Permission.CYCLE_READ)
    return list(
        actor.session.scalars(
            scoped(actor, select(Decision))
            .where(Decision.subproject_id == subproject_id)
            .order_by(Decision.id)
        )
    )


def score(
    actor: Actor, subproject_id: int, criterion: str, value: Decimal | str | int
) -> CommitteeScore:
    """A committee member's score (0-100) of the latest plan on one criterion of the call's
    sheet; an evaluator scoped to assigned subprojects scores only those."""
    actor.require(Permission.CYCLE_SCORE)
    subproject = locked_subproject(actor, subproject_id)
    require_state(subproject, State.UNDER_EVALUATION, doing=Message("scores are given"))
    sheet = scoring_sheet(get(actor, Call, subproject.call_id))
    if criterion not in {c.name for c in sheet.criteria}:
        raise Refused(
            Message(
                "'%(criterion)s' is not a criterion of the call's scoring sheet",
                criterion=criterion,
            ),
            rule="scoring sheet",
            field="criterion",
        )
    number = Decimal(str(value))
    if not Decimal(0) <= number <= Decimal(100):
        raise Refused(
            Message("a score lies between 0 and 100"), rule="scoring sheet", field="score"
        )
    version = latest_plan(actor, subproject.id)
    clash = actor.session.scalar(
        select(CommitteeScore.id).where(
            CommitteeScore.plan_version_id == version.id,
            CommitteeScore.user_id == actor.user_id,
            CommitteeScore.criterion == criterion,
        )
    )
    if clash is not None:
        raise Refused(
            Message("you scored this criterion of this plan already"), rule="one score per member"
        )
    row = CommitteeScore(
        programme_id=actor.programme_id,
        subproject_id=subproject.id,
        plan_version_id=version.id,
        user_id=actor.user_id,
        criterion=criterion,
        score=number.quantize(CENT),
    )
    actor.session.add(row)
    record_for(actor, "create", row)
    return row


def weighted_score(actor: Actor, sheet: ScoringSheet, version: PlanVersion) -> Decimal | None:
    """Sum over criteria of (mean committee score x weight) / sum of weights; None if unscored."""
    # avg() of a scaled-integer column is not a Money value on SQLite: average the Decimals here.
    scores: dict[str, list[Any]] = {}
    for criterion, score in actor.session.execute(
        scoped(actor.widened(), select(CommitteeScore.criterion, CommitteeScore.score))
        .where(CommitteeScore.plan_version_id == version.id)
        .order_by(CommitteeScore.id)
    ):
        scores.setdefault(criterion, []).append(score)
    if any(c.name not in scores for c in sheet.criteria):
        return None
    total_weight = sum(c.weight for c in sheet.criteria)
    weighted = (
        sum((sum(scores[c.name]) / len(scores[c.name])) * c.weight for c in sheet.criteria)
        / total_weight
    )
    return Decimal(weighted).quantize(CENT, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Shares:
    women: Decimal
    youth: Decimal


def member_shares(actor: Actor, organization_id: int, on: date) -> Shares:
    """Shares of women and youth among the PO's members (a rule's input, read programme-wide)."""
    members = registry_members(actor.widened(), organization_id)
    if not members:
        return Shares(Decimal(0), Decimal(0))
    women = sum(1 for m in members if m.sex == "female")
    youth = sum(1 for m in members if m.is_youth(on))
    return Shares(Decimal(women) / len(members), Decimal(youth) / len(members))


def percent(share: Decimal, places: Decimal = Decimal(1)) -> Decimal:
    """A share (0.125) as the percentage points a message shows (12.50 with ``places`` 0.01;
    13 by default), rounded half-even as ``format(share, ".0%")`` does."""
    return (Decimal(share) * 100).quantize(places, rounding=ROUND_HALF_EVEN)


def approval_problems(actor: Actor, subproject: Subproject, on: date) -> list[tuple[str, str]]:
    """(rule, reason) for every rule the latest plan breaks against the call."""
    actor = actor.widened()
    call = get(actor, Call, subproject.call_id)
    sheet = scoring_sheet(call)
    plan = latest_plan(actor, subproject.id)
    problems: list[tuple[str, str]] = []
    # The plan's own financing (the version's columns are filled from its appraisal).
    investment = Decimal(plan.investment)
    counterpart = Decimal(plan.counterpart_cash) + Decimal(plan.counterpart_in_kind)
    if investment <= 0:
        problems.append(
            ("financing plan", Message("the plan has no investment or working capital"))
        )
        investment = Decimal(1)  # the shares below are then those of nothing
    unfinanced = investment - Decimal(plan.grant) - counterpart - Decimal(plan.credit)
    if unfinanced > CENT / 2:
        problems.append(
            (
                "financing plan",
                Message(
                    "%(amount)s %(currency)s of the investment and working capital have "
                    "no source (grants, own contribution, loans)",
                    amount=unfinanced,
                    currency=call.currency,
                ),
            )
        )
    grant_share = Decimal(plan.grant) / investment
    counterpart_share = counterpart / investment
    if grant_share > Decimal(call.max_grant_share):
        problems.append(
            (
                "max grant share",
                Message(
                    "grant share %(share)s%% > %(maximum)s%%",
                    share=percent(grant_share, CENT),
                    maximum=percent(Decimal(call.max_grant_share), CENT),
                ),
            )
        )
    if counterpart_share < Decimal(call.min_counterpart_share):
        problems.append(
            (
                "min counterpart share",
                Message(
                    "counterpart share %(share)s%% < %(minimum)s%%",
                    share=percent(counterpart_share, CENT),
                    minimum=percent(Decimal(call.min_counterpart_share), CENT),
                ),
            )
        )
    ceiling = Decimal(call.ceiling_per_alliance)
    for window in call.windows:
        if window["name"] == subproject.funding_window:
            ceiling = min(ceiling, Decimal(window["ceiling_per_alliance"]))
    if plan.grant > ceiling:
        problems.append(
            (
                "ceiling per alliance",
                Message(
                    "grant %(grant)s > %(ceiling)s %(currency)s",
                    grant=Decimal(plan.grant),
                    ceiling=ceiling,
                    currency=call.currency,
                ),
            )
        )
    per_family = Decimal(plan.grant) / subproject.families
    if per_family > Decimal(call.ceiling_per_family):
        problems.append(
            (
                "ceiling per family",
                Message(
                    "grant per family %(grant)s > %(ceiling)s %(currency)s",
                    grant=per_family.quantize(CENT),
                    ceiling=Decimal(call.ceiling_per_family),
                    currency=call.currency,
                ),
            )
        )
    if sheet.min_irr is not None and (plan.irr is None or plan.irr < sheet.min_irr):
        problems.append(
            (
                "minimum IRR",
                Message("the plan has no IRR (the minimum is %(minimum)s)", minimum=sheet.min_irr)
                if plan.irr is None
                else Message("IRR %(irr)s < %(minimum)s", irr=plan.irr, minimum=sheet.min_irr),
            )
        )
    if sheet.min_npv is not None and (plan.npv is None or plan.npv <= sheet.min_npv):
        problems.append(
            (
                "minimum NPV",
                Message("the plan has no NPV (the minimum is %(minimum)s)", minimum=sheet.min_npv)
                if plan.npv is None
                else Message(
                    "NPV %(npv)s is not above %(minimum)s",
                    npv=Decimal(plan.npv),
                    minimum=sheet.min_npv,
                ),
            )
        )
    shares = member_shares(actor, subproject.organization_id, on)
    if sheet.min_women_share is not None and shares.women < sheet.min_women_share:
        problems.append(
            (
                "share of women",
                Message(
                    "%(share)s%% women < %(minimum)s%%",
                    share=percent(shares.women),
                    minimum=percent(sheet.min_women_share),
                ),
            )
        )
    if sheet.min_youth_share is not None and shares.youth < sheet.min_youth_share:
        problems.append(
            (
                "share of youth",
                Message(
                    "%(share)s%% youth < %(minimum)s%%",
                    share=percent(shares.youth),
                    minimum=percent(sheet.min_youth_share),
                ),
            )
        )
    weighted = weighted_score(actor, sheet, plan)
    if weighted is None:
        problems.append(
            ("committee scores", Message("not every criterion of the scoring sheet is scored"))
        )
    elif weighted < sheet.pass_score:
        problems.append(
            (
                "pass score",
                Message(
                    "weighted score %(score)s < %(pass_score)s",
                    score=weighted,
                    pass_score=sheet.pass_score,
                ),
            )
        )
    return problems


def decide(
    actor: Actor, subproject_id: int, outcome: str, on: date, conditions: str = ""
) -> Decision:
    """The committee's decision; approval is refused, naming the rule, when the plan breaks one."""
    actor.require(Permission.CYCLE_DECIDE)
    if outcome not in DECISIONS:
        raise Refused(
            Message("a decision is one of %(decisions)s", decisions=", ".join(DECISIONS)),
            field="outcome",
        )
    if outcome == State.APPROVED_WITH_CONDITIONS and not conditions.strip():
        raise Refused(
            Message("an approval with conditions states the conditions"),
            rule="conditions",
            field="conditions",
        )
    subproject = locked_subproject(actor, subproject_id)
    require_state(subproject, State.UNDER_EVALUATION, doing=Message("a decision is taken"))
    check_step_date(actor, subproject, on)  # before the decision is recorded
    plan = latest_plan(actor, subproject.id)
    if outcome in APPROVED:
        problems = approval_problems(actor, subproject, on)
        if problems:
            rule, reason = problems[0]
            raise Refused(
                Message(
                    "cannot approve: %(reason)s (and %(count)s more: %(rules)s)",
                    reason=reason,
                    count=len(problems) - 1,
                    rules="; ".join(r for r, _ in problems[1:]),
                )
                if len(problems) > 1
                else Message("cannot approve: %(reason)s", reason=reason),
                rule=rule,
            )
    sheet = scoring_sheet(get(actor, Call, subproject.call_id))
    decision = Decision(
        programme_id=actor.programme_id,
        subproject_id=subproject.id,
        plan_version_id=plan.id,
        outcome=outcome,
        weighted_score=weighted_score(actor, sheet, plan),
        conditions=conditions,
        decided_on=on,
        decided_by=actor.user_id,
    )
    actor.session.add(decision)
    record_for(actor, "create", decision)
    move_state(actor, subproject, State(outcome), on, conditions)
    return decision
