"""The subproject cycle as an explicit state machine; every refused move names the rule.

A move locks the subproject row (SELECT ... FOR UPDATE) and re-reads its state, so two
concurrent moves of one subproject cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import func, select

from alianza.platform.audit.service import jsonable, now, record_for, snapshot
from alianza.platform.calls.models import Call
from alianza.platform.calls.schemas import ScoringSheet
from alianza.platform.calls.service import scoring_sheet
from alianza.platform.errors import NotFound, Refused
from alianza.platform.ledger import service as ledger
from alianza.platform.programmes.service import Actor, get
from alianza.platform.registry.models import Organization, Place
from alianza.platform.registry.service import ancestors
from alianza.platform.registry.service import members as registry_members
from alianza.platform.subprojects.models import (
    CommitteeScore,
    CounterpartContribution,
    Decision,
    PlanVersion,
    StateChange,
    Subproject,
    Tranche,
)
from alianza.platform.subprojects.schemas import (
    APPROVED,
    DECISIONS,
    TRANSITIONS,
    PlanIn,
    ProfileIn,
    TrancheIn,
)
from alianza.platform.validation import validated

CENT = Decimal("0.01")


def locked_subproject(actor: Actor, subproject_id: int) -> Subproject:
    """The subproject, row-locked until the transaction ends, with its state freshly read."""
    subproject = actor.session.scalar(
        select(Subproject)
        .where(Subproject.id == subproject_id, Subproject.programme_id == actor.programme_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if subproject is None:
        raise NotFound(f"no subproject {subproject_id} in this programme")
    return subproject


# The states after the last tranche: the grant's records are closed.
COMPLETED = ("completed", "post_project_monitoring")


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
            f"the subproject became {subproject.state} on {last}: its next step cannot be dated "
            f"{on}, before that",
            rule="steps in date order", field="on",
        )


def move_state(actor: Actor, subproject: Subproject, to_state: str, on: date, note: str) -> None:
    allowed = TRANSITIONS[subproject.state]
    if to_state not in allowed:
        raise Refused(
            f"a subproject {subproject.state} cannot become {to_state} "
            f"(allowed: {', '.join(allowed) or 'none'})",
            rule="subproject cycle",
        )
    check_step_date(actor, subproject, on)
    before = snapshot(subproject)
    actor.session.add(
        StateChange(
            programme_id=actor.programme_id, subproject_id=subproject.id,
            from_state=subproject.state, to_state=to_state, on=on, note=note,
            user_id=actor.user_id, at=now(),
        )
    )
    subproject.state = to_state
    record_for(actor, "transition", subproject, before=before)


def submit_profile(actor: Actor, data: ProfileIn | dict[str, Any]) -> Subproject:
    """A PO's profile (concept note) under a call; the cycle starts at profile_submitted."""
    actor.require("write")
    profile = validated(ProfileIn, data)
    call = get(actor, Call, profile.call_id)
    po = get(actor, Organization, profile.organization_id)
    buyer = get(actor, Organization, profile.buyer_id)
    if po.kind != "producer_organization":
        raise Refused(f"{po.name} is not a producer organization", rule="applicant")
    if buyer.kind != "buyer":
        raise Refused(f"{buyer.name} is not a buyer", rule="buyer")
    if not call.opens_on <= profile.submitted_on <= call.closes_on:
        raise Refused(
            f"call {call.code} is open from {call.opens_on} to {call.closes_on}", rule="call window"
        )
    subproject = Subproject(
        programme_id=actor.programme_id, state="profile_submitted", created_at=now(),
        **profile.model_dump(),
    )
    actor.session.add(subproject)
    actor.session.flush()
    actor.session.add(
        StateChange(
            programme_id=actor.programme_id, subproject_id=subproject.id, from_state=None,
            to_state="profile_submitted", on=profile.submitted_on, note="",
            user_id=actor.user_id, at=now(),
        )
    )
    record_for(actor, "create", subproject)
    return subproject


# --- eligibility ---------------------------------------------------------------------------------


