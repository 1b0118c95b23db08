"""Business plans: versions of a subproject's plan (alianza.appraisal format) with their appraisal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from alianza.platform.access import Actor, Permission, get, scoped
from alianza.platform.audit.service import jsonable, now, record_for
from alianza.platform.calls.models import Call
from alianza.platform.calls.service import scoring_sheet
from alianza.platform.errors import Invalid, Refused
from alianza.platform.subprojects.models import PlanVersion
from alianza.platform.subprojects.schemas import PlanIn
from alianza.platform.subprojects.states import (
    State,
    check_step_date,
    locked_subproject,
    move_state,
    require_state,
)
from alianza.platform.validation import validated
from alianza.problems import Message

if TYPE_CHECKING:
    from alianza.appraisal.report import AppraisalReport


CENT = Decimal("0.01")


def _money(value: float) -> Decimal:
    """An amount of the report (a float to the cent) as the Decimal of its printed cents."""
    return Decimal(str(round(value, 2))).quantize(CENT)


def appraise(plan: dict[str, Any]) -> AppraisalReport:
    """The plan's appraisal report (alianza.appraisal); an invalid plan is refused with
    every problem and its field path (under ``plan.``)."""
    from alianza.appraisal import PlanError, evaluate, parse_plan
    from alianza.problems import Problem

    try:
        return evaluate(parse_plan(plan, "business plan")).report()
    except PlanError as error:
        problems = [
            Problem(f"plan.{p.field}" if p.field else "plan", p.message, "plan_format")
            for p in error.problems
        ]
        raise Invalid("business plan", problems) from None


def stored_report(version: PlanVersion) -> AppraisalReport:
    """The typed report of a stored plan version; a report stored by an older alianza (of
    another shape) is made again from the version's plan, which is stored with it."""
    from pydantic import ValidationError

    from alianza.appraisal.report import report_of

    try:
        return report_of(version.appraisal)
    except ValidationError:
        return appraise(version.plan)


def submit_plan(
    actor: Actor, subproject_id: int, data: PlanIn | dict[str, Any], on: date
) -> PlanVersion:
    """Store a new plan version with its appraisal; the first moves eligible ->
    business_plan_submitted. Grant, counterpart and credit are those of the plan."""
    actor.require(Permission.CYCLE_SUBMIT)
    plan_in = validated(PlanIn, data)
    subproject = locked_subproject(actor, subproject_id)
    require_state(
        subproject,
        State.ELIGIBLE,
        State.BUSINESS_PLAN_SUBMITTED,
        doing=Message("plans are submitted"),
    )
    call = get(actor, Call, subproject.call_id)
    if plan_in.plan.get("currency") != call.currency:
        raise Refused(
            Message(
                "the plan is in %(currency)s, the call in %(call_currency)s",
                currency=str(plan_in.plan.get("currency")),
                call_currency=call.currency,
            ),
            rule="plan in the call's currency",
            field="plan.currency",
        )
    if subproject.state == State.ELIGIBLE:
        check_step_date(actor, subproject, on)  # before the version is stored
    report = appraise(plan_in.plan)
    if report.stage == "profile" and not scoring_sheet(call).accepts_profiles:
        raise Refused(
            Message(
                "the plan is a profile (one typical year); the call needs a business plan "
                "(stage: project, with its horizon, NPV and IRR)"
            ),
            rule="business plan required",
            field="plan.stage",
        )
    financing = report.financing
    latest = actor.session.scalar(
        select(func.max(PlanVersion.version)).where(PlanVersion.subproject_id == subproject.id)
    )
    irr = report.irr if report.stage == "project" else None
    version = PlanVersion(
        programme_id=actor.programme_id,
        subproject_id=subproject.id,
        version=(latest or 0) + 1,
        plan=plan_in.plan,
        appraisal=jsonable(report.model_dump(mode="json")),
        npv=_money(report.npv) if report.stage == "project" else None,
        irr=irr,
        # The columns repeat the plan's financing (queries and the call's rules read them);
        # they are filled from the appraisal only, so they cannot disagree with the plan.
        investment=_money(financing.total),
        grant=_money(financing.grants),
        counterpart_cash=_money(financing.counterpart_cash),
        counterpart_in_kind=_money(financing.counterpart_in_kind),
        credit=_money(financing.credit),
        submitted_by=actor.user_id,
        submitted_at=now(),
    )
    actor.session.add(version)
    record_for(actor, "create", version)
    if subproject.state == State.ELIGIBLE:
        move_state(
            actor,
            subproject,
            State.BUSINESS_PLAN_SUBMITTED,
            on,
            Message("plan version %(version)s", version=version.version),
        )
    return version


def plan_versions(actor: Actor, subproject_id: int) -> list[PlanVersion]:
    """Every version of the subproject's plan, newest first."""
    actor.require(Permission.CYCLE_READ)
    return list(
        actor.session.scalars(
            scoped(actor, select(PlanVersion))
            .where(PlanVersion.subproject_id == subproject_id)
            .order_by(PlanVersion.version.desc())
        )
    )


def latest_plan(actor: Actor, subproject_id: int) -> PlanVersion:
    """The newest version of the subproject's plan; refused when there is none."""
    version = actor.session.scalar(
        scoped(actor, select(PlanVersion))
        .where(PlanVersion.subproject_id == subproject_id)
        .order_by(PlanVersion.version.desc())
        .limit(1)
    )
    if version is None:
        raise Refused(Message("the subproject has no business plan"), rule="business plan")
    return version
