"""What an actor may do next with a subproject, and what the pages and the API show of it.

:func:`next_steps` lists the moves of the cycle open from the subproject's state, each either
allowed for this actor or refused with why: the permission the role lacks, or the rule the
service would refuse it by (computed with the services' own checks where they are cheap:
``eligibility_problems``, ``approval_problems``, the counterpart paid, the tranches' order).
The API and the pages both call it, so they cannot disagree. A step shown as allowed may still
be refused when it is done (a date out of order, a concurrent move): the service decides.

The read helpers below (:func:`get_subproject`, :func:`party_names`, :func:`latest_grants`,
:func:`user_names`, :func:`audit_trail`) give the pages what they show beside the cycle, each
scoped to the actor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select, tuple_

from alianza.platform.access import Actor, Permission, get, scoped
from alianza.platform.audit.models import AuditEntry
from alianza.platform.calls.models import Call
from alianza.platform.calls.service import scoring_sheet
from alianza.platform.errors import Refused
from alianza.platform.ledger.models import Account
from alianza.platform.programmes.models import User
from alianza.platform.registry.models import Organization
from alianza.platform.rules import rule_name
from alianza.platform.subprojects.disbursement import (
    counterpart_short,
    paid_counterpart,
    required_counterpart,
    tranche_waits,
    tranches_open,
)
from alianza.platform.subprojects.evaluation import approval_problems
from alianza.platform.subprojects.models import (
    CommitteeScore,
    CounterpartContribution,
    Decision,
    EvaluatorAssignment,
    PlanVersion,
    StateChange,
    Subproject,
    Tranche,
)
from alianza.platform.subprojects.profiles import eligibility_problems
from alianza.platform.subprojects.states import APPROVED, CLOSED, State
from alianza.problems import Message

P = Permission


@dataclass(frozen=True)
class Refusal:
    """Why a step is refused: the permission the role lacks, or a rule with its reason (a
    :class:`~alianza.problems.Message`, said in the reader's language by the pages and the
    API)."""

    rule: str
    reason: str
    permission: str | None = None


@dataclass(frozen=True)
class Step:
    """One move this actor may (or may not) make now.

    ``action`` names it as the API does (``eligibility``, ``evaluation``, ``score``, ``decision``,
    ``counterpart``, ``counterpart_confirm``, ``plan``, ``schedule_tranches``, ``agreement``,
    ``release``, ``justify``, ``verify``, ``complete``, ``monitoring``); ``outcome`` is a decision's, ``criterion`` a
    score's, ``tranche`` a tranche's number; ``warnings`` what an allowed step will record (the
    rules an eligibility check will find broken)."""

    action: str
    permission: str
    to_state: str | None = None
    outcome: str | None = None
    criterion: str | None = None
    tranche: int | None = None
    refusal: Refusal | None = None
    warnings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def _step(
    actor: Actor, action: str, permission: Permission, check: Any = None, **fields: Any
) -> Step:
    """A step refused for a missing permission, else by ``check()`` (a Refusal or None)."""
    if not actor.can(permission):
        refusal: Refusal | None = Refusal(
            "roles",
            Message(
                "the role %(role)s may not do %(permission)s",
                role=actor.role.value,
                permission=permission.value,
            ),
            permission.value,
        )
    else:
        refusal = check() if check is not None else None
    return Step(action, permission.value, refusal=refusal, **fields)


def _first(problems: list[tuple[str, str]]) -> Refusal | None:
    if not problems:
        return None
    rule, reason = problems[0]
    for other, why in problems[1:]:
        reason = Message(
            "%(reasons)s; %(rule)s: %(reason)s", reasons=reason, rule=rule_name(other), reason=why
        )
    return Refusal(rule, reason)


def next_steps(actor: Actor, subproject_id: int, on: date | None = None) -> list[Step]:
    """The moves open from the subproject's current state, allowed or refused for ``actor``."""
    actor.require(P.CYCLE_READ)
    subproject = get(actor, Subproject, subproject_id)
    on = on or date.today()
    state = State(subproject.state)
    steps: list[Step] = []
    if state is State.PROFILE_SUBMITTED:
        warnings = eligibility_problems(actor, subproject, on) if actor.can(P.CYCLE_REVIEW) else []
        steps.append(
            _step(
                actor,
                "eligibility",
                P.CYCLE_REVIEW,
                to_state=State.INELIGIBLE if warnings else State.ELIGIBLE,
                warnings=warnings,
            )
        )
    if state in (State.ELIGIBLE, State.BUSINESS_PLAN_SUBMITTED):
        steps.append(
            _step(
                actor,
                "plan",
                P.CYCLE_SUBMIT,
                to_state=State.BUSINESS_PLAN_SUBMITTED if state is State.ELIGIBLE else None,
            )
        )
    if state is State.BUSINESS_PLAN_SUBMITTED:
        steps.append(_step(actor, "evaluation", P.CYCLE_REVIEW, to_state=State.UNDER_EVALUATION))
    if state is State.UNDER_EVALUATION:
        steps.extend(_evaluation_steps(actor, subproject, on))
    if state in APPROVED:
        steps.append(_step(actor, "counterpart", P.COUNTERPART_RECORD))
        steps.append(
            _step(
                actor,
                "counterpart_confirm",
                P.CYCLE_REVIEW,
                lambda: _counterpart_refusal(actor, subproject),
                to_state=State.COUNTERPART_PAID,
            )
        )
    # Once scheduled, the disbursement plan is not offered again (one per subproject).
    if state in (*APPROVED, State.COUNTERPART_PAID, State.AGREEMENT_SIGNED) and not _tranches(
        actor, subproject.id
    ):
        steps.append(_step(actor, "schedule_tranches", P.TRANCHES_RELEASE))
    if state is State.COUNTERPART_PAID:
        steps.append(_step(actor, "agreement", P.AGREEMENTS_SIGN, to_state=State.AGREEMENT_SIGNED))
    if state in (State.AGREEMENT_SIGNED, State.IN_EXECUTION):
        steps.extend(_tranche_steps(actor, subproject))
    if state is State.IN_EXECUTION:
        steps.append(
            _step(
                actor,
                "complete",
                P.CYCLE_REVIEW,
                lambda: _completion_refusal(actor, subproject),
                to_state=State.COMPLETED,
            )
        )
    if state is State.COMPLETED:
        steps.append(
            _step(actor, "monitoring", P.CYCLE_REVIEW, to_state=State.POST_PROJECT_MONITORING)
        )
    return steps


