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
from alianza.platform.rules import rule_name
from alianza.platform.subprojects.models import StateChange, Subproject
from alianza.platform.subprojects.schemas import ProfileIn
from alianza.platform.subprojects.states import State, locked_subproject, move_state, require_state
from alianza.platform.validation import validated
from alianza.problems import Message


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
            Message("%(name)s is not a producer organization", name=po.name),
            rule="applicant",
            field="organization_id",
        )
    if buyer.kind != "buyer":
        raise Refused(
            Message("%(name)s is not a buyer", name=buyer.name), rule="buyer", field="buyer_id"
        )
    if profile.lender_id is not None:
        lender = get(registry, Organization, profile.lender_id)
        if lender.kind != "financial_institution":
            raise Refused(
                Message("%(name)s is not a financial institution", name=lender.name),
                rule="lender",
                field="lender_id",
            )
    if not call.opens_on <= profile.submitted_on <= call.closes_on:
        raise Refused(
            Message(
                "call %(code)s is open from %(opens_on)s to %(closes_on)s",
                code=call.code,
                opens_on=call.opens_on,
                closes_on=call.closes_on,
            ),
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
        problems.append(
            (
                "call regions",
                Message("%(name)s is not in one of the call's districts", name=po.name),
            )
        )
    if subproject.value_chain not in call.value_chains:
        problems.append(
            (
                "call value chains",
                Message(
                    "value chain '%(value_chain)s' is not in the call",
                    value_chain=subproject.value_chain,
                ),
            )
        )
    windows = {w["name"] for w in call.windows}
    if windows and subproject.funding_window not in windows:
        problems.append(
            (
                "call windows",
                Message(
                    "window '%(window)s' is not one of %(windows)s",
                    window=str(subproject.funding_window),
                    windows=str(sorted(windows)),
                ),
            )
        )
    if call.max_families is not None and subproject.families > call.max_families:
        problems.append(
            (
                "families per alliance",
                Message(
                    "%(families)s families > %(maximum)s",
                    families=subproject.families,
                    maximum=call.max_families,
                ),
            )
        )
    if not subproject.buyer_letter_of_interest:
        problems.append(
            ("buyer letter of interest", Message("the profile has no buyer's letter of interest"))
        )
    rules = call.member_rules
    limit = rules.get("max_land_hectares")
    limit = None if limit is None else Decimal(limit)
    counts = member_eligibility(actor, po.id, on, rules.get("min_age", 0), limit)
    if counts.members < rules.get("min_members", 1):
        problems.append(
            (
                "member eligibility",
                Message(
                    "%(members)s members < %(minimum)s",
                    members=counts.members,
                    minimum=rules.get("min_members"),
                ),
            )
        )
    if subproject.families > counts.members:
        problems.append(
            (
                "member eligibility",
                Message(
                    "%(families)s families but %(members)s members",
                    families=subproject.families,
                    members=counts.members,
                ),
            )
        )
    if counts.under_age:
        problems.append(
            (
                "member eligibility",
                Message(
                    "%(members)s members under %(age)s",
                    members=counts.under_age,
                    age=rules.get("min_age"),
                ),
            )
        )
    if counts.over_land:
        problems.append(
            (
                "member eligibility",
                Message(
                    "%(members)s members hold more than %(limit)s ha",
                    members=counts.over_land,
                    limit=limit,
                ),
            )
        )
    return problems


def broken_rules(problems: list[tuple[str, str]]) -> Message:
    """The note of an ineligible profile: every broken rule with its reason, 'rule: reason; rule:
    reason' (each reason a Message, said in the reader's language)."""
    (rule, reason), *others = problems
    note = Message("%(rule)s: %(reason)s", rule=rule_name(rule), reason=reason)
    for other, why in others:
        note = Message(
            "%(reasons)s; %(rule)s: %(reason)s", reasons=note, rule=rule_name(other), reason=why
        )
    return note


def check_eligibility(actor: Actor, subproject_id: int, on: date) -> Subproject:
    """Move a profile to eligible, or to ineligible with every broken rule in the note."""
    actor.require(Permission.CYCLE_REVIEW)
    subproject = locked_subproject(actor, subproject_id)
    require_state(subproject, State.PROFILE_SUBMITTED, doing=Message("eligibility is checked"))
    problems = eligibility_problems(actor, subproject, on)
    if problems:
        move_state(actor, subproject, State.INELIGIBLE, on, broken_rules(problems))
    else:
        move_state(
            actor, subproject, State.ELIGIBLE, on, Message("meets the call's eligibility rules")
        )
    return subproject
