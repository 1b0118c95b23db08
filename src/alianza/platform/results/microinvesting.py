"""The Micro Investing indicators of the results framework, from the platform's records: kit
sales (``platform/kits``), harvests and produce sales (``platform/fieldrecords``) and the
registry's farmers. Definitions in docs/impact.md ("Micro Investing indicators").

A farmer's records are folded per period in Python (a programme has thousands of farmers and
tens of thousands of sales); income per person per day and the poverty share are
:func:`alianza.impact.ppp_dollars_per_person_day`, :func:`alianza.impact.average_income` and
:func:`alianza.impact.headcount_ratio` against the international line of 2021 PPP.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
from sqlalchemy import func, select

from alianza.impact import (
    INTERNATIONAL_POVERTY_LINE,
    CountryConversion,
    average_income,
    country_conversions,
    headcount_ratio,
    person_weights,
    ppp_dollars_per_person_day,
)
from alianza.platform.access import Actor, scoped
from alianza.platform.fieldrecords.models import Harvest, ProduceSale
from alianza.platform.kits.models import KitSale
from alianza.platform.registry.models import YOUTH_MAX_AGE, Farmer, Place
from alianza.platform.results.schemas import GROUPS, Period, PeriodValue

# Sales an off-taker prepaid are bought with the off-taker's money, not the farmer's proceeds.
OWN_MONEY_METHODS = ("cash", "mobile_money")

Money = Callable[[Decimal, str, date], Decimal]


@dataclass(frozen=True)
class SaleRow:
    farmer_id: int
    sold_on: date
    kit_code: str
    units: int
    amount: Decimal
    currency: str
    method: str


@dataclass(frozen=True)
class ProduceRow:
    farmer_id: int
    sold_on: date
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class HarvestRow:
    farmer_id: int
    harvested_on: date
    kit_code: str
    quantity: Decimal
    unit: str


@dataclass(frozen=True)
class FarmerRow:
    farmer_id: int
    sex: str
    birth_year: int
    minority: bool
    household_size: int


@dataclass
class Records:
    sales: list[SaleRow]
    produce: list[ProduceRow]
    harvests: list[HarvestRow]
    farmers: dict[int, FarmerRow]


def has_kit_sales(actor: Actor) -> bool:
    """Whether the programme has any kit sale: such a programme reports the Micro Investing
    indicators (see docs/impact.md, "Which indicators a programme reports")."""
    return actor.session.scalar(scoped(actor, select(func.count(KitSale.id)))) != 0


def record_dates(actor: Actor) -> list[date]:
    """The first and last dates of the kit sales and produce sales (for the default periods)."""
    found: list[date] = []
    for column in (KitSale.sold_on, ProduceSale.sold_on, Harvest.harvested_on):
        first, last = actor.session.execute(
            scoped(actor, select(func.min(column), func.max(column)))
        ).one()
        found += [d for d in (first, last) if d is not None]
    return found


def load_records(actor: Actor, end: date) -> Records:
    """Every paid kit sale, produce sale and harvest up to ``end`` (a pending mobile-money sale
    is not a purchase until its money arrives), and the farmers they name."""
    sales = [
        SaleRow(f, on, k, u, Decimal(a), c, m)
        for f, on, k, u, a, c, m in actor.session.execute(
            scoped(
                actor,
                select(
                    KitSale.farmer_id,
                    KitSale.sold_on,
                    KitSale.kit_code,
                    KitSale.units,
                    KitSale.amount,
                    KitSale.currency,
                    KitSale.method,
                ),
            )
            .where(KitSale.status == "paid", KitSale.sold_on <= end)
            .order_by(KitSale.sold_on, KitSale.id)
        )
    ]
    produce = [
        ProduceRow(f, on, Decimal(a), c)
        for f, on, a, c in actor.session.execute(
            scoped(
                actor,
                select(
                    ProduceSale.farmer_id,
                    ProduceSale.sold_on,
                    ProduceSale.amount,
                    ProduceSale.currency,
                ),
            )
            .where(ProduceSale.sold_on <= end)
            .order_by(ProduceSale.sold_on, ProduceSale.id)
        )
    ]
    harvests = [
        HarvestRow(f, on, k, Decimal(q), u)
        for f, on, k, q, u in actor.session.execute(
            scoped(
                actor,
                select(
                    Harvest.farmer_id,
                    Harvest.harvested_on,
                    Harvest.kit_code,
                    Harvest.quantity,
                    Harvest.unit,
                ),
            )
            .where(Harvest.harvested_on <= end)
            .order_by(Harvest.harvested_on, Harvest.id)
        )
    ]
    ids = sorted(
        {s.farmer_id for s in sales}
        | {p.farmer_id for p in produce}
        | {h.farmer_id for h in harvests}
    )
    farmers: dict[int, FarmerRow] = {}
    for start in range(0, len(ids), 1000):  # stay under the databases' parameter limits
        chunk = ids[start : start + 1000]
        for row in actor.session.execute(
            scoped(
                actor,
                select(
                    Farmer.id, Farmer.sex, Farmer.birth_year, Farmer.minority, Farmer.household_size
                ),
            ).where(Farmer.id.in_(chunk))
        ):
            farmers[row[0]] = FarmerRow(*row)
    return Records(sales, produce, harvests, farmers)


def programme_country(actor: Actor, currencies: set[str]) -> CountryConversion | None:
    """The shipped PPP defaults of the programme's country: the registry's country place
    whose code (ISO 3166 alpha-3, or alpha-2 as the first two letters of a shipped alpha-3) or
    name matches a shipped country with the records' currency; None when none does."""
    shipped = country_conversions()
    places = actor.session.execute(
        scoped(actor, select(Place.code, Place.name)).where(Place.kind == "country")
    ).all()
    for code, name in places:
        for iso3, conversion in shipped.items():
            matches = (code or "").upper() in (iso3, iso3[:2]) or (
                (name or "").casefold() == conversion.name.casefold()
            )
            if matches and conversion.currency in currencies:
                return conversion
    return None