def eligibility_problems(actor: Actor, subproject: Subproject, on: date) -> list[tuple[str, str]]:
    """(rule, reason) for every eligibility rule of the call the profile breaks."""
    call = get(actor, Call, subproject.call_id)
    po = get(actor, Organization, subproject.organization_id)
    problems: list[tuple[str, str]] = []
    district: Place | None = ancestors(actor, po.place_id).get("district") if po.place_id else None
    if district is None or district.id not in call.district_ids:
        problems.append(("call regions", f"{po.name} is not in one of the call's districts"))
    if subproject.value_chain not in call.value_chains:
        problems.append(("call value chains", f"value chain {subproject.value_chain!r} is not in the call"))
    windows = {w["name"] for w in call.windows}
    if windows and subproject.funding_window not in windows:
        problems.append(("call windows", f"window {subproject.funding_window!r} is not one of {sorted(windows)}"))
    if call.max_families is not None and subproject.families > call.max_families:
        problems.append(("families per alliance", f"{subproject.families} families > {call.max_families}"))
    if not subproject.buyer_letter_of_interest:
        problems.append(("buyer letter of interest", "the profile has no buyer's letter of interest"))
    rules = call.member_rules
    members = registry_members(actor, po.id)
    if len(members) < rules.get("min_members", 1):
        problems.append(("member eligibility", f"{len(members)} members < {rules.get('min_members')}"))
    if subproject.families > len(members):
        problems.append(("member eligibility", f"{subproject.families} families but {len(members)} members"))
    too_young = [m for m in members if m.age(on) < rules.get("min_age", 0)]
    if too_young:
        problems.append(("member eligibility", f"{len(too_young)} members under {rules.get('min_age')}"))
    if rules.get("max_land_hectares") is not None:
        limit = Decimal(rules["max_land_hectares"])
        large = [m for m in members if m.land_hectares > limit]
        if large:
            problems.append(("member eligibility", f"{len(large)} members hold more than {limit} ha"))
    return problems


def check_eligibility(actor: Actor, subproject_id: int, on: date) -> Subproject:
    """Move a profile to eligible, or to ineligible with every broken rule in the note."""
    actor.require("write")
    subproject = locked_subproject(actor, subproject_id)
    if subproject.state != "profile_submitted":
        raise Refused(f"the subproject is {subproject.state}, not profile_submitted", rule="subproject cycle")
    problems = eligibility_problems(actor, subproject, on)
    if problems:
        move_state(actor, subproject, "ineligible", on, "; ".join(f"{r}: {why}" for r, why in problems))
    else:
        move_state(actor, subproject, "eligible", on, "meets the call's eligibility rules")
    return subproject


# --- business plans -------------------------------------------------------------------------------


def appraise(plan: dict[str, Any]) -> tuple[dict[str, Any], Decimal | None, float | None]:
    """The plan's appraisal (alianza.appraisal), its NPV and IRR; an invalid plan is refused."""
    from alianza.appraisal import PlanError, evaluate, parse_plan

    try:
        result = evaluate(parse_plan(plan, "business plan"))
    except PlanError as error:
        reasons = "; ".join(f"{path}: {why}" for path, why in error.errors)
        raise Refused(f"the business plan is invalid: {reasons}", rule="plan format") from None
    npv = getattr(result, "npv", None)
    irr = getattr(getattr(result, "irr", None), "value", None)
    # The appraisal computes in floats to the cent; stored as the Decimal of its printed cents.
    npv_decimal = None if npv is None else Decimal(str(round(npv, 2)))
    return jsonable(result.to_dict()), npv_decimal, irr


def submit_plan(actor: Actor, subproject_id: int, data: PlanIn | dict[str, Any], on: date) -> PlanVersion:
    """Store a new plan version with its appraisal; the first moves eligible -> business_plan_submitted."""
    actor.require("write")
    plan_in = validated(PlanIn, data)
    subproject = locked_subproject(actor, subproject_id)
    if subproject.state not in ("eligible", "business_plan_submitted"):
        raise Refused(
            f"plans are submitted while eligible or business_plan_submitted, not {subproject.state}",
            rule="subproject cycle",
        )
    call = get(actor, Call, subproject.call_id)
    if plan_in.plan.get("currency") != call.currency:
        raise Refused(
            f"the plan is in {plan_in.plan.get('currency')}, the call in {call.currency}",
            rule="plan in the call's currency",
        )
    if subproject.state == "eligible":
        check_step_date(actor, subproject, on)  # before the version is stored
    appraisal, npv, irr = appraise(plan_in.plan)
    latest = actor.session.scalar(
        select(func.max(PlanVersion.version)).where(PlanVersion.subproject_id == subproject.id)
    )
    version = PlanVersion(
        programme_id=actor.programme_id, subproject_id=subproject.id, version=(latest or 0) + 1,
        plan=plan_in.plan, appraisal=appraisal, npv=npv, irr=irr,
        investment=plan_in.grant + plan_in.counterpart_cash + plan_in.counterpart_in_kind + plan_in.credit,
        grant=plan_in.grant, counterpart_cash=plan_in.counterpart_cash,
        counterpart_in_kind=plan_in.counterpart_in_kind, credit=plan_in.credit,
        submitted_by=actor.user_id, submitted_at=now(),
    )
    actor.session.add(version)
    record_for(actor, "create", version)
    if subproject.state == "eligible":
        move_state(actor, subproject, "business_plan_submitted", on, f"plan version {version.version}")
    return version


