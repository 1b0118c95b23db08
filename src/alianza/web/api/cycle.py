"""The subproject cycle over JSON: calls, the pipeline, one subproject with what may be done
next, and every transition (``/api/v1/calls``, ``/api/v1/subprojects``...).

Routes only translate HTTP: each calls the cycle's service with the actor and lets its refusals
become the error body (403 the role lacks the permission, 404 outside the actor's scope, 409 a
rule of the cycle, 422 bad input). :func:`subproject_detail` is shared with the pages.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from alianza.appraisal.report import AppraisalReport, ProfileReport, ProjectReport
from alianza.platform.access import Actor, Permission
from alianza.platform.agreements import service as agreements
from alianza.platform.calls import service as calls_service
from alianza.platform.calls.models import Call
from alianza.platform.subprojects import service as cycle
from alianza.platform.subprojects import steps
from alianza.platform.subprojects.models import StateChange, Subproject
from alianza.platform.subprojects.plans import stored_report
from alianza.platform.subprojects.schemas import PlanIn, ProfileIn, TrancheIn
from alianza.platform.subprojects.states import State
from alianza.problems import Message
from alianza.web import i18n
from alianza.web.auth import CurrentActor

router = APIRouter(tags=["cycle"])

Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]


# --- response models ------------------------------------------------------------------------


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CallOut(Out):
    id: int
    code: str
    title: str
    currency: str
    opens_on: date
    closes_on: date
    max_grant_share: Decimal
    min_counterpart_share: Decimal
    ceiling_per_family: Decimal
    ceiling_per_alliance: Decimal
    max_families: int | None
    district_ids: list[int]
    value_chains: list[str]
    windows: list[dict[str, Any]]


class CallDetailOut(CallOut):
    member_rules: dict[str, Any]
    scoring_sheet: dict[str, Any]
    subprojects_by_state: dict[str, int] | None = Field(
        None,
        description="How many of the call's subprojects the actor sees in each state "
        "(absent without cycle.read)",
    )


class CallsOut(BaseModel):
    items: list[CallOut]
    total: int


class SubprojectOut(Out):
    id: int
    call_id: int
    organization_id: int
    buyer_id: int
    lender_id: int | None
    title: str
    value_chain: str
    funding_window: str | None
    families: int
    buyer_letter_of_interest: bool
    submitted_on: date
    state: str


class SubprojectsOut(BaseModel):
    items: list[SubprojectOut]
    total: int


class PlanVersionOut(Out):
    id: int
    version: int
    npv: Decimal | None
    irr: float | None
    investment: Decimal
    grant: Decimal
    counterpart_cash: Decimal
    counterpart_in_kind: Decimal
    credit: Decimal
    submitted_at: Any


class LatestPlanOut(PlanVersionOut):
    indicators: dict[str, Any] = Field(
        description="The appraisal's scalar figures (NPV, IRR, B/C, payback, ...)"
    )
    appraisal: AppraisalReport = Field(description="The plan's whole appraisal report")


class ScoreOut(Out):
    id: int
    plan_version_id: int
    user_id: int
    criterion: str
    score: Decimal


class DecisionOut(Out):
    id: int
    plan_version_id: int
    outcome: str
    weighted_score: Decimal | None
    conditions: str
    decided_on: date
    decided_by: int


class TrancheOut(Out):
    number: int
    amount: Decimal
    milestone: str
    released_on: date | None
    justified_on: date | None
    evidence: str | None
    milestone_verified_on: date | None


class CounterpartOut(Out):
    """A counterpart contribution and where the subproject's counterpart stands after it."""

    id: int
    subproject_id: int
    posting_id: int = Field(description="The ledger posting (members' account -> the PO's)")
    kind: str = Field(description="cash | in_kind")
    amount: Decimal
    paid_cash: Decimal = Field(description="Cash counterpart paid so far")
    paid_in_kind: Decimal = Field(description="In-kind counterpart paid so far")
    required_cash: Decimal = Field(description="Cash counterpart the latest plan needs")
    required_in_kind: Decimal = Field(description="In-kind counterpart the latest plan needs")


