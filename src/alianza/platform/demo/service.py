"""A realistic demo programme, built through the services (so every rule and audit applies).

Two countries (Honduras in HNL, Guatemala in GTQ; reporting in USD), 6 districts, 40 producer
organizations with about 3,000 members, 8 buyers, 3 calls, subprojects in every state of the
cycle, plans appraised with alianza.appraisal, agreements with two years of deliveries and
payments, tranches and revolving-fund activity. Deterministic for a seed (creation timestamps
aside).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from alianza.platform.agreements import service as agreements
from alianza.platform.calls.models import Call
from alianza.platform.calls.service import open_call
from alianza.platform.errors import Refused
from alianza.platform.ledger import service as ledger
from alianza.platform.ledger.models import Account
from alianza.platform.programmes.models import Programme
from alianza.platform.programmes.service import (
    Actor,
    act_as,
    create_programme,
    create_user,
    grant_role,
    set_exchange_rate,
)
from alianza.platform.registry import service as registry
from alianza.platform.registry.models import Organization, Place
from alianza.platform.subprojects import service as cycle
from alianza.platform.subprojects.models import Subproject
from alianza.platform.subprojects.states import STATES
from alianza.problems import Message

PROGRAMME_CODE = "DEMO-PA"
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "alianza-demo"  # printed by `alianza demo seed`; a demo, not a secret
TODAY = date(2025, 6, 30)

COUNTRIES = {
    "Honduras": (
        "HNL",
        Decimal("24.60"),
        {
            "Intibucá": ["La Esperanza", "Yamaranguila"],
            "Lempira": ["Gracias", "Erandique"],
            "Olancho": ["Juticalpa", "Catacamas"],
        },
    ),
    "Guatemala": (
        "GTQ",
        Decimal("7.80"),
        {
            "Huehuetenango": ["Chiantla", "Todos Santos"],
            "Quiché": ["Nebaj", "Chichicastenango"],
            "Alta Verapaz": ["Cobán", "San Pedro Carchá"],
        },
    ),
}
# Share of indigenous members by district (Guatemala's highlands and Intibucá's Lenca people).
INDIGENOUS_SHARE = {
    "Intibucá": 0.45,
    "Lempira": 0.35,
    "Olancho": 0.05,
    "Huehuetenango": 0.7,
    "Quiché": 0.85,
    "Alta Verapaz": 0.8,
}
VILLAGE_NAMES = [
    "San José",
    "El Naranjo",
    "Las Flores",
    "La Cumbre",
    "Santa Cruz",
    "El Rosario",
    "Agua Caliente",
    "Los Pinos",
    "Buena Vista",
]
FIRST_NAMES = {
    "female": [
        "María",
        "Ana",
        "Rosa",
        "Juana",
        "Carmen",
        "Lucía",
        "Marta",
        "Elena",
        "Sofía",
        "Isabel",
        "Teresa",
        "Gloria",
        "Francisca",
        "Dolores",
        "Reyna",
    ],
    "male": [
        "José",
        "Juan",
        "Carlos",
        "Luis",
        "Pedro",
        "Miguel",
        "Francisco",
        "Jorge",
        "Manuel",
        "Santos",
        "Antonio",
        "Mario",
        "Ramón",
        "Tomás",
        "Andrés",
    ],
}
SURNAMES = [
    "López",
    "García",
    "Hernández",
    "Martínez",
    "Pérez",
    "Gómez",
    "Díaz",
    "Reyes",
    "Cruz",
    "Morales",
    "Vásquez",
    "Ramírez",
    "Mejía",
    "Castillo",
    "Ortiz",
    "Chávez",
    "Tzoc",
    "Ixcoy",
    "Caal",
    "Pop",
    "Ajú",
    "Sic",
]
VALUE_CHAINS = {
    "coffee": ("Coffee parchment", "qq", Decimal("2900")),
    "vegetables": ("Tomato", "kg", Decimal("9")),
    "beans": ("Red beans", "qq", Decimal("1500")),
    "cardamom": ("Cardamom", "qq", Decimal("2600")),
}
BUYERS = [
    "Supermercados El Valle",
    "Cadena Mercado Central",
    "Café Solidario SA",
    "Exportadora del Atlántico",
    "Agroindustrias Maya",
    "Frijolera Nacional",
    "Cardamomos de Cobán",
    "Frescos del Istmo",
]


@dataclass(frozen=True)
class DemoUser:
    """A demo user to sign in as: one for each role, with its scope."""

    username: str
    role: str
    reaches: str  # what the scope reaches, in words
    programme: str = ""  # the programme's code, where users of several are listed


@dataclass
class DemoSummary:
    programme_id: int
    counts: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    users: list[DemoUser] = field(default_factory=list)


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(Decimal("0.01"))


def business_plan(
    name: str,
    currency: str,
    families: int,
    women: int,
    price: float,
    yield_factor: float,
    cost_scale: float = 1.0,
) -> dict[str, Any]:
    """A ten-year plan in the alianza.appraisal format: shared investments, one crop activity.

    ``price`` is a family's harvest value at normal yield; ``cost_scale`` converts HNL costs.
    """
    c = cost_scale
    return {
        "plan": 1,
        "name": name,
        "currency": currency,
        "years": 10,
        "discount_rate": 0.12,
        "beneficiaries": {"direct": {"men": families - women, "women": women}},
        "investments": [
            {
                "item": "Collection and drying centre",
                "unit": "building",
                "quantity": 1,
                "unit_cost": round(18000 * c * families**0.8, 2),
                "life_years": 15,
                "salvage": 0,
                "replace": False,
            },
            {
                "item": "Irrigation and equipment",
                "unit": "family set",
                "quantity": families,
                "unit_cost": round(9000 * c, 2),
                "life_years": 8,
                "maintenance": round(300 * c, 2),
                "salvage": round(500 * c, 2),
                "replace": True,
            },
            {
                "item": "Technical assistance",
                "kind": "service",
                "unit": "year",
                "quantity": 1,
                "unit_cost": round(4000 * c * families, 2),
            },
        ],
        "activities": [
            {
                "name": "Main crop",
                "unit": "family harvest",
                "cycles_per_year": 1,
                "production": [round(0.5 * families, 1), round(0.85 * families, 1), families],
                "income": [
                    {
                        "item": "Sales to the buyer",
                        "unit": "family harvest",
                        "quantity": 1,
                        "price": round(price * yield_factor, 2),
                    }
                ],
                "inputs": [
                    {
                        "item": "Seed, fertiliser, packing",
                        "unit": "family harvest",
                        "quantity": 1,
                        "price": round(price * 0.55, 2),
                    }
                ],
            }
        ],
    }


def with_financing(
    plan: dict[str, Any],
    grant: Decimal | float | str,
    cash: Decimal | float | str,
    in_kind: Decimal | float | str,
    loan_rate: float = 0.12,
    loan_years: int = 6,
) -> dict[str, Any]:
    """``plan`` (a plan's data) with its financing written into it, the one place it lives:
    the grant, then the own contribution (its in-kind part first), shared over the items
    in their order as far as each one's cost goes; a bank loan for the investment left
    over; the working capital left to short-term credit."""
    plan = {**plan, "investments": [dict(item) for item in plan.get("investments", [])]}
    left = {"grant": Decimal(str(grant)), "own": Decimal(str(cash)) + Decimal(str(in_kind))}
    kind_left = Decimal(str(in_kind))
    rest = Decimal(0)
    for item in plan["investments"]:
        for name in ("grant", "grants", "own_contribution", "own_in_kind"):
            item.pop(name, None)
        cost = (Decimal(str(item["quantity"])) * Decimal(str(item["unit_cost"]))).quantize(
            Decimal("0.01")
        )
        granted = min(cost, left["grant"])
        own = min(cost - granted, left["own"])
        given = min(own, kind_left)
        left["grant"] -= granted
        left["own"] -= own
        kind_left -= given
        rest += cost - granted - own
        if granted:
            item["grant"] = float(granted)
        if own:
            item["own_contribution"] = float(own)
        if given:
            item["own_in_kind"] = float(given)
    if left["grant"] > 0 or left["own"] > 0:
        raise ValueError("the grant and own contribution exceed the cost of the items")
    plan["working_capital"] = {
        "interest_rate": plan.get("working_capital", {}).get("interest_rate", 0.0)
    }
    plan["loans"] = (
        [
            {
                "name": "Bank loan",
                "amount": float(rest),
                "interest_rate": loan_rate,
                "years": loan_years,
                "grace_principal_years": 1,
            }
        ]
        if rest > 0
        else []
    )
    return plan


class DemoBuilder:
    def __init__(
        self, session: Session, seed: int, members_per_po: tuple[int, int] = (40, 112)
    ) -> None:
        self.session = session
        self.members_per_po = members_per_po
        streams = np.random.SeedSequence(seed).spawn(4)
        self.people_rng = np.random.default_rng(streams[0])
        self.plan_rng = np.random.default_rng(streams[1])
        self.trade_rng = np.random.default_rng(streams[2])
        self.misc_rng = np.random.default_rng(streams[3])

    # -- set-up -------------------------------------------------------------------------------
    def programme(self) -> Actor:
        if self.session.scalar(select(Programme.id).where(Programme.code == PROGRAMME_CODE)):
            raise Refused(
                Message(
                    "programme %(code)s exists already: seed an empty database",
                    code=PROGRAMME_CODE,
                )
            )
        admin = create_user(
            self.session,
            {
                "username": ADMIN_USERNAME,
                "display_name": "Demo administrator",
                "password": ADMIN_PASSWORD,
            },
        )
        actor = create_programme(
            self.session,
            {
                "code": PROGRAMME_CODE,
                "name": "Alianzas Productivas Centroamérica (demo)",
                "reporting_currency": "USD",
            },
            admin,
        )
        self.committee: list[Actor] = []
        for name in ("comite1", "comite2"):
            user = create_user(
                self.session,
                {
                    "username": name,
                    "display_name": f"Committee {name[-1]}",
                    "password": ADMIN_PASSWORD,
                },
            )
            grant_role(actor, user.id, {"role": "evaluator", "scope": "programme"})
            self.committee.append(act_as(self.session, user.id, actor.programme_id))
        return actor

    def exchange_rates(self, actor: Actor) -> None:
        for currency, start_rate, _ in COUNTRIES.values():
            rate = float(start_rate)
            for month in range(36):
                day = date(2023 + month // 12, month % 12 + 1, 1)
                rate *= 1 + float(self.misc_rng.normal(0.002, 0.004))
                set_exchange_rate(
                    actor,
                    {
                        "currency": currency,
                        "rate_date": day,
                        "units_per_reporting_unit": Decimal(str(round(rate, 4))),
                    },
                )

    def geography(self, actor: Actor) -> dict[str, list[Place]]:
        villages_by_district: dict[str, list[Place]] = {}
        self.district_country: dict[int, str] = {}
        self.districts: dict[str, Place] = {}
        for country_name, (_currency, _rate, districts) in COUNTRIES.items():
            country = registry.add_place(actor, {"kind": "country", "name": country_name})
            for district_name, municipalities in districts.items():
                district = registry.add_place(
                    actor, {"kind": "district", "name": district_name, "parent_id": country.id}
                )
                self.districts[district_name] = district
                self.district_country[district.id] = country_name
                registry.add_market(
                    actor, {"name": f"Mercado de {district_name}", "place_id": district.id}
                )
                villages_by_district[district_name] = []
                for m_index, municipality_name in enumerate(municipalities):
                    municipality = registry.add_place(
                        actor,
                        {
                            "kind": "municipality",
                            "name": municipality_name,
                            "parent_id": district.id,
                        },
                    )
                    for v in range(3):
                        name = VILLAGE_NAMES[
                            (m_index * 3 + v + len(district_name)) % len(VILLAGE_NAMES)
                        ]
                        villages_by_district[district_name].append(
                            registry.add_place(
                                actor,
                                {"kind": "village", "name": name, "parent_id": municipality.id},
                            )
                        )
        return villages_by_district

    def organizations(self, actor: Actor, villages: dict[str, list[Place]]) -> list[Organization]:
        for name in BUYERS:
            registry.add_organization(actor, {"kind": "buyer", "name": name})
        for name in ("FUNDER Honduras", "Fundación Guatemalteca de TA", "Agrónomos sin Fronteras"):
            registry.add_organization(actor, {"kind": "ta_provider", "name": name})
        for name in ("Banrural", "Banco de Occidente"):
            registry.add_organization(actor, {"kind": "financial_institution", "name": name})
        for name in ("Secretaría de Agricultura (HN)", "MAGA (GT)"):
            registry.add_organization(actor, {"kind": "implementing_partner", "name": name})
        pos: list[Organization] = []
        district_names = list(villages)
        for index in range(40):
            district_name = district_names[index % len(district_names)]
            village = villages[district_name][
                int(self.people_rng.integers(len(villages[district_name])))
            ]
            kind = ["Cooperativa", "Asociación", "Caja Rural", "Empresa Asociativa"][index % 4]
            pos.append(
                registry.add_organization(
                    actor,
                    {
                        "kind": "producer_organization",
                        "name": f"{kind} {village.name} {index + 1}",
                        "place_id": village.id,
                        "founded_year": int(self.people_rng.integers(1985, 2021)),
                    },
                )
            )
        return pos

    def members(
        self, actor: Actor, pos: list[Organization], villages: dict[str, list[Place]]
    ) -> int:
        rng = self.people_rng
        count = 0
        places = {p.id: p for vs in villages.values() for p in vs}
        for po in pos:
            assert po.place_id is not None
            district = registry.ancestors(actor, po.place_id)["district"]
            district_name = district.name
            prefix = 504 if self.district_country[district.id] == "Honduras" else 502
            size = int(rng.integers(*self.members_per_po))
            nearby = [
                v for v in villages[district_name] if v.parent_id == places[po.place_id].parent_id
            ]
            for _ in range(size):
                sex = "female" if rng.random() < 0.36 else "male"
                youth = rng.random() < 0.27
                birth_year = (
                    int(rng.integers(1990, 2006)) if youth else int(rng.integers(1950, 1990))
                )
                name = (
                    f"{FIRST_NAMES[sex][int(rng.integers(len(FIRST_NAMES[sex])))]} "
                    f"{SURNAMES[int(rng.integers(len(SURNAMES)))]} {SURNAMES[int(rng.integers(len(SURNAMES)))]}"
                )
                has_phone = rng.random() < 0.8
                farmer = registry.add_farmer(
                    actor,
                    {
                        "name": name,
                        "sex": sex,
                        "birth_year": birth_year,
                        "minority": bool(rng.random() < INDIGENOUS_SHARE[district_name]),
                        "household_size": int(rng.integers(2, 10)),
                        "land_hectares": Decimal(str(round(float(rng.gamma(2.0, 0.9)) + 0.1, 2))),
                        "phone": f"+{prefix}{int(rng.integers(30000000, 99999999))}"
                        if has_phone
                        else None,
                        "national_id": f"{int(rng.integers(10**12, 10**13 - 1))}",
                        "village_id": nearby[int(rng.integers(len(nearby)))].id,
                        "latitude": None,
                        "longitude": None,
                    },
                )
                registry.add_membership(
                    actor,
                    {
                        "farmer_id": farmer.id,
                        "organization_id": po.id,
                        "joined_on": date(2020, 1, 1) + timedelta(days=int(rng.integers(0, 1000))),
                    },
                )
                count += 1
        return count

    def calls(self, actor: Actor) -> list[Call]:
        sheet = {
            "criteria": [
                {"name": "market", "weight": 3},
                {"name": "technical", "weight": 2},
                {"name": "organization", "weight": 2},
                {"name": "inclusion", "weight": 1},
            ],
            "pass_score": 60,
            "min_irr": 0.12,
            "min_npv": 0,
            "min_women_share": 0.2,
            "min_youth_share": 0.1,
        }
        hn = [self.districts[d].id for d in COUNTRIES["Honduras"][2]]
        gt = [self.districts[d].id for d in COUNTRIES["Guatemala"][2]]
        specs = [
            (
                "HN-2023-1",
                "Honduras, first call",
                "HNL",
                date(2023, 1, 15),
                hn,
                ["coffee", "vegetables", "beans"],
                1_600_000,
                40_000,
            ),
            (
                "GT-2023-1",
                "Guatemala, first call",
                "GTQ",
                date(2023, 2, 1),
                gt,
                ["coffee", "cardamom", "vegetables"],
                500_000,
                12_500,
            ),
            (
                "HN-2024-2",
                "Honduras, second call (windows)",
                "HNL",
                date(2024, 2, 1),
                hn,
                ["coffee", "vegetables", "beans"],
                2_400_000,
                45_000,
            ),
        ]
        made = []
        for code, title, currency, opens, districts, chains, ceiling, per_family in specs:
            windows = (
                [
                    {"name": "production", "ceiling_per_alliance": str(ceiling // 2)},
                    {"name": "value_addition", "ceiling_per_alliance": str(ceiling)},
                ]
                if code == "HN-2024-2"
                else []
            )
            made.append(
                open_call(
                    actor,
                    {
                        "code": code,
                        "title": title,
                        "currency": currency,
                        "opens_on": opens,
                        "closes_on": opens + timedelta(days=75),
                        "max_grant_share": "0.70",
                        "min_counterpart_share": "0.20",
                        "ceiling_per_family": str(per_family),
                        "ceiling_per_alliance": str(ceiling),
                        "max_families": 120,
                        "district_ids": districts,
                        "value_chains": chains,
                        "windows": windows,
                        "member_rules": {
                            "min_members": 25,
                            "min_age": 16,
                            "max_land_hectares": "20",
                        },
                        "scoring_sheet": sheet,
                    },
                )
            )
        return made

    def funds(self, actor: Actor) -> dict[str, Account]:
        accounts = {}
        for currency, amount in (("HNL", "120000000.00"), ("GTQ", "40000000.00")):
            funder = ledger.open_account(
                actor,
                {"kind": "funder", "name": f"World Bank loan ({currency})", "currency": currency},
            )
            project = ledger.open_account(
                actor,
                {
                    "kind": "project_funds",
                    "name": f"Project funds ({currency})",
                    "currency": currency,
                },
            )
            ledger.transfer(
                actor,
                {
                    "kind": "funding",
                    "from_account_id": funder.id,
                    "to_account_id": project.id,
                    "amount": amount,
                    "posted_on": date(2023, 1, 2),
                    "memo": "first disbursement of the loan",
                },
            )
            accounts[currency] = project
        return accounts

    def users(self, actor: Actor) -> list[DemoUser]:
        """One user for each role, scoped as such a person would be (password ADMIN_PASSWORD)."""
        subprojects = cycle.list_subprojects(actor, limit=1000).items
        signed = ("in_execution", "agreement_signed", "completed", "post_project_monitoring")
        executing = next((s for s in subprojects if s.state in signed), subprojects[0])
        lender_id = next(
            (s.lender_id for s in subprojects if s.lender_id is not None),
            registry.organizations(actor, "financial_institution")[0].id,
        )
        district = self.districts["Intibucá"]
        made = [DemoUser(ADMIN_USERNAME, "administrator", "the whole programme")]
        people = [
            (
                "gestora",
                "Gestora del programa",
                {"role": "programme_manager"},
                "the whole programme",
            ),
            (
                "evaluadora",
                "Evaluadora del comité",
                {"role": "evaluator"},
                "the subprojects under evaluation assigned to her",
            ),
            (
                "tecnico",
                "Técnico de campo",
                {"role": "field_officer", "place_ids": [district.id]},
                f"district {district.name}",
            ),
            (
                "cooperativa",
                "Representante de la cooperativa",
                {"role": "po_representative", "organization_id": executing.organization_id},
                f"PO {self.session.get(Organization, executing.organization_id).name}",
            ),  # type: ignore[union-attr]
            (
                "comprador",
                "Comprador",
                {"role": "buyer", "organization_id": executing.buyer_id},
                f"buyer {self.session.get(Organization, executing.buyer_id).name}",
            ),  # type: ignore[union-attr]
            (
                "banco",
                "Oficial de crédito",
                {"role": "lender", "organization_id": lender_id},
                f"lender {self.session.get(Organization, lender_id).name}",
            ),  # type: ignore[union-attr]
            ("auditora", "Auditora", {"role": "auditor"}, "the whole programme, read only"),
        ]
        for username, name, role, reaches in people:
            user = create_user(
                self.session,
                {"username": username, "display_name": name, "password": ADMIN_PASSWORD},
            )
            grant_role(actor, user.id, role)
            made.append(DemoUser(username, role["role"], reaches))
            if username == "evaluadora":
                for sub in subprojects:
                    if sub.state == "under_evaluation":
                        cycle.assign_evaluator(actor, sub.id, user.id)
        return made

    # -- the cycle -----------------------------------------------------------------------------
    def subprojects(
        self,
        actor: Actor,
        calls: list[Call],
        pos: list[Organization],
        project_funds: dict[str, Account],
    ) -> dict[str, int]:
        buyers = registry.organizations(actor, "buyer")
        by_country: dict[str, list[Organization]] = {"Honduras": [], "Guatemala": []}
        for po in pos:
            assert po.place_id is not None
            by_country[
                self.district_country[registry.ancestors(actor, po.place_id)["district"].id]
            ].append(po)
        targets = list(STATES) * 2 + [
            "in_execution",
            "completed",
            "agreement_signed",
            "in_execution",
        ]
        used: set[int] = set()
        states: dict[str, int] = {}
        for index, target in enumerate(targets):
            call = calls[index % 3]
            country = "Guatemala" if call.currency == "GTQ" else "Honduras"
            applicant = next((p for p in by_country[country] if p.id not in used), None)
            if applicant is None:
                continue
            used.add(applicant.id)
            buyer = buyers[index % len(buyers)]
            sub = self._drive(
                actor, call, applicant, buyer, target, project_funds[call.currency], index
            )
            states[sub.state] = states.get(sub.state, 0) + 1
        return states

    def _drive(
        self,
        actor: Actor,
        call: Call,
        po: Organization,
        buyer: Organization,
        target: str,
        funds: Account,
        index: int,
    ) -> Subproject:
        rng = self.plan_rng
        order = list(STATES)
        reach = order.index(target)
        members = registry.members(actor, po.id)
        families = min(len(members), int(rng.integers(25, 60)), call.max_families or 10**6)
        chain = call.value_chains[index % len(call.value_chains)]
        start = call.opens_on + timedelta(days=int(rng.integers(5, 60)))
        lenders = registry.organizations(actor, "financial_institution")
        sub = cycle.submit_profile(
            actor,
            {
                "call_id": call.id,
                "organization_id": po.id,
                "buyer_id": buyer.id,
                "lender_id": lenders[index % len(lenders)].id if index % 2 == 0 else None,
                "title": f"{VALUE_CHAINS[chain][0]} for {buyer.name}",
                "value_chain": chain,
                "funding_window": call.windows[index % len(call.windows)]["name"]
                if call.windows
                else None,
                "families": families,
                "buyer_letter_of_interest": target != "ineligible",
                "submitted_on": start,
            },
        )
        if target == "profile_submitted":
            return sub
        day = start + timedelta(days=14)
        cycle.check_eligibility(actor, sub.id, day)
        if sub.state == "ineligible" or target == "eligible":
            return sub
        women = sum(1 for m in members[:families] if m.sex == "female")
        scale = 1.0 if call.currency == "HNL" else 0.32  # GTQ prices are about a third of HNL's
        weak = target == "rejected"
        plan = business_plan(
            sub.title,
            call.currency,
            families,
            women,
            16000 * scale,
            float(rng.uniform(0.7, 0.8)) if weak else float(rng.uniform(1.0, 1.12)),
            cost_scale=scale,
        )
        investment = sum(
            (Decimal(str(item["unit_cost"])) * item["quantity"] for item in plan["investments"]),
            Decimal("0.00"),
        ).quantize(Decimal("0.01"))
        grant = (investment * Decimal("0.62")).quantize(Decimal("0.01"))
        ceiling = min(
            [Decimal(call.ceiling_per_alliance), Decimal(call.ceiling_per_family) * families]
            + [
                Decimal(w["ceiling_per_alliance"])
                for w in call.windows
                if w["name"] == sub.funding_window
            ]
        )
        if grant > ceiling:
            grant = ceiling
        cash = (investment * Decimal("0.18")).quantize(Decimal("0.01"))
        in_kind = (investment * Decimal("0.08")).quantize(Decimal("0.01"))
        cycle.submit_plan(
            actor,
            sub.id,
            {"plan": with_financing(plan, grant, cash, in_kind)},
            day + timedelta(days=40),
        )
        if target == "business_plan_submitted":
            return sub
        day += timedelta(days=60)
        cycle.start_evaluation(actor, sub.id, day)
        if target == "under_evaluation":
            return sub
        for member in self.committee:
            for criterion in ("market", "technical", "organization", "inclusion"):
                low, high = (30, 55) if weak else (62, 92)
                cycle.score(member, sub.id, criterion, int(rng.integers(low, high)))
        day += timedelta(days=20)
        if target == "rejected":
            cycle.decide(
                actor,
                sub.id,
                "rejected",
                day,
                "IRR below the call's threshold; weak market evidence",
            )
            return sub
        try:
            outcome = "approved_with_conditions" if index % 3 == 0 else "approved"
            cycle.decide(
                actor,
                sub.id,
                outcome,
                day,
                "buyer to confirm volumes in writing" if outcome != "approved" else "",
            )
        except Refused:
            cycle.decide(actor, sub.id, "rejected", day, "does not meet the call's rules")
            return sub
        if reach <= order.index("approved_with_conditions"):
            return sub
        member_account = ledger.open_account(
            actor,
            {
                "kind": "member",
                "name": f"Members of {po.name} ({call.currency})",
                "currency": call.currency,
                "organization_id": po.id,
            },
        )
        day += timedelta(days=30)
        cycle.record_counterpart(actor, sub.id, "cash", member_account.id, cash, day)
        cycle.record_counterpart(actor, sub.id, "in_kind", member_account.id, in_kind, day)
        cycle.confirm_counterpart_paid(actor, sub.id, day)
        parts = [Decimal("0.40"), Decimal("0.35")]
        amounts = [(grant * p).quantize(Decimal("0.01")) for p in parts]
        amounts.append(grant - sum(amounts))
        cycle.schedule_tranches(
            actor,
            sub.id,
            [
                {"amount": a, "milestone": m}
                for a, m in zip(
                    amounts,
                    ["infrastructure built", "first harvest delivered", "processing running"],
                    strict=True,
                )
            ],
        )
        if target == "counterpart_paid":
            return sub
        day += timedelta(days=20)
        product, unit, price = VALUE_CHAINS[chain]
        price = (price * Decimal(str(scale))).quantize(Decimal("0.01"))
        # an agreement not yet in execution was signed recently: no delivery period has passed
        starts = max(day, TODAY - timedelta(days=20)) if target == "agreement_signed" else day
        quarterly = Decimal(
            str(round(families * float(rng.uniform(3, 6)) * (1 if unit == "qq" else 100), 3))
        )
        schedule = [
            {
                "period_start": starts + timedelta(days=91 * q),
                "period_end": starts + timedelta(days=91 * q + 90),
                "quantity": quarterly,
            }
            for q in range(8)
        ]
        agreement = agreements.sign_agreement(
            actor,
            sub.id,
            {
                "product": product,
                "unit": unit,
                "quality_grades": ["A", "B"],
                "price_mechanism": ["fixed", "reference_premium", "floor"][index % 3],
                "fixed_price": price,
                "premium": (price * Decimal("0.05")).quantize(Decimal("0.01")),
                "floor_price": (price * Decimal("0.9")).quantize(Decimal("0.01")),
                "grade_premiums": {"A": (price * Decimal("0.08")).quantize(Decimal("0.01"))},
                "payment_terms_days": 30,
                "buyer_ta_duties": "grading training each season; inputs on credit",
                "signed_on": starts,
                "starts_on": starts,
                "ends_on": starts + timedelta(days=730),
                "schedule": schedule,
            },
        )
        if target == "agreement_signed":
            return sub
        self._execute(actor, sub, agreement.id, funds, starts, price, quarterly, target, index)
        return sub

    def _execute(
        self,
        actor: Actor,
        sub: Subproject,
        agreement_id: int,
        funds: Account,
        starts: date,
        price: Decimal,
        quarterly: Decimal,
        target: str,
        index: int,
    ) -> None:
        rng = self.trade_rng
        cycle.release_tranche(actor, sub.id, 1, funds.id, starts + timedelta(days=5))
        side_selling = index % 5 == 1  # some POs deliver far below plan
        late_payer = index % 4 == 2  # and some buyers pay late and short
        end = min(TODAY, starts + timedelta(days=730))
        tranche_days = {2: starts + timedelta(days=200), 3: starts + timedelta(days=420)}
        final = 3 if target in ("completed", "post_project_monitoring") else 2
        for number in range(1, final + 1):
            justified = starts + timedelta(days=150 + 210 * (number - 1))
            if justified > end and target == "in_execution":
                break
            cycle.justify_tranche(
                actor, sub.id, number, f"invoices and field report, tranche {number}", justified
            )
            cycle.verify_milestone(actor, sub.id, number, justified + timedelta(days=10))
            if number + 1 in tranche_days and (number + 1 <= final):
                cycle.release_tranche(
                    actor,
                    sub.id,
                    number + 1,
                    funds.id,
                    max(tranche_days[number + 1], justified + timedelta(days=12)),
                )
        if target in ("completed", "post_project_monitoring"):
            cycle.complete(actor, sub.id, starts + timedelta(days=700))
            if target == "post_project_monitoring":
                cycle.start_monitoring(actor, sub.id, starts + timedelta(days=720))
        # two years of monthly deliveries and payments (until the demo's "today")
        owed = Decimal("0.00")
        day = starts + timedelta(days=20)
        while day <= end:
            share = (
                float(rng.uniform(0.15, 0.4)) if side_selling else float(rng.uniform(0.85, 1.15))
            )
            quantity = (quarterly / 3 * Decimal(str(round(share, 3)))).quantize(Decimal("0.001"))
            reference = (price * Decimal(str(round(float(rng.uniform(0.85, 1.2)), 3)))).quantize(
                Decimal("0.01")
            )
            delivery = agreements.record_delivery(
                actor,
                agreement_id,
                {
                    "delivered_on": day,
                    "quantity": quantity,
                    "grade": "A" if rng.random() < 0.6 else "B",
                    "reference_price": reference,
                },
            )
            owed += Decimal(delivery.amount)
            paid_on = day + timedelta(
                days=int(rng.integers(60, 120)) if late_payer else int(rng.integers(10, 30))
            )
            if paid_on <= TODAY:
                amount = (owed * Decimal("0.7")).quantize(Decimal("0.01")) if late_payer else owed
                if amount > 0:
                    agreements.record_payment(actor, agreement_id, amount, paid_on)
                    owed -= amount
            day += timedelta(days=30)
        self._revolving_fund(actor, sub, starts)

    def _revolving_fund(self, actor: Actor, sub: Subproject, starts: date) -> None:
        """Members repay part of their grant into the PO's fund, which lends to members."""
        rng = self.trade_rng
        fund = cycle.po_account(actor, sub.id, "po_revolving_fund")
        call = registry.get(actor, Call, sub.call_id)
        for farmer in registry.members(actor, sub.organization_id)[:6]:
            account = ledger.open_account(
                actor,
                {
                    "kind": "member",
                    "name": f"{farmer.name} #{farmer.id} ({call.currency})",
                    "currency": call.currency,
                    "farmer_id": farmer.id,
                },
            )
            for month in range(3, 18, 3):
                on = starts + timedelta(days=30 * month)
                if on > TODAY:
                    break
                ledger.transfer(
                    actor,
                    {
                        "kind": "member_repayment",
                        "from_account_id": account.id,
                        "to_account_id": fund.id,
                        "amount": _money(float(rng.uniform(300, 900))),
                        "posted_on": on,
                        "memo": "repayment into the revolving fund",
                    },
                )
        balance = ledger.balance(actor, fund.id, TODAY)
        if balance > 0:
            borrower = ledger.find_account(
                actor,
                "member",
                call.currency,
                farmer_id=registry.members(actor, sub.organization_id)[0].id,
            )
            assert borrower is not None
            ledger.transfer(
                actor,
                {
                    "kind": "revolving_fund_loan",
                    "from_account_id": fund.id,
                    "to_account_id": borrower.id,
                    "amount": (balance / 2).quantize(Decimal("0.01")),
                    "posted_on": TODAY,
                    "memo": "first loan from the revolving fund",
                },
            )


def demo_users(session: Session) -> list[DemoUser]:
    """The demo programme's users with their roles and what their scope reaches."""

    from alianza.platform.demo.microinvesting import PROGRAMME_CODE as MI_CODE

    found: list[DemoUser] = []
    listed: set[str] = set()
    for code in (PROGRAMME_CODE, MI_CODE):
        programme = session.scalar(select(Programme).where(Programme.code == code))
        if programme is not None:
            found += _users_of(session, programme, listed)
    return found


def _users_of(session: Session, programme: Programme, listed: set[str]) -> list[DemoUser]:
    from alianza.platform.access import act_as
    from alianza.platform.programmes.models import RoleAssignment, User

    found = []
    for user, assignment in session.execute(
        select(User, RoleAssignment)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.programme_id == programme.id)
        .order_by(RoleAssignment.id)
    ):
        if user.username in listed:
            continue
        listed.add(user.username)
        scope = act_as(session, user.id, programme.id).scope
        if scope.organization_id is not None:
            reaches = f"{assignment.scope} {session.get(Organization, scope.organization_id).name}"  # type: ignore[union-attr]
        elif assignment.scope == "places":
            reaches = f"{len(scope.place_ids)} places"
        else:
            reaches = assignment.scope
        found.append(DemoUser(user.username, assignment.role, reaches, programme.code))
    return found