def latest_plan(actor: Actor, subproject_id: int) -> PlanVersion:
    version = actor.session.scalar(
        select(PlanVersion)
        .where(PlanVersion.subproject_id == subproject_id, PlanVersion.programme_id == actor.programme_id)
        .order_by(PlanVersion.version.desc())
        .limit(1)
    )
    if version is None:
        raise Refused("the subproject has no business plan", rule="business plan")
    return version


def start_evaluation(actor: Actor, subproject_id: int, on: date) -> Subproject:
    actor.require("write")
    subproject = locked_subproject(actor, subproject_id)
    move_state(actor, subproject, "under_evaluation", on, "")
    return subproject


# --- evaluation -----------------------------------------------------------------------------------


def score(actor: Actor, subproject_id: int, criterion: str, value: Decimal | str | int) -> CommitteeScore:
    """A committee member's score (0-100) of the latest plan on one criterion of the call's sheet."""
    actor.require("score")
    subproject = locked_subproject(actor, subproject_id)
    if subproject.state != "under_evaluation":
        raise Refused(f"scores are given under evaluation, not {subproject.state}", rule="subproject cycle")
    sheet = scoring_sheet(get(actor, Call, subproject.call_id))
    if criterion not in {c.name for c in sheet.criteria}:
        raise Refused(f"{criterion!r} is not a criterion of the call's scoring sheet", rule="scoring sheet")
    number = Decimal(str(value))
    if not Decimal(0) <= number <= Decimal(100):
        raise Refused("a score lies between 0 and 100", rule="scoring sheet")
    version = latest_plan(actor, subproject.id)
    clash = actor.session.scalar(
        select(CommitteeScore.id).where(
            CommitteeScore.plan_version_id == version.id, CommitteeScore.user_id == actor.user_id,
            CommitteeScore.criterion == criterion,
        )
    )
    if clash is not None:
        raise Refused("you scored this criterion of this plan already", rule="one score per member")
    row = CommitteeScore(
        programme_id=actor.programme_id, subproject_id=subproject.id, plan_version_id=version.id,
        user_id=actor.user_id, criterion=criterion, score=number.quantize(CENT),
    )
    actor.session.add(row)
    record_for(actor, "create", row)
    return row


