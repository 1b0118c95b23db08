"""Money through the cycle: the PO's counterpart, the grant's tranches (released one after
another on evidence and verified milestones), completion and post-project monitoring."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from alianza.platform.access import Actor, Permission, get, scoped
from alianza.platform.audit.service import record_for, snapshot
from alianza.platform.calls.models import Call
from alianza.platform.errors import NotFound, Refused
from alianza.platform.ledger import service as ledger
from alianza.platform.subprojects.models import CounterpartContribution, Subproject, Tranche
from alianza.platform.subprojects.plans import latest_plan
from alianza.platform.subprojects.schemas import TrancheIn
from alianza.platform.subprojects.states import (
    APPROVED,
    CLOSED,
    State,
    check_step_date,
    locked_subproject,
    move_state,
    require_state,
)
from alianza.platform.validation import validated
from alianza.problems import Message

PO_ACCOUNT_LABELS = {
    "po": "",
    "po_in_kind": " in kind",
    "po_revolving_fund": " revolving fund",
    "member": " members",
}


def po_account(actor: Actor, subproject_id: int, kind: str = "po") -> ledger.Account:
    """The PO's account of ``kind`` in the call's currency (opened on first use): the
    service's own bookkeeping, whoever's payment or release lands there."""
    subproject = get(actor, Subproject, subproject_id)
    call = get(actor, Call, subproject.call_id)
    return ledger.organization_account(
        actor, kind, call.currency, subproject.organization_id, PO_ACCOUNT_LABELS[kind]
    )


def required_counterpart(actor: Actor, subproject: Subproject) -> tuple[Decimal, Decimal]:
    plan = latest_plan(actor, subproject.id)
    return Decimal(plan.counterpart_cash), Decimal(plan.counterpart_in_kind)


def paid_counterpart(actor: Actor, subproject_id: int) -> tuple[Decimal, Decimal]:
    rows = actor.session.scalars(
        scoped(actor.widened(), select(CounterpartContribution)).where(
            CounterpartContribution.subproject_id == subproject_id
        )
    ).all()
    cash = sum((Decimal(r.amount) for r in rows if r.kind == "cash"), Decimal("0.00"))
    in_kind = sum((Decimal(r.amount) for r in rows if r.kind == "in_kind"), Decimal("0.00"))
    return cash, in_kind


def counterpart_short(
    cash: Decimal, in_kind: Decimal, need_cash: Decimal, need_kind: Decimal
) -> Message:
    """Why the counterpart is not paid yet: what is paid of what the plan needs."""
    return Message(
        "counterpart paid %(cash)s cash / %(in_kind)s in kind of %(need_cash)s / %(need_kind)s",
        cash=cash,
        in_kind=in_kind,
        need_cash=need_cash,
        need_kind=need_kind,
    )


def record_counterpart(
    actor: Actor,
    subproject_id: int,
    kind: str,
    from_account_id: int | None,
    amount: Decimal | str,
    on: date,
) -> CounterpartContribution:
    """A counterpart contribution (cash to the PO's account, in kind to its in-kind account),
    from a members' account (``from_account_id``; None: the PO's own members' account in the
    call's currency, opened on first use)."""
    actor.require(Permission.COUNTERPART_RECORD)
    if kind not in ("cash", "in_kind"):
        raise Refused(Message("counterpart is cash or in_kind"), field="kind")
    subproject = locked_subproject(actor, subproject_id)
    require_state(subproject, *APPROVED, doing=Message("counterpart is paid"))
    if from_account_id is None:
        from_account_id = po_account(actor, subproject.id, "member").id
    target = po_account(actor, subproject.id, "po" if kind == "cash" else "po_in_kind")
    posting = ledger.post_transfer(
        actor,
        {
            "kind": "counterpart_cash" if kind == "cash" else "counterpart_in_kind",
            "from_account_id": from_account_id,
            "to_account_id": target.id,
            "amount": amount,
            "posted_on": on,
            "memo": f"counterpart ({kind}) of subproject {subproject.id}",
        },
    )
    contribution = CounterpartContribution(
        programme_id=actor.programme_id,
        subproject_id=subproject.id,
        posting_id=posting.id,
        kind=kind,
        amount=Decimal(str(amount)),
    )
    actor.session.add(contribution)
    record_for(actor, "create", contribution)
    return contribution


def confirm_counterpart_paid(actor: Actor, subproject_id: int, on: date) -> Subproject:
    """Move an approved subproject on once the PO has paid all the counterpart its plan needs."""
    actor.require(Permission.CYCLE_REVIEW)
    subproject = locked_subproject(actor, subproject_id)
    require_state(subproject, *APPROVED, doing=Message("the counterpart is confirmed"))
    need_cash, need_kind = required_counterpart(actor, subproject)
    cash, in_kind = paid_counterpart(actor, subproject.id)
    if cash < need_cash or in_kind < need_kind:
        raise Refused(
            counterpart_short(cash, in_kind, need_cash, need_kind),
            rule="counterpart before agreement",
        )
    move_state(
        actor,
        subproject,
        State.COUNTERPART_PAID,
        on,
        Message("%(cash)s cash, %(in_kind)s in kind", cash=cash, in_kind=in_kind),
    )
    return subproject


def schedule_tranches(
    actor: Actor, subproject_id: int, tranches: list[TrancheIn | dict[str, Any]]
) -> list[Tranche]:
    """The grant's disbursement plan: tranches that add up to the approved grant."""
    actor.require(Permission.TRANCHES_RELEASE)
    items = [validated(TrancheIn, t) for t in tranches]
    subproject = locked_subproject(actor, subproject_id)
    require_state(
        subproject,
        *APPROVED,
        State.COUNTERPART_PAID,
        State.AGREEMENT_SIGNED,
        doing=Message("tranches are scheduled"),
    )
    if actor.session.scalar(select(Tranche.id).where(Tranche.subproject_id == subproject.id)):
        raise Refused(Message("the tranches are scheduled already"), rule="one disbursement plan")
    grant = Decimal(latest_plan(actor, subproject.id).grant)
    total = sum((t.amount for t in items), Decimal("0.00"))
    if total != grant:
        raise Refused(
            Message(
                "tranches add up to %(total)s, the approved grant is %(grant)s",
                total=total,
                grant=grant,
            ),
            rule="tranches = grant",
        )
    made = []
    for number, item in enumerate(items, start=1):
        tranche = Tranche(
            programme_id=actor.programme_id,
            subproject_id=subproject.id,
            number=number,
            amount=item.amount,
            milestone=item.milestone,
        )
        actor.session.add(tranche)
        record_for(actor, "create", tranche)
        made.append(tranche)
    return made


def tranches(actor: Actor, subproject_id: int) -> list[Tranche]:
    """The subproject's tranches, by number."""
    actor.require(Permission.CYCLE_READ)
    return list(
        actor.session.scalars(
            scoped(actor, select(Tranche))
            .where(Tranche.subproject_id == subproject_id)
            .order_by(Tranche.number)
        )
    )


def _tranche(actor: Actor, subproject_id: int, number: int) -> Tranche:
    tranche = actor.session.scalar(
        scoped(actor, select(Tranche)).where(
            Tranche.subproject_id == subproject_id, Tranche.number == number
        )
    )
    if tranche is None:
        raise NotFound(
            Message(
                "no tranche %(number)s of subproject %(subproject)s",
                number=number,
                subproject=subproject_id,
            )
        )
    return tranche


def tranche_waits(number: int) -> Message:
    """Why tranche ``number`` is not released yet: the one before is not closed."""
    return Message(
        "tranche %(number)s waits until tranche %(previous)s is justified and its milestone "
        "verified",
        number=number,
        previous=number - 1,
    )


def release_tranche(
    actor: Actor, subproject_id: int, number: int, from_account_id: int, on: date
) -> Tranche:
    """Pay tranche ``number`` from the project's funds to the PO; n+1 waits for n's justification."""
    actor.require(Permission.TRANCHES_RELEASE)
    subproject = locked_subproject(actor, subproject_id)
    if subproject.state not in (State.AGREEMENT_SIGNED, State.IN_EXECUTION):
        raise Refused(
            Message(
                "tranches are released once the agreement is signed, not while %(state)s",
                state=str(subproject.state),
            ),
            rule="agreement before disbursement",
        )
    tranche = _tranche(actor, subproject.id, number)
    if tranche.released_on is not None:
        raise Refused(
            Message(
                "tranche %(number)s was released on %(day)s",
                number=number,
                day=tranche.released_on,
            ),
            rule="release once",
        )
    if number > 1:
        previous = _tranche(actor, subproject.id, number - 1)
        if previous.justified_on is None or previous.milestone_verified_on is None:
            raise Refused(
                tranche_waits(number), rule="tranche n+1 after tranche n is justified and verified"
            )
    if subproject.state == State.AGREEMENT_SIGNED:
        check_step_date(actor, subproject, on)  # before the money moves
    before = snapshot(tranche)
    posting = ledger.post_transfer(
        actor,
        {
            "kind": "grant_tranche",
            "from_account_id": from_account_id,
            "to_account_id": po_account(actor, subproject.id).id,
            "amount": tranche.amount,
            "posted_on": on,
            "memo": f"tranche {number} of subproject {subproject.id}",
        },
    )
    tranche.released_on = on
    tranche.release_posting_id = posting.id
    record_for(actor, "release", tranche, before=before)
    if subproject.state == State.AGREEMENT_SIGNED:
        move_state(
            actor,
            subproject,
            State.IN_EXECUTION,
            on,
            Message("tranche %(number)s released", number=number),
        )
    return tranche


def refuse_after_completion(subproject: Subproject, what: str) -> None:
    """A completed subproject's tranches are closed: their justification stands as it was
    (``what``: ``justified`` or ``verified``)."""
    if subproject.state in CLOSED:
        state = str(subproject.state)
        raise Refused(
            Message(
                "the subproject is %(state)s: its tranches cannot be justified again",
                state=state,
            )
            if what == "justified"
            else Message(
                "the subproject is %(state)s: its tranches cannot be verified again",
                state=state,
            ),
            rule="tranches closed on completion",
        )


def justify_tranche(
    actor: Actor, subproject_id: int, number: int, evidence: str, on: date
) -> Tranche:
    """The PO's evidence of how a released tranche was used."""
    actor.require(Permission.TRANCHES_JUSTIFY)
    refuse_after_completion(locked_subproject(actor, subproject_id), "justified")
    tranche = _tranche(actor, subproject_id, number)
    if tranche.released_on is None:
        raise Refused(
            Message("tranche %(number)s is not released yet", number=number),
            rule="justify after release",
        )
    if not evidence.strip():
        raise Refused(
            Message("give the evidence of how the tranche was used"),
            rule="evidence",
            field="evidence",
        )
    before = snapshot(tranche)
    tranche.justified_on = on
    tranche.evidence = evidence
    record_for(actor, "justify", tranche, before=before)
    return tranche


def verify_milestone(actor: Actor, subproject_id: int, number: int, on: date) -> Tranche:
    """The project's verification that a justified tranche's milestone was reached."""
    actor.require(Permission.TRANCHES_VERIFY)
    refuse_after_completion(locked_subproject(actor, subproject_id), "verified")
    tranche = _tranche(actor, subproject_id, number)
    if tranche.justified_on is None:
        raise Refused(
            Message("tranche %(number)s is not justified yet", number=number),
            rule="verify after justification",
        )
    before = snapshot(tranche)
    tranche.milestone_verified_on = on
    record_for(actor, "verify", tranche, before=before)
    return tranche


def tranches_open(numbers: list[int]) -> Message:
    """Why the execution cannot be completed: the tranches not yet verified (none scheduled
    when ``numbers`` is empty)."""
    if not numbers:
        return Message("tranches none scheduled are not justified and verified")
    return Message("tranches %(numbers)s are not justified and verified", numbers=str(numbers))


def complete(actor: Actor, subproject_id: int, on: date) -> Subproject:
    """Close the execution once every tranche is justified and its milestone verified."""
    actor.require(Permission.CYCLE_REVIEW)
    subproject = locked_subproject(actor, subproject_id)
    scheduled = actor.session.scalars(
        select(Tranche).where(Tranche.subproject_id == subproject.id)
    ).all()
    open_ = [t.number for t in scheduled if t.milestone_verified_on is None]
    if not scheduled or open_:
        raise Refused(tranches_open(open_), rule="completion after every tranche")
    move_state(actor, subproject, State.COMPLETED, on, "")
    return subproject


def start_monitoring(actor: Actor, subproject_id: int, on: date) -> Subproject:
    """Follow the alliance after the project's support ends (the real test of survival)."""
    actor.require(Permission.CYCLE_REVIEW)
    subproject = locked_subproject(actor, subproject_id)
    move_state(actor, subproject, State.POST_PROJECT_MONITORING, on, "")
    return subproject
