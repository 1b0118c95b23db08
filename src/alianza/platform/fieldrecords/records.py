"""The field-records table of `alianza.ladder.records` (what calibration and forecasts read),
built from the platform's own records for the actor's scope: paid kit sales
(``platform/kits``), harvests and produce sales (``platform/fieldrecords``) and the registry's
farmers. One scoped query per table, aggregated by farmer, kit and date in SQL; the seasons
and the units owned are then worked out over arrays (`alianza.ladder.records.records_from_events`).

- **Season** of a dated record: `alianza.ladder.seasons.season_of` with the catalogue's
  ``seasons_per_year`` (4: calendar quarters). A kit sold in season t counts as bought at t's
  end and is owned from t + 1's harvest on, as in the simulator.
- **Last season**: the last season that has ended by ``as_of``; without ``as_of``, the
  season of the latest record if it has ended by today (else the one before). Records of a
  season still under way are left out (its harvests are not all in).
- **Farmer** ``farmer_id``: the registry's id; ``district``: the name of the district
  their village lies in; ``market``: the place their village lies in (the extension planning
  area), where they sell; ``household_size``: the registry's.
- **Money**: produce sales are converted to USD (the catalogue's currency) at the
  programme's dated exchange rate of each sale's day.
- **Not recorded in the field**, so not in the table: consumption, cash and weather (the
  forecast imputes cash: `alianza.ladder.records.impute_cash`); the operating cost is the
  catalogue's per unit and season.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlalchemy import Select, func, select

from alianza.ladder.catalogue import Catalogue
from alianza.ladder.records import records_from_events
from alianza.ladder.seasons import season_end, season_of
from alianza.platform.access import Actor, Permission, scoped
from alianza.platform.errors import Refused
from alianza.platform.fieldrecords.models import Harvest, ProduceSale
from alianza.platform.kits.models import KitSale
from alianza.platform.kits.service import catalogue_of, current_catalogue
from alianza.platform.programmes.models import ExchangeRate
from alianza.platform.registry.models import Farmer, Place
from alianza.problems import Message

CATALOGUE_CURRENCY = "USD"


@dataclass(frozen=True)
class FieldRecords:
    """The records table and what it was built from."""

    table: pa.Table
    catalogue: Catalogue
    catalogue_version: int
    district: str | None
    first_season: int | None
    last_season: int | None
    farmers: int

    @property
    def seasons_per_year(self) -> int:
        return self.catalogue.seasons_per_year


@dataclass(frozen=True)
class PlaceTree:
    """The programme's places: each village's district and market (its parent place)."""

    places: dict[int, Place]

    def district_of(self, place_id: int) -> Place | None:
        place = self.places.get(place_id)
        while place is not None and place.kind != "district":
            place = self.places.get(place.parent_id) if place.parent_id is not None else None
        return place

    def market_of(self, village_id: int) -> str:
        village = self.places[village_id]
        parent = self.places.get(village.parent_id) if village.parent_id is not None else None
        return parent.name if parent is not None else village.name

    def districts(self) -> list[Place]:
        return sorted(
            (p for p in self.places.values() if p.kind == "district"), key=lambda p: p.name
        )


def place_tree(actor: Actor) -> PlaceTree:
    """The programme's geography (shared by every scope), read once."""
    return PlaceTree({p.id: p for p in actor.session.scalars(scoped(actor, select(Place)))})


def find_district(actor: Actor, tree: PlaceTree, name: str) -> Place:
    """The programme's district of that name (case-insensitive); refused, naming the known
    districts, when there is none."""
    districts = tree.districts()
    for place in districts:
        if place.name.casefold() == name.strip().casefold():
            return place
    if districts:
        reason = Message(
            "no district named '%(name)s' in this programme (districts: %(known)s)",
            name=name,
            known=", ".join(p.name for p in districts),
        )
    else:
        reason = Message(
            "no district named '%(name)s' in this programme (districts: none)", name=name
        )
    raise Refused(
        reason,
        rule="known district",
        field="district",
    )