def _evaluation_steps(actor: Actor, subproject: Subproject, on: date) -> list[Step]:
    steps = []
    sheet = scoring_sheet(get(actor.widened(), Call, subproject.call_id))
    version = _latest(actor, subproject.id)
    mine: set[str] = set()
    if version is not None:
        mine = set(
            actor.session.scalars(
                scoped(actor.widened(), select(CommitteeScore.criterion)).where(
                    CommitteeScore.plan_version_id == version.id,
                    CommitteeScore.user_id == actor.user_id,
                )
            )
        )
    for criterion in sheet.criteria:

        def scored(name: str = criterion.name) -> Refusal | None:
            if version is None:
                return Refusal("business plan", Message("the subproject has no business plan"))
            if name in mine:
                return Refusal(
                    "one score per member",
                    Message("you scored this criterion of this plan already"),
                )
            return None

        steps.append(_step(actor, "score", P.CYCLE_SCORE, scored, criterion=criterion.name))
    problems: list[tuple[str, str]] | None = None

    def approval() -> Refusal | None:
        nonlocal problems
        if version is None:
            return Refusal("business plan", Message("the subproject has no business plan"))
        if problems is None:
            problems = approval_problems(actor, subproject, on)
        return _first(problems)

    for outcome in (State.APPROVED, State.APPROVED_WITH_CONDITIONS, State.REJECTED):
        check = approval if outcome in APPROVED else None
        steps.append(
            _step(
                actor,
                "decision",
                P.CYCLE_DECIDE,
                check,
                outcome=outcome.value,
                to_state=outcome.value,
            )
        )
    return steps