def _in(period: Period, on: date) -> bool:
    return period.start <= on <= period.end


def _masks(farmers: list[FarmerRow], on: date) -> dict[str, np.ndarray]:
    sex = np.array([f.sex for f in farmers], dtype=object)
    youth = np.array([on.year - f.birth_year <= YOUTH_MAX_AGE for f in farmers], dtype=bool)
    minority = np.array([f.minority for f in farmers], dtype=bool)
    return {
        "women": sex == "female",
        "men": sex == "male",
        "youth": youth,
        "non_youth": ~youth,
        "minority": minority,
        "non_minority": ~minority,
    }


def _farmer_groups(farmer: FarmerRow, on: date) -> list[str]:
    youth = on.year - farmer.birth_year <= YOUTH_MAX_AGE
    groups = ["youth" if youth else "non_youth", "minority" if farmer.minority else "non_minority"]
    if farmer.sex == "female":
        groups.append("women")
    elif farmer.sex == "male":
        groups.append("men")
    return groups


def kit_purchases(
    records: Records, period: Period, money: Money
) -> tuple[PeriodValue, PeriodValue]:
    """(units bought, their value in the reporting currency) in the period, by group."""
    count = dict.fromkeys(GROUPS, 0.0)
    value: dict[str, Decimal] = dict.fromkeys(GROUPS, Decimal(0))
    total_units, total_value = 0, Decimal(0)
    by_currency: dict[tuple[str, tuple[str, ...]], Decimal] = defaultdict(Decimal)
    for s in records.sales:
        if not _in(period, s.sold_on):
            continue
        groups = tuple(_farmer_groups(records.farmers[s.farmer_id], period.end))
        total_units += s.units
        for g in groups:
            count[g] += s.units
        by_currency[(s.currency, groups)] += s.amount
    for (currency, groups), amount in by_currency.items():
        converted = money(amount, currency, period.end)
        total_value += converted
        for g in groups:
            value[g] += converted
    return (
        PeriodValue(period=period.label, value=float(total_units), by_group=count),
        PeriodValue(
            period=period.label,
            value=float(total_value),
            by_group={g: float(v) for g, v in value.items()},
        ),
    )


def reinvestment(records: Records, period: Period, money: Money) -> PeriodValue:
    """Share of the farmers who owned a kit before the period (a paid purchase dated before
    its first day) who reinvested in it: bought a kit in the period with their own money (cash
    or mobile money, not an off-taker's prepayment) when their proceeds paid for it, i.e. on
    the day of that purchase the produce they had sold since their first purchase was worth at
    least every purchase after the first up to that one (all in the reporting currency, at
    each record's date)."""
    first_purchase: dict[int, date] = {}
    for s in records.sales:
        first_purchase.setdefault(s.farmer_id, s.sold_on)
    eligible = sorted(f for f, on in first_purchase.items() if on < period.start)
    if not eligible:
        return PeriodValue(period=period.label, value=None)
    # each eligible farmer's dated cash flows: + proceeds, - later purchases
    events: dict[int, list[tuple[date, int, Decimal, bool]]] = defaultdict(list)
    wanted = set(eligible)
    for p in records.produce:
        if p.farmer_id in wanted and p.sold_on >= first_purchase[p.farmer_id]:
            # proceeds of a day count before that day's purchases (order key 0)
            events[p.farmer_id].append(
                (p.sold_on, 0, money(p.amount, p.currency, p.sold_on), False)
            )
    for s in records.sales:
        if s.farmer_id in wanted and s.sold_on > first_purchase[s.farmer_id]:
            own = s.method in OWN_MONEY_METHODS and _in(period, s.sold_on)
            events[s.farmer_id].append((s.sold_on, 1, -money(s.amount, s.currency, s.sold_on), own))
    reinvested: set[int] = set()
    for farmer_id in eligible:
        balance = Decimal(0)
        for _on, _order, amount, own_in_period in sorted(events[farmer_id], key=lambda e: e[:2]):
            balance += amount
            if own_in_period and balance >= 0:
                reinvested.add(farmer_id)
    farmers = [records.farmers[f] for f in eligible]
    masks = _masks(farmers, period.end)
    done = np.array([f in reinvested for f in eligible], dtype=bool)
    return PeriodValue(
        period=period.label,
        value=float(done.mean()),
        by_group={g: float(done[m].mean()) if m.any() else None for g, m in masks.items()},
    )


