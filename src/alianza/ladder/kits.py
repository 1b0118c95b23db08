"""The catalogue as arrays indexed by kit and product, for the simulator.

A kit a savings group may buy together (``savings_group``) adds one more row after the
catalogue's kits: its member's share, ``<id>_group_share``, with the price, expected output,
operating cost, land and labour of the unit divided by the number of members (see
docs/simulation.md, section 6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alianza.ladder.catalogue import Kit
from alianza.ladder.scenario import Scenario

GROUP_SHARE_SUFFIX = "_group_share"


def group_share(kit: Kit) -> Kit:
    """The share of one member of a savings group buying a unit of `kit` together."""
    assert kit.savings_group is not None
    members = kit.savings_group.members
    return kit.model_copy(
        update={
            "id": kit.id + GROUP_SHARE_SUFFIX,
            "name": f"{kit.short_name} (savings-group share, 1/{members})",
            "price_usd": kit.price_usd / members,
            "yield_per_harvest": kit.yield_per_harvest.model_copy(
                update={"mean": kit.yield_per_harvest.mean / members}
            ),
            "operating_cost_usd_per_season": kit.operating_cost_usd_per_season / members,
            "labour_days_per_season": kit.labour_days_per_season / members,
            "land_m2": kit.land_m2 / members,
            "water_m3_per_season": kit.water_m3_per_season / members,
            "savings_group": None,
        }
    )


def simulated_kits(scenario: Scenario) -> list[Kit]:
    """The catalogue's kits, then a savings-group share for each kit that allows one."""
    kits = list(scenario.catalogue.kits)
    return kits + [group_share(kit) for kit in kits if kit.savings_group is not None]


@dataclass(frozen=True)
class KitTable:
    """The catalogue as arrays indexed by kit (k) and product (p)."""

    kit_ids: list[str]
    kit_names: list[str]  # short names, for charts and tables
    product_ids: list[str]
    price_cents: np.ndarray  # int64 [K]
    operating_cost_cents: np.ndarray  # int64 [K] per unit and season
    output_per_season: np.ndarray  # float64 [K]: mean yield x harvests per season
    cv: np.ndarray  # float64 [K]
    product: np.ndarray  # int64 [K]
    land_m2: np.ndarray
    labour_days: np.ndarray
    water_m3: np.ndarray
    cap: np.ndarray  # int64 [K]
    life: np.ndarray  # int64 [K]
    first_harvest_delay: np.ndarray  # int64 [K]
    prerequisites: list[list[int]]
    replaces: np.ndarray  # int64 [K], -1 if none
    replaces_units: np.ndarray
    drought_factor: np.ndarray
    flood_factor: np.ndarray
    credit_principal_cents: np.ndarray  # int64 [K], 0 if no credit
    credit_total_due_cents: np.ndarray  # int64 [K]
    credit_instalments: np.ndarray  # int64 [K]
    credit_default_after: np.ndarray  # int64 [K]
    reference_price: np.ndarray  # float64 [P], USD per unit
    local_channel: np.ndarray  # bool [P]
    elasticity: np.ndarray  # float64 [P]
    floor_share: np.ndarray  # float64 [P]
    supply_per_farmer: np.ndarray  # float64 [P], NaN = unlimited demand
    preference: np.ndarray  # int64 [K]: 0 = highest expected margin a season (tie: catalogue)

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> KitTable:
        catalogue = scenario.catalogue
        kits = simulated_kits(scenario)
        kit_ids = [kit.id for kit in kits]
        product_ids = [product.id for product in catalogue.products]
        season_share = 1.0 / catalogue.seasons_per_year

        def cents(values: list[float]) -> np.ndarray:
            # Catalogue dollars become whole cents once, here.
            return np.rint(np.asarray(values, dtype=np.float64) * 100.0).astype(np.int64)

        principal = cents(
            [kit.price_usd * kit.credit.financed_share if kit.credit else 0.0 for kit in kits]
        )
        total_due = np.rint(
            principal
            * np.array(
                [
                    1.0 + kit.credit.interest_per_season * kit.credit.repayment_seasons
                    if kit.credit
                    else 1.0
                    for kit in kits
                ]
            )
        ).astype(np.int64)
        supply = scenario.markets.reference_supply_per_farmer
        reference_prices = {p.id: p.reference_price_usd for p in catalogue.products}
        expected_margin = [
            kit.yield_per_harvest.mean
            * kit.harvests_per_year
            * season_share
            * reference_prices[kit.product]
            - kit.operating_cost_usd_per_season
            for kit in kits
        ]
        by_margin = sorted(range(len(kits)), key=lambda k: (-expected_margin[k], k))
        preference = np.empty(len(kits), dtype=np.int64)
        preference[by_margin] = np.arange(len(kits))
        return cls(
            preference=preference,
            kit_ids=kit_ids,
            kit_names=[
                kit.name if k >= len(catalogue.kits) else kit.short_name
                for k, kit in enumerate(kits)
            ],
            product_ids=product_ids,
            price_cents=cents([kit.price_usd for kit in kits]),
            operating_cost_cents=cents([kit.operating_cost_usd_per_season for kit in kits]),
            output_per_season=np.array(
                [kit.yield_per_harvest.mean * kit.harvests_per_year * season_share for kit in kits]
            ),
            cv=np.array([kit.yield_per_harvest.cv for kit in kits]),
            product=np.array([product_ids.index(kit.product) for kit in kits], dtype=np.int64),
            land_m2=np.array([kit.land_m2 for kit in kits]),
            labour_days=np.array([kit.labour_days_per_season for kit in kits]),
            water_m3=np.array([kit.water_m3_per_season for kit in kits]),
            cap=np.array([kit.max_per_farmer for kit in kits], dtype=np.int64),
            life=np.array([kit.life_seasons for kit in kits], dtype=np.int64),
            first_harvest_delay=np.array(
                [kit.seasons_to_first_harvest for kit in kits], dtype=np.int64
            ),
            prerequisites=[[kit_ids.index(n) for n in kit.prerequisites] for kit in kits],
            replaces=np.array(
                [kit_ids.index(kit.replaces) if kit.replaces else -1 for kit in kits],
                dtype=np.int64,
            ),
            replaces_units=np.array([kit.replaces_units for kit in kits], dtype=np.int64),
            drought_factor=np.array([kit.drought_yield_factor for kit in kits]),
            flood_factor=np.array([kit.flood_yield_factor for kit in kits]),
            credit_principal_cents=principal,
            credit_total_due_cents=total_due,
            credit_instalments=np.array(
                [kit.credit.repayment_seasons if kit.credit else 1 for kit in kits],
                dtype=np.int64,
            ),
            credit_default_after=np.array(
                [kit.credit.default_after_missed if kit.credit else 1 for kit in kits],
                dtype=np.int64,
            ),
            reference_price=np.array([p.reference_price_usd for p in catalogue.products]),
            local_channel=np.array([p.channel == "local" for p in catalogue.products]),
            elasticity=np.array([p.price_elasticity for p in catalogue.products]),
            floor_share=np.array([p.floor_price_share for p in catalogue.products]),
            supply_per_farmer=np.array(
                [supply.get(p, np.nan) for p in product_ids], dtype=np.float64
            ),
        )

    @property
    def kit_count(self) -> int:
        return len(self.kit_ids)

    @property
    def product_count(self) -> int:
        return len(self.product_ids)
