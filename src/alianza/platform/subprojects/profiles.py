"""A PO's profile (concept note) under a call, and the call's eligibility rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from alianza.platform.access import Actor, Permission, get
from alianza.platform.audit.service import now, record_for
from alianza.platform.calls.models import Call
from alianza.platform.errors import Refused
from alianza.platform.registry.models import Organization, Place
from alianza.platform.registry.service import ancestors, member_eligibility
from alianza.platform.subprojects.models import StateChange, Subproject
from alianza.platform.subprojects.schemas import ProfileIn
from alianza.platform.subprojects.states import State, locked_subproject, move_state, require_state
from alianza.platform.validation import validated


def submit_profile(actor: Actor, data: ProfileIn | dict[str, Any]) -> Subproject:
    """A PO's profile (concept note) under a call; the cycle starts at profile_submitted.

    The PO must lie in the actor's scope; the buyer and lender are any of the programme's."""
    actor.require(Permission.CYCLE_SUBMIT)
    profile = validated(ProfileIn, data)
    call = get(actor, Call, profile.call_id)
    po = get(actor, Organization, profile.organization_id)
    registry = actor.widened()
    buyer = get(registry, Organization, profile.buyer_id)
    if po.kind != "producer_organization":
        raise Refused(
            f"{po.name} is not a producer organization", rule="applicant", field="organization_id"
        )
    if buyer.kind != "buyer":
        raise Refused(f"{buyer.name} is not a buyer", rule="buyer", field="buyer_id")
    if profile.lender_id is not None:
        lender = get(registry, Organization, profile.lender_id)
        if lender.kind != "financial_institution":
            raise Refused(
                f"{lender.name} is not a financial institution", rule="lender", field="lender_id"
            )
    if not call.opens_on <= profile.submitted_on <= call.closes_on:
        raise Refused(
            f"call {call.code} is open from {call.opens_on} to {call.closes_on}",
            rule="call window",
            field="submitted_on",
        )
    subproject = Subproject(
        programme_id=actor.programme_id,
        state=State.PROFILE_SUBMITTED,
        created_at=now(),
        **profile.model_dump(),
    )
    actor.session.add(subproject)
    actor.session.flush()
    actor.session.add(
        StateChange(
            programme_id=actor.programme_id,
            subproject_id=subproject.id,
            from_state=None,
            to_state=State.PROFILE_SUBMITTED,
            on=profile.submitted_on,
            note="",
            user_id=actor.user_id,
            at=now(),
        )
    )
    record_for(actor, "create", subproject)
    return subproject


def eligibility_problems(actor: Actor, subproject: Subproject, on: date) -> list[tuple[str, str]]:
    """(rule, reason) for every eligibility rule of the call the profile breaks."""
    actor = actor.widened()  # the rules read the call, the PO and all its members
    call = get(actor, Call, subproject.call_id)
    po = get(actor, Organization, subproject.organization_id)
    problems: list[tuple[str, str]] = []
    district: Place | None = ancestors(actor, po.place_id).get("district") if po.place_id else None
    if district is None or district.id not in call.district_ids:
        problems.append(("call regions", f"{po.name} is not in one of the call's districts"))
    if subproject.value_chain not in call.value_chains:
        problems.append(
            ("call value chains", f"value chain {subproject.value_chain!r} is not in the call")
        )
    windows = {w["name"] for w in call.windows}
    if windows and subproject.funding_window not in windows:
        problems.append(
            (
                "call windows",
                f"window {subproject.funding_window!r} is not one of {sorted(windows)}",
            )
        )
    if call.max_families is not None and subproject.families > call.max_families:
        problems.append(
            ("families per alliance", f"{subproject.families} families > {call.max_families}")
        )
    if not subproject.buyer_letter_of_interest:
        problems.append(
            ("buyer letter of interest", "the profile has no buyer's letter of interest")
        )
    rules = call.member_rules
    limit = rules.get("max_land_hectares")
    limit = None if limit is None else Decimal(limit)
    counts = member_eligibility(actor, po.id, on, rules.get("min_age", 0), limit)
    if counts.members < rules.get("min_members", 1):
        problems.append(
            ("member eligibility", f"{counts.members} members < {rules.get('min_members')}")
        )
    if subproject.families > counts.members:
        problems.append(
            ("member eligibility", f"{subproject.families} families but {counts.members} members")
        )
    if counts.under_age:
        problems.append(
            ("member eligibility", f"{counts.under_age} members under {rules.get('min_age')}")
        )
    if counts.over_land:
        problems.append(
            ("member eligibility", f"{counts.over_land} members hold more than {limit} ha")
        )
    return problems


def check_eligibility(actor: Actor, subproject_id: int, on: date) -> Subproject:
    """Move a profile to eligible, or to ineligible with every broken rule in the note."""
    actor.require(Permission.CYCLE_REVIEW)
    subproject = locked_subproject(actor, subproject_id)
    require_state(subproject, State.PROFILE_SUBMITTED, doing="eligibility is checked")
    problems = eligibility_problems(actor, subproject, on)
    if problems:
        move_state(
            actor, subproject, State.INELIGIBLE, on, "; ".join(f"{r}: {why}" for r, why in problems)
        )
    else:
        move_state(actor, subproject, State.ELIGIBLE, on, "meets the call's eligibility rules")
    return subproject