@dataclass(frozen=True)
class Income:
    farmers: list[FarmerRow]
    reporting: np.ndarray  # net kit income over the period, reporting currency
    local: np.ndarray | None  # the same in the country's currency (None: not all in it)
    days: int


def kit_income(
    records: Records, period: Period, money: Money, local_currency: str | None
) -> Income:
    """Each active farmer's net kit income in the period: produce sales less kit purchases.
    Active: bought a kit by the period's end and has a kit purchase or a produce sale in the
    period (a farmer with no record in it has an unknown income, not a zero one)."""
    bought = {s.farmer_id for s in records.sales if s.sold_on <= period.end}
    net: dict[int, Decimal] = defaultdict(Decimal)
    local: dict[int, Decimal] = defaultdict(Decimal)
    all_local = True
    flows = [(p.farmer_id, p.amount, p.currency, p.sold_on) for p in records.produce] + [
        (s.farmer_id, -s.amount, s.currency, s.sold_on) for s in records.sales
    ]
    for farmer_id, amount, currency, on in flows:
        if farmer_id not in bought or not _in(period, on):
            continue
        net[farmer_id] += money(amount, currency, period.end)
        if currency == local_currency:
            local[farmer_id] += amount
        else:
            all_local = False
    ids = sorted(net)
    return Income(
        farmers=[records.farmers[f] for f in ids],
        reporting=np.array([float(net[f]) for f in ids], dtype=np.float64),
        local=np.array([float(local[f]) for f in ids], dtype=np.float64)
        if all_local and local_currency is not None
        else None,
        days=(period.end - period.start).days + 1,
    )


def income_per_day(income: Income, period: Period) -> PeriodValue:
    """Mean over active farmers of net kit income / (household size x days in the period),
    reporting currency a person a day (SDG 2.3.2's average, every farmer weighted 1)."""
    if not income.farmers:
        return PeriodValue(period=period.label, value=None)
    size = np.array([f.household_size for f in income.farmers], dtype=np.float64)
    per_day = income.reporting / (size * income.days)
    masks = _masks(income.farmers, period.end)
    return PeriodValue(
        period=period.label,
        value=average_income(per_day),
        by_group={g: average_income(per_day[m]) if m.any() else None for g, m in masks.items()},
    )


def poverty_share(
    income: Income, period: Period, conversion: CountryConversion | None
) -> PeriodValue:
    """SDG 1.1.1 on kit income: share of the persons in active farmers' households whose net
    kit income per person per day, in 2021 PPP dollars (local currency / the country's PPP
    factor for private consumption), is below the $3.00 international line."""
    if not income.farmers or conversion is None or income.local is None:
        return PeriodValue(period=period.label, value=None)
    size = np.array([f.household_size for f in income.farmers], dtype=np.float64)
    welfare = ppp_dollars_per_person_day(income.local, size, income.days, conversion.ppp_factor)
    weights = person_weights(size)
    masks = _masks(income.farmers, period.end)
    line = INTERNATIONAL_POVERTY_LINE
    return PeriodValue(
        period=period.label,
        value=headcount_ratio(welfare, line, weights),
        by_group={
            g: headcount_ratio(welfare[m], line, weights[m]) if m.any() else None
            for g, m in masks.items()
        },
    )


def yields(records: Records, period: Period) -> dict[tuple[str, str], PeriodValue]:
    """Per kit and unit: the period's harvest quantity / the units of that kit the harvesting
    farmers had bought by the period's end, by group (each group's harvest over its units)."""
    owned: dict[tuple[int, str], int] = defaultdict(int)
    for s in records.sales:
        if s.sold_on <= period.end:
            owned[(s.farmer_id, s.kit_code)] += s.units
    harvested: dict[tuple[str, str], dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for h in records.harvests:
        if _in(period, h.harvested_on):
            harvested[(h.kit_code, h.unit)][h.farmer_id] += h.quantity
    result = {}
    for (kit_code, unit), by_farmer in sorted(harvested.items()):
        ids = [f for f in sorted(by_farmer) if owned[(f, kit_code)] > 0]
        if not ids:
            result[(kit_code, unit)] = PeriodValue(period=period.label, value=None)
            continue
        quantity = np.array([float(by_farmer[f]) for f in ids], dtype=np.float64)
        units = np.array([owned[(f, kit_code)] for f in ids], dtype=np.float64)
        masks = _masks([records.farmers[f] for f in ids], period.end)
        result[(kit_code, unit)] = PeriodValue(
            period=period.label,
            value=float(quantity.sum() / units.sum()),
            by_group={
                g: float(quantity[m].sum() / units[m].sum()) if m.any() else None
                for g, m in masks.items()
            },
        )
    return result
