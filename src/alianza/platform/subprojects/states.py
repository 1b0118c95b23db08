"""The subproject cycle as an explicit state machine; every refused move names the rule.

A move locks the subproject row (SELECT ... FOR UPDATE) and re-reads its state, so two
concurrent moves of one subproject cannot both win.
"""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import select

from alianza.platform.access import Actor, Permission, get, scoped
from alianza.platform.audit.service import now, record_for, snapshot
from alianza.platform.errors import NotFound, Refused
from alianza.platform.subprojects.models import StateChange, Subproject
from alianza.problems import Message, message_parts


class State(enum.StrEnum):
    """Where a subproject stands in the cycle: one name each, everywhere."""

    PROFILE_SUBMITTED = "profile_submitted"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    BUSINESS_PLAN_SUBMITTED = "business_plan_submitted"
    UNDER_EVALUATION = "under_evaluation"
    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"
    REJECTED = "rejected"
    COUNTERPART_PAID = "counterpart_paid"
    AGREEMENT_SIGNED = "agreement_signed"
    IN_EXECUTION = "in_execution"
    COMPLETED = "completed"
    POST_PROJECT_MONITORING = "post_project_monitoring"


S = State
# state -> the states it may move to
TRANSITIONS: dict[State, tuple[State, ...]] = {
    S.PROFILE_SUBMITTED: (S.ELIGIBLE, S.INELIGIBLE),
    S.ELIGIBLE: (S.BUSINESS_PLAN_SUBMITTED,),
    S.INELIGIBLE: (),
    S.BUSINESS_PLAN_SUBMITTED: (S.UNDER_EVALUATION,),
    S.UNDER_EVALUATION: (S.APPROVED, S.APPROVED_WITH_CONDITIONS, S.REJECTED),
    S.APPROVED: (S.COUNTERPART_PAID,),
    S.APPROVED_WITH_CONDITIONS: (S.COUNTERPART_PAID,),
    S.REJECTED: (),
    S.COUNTERPART_PAID: (S.AGREEMENT_SIGNED,),
    S.AGREEMENT_SIGNED: (S.IN_EXECUTION,),
    S.IN_EXECUTION: (S.COMPLETED,),
    S.COMPLETED: (S.POST_PROJECT_MONITORING,),
    S.POST_PROJECT_MONITORING: (),
}
STATES = tuple(State)
# The states after the last tranche: the grant's records are closed.
CLOSED = (S.COMPLETED, S.POST_PROJECT_MONITORING)
DECISIONS = (S.APPROVED, S.APPROVED_WITH_CONDITIONS, S.REJECTED)
APPROVED = (S.APPROVED, S.APPROVED_WITH_CONDITIONS)


def locked_subproject(actor: Actor, subproject_id: int) -> Subproject:
    """The subproject (if the actor's scope reaches it), row-locked until the transaction ends,
    with its state freshly read."""
    subproject = actor.session.scalar(
        scoped(actor, select(Subproject))
        .where(Subproject.id == subproject_id)
        .with_for_update(of=Subproject)
        .execution_options(populate_existing=True)
    )
    if subproject is None:
        raise NotFound(Message("no subproject %(id)s", id=subproject_id))
    return subproject


def either(states: tuple[State, ...]) -> str:
    """States as a reader names the choice: 'approved or approved_with_conditions' (the word
    between them in the reader's language)."""
    named: str = str(states[0])
    for state in states[1:]:
        named = Message("%(states)s or %(state)s", states=named, state=str(state))
    return named


def require_state(subproject: Subproject, *states: State, doing: Message) -> None:
    """Refuse ``doing`` (what is refused, a clause: 'counterpart is paid') unless the
    subproject is in one of ``states``."""
    if subproject.state not in states:
        raise Refused(
            Message(
                "%(doing)s while %(expected)s, not while %(state)s",
                doing=doing,
                expected=either(states),
                state=str(subproject.state),
            ),
            rule="subproject cycle",
        )


def check_step_date(actor: Actor, subproject: Subproject, on: date) -> None:
    """Refuse a step dated before the step it follows (the last date of the state history)."""
    last = actor.session.scalar(
        select(StateChange.on)
        .where(StateChange.subproject_id == subproject.id)
        .order_by(StateChange.id.desc())
        .limit(1)
    )
    if last is not None and on < last:
        raise Refused(
            Message(
                "the subproject became %(state)s on %(last)s: its next step cannot be dated "
                "%(on)s, before that",
                state=str(subproject.state),
                last=last,
                on=on,
            ),
            rule="steps in date order",
            field="on",
        )


def move_state(actor: Actor, subproject: Subproject, to_state: State, on: date, note: str) -> None:
    """Move the (locked) subproject to ``to_state`` on ``on``, recording who, when and why:
    ``note``, a :class:`Message` when the system says why (kept with its parts, so that a page
    says it in the reader's language), or a person's words, kept as typed."""
    allowed = TRANSITIONS[State(subproject.state)]
    if to_state not in allowed:
        state, to = str(subproject.state), str(to_state)
        raise Refused(
            Message(
                "a subproject %(state)s cannot become %(to_state)s (allowed: %(allowed)s)",
                state=state,
                to_state=to,
                allowed=", ".join(allowed),
            )
            if allowed
            else Message(
                "a subproject %(state)s cannot become %(to_state)s (allowed: none)",
                state=state,
                to_state=to,
            ),
            rule="subproject cycle",
        )
    check_step_date(actor, subproject, on)
    before = snapshot(subproject)
    actor.session.add(
        StateChange(
            programme_id=actor.programme_id,
            subproject_id=subproject.id,
            from_state=subproject.state,
            to_state=to_state,
            on=on,
            note=str(note),
            note_parts=message_parts(note),
            user_id=actor.user_id,
            at=now(),
        )
    )
    subproject.state = to_state
    record_for(actor, "transition", subproject, before=before)


def history(actor: Actor, subproject_id: int) -> list[StateChange]:
    """The subproject's moves through the cycle, oldest first."""
    actor.require(Permission.CYCLE_READ)
    get(actor, Subproject, subproject_id)
    return list(
        actor.session.scalars(
            scoped(actor, select(StateChange))
            .where(StateChange.subproject_id == subproject_id)
            .order_by(StateChange.id)
        )
    )
