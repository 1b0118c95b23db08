"""A small Micro Investing programme for the field-operations tests: Malawi, one district with
two villages, a supplier with stock, an off-taker, an agronomist (a user with the agronomist
role over one village), priced kits from the example catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from alianza.platform.access import Actor, act_as
from alianza.platform.kits import service as kits
from alianza.platform.programmes.service import create_user, grant_role
from alianza.platform.registry import service as registry
from alianza.platform.registry.models import Farmer, Organization, Place
from alianza.platform.rollout import team
from alianza.platform.rollout.models import Agronomist

CATALOGUE = Path(__file__).resolve().parents[2] / "examples" / "kits" / "catalogue.yaml"
# MWK prices (illustrative): the USD catalogue price at about 1,750 MWK a dollar.
PRICES = {
    "drip_bed": "17500.00",
    "drip_beds_3": "47250.00",
    "poultry_unit": "105000.00",
    "banana_plantlets": "218750.00",
    "grading_packing": "437500.00",
    "drip_system_large": "700000.00",
}


def catalogue_document() -> dict[str, Any]:
    return yaml.safe_load(CATALOGUE.read_text())


@dataclass
class MIWorld:
    admin: Actor
    district: Place
    village: Place
    other_village: Place
    supplier: Organization
    offtaker: Organization
    group: Organization
    agronomist: Agronomist
    agronomist_actor: Actor
    farmers: list[Farmer]
    other_farmers: list[Farmer]
    catalogue_id: int


def build_mi_world(session: Session, admin: Actor, farmers: int = 4) -> MIWorld:
    country = registry.add_place(admin, {"kind": "country", "name": "Malawi", "code": "MW"})
    district = registry.add_place(
        admin, {"kind": "district", "name": "Dedza", "parent_id": country.id}
    )
    epa = registry.add_place(
        admin, {"kind": "municipality", "name": "Linthipe EPA", "parent_id": district.id}
    )
    village = registry.add_place(
        admin, {"kind": "village", "name": "Chimbiya", "parent_id": epa.id}
    )
    other = registry.add_place(admin, {"kind": "village", "name": "Mayani", "parent_id": epa.id})
    supplier = registry.add_organization(
        admin, {"kind": "supplier", "name": "Agro Inputs Dedza", "place_id": district.id}
    )
    offtaker = registry.add_organization(admin, {"kind": "offtaker", "name": "Lilongwe Fresh"})
    group = registry.add_organization(
        admin, {"kind": "savings_group", "name": "Chimbiya VSLA", "place_id": village.id}
    )

    def farmer(name: str, where: Place, i: int) -> Farmer:
        made = registry.add_farmer(
            admin,
            {
                "name": name,
                "sex": "female" if i % 2 else "male",
                "birth_year": 1980 + i,
                "household_size": 5,
                "land_hectares": "0.5",
                "village_id": where.id,
                "phone": f"0991{where.id:02d}{i:04d}",
            },
        )
        registry.add_membership(
            admin, {"farmer_id": made.id, "organization_id": group.id}
        ) if where is village else None
        return made

    own = [farmer(f"Chimbiya farmer {i}", village, i) for i in range(farmers)]
    others = [farmer(f"Mayani farmer {i}", other, i) for i in range(2)]
    version = kits.add_catalogue_version(admin, {"document": catalogue_document()})
    kits.set_prices(
        admin,
        version.id,
        {
            "district_id": district.id,
            "currency": "MWK",
            "prices": [{"kit_code": k, "price": v} for k, v in PRICES.items()],
        },
    )
    for kit_code in PRICES:
        kits.receive_stock(
            admin,
            {
                "supplier_id": supplier.id,
                "district_id": district.id,
                "kit_code": kit_code,
                "quantity": 50,
            },
        )
    user = create_user(
        session, {"username": "agro", "display_name": "Agro", "password": "password1"}
    )
    grant_role(admin, user.id, {"role": "agronomist", "place_ids": [village.id]})
    agronomist = team.add_agronomist(
        admin,
        {
            "name": "Grace Banda",
            "phone": "0888123456",
            "district_id": district.id,
            "village_ids": [village.id],
            "commission_rate": "0.05",
            "user_id": user.id,
        },
    )
    session.commit()
    return MIWorld(
        admin=admin,
        district=district,
        village=village,
        other_village=other,
        supplier=supplier,
        offtaker=offtaker,
        group=group,
        agronomist=agronomist,
        agronomist_actor=act_as(session, user.id, admin.programme_id),
        farmers=own,
        other_farmers=others,
        catalogue_id=version.id,
    )


def sale(
    world: MIWorld, farmer: Farmer, kit_code: str = "drip_bed", method: str = "cash", **extra: Any
) -> Any:
    return kits.record_sale(
        world.agronomist_actor,
        {
            "farmer_id": farmer.id,
            "kit_code": kit_code,
            "method": method,
            "sold_on": date(2025, 3, 1),
            **({"supplier_id": world.supplier.id} | extra),
        },
    )


def money(text: str) -> Decimal:
    return Decimal(text)