def weighted_score(actor: Actor, sheet: ScoringSheet, version: PlanVersion) -> Decimal | None:
    """Sum over criteria of (mean committee score x weight) / sum of weights; None if unscored."""
    # avg() of a scaled-integer column is not a Money value on SQLite: average the Decimals here.
    scores: dict[str, list[Any]] = {}
    for criterion, score in actor.session.execute(
        select(CommitteeScore.criterion, CommitteeScore.score)
        .where(CommitteeScore.plan_version_id == version.id)
        .order_by(CommitteeScore.id)
    ):
        scores.setdefault(criterion, []).append(score)
    if any(c.name not in scores for c in sheet.criteria):
        return None
    total_weight = sum(c.weight for c in sheet.criteria)
    weighted = sum(
        (sum(scores[c.name]) / len(scores[c.name])) * c.weight for c in sheet.criteria
    ) / total_weight
    return Decimal(weighted).quantize(CENT, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Shares:
    women: Decimal
    youth: Decimal


def member_shares(actor: Actor, organization_id: int, on: date) -> Shares:
    members = registry_members(actor, organization_id)
    if not members:
        return Shares(Decimal(0), Decimal(0))
    women = sum(1 for m in members if m.sex == "female")
    youth = sum(1 for m in members if m.is_youth(on))
    return Shares(Decimal(women) / len(members), Decimal(youth) / len(members))


def approval_problems(actor: Actor, subproject: Subproject, on: date) -> list[tuple[str, str]]:
    """(rule, reason) for every rule the latest plan breaks against the call."""
    call = get(actor, Call, subproject.call_id)
    sheet = scoring_sheet(call)
    plan = latest_plan(actor, subproject.id)
    problems: list[tuple[str, str]] = []
    investment = Decimal(plan.investment)
    grant_share = Decimal(plan.grant) / investment
    counterpart_share = (Decimal(plan.counterpart_cash) + Decimal(plan.counterpart_in_kind)) / investment
    if grant_share > Decimal(call.max_grant_share):
        problems.append(("max grant share", f"grant share {grant_share:.2%} > {Decimal(call.max_grant_share):.2%}"))
    if counterpart_share < Decimal(call.min_counterpart_share):
        problems.append(("min counterpart share",
                         f"counterpart share {counterpart_share:.2%} < {Decimal(call.min_counterpart_share):.2%}"))
    ceiling = Decimal(call.ceiling_per_alliance)
    for window in call.windows:
        if window["name"] == subproject.funding_window:
            ceiling = min(ceiling, Decimal(window["ceiling_per_alliance"]))
    if plan.grant > ceiling:
        problems.append(("ceiling per alliance", f"grant {plan.grant} > {ceiling} {call.currency}"))
    per_family = Decimal(plan.grant) / subproject.families
    if per_family > Decimal(call.ceiling_per_family):
        problems.append(("ceiling per family",
                         f"grant per family {per_family.quantize(CENT)} > {call.ceiling_per_family} {call.currency}"))
    if sheet.min_irr is not None and (plan.irr is None or plan.irr < sheet.min_irr):
        problems.append(("minimum IRR", f"IRR {plan.irr} < {sheet.min_irr}"))
    if sheet.min_npv is not None and (plan.npv is None or plan.npv <= sheet.min_npv):
        problems.append(("minimum NPV", f"NPV {plan.npv} is not above {sheet.min_npv}"))
    shares = member_shares(actor, subproject.organization_id, on)
    if sheet.min_women_share is not None and shares.women < sheet.min_women_share:
        problems.append(("share of women", f"{shares.women:.0%} women < {sheet.min_women_share:.0%}"))
    if sheet.min_youth_share is not None and shares.youth < sheet.min_youth_share:
        problems.append(("share of youth", f"{shares.youth:.0%} youth < {sheet.min_youth_share:.0%}"))
    weighted = weighted_score(actor, sheet, plan)
    if weighted is None:
        problems.append(("committee scores", "not every criterion of the scoring sheet is scored"))
    elif weighted < sheet.pass_score:
        problems.append(("pass score", f"weighted score {weighted} < {sheet.pass_score}"))
    return problems


def decide(actor: Actor, subproject_id: int, outcome: str, on: date, conditions: str = "") -> Decision:
    """The committee's decision; approval is refused, naming the rule, when the plan breaks one."""
    actor.require("write")
    if outcome not in DECISIONS:
        raise Refused(f"a decision is one of {DECISIONS}")
    if outcome == "approved_with_conditions" and not conditions.strip():
        raise Refused("an approval with conditions states the conditions", rule="conditions")
    subproject = locked_subproject(actor, subproject_id)
    if subproject.state != "under_evaluation":
        raise Refused(f"the subproject is {subproject.state}, not under_evaluation", rule="subproject cycle")
    check_step_date(actor, subproject, on)  # before the decision is recorded
    plan = latest_plan(actor, subproject.id)
    if outcome in APPROVED:
        problems = approval_problems(actor, subproject, on)
        if problems:
            rule, reason = problems[0]
            others = f" (and {len(problems) - 1} more: {'; '.join(r for r, _ in problems[1:])})" if len(problems) > 1 else ""
            raise Refused(f"cannot approve: {reason}{others}", rule=rule)
    sheet = scoring_sheet(get(actor, Call, subproject.call_id))
    decision = Decision(
        programme_id=actor.programme_id, subproject_id=subproject.id, plan_version_id=plan.id,
        outcome=outcome, weighted_score=weighted_score(actor, sheet, plan), conditions=conditions,
        decided_on=on, decided_by=actor.user_id,
    )
    actor.session.add(decision)
    record_for(actor, "create", decision)
    move_state(actor, subproject, outcome, on, conditions)
    return decision


# --- counterpart, tranches, execution ---------------------------------------------------------------


def _po_account(actor: Actor, subproject: Subproject, kind: str, currency: str) -> ledger.Account:
    label = {"po": "", "po_in_kind": " in kind", "po_revolving_fund": " revolving fund"}[kind]
    return ledger.organization_account(actor, kind, currency, subproject.organization_id, label)


def po_account(actor: Actor, subproject_id: int, kind: str = "po") -> ledger.Account:
    """The PO's account of ``kind`` in the call's currency (opened on first use)."""
    subproject = get(actor, Subproject, subproject_id)
    call = get(actor, Call, subproject.call_id)
    return _po_account(actor, subproject, kind, call.currency)


def required_counterpart(actor: Actor, subproject: Subproject) -> tuple[Decimal, Decimal]:
    plan = latest_plan(actor, subproject.id)
    return Decimal(plan.counterpart_cash), Decimal(plan.counterpart_in_kind)


def paid_counterpart(actor: Actor, subproject_id: int) -> tuple[Decimal, Decimal]:
    rows = actor.session.scalars(
        select(CounterpartContribution).where(CounterpartContribution.subproject_id == subproject_id)
    ).all()
    cash = sum((Decimal(r.amount) for r in rows if r.kind == "cash"), Decimal("0.00"))
    in_kind = sum((Decimal(r.amount) for r in rows if r.kind == "in_kind"), Decimal("0.00"))
    return cash, in_kind


def record_counterpart(
    actor: Actor, subproject_id: int, kind: str, from_account_id: int, amount: Decimal | str, on: date
) -> CounterpartContribution:
    """A counterpart contribution (cash to the PO's account, in kind to its in-kind account)."""
    actor.require("write")
    if kind not in ("cash", "in_kind"):
        raise Refused("counterpart is cash or in_kind")
    subproject = locked_subproject(actor, subproject_id)
    if subproject.state not in APPROVED:
        raise Refused(f"counterpart is paid once approved, not while {subproject.state}", rule="subproject cycle")
    target = po_account(actor, subproject.id, "po" if kind == "cash" else "po_in_kind")
    posting = ledger.transfer(actor, {
        "kind": "counterpart_cash" if kind == "cash" else "counterpart_in_kind",
        "from_account_id": from_account_id, "to_account_id": target.id, "amount": amount,
        "posted_on": on, "memo": f"counterpart ({kind}) of subproject {subproject.id}",
    })
    contribution = CounterpartContribution(
        programme_id=actor.programme_id, subproject_id=subproject.id, posting_id=posting.id,
        kind=kind, amount=Decimal(str(amount)),
    )
    actor.session.add(contribution)
    record_for(actor, "create", contribution)
    return contribution


def confirm_counterpart_paid(actor: Actor, subproject_id: int, on: date) -> Subproject:
    actor.require("write")
    subproject = locked_subproject(actor, subproject_id)
    if subproject.state not in APPROVED:
        raise Refused(f"the subproject is {subproject.state}, not approved", rule="subproject cycle")
    need_cash, need_kind = required_counterpart(actor, subproject)
    cash, in_kind = paid_counterpart(actor, subproject.id)
    if cash < need_cash or in_kind < need_kind:
        raise Refused(
            f"counterpart paid {cash} cash / {in_kind} in kind of {need_cash} / {need_kind}",
            rule="counterpart before agreement",
        )
    move_state(actor, subproject, "counterpart_paid", on, f"{cash} cash, {in_kind} in kind")
    return subproject


def schedule_tranches(actor: Actor, subproject_id: int, tranches: list[TrancheIn | dict[str, Any]]) -> list[Tranche]:
    """The grant's disbursement plan: tranches that add up to the approved grant."""
    actor.require("write")
    items = [validated(TrancheIn, t) for t in tranches]
    subproject = locked_subproject(actor, subproject_id)
    if subproject.state not in (*APPROVED, "counterpart_paid", "agreement_signed"):
        raise Refused(f"tranches are scheduled after approval, not while {subproject.state}",
                      rule="subproject cycle")
    if actor.session.scalar(select(Tranche.id).where(Tranche.subproject_id == subproject.id)):
        raise Refused("the tranches are scheduled already", rule="one disbursement plan")
    grant = Decimal(latest_plan(actor, subproject.id).grant)
    total = sum((t.amount for t in items), Decimal("0.00"))
    if total != grant:
        raise Refused(f"tranches add up to {total}, the approved grant is {grant}", rule="tranches = grant")
    made = []
    for number, item in enumerate(items, start=1):
        tranche = Tranche(programme_id=actor.programme_id, subproject_id=subproject.id, number=number,
                          amount=item.amount, milestone=item.milestone)
        actor.session.add(tranche)
        record_for(actor, "create", tranche)
        made.append(tranche)
    return made


def _tranche(actor: Actor, subproject_id: int, number: int) -> Tranche:
    tranche = actor.session.scalar(
        select(Tranche).where(Tranche.subproject_id == subproject_id, Tranche.number == number,
                              Tranche.programme_id == actor.programme_id)
    )
    if tranche is None:
        raise NotFound(f"no tranche {number} of subproject {subproject_id}")
    return tranche


def release_tranche(actor: Actor, subproject_id: int, number: int, from_account_id: int, on: date) -> Tranche:
    """Pay tranche ``number`` from the project's funds to the PO; n+1 waits for n's justification."""
    actor.require("write")
    subproject = locked_subproject(actor, subproject_id)
    if subproject.state not in ("agreement_signed", "in_execution"):
        raise Refused(f"tranches are released once the agreement is signed, not while {subproject.state}",
                      rule="agreement before disbursement")
    tranche = _tranche(actor, subproject.id, number)
    if tranche.released_on is not None:
        raise Refused(f"tranche {number} was released on {tranche.released_on}", rule="release once")
    if number > 1:
        previous = _tranche(actor, subproject.id, number - 1)
        if previous.justified_on is None or previous.milestone_verified_on is None:
            raise Refused(
                f"tranche {number} waits until tranche {number - 1} is justified and its milestone verified",
                rule="tranche n+1 after tranche n is justified and verified",
            )
    if subproject.state == "agreement_signed":
        check_step_date(actor, subproject, on)  # before the money moves
    before = snapshot(tranche)
    posting = ledger.transfer(actor, {
        "kind": "grant_tranche", "from_account_id": from_account_id,
        "to_account_id": po_account(actor, subproject.id).id, "amount": tranche.amount,
        "posted_on": on, "memo": f"tranche {number} of subproject {subproject.id}",
    })
    tranche.released_on = on
    tranche.release_posting_id = posting.id
    record_for(actor, "release", tranche, before=before)
    if subproject.state == "agreement_signed":
        move_state(actor, subproject, "in_execution", on, f"tranche {number} released")
    return tranche


def refuse_after_completion(subproject: Subproject, what: str) -> None:
    """A completed subproject's tranches are closed: their justification stands as it was."""
    if subproject.state in COMPLETED:
        raise Refused(
            f"the subproject is {subproject.state}: its tranches cannot be {what} again",
            rule="tranches closed on completion",
        )


def justify_tranche(actor: Actor, subproject_id: int, number: int, evidence: str, on: date) -> Tranche:
    actor.require("write")
    subproject = locked_subproject(actor, subproject_id)
    refuse_after_completion(subproject, "justified")
    tranche = _tranche(actor, subproject_id, number)
    if tranche.released_on is None:
        raise Refused(f"tranche {number} is not released yet", rule="justify after release")
    if not evidence.strip():
        raise Refused("give the evidence of how the tranche was used", rule="evidence")
    before = snapshot(tranche)
    tranche.justified_on = on
    tranche.evidence = evidence
    record_for(actor, "justify", tranche, before=before)
    return tranche


def verify_milestone(actor: Actor, subproject_id: int, number: int, on: date) -> Tranche:
    actor.require("write")
    subproject = locked_subproject(actor, subproject_id)
    refuse_after_completion(subproject, "verified")
    tranche = _tranche(actor, subproject_id, number)
    if tranche.justified_on is None:
        raise Refused(f"tranche {number} is not justified yet", rule="verify after justification")
    before = snapshot(tranche)
    tranche.milestone_verified_on = on
    record_for(actor, "verify", tranche, before=before)
    return tranche


def complete(actor: Actor, subproject_id: int, on: date) -> Subproject:
    actor.require("write")
    subproject = locked_subproject(actor, subproject_id)
    tranches = actor.session.scalars(select(Tranche).where(Tranche.subproject_id == subproject.id)).all()
    open_ = [t.number for t in tranches if t.milestone_verified_on is None]
    if not tranches or open_:
        raise Refused(f"tranches {open_ or 'none scheduled'} are not justified and verified",
                      rule="completion after every tranche")
    move_state(actor, subproject, "completed", on, "")
    return subproject


def start_monitoring(actor: Actor, subproject_id: int, on: date) -> Subproject:
    actor.require("write")
    subproject = locked_subproject(actor, subproject_id)
    move_state(actor, subproject, "post_project_monitoring", on, "")
    return subproject


def history(actor: Actor, subproject_id: int) -> list[StateChange]:
    get(actor, Subproject, subproject_id)
    return list(actor.session.scalars(
        select(StateChange).where(StateChange.subproject_id == subproject_id).order_by(StateChange.id)
    ))