class StateChangeOut(Out):
    from_state: str | None
    to_state: str
    on: date
    note: str = Field(
        description="Why: what the system said of the move, in the reader's language, or a "
        "person's note as typed"
    )
    user_id: int

    @classmethod
    def of(cls, change: StateChange, locale: str) -> StateChangeOut:
        out = cls.model_validate(change)
        out.note = i18n.say(locale, change.translatable_note)
        return out


class RefusalOut(BaseModel):
    rule: str
    reason: str
    permission: str | None = None


class StepOut(BaseModel):
    action: str
    permission: str
    allowed: bool
    to_state: str | None = None
    outcome: str | None = None
    criterion: str | None = None
    tranche: int | None = None
    refusal: RefusalOut | None = None
    warnings: list[RefusalOut] = []


class SubprojectDetailOut(SubprojectOut):
    call_code: str
    organization_name: str | None
    buyer_name: str | None
    lender_name: str | None
    latest_plan: LatestPlanOut | None
    plan_versions: list[PlanVersionOut]
    scores: list[ScoreOut]
    weighted_score: Decimal | None
    decisions: list[DecisionOut]
    tranches: list[TrancheOut]
    history: list[StateChangeOut]
    agreement_id: int | None
    next_steps: list[StepOut]


# --- request bodies -------------------------------------------------------------------------


class OnIn(BaseModel):
    on: date = Field(default_factory=date.today, description="The step's date (default today)")


class ScoreIn(BaseModel):
    criterion: str
    score: Decimal = Field(ge=0, le=100)


class DecisionIn(OnIn):
    outcome: State = Field(description="approved, approved_with_conditions or rejected")
    conditions: str = ""


class PlanSubmitIn(PlanIn):
    on: date = Field(default_factory=date.today)


class CounterpartIn(OnIn):
    """A PO's counterpart contribution, in the call's currency, to the cent."""

    kind: Literal["cash", "in_kind"] = Field(
        description="cash goes to the PO's account, in_kind to its in-kind account"
    )
    amount: Decimal = Field(gt=0, max_digits=18, decimal_places=2)
    from_account_id: int | None = Field(
        None,
        ge=1,
        description="The members' account paying (default: the PO's members' account in the "
        "call's currency, opened on first use)",
    )


class TranchesIn(BaseModel):
    tranches: list[TrancheIn] = Field(min_length=1)


class ReleaseIn(OnIn):
    from_account_id: int | None = Field(
        None,
        description="The project-funds account paying (default: the first in the call's currency)",
    )


class JustifyIn(OnIn):
    evidence: str = Field(min_length=1)


# --- what a subproject shows ----------------------------------------------------------------


def indicators(report: ProjectReport | ProfileReport) -> dict[str, Any]:
    """The appraisal report's scalar figures (its tables left out)."""
    return {
        key: value
        for key, value in report.model_dump(mode="json").items()
        if isinstance(value, int | float | str | None) and not isinstance(value, bool)
    }


def step_out(step: steps.Step, locale: str = i18n.SOURCE_LOCALE) -> StepOut:
    """The step, its refusal's reason and its warnings said in ``locale``."""
    refusal = step.refusal
    return StepOut(
        action=step.action,
        permission=step.permission,
        allowed=step.allowed,
        to_state=step.to_state,
        outcome=step.outcome,
        criterion=step.criterion,
        tranche=step.tranche,
        refusal=None
        if refusal is None
        else RefusalOut(
            rule=refusal.rule,
            reason=i18n.say(locale, refusal.reason),
            permission=refusal.permission,
        ),
        warnings=[
            RefusalOut(rule=rule, reason=i18n.say(locale, reason)) for rule, reason in step.warnings
        ],
    )