class UsdRates:
    """Dated exchange rates of the programme, read in one query: amounts in any currency to
    USD on a day (through the reporting currency when it is not USD)."""

    def __init__(self, actor: Actor) -> None:
        self.reporting = actor.programme().reporting_currency
        self.rates: dict[str, tuple[list[date], list[Decimal]]] = {}
        rows = actor.session.execute(
            scoped(
                actor,
                select(
                    ExchangeRate.currency,
                    ExchangeRate.rate_date,
                    ExchangeRate.units_per_reporting_unit,
                ),
            ).order_by(ExchangeRate.currency, ExchangeRate.rate_date)
        )
        for currency, day, rate in rows:
            days, values = self.rates.setdefault(currency, ([], []))
            days.append(day)
            values.append(Decimal(rate))

    def per_reporting_unit(self, currency: str, on: date) -> Decimal:
        if currency == self.reporting:
            return Decimal(1)
        days, values = self.rates.get(currency, ([], []))
        position = bisect.bisect_right(days, on)
        if position == 0:
            raise Refused(
                Message(
                    "no %(currency)s exchange rate on or before %(day)s", currency=currency, day=on
                ),
                rule="dated rates",
            )
        return values[position - 1]

    def to_usd(self, amount: Decimal, currency: str, on: date) -> float:
        reporting = Decimal(amount) / self.per_reporting_unit(currency, on)
        return float(reporting * self.per_reporting_unit(CATALOGUE_CURRENCY, on))


def last_complete_season(as_of: date, seasons_per_year: int) -> int:
    """The last season that has ended on or before ``as_of``."""
    season = season_of(as_of, seasons_per_year)
    return season if season_end(season, seasons_per_year) <= as_of else season - 1