def seed_demo(
    session: Session,
    seed: int = 1,
    members_per_po: tuple[int, int] = (40, 112),
    mi_farmers: int = 5000,
) -> DemoSummary:
    """Fill the database with the demo programmes (refused if they are there already): the
    productive alliances of DEMO-PA and, unless ``mi_farmers`` is 0, the Micro Investing
    programme DEMO-MI with that many farmers (``alianza.platform.demo.microinvesting``).

    ``members_per_po`` bounds each PO's size (the default gives about 3,000 members).
    """
    builder = DemoBuilder(session, seed, members_per_po)
    actor = builder.programme()
    builder.exchange_rates(actor)
    villages = builder.geography(actor)
    pos = builder.organizations(actor, villages)
    farmers = builder.members(actor, pos, villages)
    calls = builder.calls(actor)
    funds = builder.funds(actor)
    states = builder.subprojects(actor, calls, pos, funds)
    summary = DemoSummary(actor.programme_id, states=states, users=builder.users(actor))
    summary.counts = {
        "districts": len(villages),
        "producer_organizations": len(pos),
        "farmers": farmers,
        "buyers": len(registry.organizations(actor, "buyer")),
        "calls": len(calls),
        "subprojects": sum(states.values()),
    }
    if mi_farmers:
        from alianza.platform.demo.microinvesting import seed_micro_investing

        micro = seed_micro_investing(session, seed, mi_farmers)
        summary.counts |= {f"micro investing: {k}": v for k, v in micro.counts.items()}
        summary.users += [
            DemoUser("coordinadora", "administrator", "DEMO-MI: the whole programme"),
            DemoUser("agronomo", "agronomist", "DEMO-MI: the villages of one Dedza agronomist"),
            DemoUser("proveedor", "supplier", "DEMO-MI: Agro-Dealers Dedza's stock and sales"),
        ]
    return summary