def subproject_detail(actor: Actor, subproject_id: int) -> dict[str, Any]:
    """Everything one subproject shows, read through the services (the API's body and the
    page's context)."""
    subproject = steps.get_subproject(actor, subproject_id)
    call = calls_service.get_call(actor, subproject.call_id)
    versions = cycle.plan_versions(actor, subproject.id)
    latest = versions[0] if versions else None
    weighted = (
        cycle.weighted_score(actor, calls_service.scoring_sheet(call), latest)
        if latest is not None
        else None
    )
    agreement = (
        agreements.agreement_of(actor, subproject.id)
        if actor.can(Permission.AGREEMENTS_READ)
        else None
    )
    names = steps.party_names(
        actor, [subproject.organization_id, subproject.buyer_id, subproject.lender_id]
    )
    return {
        "subproject": subproject,
        "call": call,
        "names": names,
        "latest": latest,
        "versions": versions,
        "scores": cycle.scores(actor, subproject.id),
        "weighted_score": weighted,
        "decisions": cycle.decisions(actor, subproject.id),
        "tranches": cycle.tranches(actor, subproject.id),
        "history": cycle.history(actor, subproject.id),
        "agreement": agreement,
        "steps": steps.next_steps(actor, subproject.id),
    }


def detail_out(detail: dict[str, Any], locale: str = i18n.SOURCE_LOCALE) -> SubprojectDetailOut:
    subproject: Subproject = detail["subproject"]
    names = detail["names"]
    latest = detail["latest"]
    return SubprojectDetailOut(
        **SubprojectOut.model_validate(subproject).model_dump(),
        call_code=detail["call"].code,
        organization_name=names.get(subproject.organization_id),
        buyer_name=names.get(subproject.buyer_id),
        lender_name=names.get(subproject.lender_id) if subproject.lender_id else None,
        latest_plan=None
        if latest is None
        else LatestPlanOut(
            **PlanVersionOut.model_validate(latest).model_dump(),
            indicators=indicators(report := stored_report(latest)),
            appraisal=report,
        ),
        plan_versions=[PlanVersionOut.model_validate(v) for v in detail["versions"]],
        scores=[ScoreOut.model_validate(s) for s in detail["scores"]],
        weighted_score=detail["weighted_score"],
        decisions=[DecisionOut.model_validate(d) for d in detail["decisions"]],
        tranches=[TrancheOut.model_validate(t) for t in detail["tranches"]],
        history=[StateChangeOut.of(h, locale) for h in detail["history"]],
        agreement_id=detail["agreement"].id if detail["agreement"] is not None else None,
        next_steps=[step_out(s, locale) for s in detail["steps"]],
    )


def default_funds_account(actor: Actor, subproject_id: int) -> int:
    """The first project-funds account in the call's currency (refused when there is none)."""
    from alianza.platform.errors import Refused

    subproject = steps.get_subproject(actor, subproject_id)
    call: Call = calls_service.get_call(actor, subproject.call_id)
    accounts = steps.funds_accounts(actor, call.currency)
    if not accounts:
        raise Refused(
            Message("no project-funds account in %(currency)s", currency=call.currency),
            rule="project funds",
            field="from_account_id",
        )
    return accounts[0].id


# --- calls ----------------------------------------------------------------------------------


@router.get("/calls", name="api_calls", summary="The programme's calls for proposals")
def list_calls(actor: CurrentActor, limit: Limit = 50, offset: Offset = 0) -> CallsOut:
    found = calls_service.calls(actor)
    return CallsOut(
        items=[CallOut.model_validate(c) for c in found[offset : offset + limit]], total=len(found)
    )


