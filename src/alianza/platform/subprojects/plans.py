"""Business plans: versions of a subproject's plan (alianza.appraisal format) with their appraisal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from alianza.platform.access import Actor, Permission, get, scoped
from alianza.platform.audit.service import jsonable, now, record_for
from alianza.platform.calls.models import Call
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


def appraise(plan: dict[str, Any]) -> tuple[dict[str, Any], Decimal | None, float | None]:
    """The plan's appraisal (alianza.appraisal), its NPV and IRR; an invalid plan is refused
    with every problem and its field path (under ``plan.``)."""
    from alianza.appraisal import PlanError, evaluate, parse_plan
    from alianza.problems import Problem

    try:
        result = evaluate(parse_plan(plan, "business plan"))
    except PlanError as error:
        problems = [
            Problem(f"plan.{p.field}" if p.field else "plan", p.message, "plan_format")
            for p in error.problems
        ]
        raise Invalid("business plan", problems) from None
    npv = getattr(result, "npv", None)
    irr = getattr(getattr(result, "irr", None), "value", None)
    # The appraisal computes in floats to the cent; stored as the Decimal of its printed cents.
    npv_decimal = None if npv is None else Decimal(str(round(npv, 2)))
    return jsonable(result.to_dict()), npv_decimal, irr


def submit_plan(
    actor: Actor, subproject_id: int, data: PlanIn | dict[str, Any], on: date
) -> PlanVersion:
    """Store a new plan version with its appraisal; the first moves eligible -> business_plan_submitted."""
    actor.require(Permission.CYCLE_SUBMIT)
    plan_in = validated(PlanIn, data)
    subproject = locked_subproject(actor, subproject_id)
    require_state(
        subproject, State.ELIGIBLE, State.BUSINESS_PLAN_SUBMITTED, doing="plans are submitted"
    )
    call = get(actor, Call, subproject.call_id)
    if plan_in.plan.get("currency") != call.currency:
        raise Refused(
            f"the plan is in {plan_in.plan.get('currency')}, the call in {call.currency}",
            rule="plan in the call's currency",
            field="plan.currency",
        )
    if subproject.state == State.ELIGIBLE:
        check_step_date(actor, subproject, on)  # before the version is stored
    appraisal, npv, irr = appraise(plan_in.plan)
    latest = actor.session.scalar(
        select(func.max(PlanVersion.version)).where(PlanVersion.subproject_id == subproject.id)
    )
    version = PlanVersion(
        programme_id=actor.programme_id,
        subproject_id=subproject.id,
        version=(latest or 0) + 1,
        plan=plan_in.plan,
        appraisal=appraisal,
        npv=npv,
        irr=irr,
        investment=plan_in.grant
        + plan_in.counterpart_cash
        + plan_in.counterpart_in_kind
        + plan_in.credit,
        grant=plan_in.grant,
        counterpart_cash=plan_in.counterpart_cash,
        counterpart_in_kind=plan_in.counterpart_in_kind,
        credit=plan_in.credit,
        submitted_by=actor.user_id,
        submitted_at=now(),
    )
    actor.session.add(version)
    record_for(actor, "create", version)
    if subproject.state == State.ELIGIBLE:
        move_state(
            actor, subproject, State.BUSINESS_PLAN_SUBMITTED, on, f"plan version {version.version}"
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
        raise Refused("the subproject has no business plan", rule="business plan")
    return version