def _latest(actor: Actor, subproject_id: int) -> PlanVersion | None:
    return actor.session.scalar(
        scoped(actor.widened(), select(PlanVersion))
        .where(PlanVersion.subproject_id == subproject_id)
        .order_by(PlanVersion.version.desc())
        .limit(1)
    )


def _counterpart_refusal(actor: Actor, subproject: Subproject) -> Refusal | None:
    try:
        need_cash, need_kind = required_counterpart(actor.widened(), subproject)
    except Refused as refused:
        return Refusal(refused.rule or "business plan", refused.reason)
    cash, in_kind = paid_counterpart(actor, subproject.id)
    if cash < need_cash or in_kind < need_kind:
        return Refusal(
            "counterpart before agreement", counterpart_short(cash, in_kind, need_cash, need_kind)
        )
    return None


def _tranches(actor: Actor, subproject_id: int) -> list[Tranche]:
    return list(
        actor.session.scalars(
            scoped(actor.widened(), select(Tranche))
            .where(Tranche.subproject_id == subproject_id)
            .order_by(Tranche.number)
        )
    )


def _tranche_steps(actor: Actor, subproject: Subproject) -> list[Step]:
    steps = []
    tranches = _tranches(actor, subproject.id)
    unreleased = [t for t in tranches if t.released_on is None]
    if unreleased:
        tranche = unreleased[0]
        previous = next((t for t in tranches if t.number == tranche.number - 1), None)

        def order(
            number: int = tranche.number, before: Tranche | None = previous
        ) -> Refusal | None:
            if before is not None and (
                before.justified_on is None or before.milestone_verified_on is None
            ):
                return Refusal(
                    "tranche n+1 after tranche n is justified and verified", tranche_waits(number)
                )
            return None

        steps.append(
            _step(
                actor,
                "release",
                P.TRANCHES_RELEASE,
                order,
                tranche=tranche.number,
                to_state=State.IN_EXECUTION if subproject.state == State.AGREEMENT_SIGNED else None,
            )
        )
    for tranche in tranches:
        if tranche.released_on is not None and tranche.justified_on is None:
            steps.append(_step(actor, "justify", P.TRANCHES_JUSTIFY, tranche=tranche.number))
        if tranche.justified_on is not None and tranche.milestone_verified_on is None:
            steps.append(_step(actor, "verify", P.TRANCHES_VERIFY, tranche=tranche.number))
    return steps


def _completion_refusal(actor: Actor, subproject: Subproject) -> Refusal | None:
    tranches = _tranches(actor, subproject.id)
    open_ = [t.number for t in tranches if t.milestone_verified_on is None]
    if not tranches or open_:
        return Refusal("completion after every tranche", tranches_open(open_))
    return None


# --- what the pages show beside the cycle ---------------------------------------------------


def get_subproject(actor: Actor, subproject_id: int) -> Subproject:
    """The subproject, if the actor's scope reaches it (else NotFound)."""
    actor.require(P.CYCLE_READ)
    return get(actor, Subproject, subproject_id)


def party_names(actor: Actor, organization_ids: Iterable[int | None]) -> dict[int, str]:
    """Names of the organizations (POs, buyers, lenders) the actor's scope reaches: the parties
    of the subprojects it sees are among them."""
    actor.require(P.CYCLE_READ)
    ids = sorted({i for i in organization_ids if i is not None})
    if not ids:
        return {}
    names: Any = select(Organization.id, Organization.name)
    rows: Any = actor.session.execute(scoped(actor, names).where(Organization.id.in_(ids)))
    return {row_id: name for row_id, name in rows}


def latest_grants(actor: Actor, subproject_ids: Iterable[int]) -> dict[int, Decimal]:
    """The grant of each subproject's latest plan version (subprojects without a plan absent)."""
    actor.require(P.CYCLE_READ)
    ids = sorted(set(subproject_ids))
    if not ids:
        return {}
    newest = (
        select(PlanVersion.subproject_id, func.max(PlanVersion.version).label("version"))
        .where(PlanVersion.subproject_id.in_(ids), PlanVersion.programme_id == actor.programme_id)
        .group_by(PlanVersion.subproject_id)
        .subquery()
    )
    rows = actor.session.execute(
        scoped(actor, select(PlanVersion.subproject_id, PlanVersion.grant)).where(
            tuple_(PlanVersion.subproject_id, PlanVersion.version).in_(
                select(newest.c.subproject_id, newest.c.version)
            )
        )
    )
    return {subproject_id: Decimal(grant) for subproject_id, grant in rows}


