"""The subproject cycle's operations in one place, for the CLI, the API and the pages.

The rules live in one module per stage: :mod:`.states` (the state machine), :mod:`.profiles`
(profiles and eligibility), :mod:`.plans` (business plans and their appraisal),
:mod:`.evaluation` (evaluators, scores, decisions) and :mod:`.disbursement` (counterpart,
tranches, completion). This module adds the lists a programme reads.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from alianza.platform.access import Actor, Page, Permission, paged, scoped
from alianza.platform.subprojects.disbursement import (
    complete,
    confirm_counterpart_paid,
    justify_tranche,
    paid_counterpart,
    po_account,
    record_counterpart,
    release_tranche,
    required_counterpart,
    schedule_tranches,
    start_monitoring,
    tranches,
    verify_milestone,
)
from alianza.platform.subprojects.evaluation import (
    Shares,
    approval_problems,
    assign_evaluator,
    decide,
    decisions,
    evaluators,
    member_shares,
    score,
    scores,
    start_evaluation,
    weighted_score,
)
from alianza.platform.subprojects.models import Subproject
from alianza.platform.subprojects.plans import appraise, latest_plan, plan_versions, submit_plan
from alianza.platform.subprojects.profiles import (
    check_eligibility,
    eligibility_problems,
    submit_profile,
)
from alianza.platform.subprojects.states import (
    APPROVED,
    DECISIONS,
    STATES,
    TRANSITIONS,
    State,
    history,
    locked_subproject,
    move_state,
)

__all__ = [
    "APPROVED",
    "DECISIONS",
    "STATES",
    "TRANSITIONS",
    "Shares",
    "State",
    "appraise",
    "approval_problems",
    "assign_evaluator",
    "check_eligibility",
    "complete",
    "confirm_counterpart_paid",
    "count_by_state",
    "decide",
    "decisions",
    "eligibility_problems",
    "evaluators",
    "history",
    "justify_tranche",
    "latest_plan",
    "list_subprojects",
    "locked_subproject",
    "member_shares",
    "move_state",
    "paid_counterpart",
    "plan_versions",
    "po_account",
    "record_counterpart",
    "release_tranche",
    "required_counterpart",
    "schedule_tranches",
    "score",
    "scores",
    "start_evaluation",
    "start_monitoring",
    "submit_plan",
    "submit_profile",
    "tranches",
    "verify_milestone",
    "weighted_score",
]


def list_subprojects(
    actor: Actor,
    *,
    state: State | None = None,
    call_id: int | None = None,
    organization_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """The subprojects the actor's scope reaches, newest first, filtered and paged."""
    actor.require(Permission.CYCLE_READ)
    query: Any = select(Subproject)
    if state is not None:
        query = query.where(Subproject.state == state)
    if call_id is not None:
        query = query.where(Subproject.call_id == call_id)
    if organization_id is not None:
        query = query.where(Subproject.organization_id == organization_id)
    return paged(actor, query.order_by(Subproject.id.desc()), limit, offset)


def count_by_state(actor: Actor, *, call_id: int | None = None) -> dict[State, int]:
    """How many subprojects the actor's scope reaches stand in each state (every state listed),
    under one call if ``call_id`` is given."""
    actor.require(Permission.CYCLE_READ)
    counted: Any = select(Subproject.state, func.count())
    query: Any = scoped(actor, counted)
    if call_id is not None:
        query = query.where(Subproject.call_id == call_id)
    counts = {
        state: count for state, count in actor.session.execute(query.group_by(Subproject.state))
    }
    return {state: int(counts.get(state, 0)) for state in State}
