"""A small programme ready for the subproject cycle, shared by cycle and agreement tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from alianza.platform.calls.models import Call
from alianza.platform.calls.service import open_call
from alianza.platform.demo.service import with_financing
from alianza.platform.ledger import service as ledger
from alianza.platform.ledger.models import Account
from alianza.platform.programmes.service import Actor
from alianza.platform.registry import service as registry
from alianza.platform.registry.models import Farmer, Organization
from alianza.platform.subprojects import service as cycle
from alianza.platform.subprojects.models import Subproject

EXAMPLE_PLAN = (
    Path(__file__).resolve().parents[2] / "examples" / "plans" / "fruit-veg-processing.plan.yaml"
)


def example_plan(
    currency: str = "HNL", financing: dict[str, str] | None = None, scale: int = 1
) -> dict[str, Any]:
    """RuralInvest's fruit and vegetable plant with its financing written into the plan
    (FINANCING unless given): the grant and own contribution on its items, a bank loan for
    the rest of the investment, the working capital (3,017.14) on short-term credit."""
    plan = yaml.safe_load(EXAMPLE_PLAN.read_text())
    plan["currency"] = currency
    for item in plan["investments"]:
        item["quantity"] *= scale
    return with_financing(plan, **(financing or FINANCING))


@dataclass
class World:
    actor: Actor
    call: Call
    po: Organization
    buyer: Organization
    members: list[Farmer]
    funds: Account
    member_account: Account


def build_world(actor: Actor) -> World:
    country = registry.add_place(actor, {"kind": "country", "name": "Honduras"})
    district = registry.add_place(
        actor, {"kind": "district", "name": "Intibucá", "parent_id": country.id}
    )
    municipality = registry.add_place(
        actor, {"kind": "municipality", "name": "La Esperanza", "parent_id": district.id}
    )
    village = registry.add_place(
        actor, {"kind": "village", "name": "El Pelón", "parent_id": municipality.id}
    )
    po = registry.add_organization(
        actor, {"kind": "producer_organization", "name": "Coop El Pelón", "place_id": village.id}
    )
    buyer = registry.add_organization(actor, {"kind": "buyer", "name": "Supermercados El Valle"})
    members = []
    for i in range(12):
        farmer = registry.add_farmer(
            actor,
            {
                "name": f"Member {i}",
                "sex": "female" if i % 2 else "male",
                "birth_year": 1985 + i * 2,
                "household_size": 5,
                "land_hectares": "1.5",
                "village_id": village.id,
            },
        )
        registry.add_membership(actor, {"farmer_id": farmer.id, "organization_id": po.id})
        members.append(farmer)
    call = open_call(
        actor,
        {
            "code": "C1",
            "title": "First call",
            "currency": "HNL",
            "opens_on": date(2025, 1, 1),
            "closes_on": date(2025, 3, 31),
            "max_grant_share": "0.70",
            "min_counterpart_share": "0.20",
            "ceiling_per_family": "3000.00",
            "ceiling_per_alliance": "60000.00",
            "max_families": 60,
            "district_ids": [district.id],
            "value_chains": ["vegetables", "coffee"],
            "windows": [{"name": "production", "ceiling_per_alliance": "30000.00"}],
            "member_rules": {"min_members": 10, "min_age": 18, "max_land_hectares": "5"},
            "scoring_sheet": {
                "criteria": [{"name": "market", "weight": 2}, {"name": "technical", "weight": 1}],
                "pass_score": 60,
                "min_irr": 0.10,
                "min_npv": 0,
                "min_women_share": 0.3,
                "min_youth_share": 0.2,
            },
        },
    )
    funder = ledger.open_account(actor, {"kind": "funder", "name": "World Bank", "currency": "HNL"})
    funds = ledger.open_account(
        actor, {"kind": "project_funds", "name": "Project funds", "currency": "HNL"}
    )
    ledger.transfer(
        actor,
        {
            "kind": "funding",
            "from_account_id": funder.id,
            "to_account_id": funds.id,
            "amount": "1000000",
            "posted_on": date(2025, 1, 1),
        },
    )
    member_account = ledger.open_account(
        actor, {"kind": "member", "name": "Members of El Pelón", "currency": "HNL"}
    )
    actor.session.commit()
    return World(actor, call, po, buyer, members, funds, member_account)


# Of a total of 21,163.95 (investment 18,146.81, working capital 3,017.14): grant 61.4%,
# counterpart 21.3%, a bank loan of 646.81 and the working capital's short-term credit.
FINANCING = {"grant": "13000.00", "cash": "3500.00", "in_kind": "1000.00"}


def profile(world: World, **overrides: Any) -> Subproject:
    data: dict[str, Any] = {
        "call_id": world.call.id,
        "organization_id": world.po.id,
        "buyer_id": world.buyer.id,
        "title": "Vegetables for El Valle",
        "value_chain": "vegetables",
        "funding_window": "production",
        "families": 10,
        "buyer_letter_of_interest": True,
        "submitted_on": date(2025, 2, 1),
    }
    data.update(overrides)
    return cycle.submit_profile(world.actor, data)


def approved(world: World, committee: Actor | None = None) -> Subproject:
    """A subproject taken to 'approved' (committee scores from ``committee`` or the admin)."""
    actor = world.actor
    sub = profile(world)
    cycle.check_eligibility(actor, sub.id, date(2025, 2, 10))
    cycle.submit_plan(actor, sub.id, {"plan": example_plan()}, date(2025, 3, 1))
    cycle.start_evaluation(actor, sub.id, date(2025, 3, 5))
    scorer = committee or actor
    cycle.score(scorer, sub.id, "market", 80)
    cycle.score(scorer, sub.id, "technical", 60)
    cycle.decide(actor, sub.id, "approved", date(2025, 4, 1))
    return sub


def counterpart_paid(world: World) -> Subproject:
    sub = approved(world)
    cycle.record_counterpart(
        world.actor, sub.id, "cash", world.member_account.id, "6000.00", date(2025, 4, 10)
    )
    cycle.record_counterpart(
        world.actor, sub.id, "in_kind", world.member_account.id, "2000.00", date(2025, 4, 10)
    )
    cycle.confirm_counterpart_paid(world.actor, sub.id, date(2025, 4, 11))
    return sub


AGREEMENT = {
    "product": "Tomato",
    "unit": "kg",
    "quality_grades": ["A", "B"],
    "price_mechanism": "floor",
    "premium": "0.50",
    "floor_price": "8.00",
    "grade_premiums": {"A": "1.00"},
    "payment_terms_days": 30,
    "buyer_ta_duties": "Two visits a season on grading",
    "signed_on": date(2025, 5, 1),
    "starts_on": date(2025, 5, 1),
    "ends_on": date(2027, 4, 30),
    "schedule": [
        {"period_start": date(2025, 5, 1), "period_end": date(2025, 7, 31), "quantity": "10000"},
        {"period_start": date(2025, 8, 1), "period_end": date(2025, 10, 31), "quantity": "10000"},
    ],
}