def user_names(actor: Actor, user_ids: Iterable[int]) -> dict[int, str]:
    """Display names of the programme's users (who scored, decided, moved a subproject)."""
    actor.require(P.CYCLE_READ)
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    names: Any = select(User.id, User.display_name)
    rows: Any = actor.session.execute(scoped(actor, names).where(User.id.in_(ids)))
    return {row_id: name for row_id, name in rows}


def funds_accounts(actor: Actor, currency: str) -> list[Account]:
    """The project-funds accounts a tranche in ``currency`` may be released from."""
    actor.require(P.TRANCHES_RELEASE)
    return list(
        actor.session.scalars(
            scoped(actor, select(Account))
            .where(Account.kind == "project_funds", Account.currency == currency)
            .order_by(Account.id)
        )
    )


def counterpart_accounts(actor: Actor, subproject: Subproject, currency: str) -> list[Account]:
    """The members' accounts of the subproject's PO in ``currency`` a counterpart may be paid
    from (none yet: the service opens the PO's members' account on first use)."""
    actor.require(P.COUNTERPART_RECORD)
    return list(
        actor.session.scalars(
            scoped(actor, select(Account))
            .where(
                Account.kind == "member",
                Account.currency == currency,
                Account.organization_id == subproject.organization_id,
                Account.farmer_id.is_(None),
            )
            .order_by(Account.id)
        )
    )


def counterpart_progress(actor: Actor, subproject: Subproject) -> dict[str, Decimal]:
    """The counterpart the latest plan needs and what is paid so far, cash and in kind."""
    actor.require(P.CYCLE_READ)
    try:
        need_cash, need_kind = required_counterpart(actor.widened(), subproject)
    except Refused:
        need_cash = need_kind = Decimal("0.00")
    cash, in_kind = paid_counterpart(actor, subproject.id)
    return {"need_cash": need_cash, "need_in_kind": need_kind, "cash": cash, "in_kind": in_kind}


def audit_trail(actor: Actor, subproject_id: int, limit: int = 200) -> list[AuditEntry]:
    """The audit entries of the subproject and of its rows (plans, scores, decisions,
    counterpart, tranches, evaluators, agreement), oldest first; needs audit.read."""
    from alianza.platform.agreements.models import Agreement

    actor.require(P.AUDIT_READ)
    subproject = get(actor, Subproject, subproject_id)
    rows: list[tuple[str, int]] = [("subprojects", subproject.id)]
    for model in (
        PlanVersion,
        CommitteeScore,
        Decision,
        CounterpartContribution,
        Tranche,
        EvaluatorAssignment,
        Agreement,
    ):
        for row_id in actor.session.scalars(
            scoped(actor, select(model.id)).where(model.subproject_id == subproject.id)  # type: ignore[attr-defined]
        ):
            rows.append((model.__tablename__, row_id))  # type: ignore[attr-defined]
    by_entity: dict[str, list[int]] = {}
    for entity, row_id in rows:
        by_entity.setdefault(entity, []).append(row_id)
    condition = or_(
        *(
            (AuditEntry.entity == entity) & AuditEntry.entity_id.in_(ids)
            for entity, ids in by_entity.items()
        )
    )
    return list(
        actor.session.scalars(
            scoped(actor, select(AuditEntry)).where(condition).order_by(AuditEntry.id).limit(limit)
        )
    )


def state_changes(actor: Actor, subproject_id: int) -> list[StateChange]:
    """The subproject's history (re-exported for the pages: one import)."""
    from alianza.platform.subprojects.states import history

    return history(actor, subproject_id)


__all__ = [
    "CLOSED",
    "Refusal",
    "Step",
    "audit_trail",
    "counterpart_accounts",
    "counterpart_progress",
    "funds_accounts",
    "get_subproject",
    "latest_grants",
    "next_steps",
    "party_names",
    "state_changes",
    "user_names",
]