@router.get("/calls/{call_id}", name="api_call", summary="One call with its rules")
def get_call(actor: CurrentActor, call_id: int) -> CallDetailOut:
    call = calls_service.get_call(actor, call_id)
    counts = (
        cycle.count_by_state(actor, call_id=call.id) if actor.can(Permission.CYCLE_READ) else None
    )
    return CallDetailOut(
        **CallOut.model_validate(call).model_dump(),
        member_rules=call.member_rules,
        scoring_sheet=call.scoring_sheet,
        subprojects_by_state=None
        if counts is None
        else {state.value: n for state, n in counts.items()},
    )


# --- subprojects ----------------------------------------------------------------------------


@router.get("/subprojects", name="api_subprojects", summary="The pipeline, filtered and paged")
def list_subprojects(
    actor: CurrentActor,
    state: State | None = None,
    call_id: int | None = None,
    organization_id: int | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> SubprojectsOut:
    page = cycle.list_subprojects(
        actor,
        state=state,
        call_id=call_id,
        organization_id=organization_id,
        limit=limit,
        offset=offset,
    )
    return SubprojectsOut(
        items=[SubprojectOut.model_validate(s) for s in page.items], total=page.total
    )


@router.post(
    "/subprojects",
    name="api_subproject_submit",
    status_code=201,
    summary="Submit a PO's profile under a call",
)
def submit_profile(actor: CurrentActor, body: ProfileIn) -> SubprojectOut:
    return SubprojectOut.model_validate(cycle.submit_profile(actor, body))


@router.get(
    "/subprojects/{subproject_id}",
    name="api_subproject",
    summary="One subproject: plan, scores, decisions, tranches, history, next steps",
)
def get_subproject(
    request: Request, actor: CurrentActor, subproject_id: int
) -> SubprojectDetailOut:
    return detail_out(subproject_detail(actor, subproject_id), i18n.locale_of(request))


@router.post(
    "/subprojects/{subproject_id}/plans",
    name="api_subproject_plan",
    status_code=201,
    summary="Submit a business plan version with its financing",
)
def submit_plan(actor: CurrentActor, subproject_id: int, body: PlanSubmitIn) -> PlanVersionOut:
    data = body.model_dump(exclude={"on"})
    return PlanVersionOut.model_validate(cycle.submit_plan(actor, subproject_id, data, body.on))


def _moved(subproject: Subproject) -> SubprojectOut:
    return SubprojectOut.model_validate(subproject)


@router.post(
    "/subprojects/{subproject_id}/eligibility",
    name="api_subproject_eligibility",
    summary="Check a profile's eligibility (eligible or ineligible)",
)
def check_eligibility(actor: CurrentActor, subproject_id: int, body: OnIn) -> SubprojectOut:
    return _moved(cycle.check_eligibility(actor, subproject_id, body.on))


@router.post(
    "/subprojects/{subproject_id}/evaluation",
    name="api_subproject_evaluation",
    summary="Send the business plan to the committee",
)
def start_evaluation(actor: CurrentActor, subproject_id: int, body: OnIn) -> SubprojectOut:
    return _moved(cycle.start_evaluation(actor, subproject_id, body.on))


@router.post(
    "/subprojects/{subproject_id}/scores",
    name="api_subproject_score",
    status_code=201,
    summary="A committee member's score of one criterion",
)
def score(actor: CurrentActor, subproject_id: int, body: ScoreIn) -> ScoreOut:
    return ScoreOut.model_validate(cycle.score(actor, subproject_id, body.criterion, body.score))


@router.post(
    "/subprojects/{subproject_id}/decision",
    name="api_subproject_decision",
    status_code=201,
    summary="The committee's decision",
)
def decide(actor: CurrentActor, subproject_id: int, body: DecisionIn) -> DecisionOut:
    decision = cycle.decide(actor, subproject_id, body.outcome.value, body.on, body.conditions)
    return DecisionOut.model_validate(decision)


@router.post(
    "/subprojects/{subproject_id}/counterpart",
    name="api_subproject_counterpart",
    status_code=201,
    summary="Record a counterpart contribution of the PO (cash or in kind)",
)
def record_counterpart(
    actor: CurrentActor, subproject_id: int, body: CounterpartIn
) -> CounterpartOut:
    """The PO's counterpart (counterpart.record), posted in the ledger from a members' account
    to the PO's account (cash) or its in-kind account, on ``on``. Allowed while the subproject
    is approved (409 otherwise); several contributions add up, and once they cover what the
    latest plan needs the counterpart can be confirmed (``/counterpart/confirm``)."""
    contribution = cycle.record_counterpart(
        actor, subproject_id, body.kind, body.from_account_id, body.amount, body.on
    )
    actor.session.flush()
    progress = steps.counterpart_progress(actor, steps.get_subproject(actor, subproject_id))
    return CounterpartOut(
        id=contribution.id,
        subproject_id=contribution.subproject_id,
        posting_id=contribution.posting_id,
        kind=contribution.kind,
        amount=contribution.amount,
        paid_cash=progress["cash"],
        paid_in_kind=progress["in_kind"],
        required_cash=progress["need_cash"],
        required_in_kind=progress["need_in_kind"],
    )


@router.post(
    "/subprojects/{subproject_id}/counterpart/confirm",
    name="api_subproject_counterpart_confirm",
    summary="Confirm the PO's counterpart is paid",
)
def confirm_counterpart(actor: CurrentActor, subproject_id: int, body: OnIn) -> SubprojectOut:
    return _moved(cycle.confirm_counterpart_paid(actor, subproject_id, body.on))


@router.post(
    "/subprojects/{subproject_id}/tranches",
    name="api_subproject_tranches",
    status_code=201,
    summary="Schedule the grant's tranches",
)
def schedule_tranches(
    actor: CurrentActor, subproject_id: int, body: TranchesIn
) -> list[TrancheOut]:
    made = cycle.schedule_tranches(actor, subproject_id, list(body.tranches))
    return [TrancheOut.model_validate(t) for t in made]


@router.post(
    "/subprojects/{subproject_id}/tranches/{number}/release",
    name="api_tranche_release",
    summary="Release (pay) a tranche",
)
def release(actor: CurrentActor, subproject_id: int, number: int, body: ReleaseIn) -> TrancheOut:
    account = body.from_account_id or default_funds_account(actor, subproject_id)
    return TrancheOut.model_validate(
        cycle.release_tranche(actor, subproject_id, number, account, body.on)
    )


@router.post(
    "/subprojects/{subproject_id}/tranches/{number}/justify",
    name="api_tranche_justify",
    summary="The PO's evidence of how a tranche was used",
)
def justify(actor: CurrentActor, subproject_id: int, number: int, body: JustifyIn) -> TrancheOut:
    return TrancheOut.model_validate(
        cycle.justify_tranche(actor, subproject_id, number, body.evidence, body.on)
    )


@router.post(
    "/subprojects/{subproject_id}/tranches/{number}/verify",
    name="api_tranche_verify",
    summary="Verify a tranche's milestone",
)
def verify(actor: CurrentActor, subproject_id: int, number: int, body: OnIn) -> TrancheOut:
    return TrancheOut.model_validate(cycle.verify_milestone(actor, subproject_id, number, body.on))


@router.post(
    "/subprojects/{subproject_id}/complete",
    name="api_subproject_complete",
    summary="Close the execution",
)
def complete(actor: CurrentActor, subproject_id: int, body: OnIn) -> SubprojectOut:
    return _moved(cycle.complete(actor, subproject_id, body.on))


@router.post(
    "/subprojects/{subproject_id}/monitoring",
    name="api_subproject_monitoring",
    summary="Start post-project monitoring",
)
def start_monitoring(actor: CurrentActor, subproject_id: int, body: OnIn) -> SubprojectOut:
    return _moved(cycle.start_monitoring(actor, subproject_id, body.on))