def field_records(
    actor: Actor,
    district: str | None = None,
    as_of: date | None = None,
    include_idle: bool = True,
) -> FieldRecords:
    """The records table of the farmers the actor's scope reaches (of one district, by name,
    if given) up to the last season ended by ``as_of`` (see the module's docstring)."""
    actor.require(Permission.SALES_READ)
    actor.require(Permission.FIELD_READ)
    version = current_catalogue(actor)
    catalogue = catalogue_of(version)
    spy = catalogue.seasons_per_year
    tree = place_tree(actor)
    chosen = find_district(actor, tree, district) if district is not None else None
    today = date.today()
    until = season_end(last_complete_season(as_of or today, spy), spy)
    farmers = actor.session.execute(
        scoped(actor, select(Farmer.id, Farmer.village_id, Farmer.household_size)).order_by(
            Farmer.id
        )
    ).all()
    farmer_rows: dict[str, list[object]] = {
        "farmer_id": [],
        "district": [],
        "market": [],
        "household_size": [],
    }
    wanted: set[int] = set()
    for farmer_id, village_id, household in farmers:
        home = tree.district_of(village_id)
        if home is None or (chosen is not None and home.id != chosen.id):
            continue
        wanted.add(farmer_id)
        farmer_rows["farmer_id"].append(str(farmer_id))
        farmer_rows["district"].append(home.name)
        farmer_rows["market"].append(tree.market_of(village_id))
        farmer_rows["household_size"].append(household)
    villages = (
        sorted(p.id for p in tree.places.values() if tree.district_of(p.id) is chosen)
        if chosen is not None
        else None
    )

    def within(query: Select[Any], column: Any) -> Select[Any]:
        return query if villages is None else query.where(column.in_(villages or [-1]))

    sales: list[Any] = actor.session.execute(  # type: ignore[assignment]
        within(
            scoped(
                actor,
                select(
                    KitSale.farmer_id, KitSale.sold_on, KitSale.kit_code, func.sum(KitSale.units)
                )
                .where(KitSale.status == "paid", KitSale.sold_on <= until)
                .group_by(KitSale.farmer_id, KitSale.sold_on, KitSale.kit_code),
            ),
            KitSale.village_id,
        )
    ).all()
    harvests: list[Any] = actor.session.execute(  # type: ignore[assignment]
        within(
            scoped(
                actor,
                select(
                    Harvest.farmer_id,
                    Harvest.harvested_on,
                    Harvest.kit_code,
                    Harvest.grade,
                    func.sum(Harvest.quantity),
                )
                .where(Harvest.harvested_on <= until)
                .group_by(Harvest.farmer_id, Harvest.harvested_on, Harvest.kit_code, Harvest.grade),
            ),
            Harvest.village_id,
        )
    ).all()
    produce: list[Any] = actor.session.execute(  # type: ignore[assignment]
        within(
            scoped(
                actor,
                select(
                    ProduceSale.farmer_id,
                    ProduceSale.sold_on,
                    ProduceSale.kit_code,
                    ProduceSale.grade,
                    ProduceSale.currency,
                    func.sum(ProduceSale.quantity),
                    func.sum(ProduceSale.amount),
                )
                .where(ProduceSale.sold_on <= until)
                .group_by(
                    ProduceSale.farmer_id,
                    ProduceSale.sold_on,
                    ProduceSale.kit_code,
                    ProduceSale.grade,
                    ProduceSale.currency,
                ),
            ),
            ProduceSale.village_id,
        )
    ).all()
    if as_of is None:  # the latest season with records that has ended by today
        dates = [r[1] for rows in (sales, harvests, produce) for r in rows]
        latest = max(dates, default=today)
        last = season_of(latest, spy)
        last = last if season_end(last, spy) <= today else last - 1
    else:
        last = last_complete_season(as_of, spy)
    rates = UsdRates(actor) if produce else None
    purchase_table = pa.table(
        {
            "farmer_id": pa.array([str(r[0]) for r in sales if r[0] in wanted], pa.string()),
            "season": pa.array([season_of(r[1], spy) for r in sales if r[0] in wanted], pa.int64()),
            "kit": pa.array([r[2] for r in sales if r[0] in wanted], pa.string()),
            "units": pa.array([int(r[3]) for r in sales if r[0] in wanted], pa.int64()),
        }
    )
    harvest_table = pa.table(
        {
            "farmer_id": pa.array([str(r[0]) for r in harvests if r[0] in wanted], pa.string()),
            "season": pa.array(
                [season_of(r[1], spy) for r in harvests if r[0] in wanted], pa.int64()
            ),
            "kit": pa.array([r[2] for r in harvests if r[0] in wanted], pa.string()),
            "grade": pa.array([r[3] for r in harvests if r[0] in wanted], pa.string()),
            "quantity": pa.array([float(r[4]) for r in harvests if r[0] in wanted], pa.float64()),
        }
    )
    kept = [r for r in produce if r[0] in wanted]
    sale_table = pa.table(
        {
            "farmer_id": pa.array([str(r[0]) for r in kept], pa.string()),
            "season": pa.array([season_of(r[1], spy) for r in kept], pa.int64()),
            "kit": pa.array([r[2] for r in kept], pa.string()),
            "grade": pa.array([r[3] for r in kept], pa.string()),
            "quantity": pa.array([float(r[5]) for r in kept], pa.float64()),
            "value_usd": pa.array(
                [rates.to_usd(r[6], r[4], r[1]) for r in kept]  # type: ignore[union-attr]
                if kept
                else [],
                pa.float64(),
            ),
        }
    )
    recorded = [
        min(t.column("season").to_pylist())
        for t in (purchase_table, harvest_table, sale_table)
        if t.num_rows
    ]
    first = min(recorded) if recorded and min(recorded) <= last else None
    table = records_from_events(
        catalogue,
        pa.table(
            {
                "farmer_id": pa.array(farmer_rows["farmer_id"], pa.string()),
                "district": pa.array(farmer_rows["district"], pa.string()),
                "market": pa.array(farmer_rows["market"], pa.string()),
                "household_size": pa.array(farmer_rows["household_size"], pa.int64()),
            }
        ),
        purchase_table,
        harvest_table,
        sale_table,
        last_season=last if first is not None else None,
        include_idle=include_idle,
    )
    return FieldRecords(
        table=table,
        catalogue=catalogue,
        catalogue_version=version.version,
        district=chosen.name if chosen is not None else None,
        first_season=first,
        last_season=last if first is not None else None,
        farmers=len(wanted),
    )
