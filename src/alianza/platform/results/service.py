"""The results framework of a programme, from its records.

A programme reports the indicators its records support: the Productive Alliances indicators
when it has alliance agreements (or no kit sales), the Micro Investing indicators
(``platform/results/microinvesting.py``) when it has kit sales; a programme with both reports
both.

Each indicator is one scoped query's rows folded per period in Python (a programme has
thousands of deliveries and members, not millions); the averages are
:func:`alianza.impact.average_income` and its disaggregation (SDG 2.3.2's formula). Money is
converted to the programme's reporting currency at the rate dated on or before each period's
end (a roll-up; the ledger keeps the local amounts).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError
from sqlalchemy import func, select

from alianza.impact import average_income, average_income_by_sex_and_indigenous
from alianza.platform.access import Actor, Permission, scoped
from alianza.platform.agreements.models import Agreement, Delivery
from alianza.platform.errors import Refused
from alianza.platform.programmes.service import to_reporting_currency
from alianza.platform.registry.models import YOUTH_MAX_AGE, Farmer, Membership
from alianza.platform.results import microinvesting as mi
from alianza.platform.results.schemas import (
    GROUPS,
    INDICATOR_KEYS,
    MI_KEYS,
    PA_KEYS,
    Indicator,
    Period,
    PeriodValue,
    ResultsReport,
    TargetIn,
    TargetsIn,
    Unit,
)
from alianza.platform.subprojects.models import Decision, PlanVersion, Subproject
from alianza.platform.subprojects.states import APPROVED
from alianza.problems import Problem, ProblemError, field_path

# What the records cannot give yet (shown in every report until they can).
MISSING = [
    "yields of alliance producers: agreements record deliveries, not harvests "
    "(Micro Investing harvests give the yield per kit)",
]


# The years a report may name (records are dated; a typo like 225 is refused, not reported).
FIRST_YEAR, LAST_YEAR = 1900, 2200

# --- periods ---------------------------------------------------------------------------------


def year_periods(years: Iterable[int]) -> list[Period]:
    """One period per calendar year, in order."""
    for year in years:
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise Refused(f"{year} is not a year from {FIRST_YEAR} to {LAST_YEAR}", field="period")
    return [
        Period(label=str(year), start=date(year, 1, 1), end=date(year, 12, 31))
        for year in sorted(set(years))
    ]


def range_period(start: date, end: date) -> Period:
    if end < start:
        raise Refused(f"the period ends ({end}) before it starts ({start})", field="to")
    return Period(label=f"{start.isoformat()}/{end.isoformat()}", start=start, end=end)


def record_years(actor: Actor) -> list[int]:
    """Every calendar year from the first record to the last (agreements signed, deliveries,
    kit sales, harvests, produce sales): the default periods of a report."""
    first, last_signed = actor.session.execute(
        scoped(actor, select(func.min(Agreement.signed_on), func.max(Agreement.signed_on)))
    ).one()
    last_delivered = actor.session.scalar(scoped(actor, select(func.max(Delivery.delivered_on))))
    dates = [d for d in (first, last_signed, last_delivered) if d is not None]
    dates += mi.record_dates(actor)
    if not dates:
        return []
    return list(range(min(dates).year, max(dates).year + 1))


def has_agreements(actor: Actor) -> bool:
    return actor.session.scalar(scoped(actor, select(func.count(Agreement.id)))) != 0


# --- targets ---------------------------------------------------------------------------------


def load_targets(path: Path) -> TargetsIn:
    """The targets file (YAML), or :class:`ProblemError` naming each wrong field."""
    source = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ProblemError(source, [Problem("", f"not YAML: {error}")]) from None
    return parse_targets(data if data is not None else {}, source)


def parse_targets(data: Any, source: str = "targets") -> TargetsIn:
    try:
        targets = TargetsIn.model_validate(data)
    except ValidationError as error:
        problems = [
            Problem(field_path(tuple(e["loc"])), e["msg"].removeprefix("Value error, "))
            for e in error.errors()
        ]
        raise ProblemError(source, problems) from None
    unknown = [
        Problem(f"indicators.{key}", f"unknown indicator (known: {', '.join(INDICATOR_KEYS)})")
        for key in targets.indicators
        if key.split(".", 1)[0] not in INDICATOR_KEYS
    ]
    if unknown:
        raise ProblemError(source, unknown)
    return targets


# --- the records -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Alliance:
    agreement_id: int
    organization_id: int
    signed_on: date
    starts_on: date
    ends_on: date
    currency: str
    employment: float | None
    income_per_family: float | None


@dataclass(frozen=True)
class Member:
    farmer_id: int
    organization_id: int
    joined_on: date | None
    sex: str
    birth_year: int
    minority: bool


def _alliances(actor: Actor) -> list[Alliance]:
    """Signed agreements with the appraisal of the plan version the committee approved last."""
    agreements = actor.session.execute(
        scoped(
            actor,
            select(
                Agreement.id,
                Agreement.subproject_id,
                Agreement.organization_id,
                Agreement.signed_on,
                Agreement.starts_on,
                Agreement.ends_on,
                Agreement.currency,
            ),
        ).order_by(Agreement.id)
    ).all()
    appraisal: dict[int, dict[str, Any]] = {}
    for subproject_id, report in actor.session.execute(
        scoped(
            actor,
            select(Decision.subproject_id, PlanVersion.appraisal)
            .join(PlanVersion, PlanVersion.id == Decision.plan_version_id)
            .join(Subproject, Subproject.id == Decision.subproject_id),
        )
        .where(Decision.outcome.in_([state.value for state in APPROVED]))
        .order_by(Decision.decided_on, Decision.id)
    ):
        appraisal[subproject_id] = report  # the latest approval wins
    alliances = []
    for agreement_id, subproject_id, organization_id, signed, starts, ends, currency in agreements:
        report = appraisal.get(subproject_id, {})
        income = (report.get("per_beneficiary") or {}).get("incremental_income")
        employment = report.get("employment_person_years")
        alliances.append(
            Alliance(
                agreement_id,
                organization_id,
                signed,
                starts,
                ends,
                currency,
                None if employment is None else float(employment),
                None if income is None else float(income),
            )
        )
    return alliances


def _members(actor: Actor, organization_ids: set[int]) -> list[Member]:
    if not organization_ids:
        return []
    rows = actor.session.execute(
        scoped(
            actor,
            select(
                Membership.farmer_id,
                Membership.organization_id,
                Membership.joined_on,
                Farmer.sex,
                Farmer.birth_year,
                Farmer.minority,
            ).join(Farmer, Farmer.id == Membership.farmer_id),
        ).where(Membership.organization_id.in_(sorted(organization_ids)))
    )
    return [Member(*row) for row in rows]


@dataclass(frozen=True)
class DeliveryRow:
    agreement_id: int
    delivered_on: date
    quantity: Decimal
    amount: Decimal
    meets_grade: bool
    unit: str
    currency: str


def _deliveries(actor: Actor, start: date, end: date) -> list[DeliveryRow]:
    rows = actor.session.execute(
        scoped(
            actor,
            select(
                Delivery.agreement_id,
                Delivery.delivered_on,
                Delivery.quantity,
                Delivery.amount,
                Delivery.grade,
                Agreement.quality_grades,
                Agreement.unit,
                Agreement.currency,
            ).join(Agreement, Agreement.id == Delivery.agreement_id),
        )
        .where(Delivery.delivered_on >= start, Delivery.delivered_on <= end)
        .order_by(Delivery.id)
    )
    return [
        # the agreement's first grade is the buyer's specification; the others are accepted
        # at their own (lower) price
        DeliveryRow(a, on, Decimal(q), Decimal(amount), bool(grades) and grade == grades[0], u, c)
        for a, on, q, amount, grade, grades, u, c in rows
    ]


# --- disaggregation --------------------------------------------------------------------------


def group_masks(members: list[Member], on: date) -> dict[str, np.ndarray]:
    """Each group's members as a boolean mask (youth: age ≤ YOUTH_MAX_AGE in ``on``'s year)."""
    sex = np.array([m.sex for m in members], dtype=object)
    youth = np.array([on.year - m.birth_year <= YOUTH_MAX_AGE for m in members], dtype=bool)
    minority = np.array([m.minority for m in members], dtype=bool)
    return {
        "women": sex == "female",
        "men": sex == "male",
        "youth": youth,
        "non_youth": ~youth,
        "minority": minority,
        "non_minority": ~minority,
    }


def _reached(alliances: list[Alliance], members: list[Member], end: date) -> list[Member]:
    """Distinct farmers, members on ``end`` of a PO with an agreement signed by ``end``."""
    signed = {a.organization_id for a in alliances if a.signed_on <= end}
    seen: dict[int, Member] = {}
    for m in members:
        if m.organization_id in signed and (m.joined_on is None or m.joined_on <= end):
            seen.setdefault(m.farmer_id, m)
    return [seen[k] for k in sorted(seen)]


# --- the report ------------------------------------------------------------------------------


def build_report(
    actor: Actor,
    periods: list[Period] | None = None,
    targets: TargetsIn | None = None,
    on: date | None = None,
) -> ResultsReport:
    """The programme's results framework over ``periods`` (default: every year of its records),
    against ``targets``."""
    actor.require(Permission.PORTFOLIO_READ)
    programme = actor.programme()
    if targets is not None and targets.programme not in (None, programme.code):
        raise ProblemError(
            "targets",
            [
                Problem(
                    "programme", f"the targets are {targets.programme}'s, not {programme.code}'s"
                )
            ],
        )
    if periods is None:
        periods = year_periods(record_years(actor))
    currency = programme.reporting_currency

    def money(amount: Decimal, code: str, end: date) -> Decimal:
        return to_reporting_currency(actor, amount, code, end)

    reports_mi = mi.has_kit_sales(actor)
    reports_pa = has_agreements(actor) or not reports_mi
    rows: dict[str, list[PeriodValue]] = defaultdict(list)
    units_of: dict[str, tuple[Unit, str, bool]] = {}
    order: list[str] = []
    notes: dict[str, str] = {}
    missing = list(MISSING) if reports_pa else []
    if reports_pa:
        order += _alliance_rows(actor, periods, currency, money, rows, units_of)
    if reports_mi:
        order += _micro_investing_rows(actor, periods, currency, money, rows, units_of, notes)
        if "poverty_share" in notes and notes["poverty_share"].startswith("not available"):
            missing.append(f"poverty share: {notes['poverty_share']}")
    indicators = []
    for key in order:
        unit_kind, unit_label, disaggregated = units_of[key]
        base = key.split(".", 1)[0]
        name, definition = INDICATOR_KEYS[base]
        target = (targets.target_of(key) if targets else None) or TargetIn()
        values = [
            v.model_copy(update={"target": target.by_period.get(v.period)}) for v in rows[key]
        ]
        if target.baseline is not None:
            baseline, source = target.baseline, "targets file"
        elif values and values[0].value is not None:
            baseline, source = values[0].value, "first period"
        else:
            baseline, source = None, "none"
        indicators.append(
            Indicator(
                key=key,
                name=name,
                definition=definition,
                unit=unit_kind,
                unit_label=unit_label,
                disaggregated=disaggregated,
                baseline=baseline,
                baseline_source=source,
                target=target.target,
                values=values,
                note=notes.get(base),
            )
        )
    return ResultsReport(
        programme=programme.code,
        programme_name=programme.name,
        reporting_currency=currency,
        generated_on=on or date.today(),
        periods=periods,
        indicators=indicators,
        missing=missing,
    )


Money = Callable[[Decimal, str, date], Decimal]


def _alliance_rows(
    actor: Actor,
    periods: list[Period],
    currency: str,
    money: Money,
    rows: dict[str, list[PeriodValue]],
    units_of: dict[str, tuple[Unit, str, bool]],
) -> list[str]:
    """The Productive Alliances indicators into ``rows``; returns their keys in order."""
    alliances = _alliances(actor)
    members = _members(actor, {a.organization_id for a in alliances})
    deliveries = (
        _deliveries(actor, min(p.start for p in periods), max(p.end for p in periods))
        if periods
        else []
    )
    units = sorted({d.unit for d in deliveries}) or ["kg"]

    for period in periods:
        inside = [d for d in deliveries if period.start <= d.delivered_on <= period.end]
        by_currency: dict[str, Decimal] = defaultdict(Decimal)
        for d in inside:
            by_currency[d.currency] += d.amount
        sales = sum((money(v, c, period.end) for c, v in by_currency.items()), Decimal("0.00"))
        rows["po_sales_value"].append(PeriodValue(period=period.label, value=float(sales)))
        for unit in units:
            volume = sum((d.quantity for d in inside if d.unit == unit), Decimal(0))
            rows[_volume_key(unit, units)].append(
                PeriodValue(period=period.label, value=float(volume))
            )
        meeting = sum(1 for d in inside if d.meets_grade)
        rows["grade_share"].append(
            PeriodValue(period=period.label, value=meeting / len(inside) if inside else None)
        )

        reached = _reached(alliances, members, period.end)
        masks = group_masks(reached, period.end)
        rows["members_reached"].append(
            PeriodValue(
                period=period.label,
                value=float(len(reached)),
                by_group={g: float(masks[g].sum()) for g in GROUPS},
            )
        )
        signed = [a for a in alliances if a.signed_on <= period.end]
        employment = [a.employment for a in signed if a.employment is not None]
        rows["employment"].append(
            PeriodValue(period=period.label, value=float(sum(employment)) if signed else None)
        )
        rows["household_income"].append(
            _household_income(period, signed, reached, members, masks, money)
        )
        running = [a for a in signed if a.starts_on <= period.end and a.ends_on >= period.start]
        delivering = {d.agreement_id for d in inside}
        rows["alliance_survival"].append(
            PeriodValue(
                period=period.label,
                value=sum(1 for a in running if a.agreement_id in delivering) / len(running)
                if running
                else None,
            )
        )

    units_of |= {
        "po_sales_value": ("money", currency, False),
        "grade_share": ("share", "", False),
        "members_reached": ("count", "", True),
        "employment": ("person_years", "", False),
        "household_income": ("money", currency, True),
        "alliance_survival": ("share", "", False),
    }
    for unit in units:
        units_of[_volume_key(unit, units)] = ("quantity", unit, False)
    return ["po_sales_value", *(_volume_key(u, units) for u in units)] + [
        k for k in PA_KEYS if k not in ("po_sales_value", "po_sales_volume")
    ]


def _micro_investing_rows(
    actor: Actor,
    periods: list[Period],
    currency: str,
    money: Money,
    rows: dict[str, list[PeriodValue]],
    units_of: dict[str, tuple[Unit, str, bool]],
    notes: dict[str, str],
) -> list[str]:
    """The Micro Investing indicators into ``rows``; returns their keys in order."""
    records = mi.load_records(actor, max((p.end for p in periods), default=date.min))
    currencies = {s.currency for s in records.sales} | {p.currency for p in records.produce}
    conversion = mi.programme_country(actor, currencies)
    if conversion is None:
        notes["poverty_share"] = (
            "not available: no shipped PPP factor for the programme's country "
            "(a country place whose code or name is one of alianza.impact's countries, "
            "with the records' currency)"
        )
    elif currencies - {conversion.currency}:
        notes["poverty_share"] = (
            f"not available: records in {', '.join(sorted(currencies - {conversion.currency}))}"
            f", not only {conversion.currency}"
        )
    else:
        notes["poverty_share"] = (
            f"{conversion.name}: PPP factor {conversion.ppp_factor:g} {conversion.currency} per "
            f"international dollar (private consumption, {conversion.ppp_year}, WDI "
            f"PA.NUS.PRVT.PP{'' if conversion.verified else ', shipped default not verified'})"
            f"; line {mi.INTERNATIONAL_POVERTY_LINE.dollars_per_person_day:.2f} "
            f"({mi.INTERNATIONAL_POVERTY_LINE.source})"
        )
    notes["income_per_day"] = "kit income only: the platform records no other household income"
    kits_and_units: set[tuple[str, str]] = set()
    yield_rows: list[dict[tuple[str, str], PeriodValue]] = []
    for period in periods:
        count, value = mi.kit_purchases(records, period, money)
        rows["kit_purchases"].append(count)
        rows["kit_purchases_value"].append(value)
        rows["reinvestment_rate"].append(mi.reinvestment(records, period, money))
        income = mi.kit_income(records, period, money, conversion.currency if conversion else None)
        rows["income_per_day"].append(mi.income_per_day(income, period))
        rows["poverty_share"].append(mi.poverty_share(income, period, conversion))
        found = mi.yields(records, period)
        kits_and_units |= set(found)
        yield_rows.append(found)
    yield_keys = []
    for kit_code, unit in sorted(kits_and_units):
        key = f"yield_per_kit.{kit_code}"
        yield_keys.append(key)
        units_of[key] = ("quantity", f"{unit} / {kit_code}", True)
        for period, found in zip(periods, yield_rows, strict=True):
            rows[key].append(
                found.get((kit_code, unit), PeriodValue(period=period.label, value=None))
            )
    units_of |= {
        "kit_purchases": ("kits", "", True),
        "kit_purchases_value": ("money", currency, True),
        "reinvestment_rate": ("share", "", True),
        "income_per_day": ("money", currency, True),
        "poverty_share": ("share", "", True),
    }
    return [k for k in MI_KEYS if k != "yield_per_kit"] + yield_keys


def _volume_key(unit: str, units: list[str]) -> str:
    """``po_sales_volume``, or one key per unit when the agreements use several."""
    return "po_sales_volume" if len(units) == 1 else f"po_sales_volume.{unit}"


def _household_income(
    period: Period,
    signed: list[Alliance],
    reached: list[Member],
    memberships: list[Member],
    masks: dict[str, np.ndarray],
    money: Callable[[Decimal, str, date], Decimal],
) -> PeriodValue:
    """Each member reached gets the incremental income per family of their POs' signed plans
    (summed over the POs they belong to); the value is the mean over members (SDG 2.3.2's
    average income, every member weighted 1), by group where the group has members."""
    per_organization: dict[int, float] = defaultdict(float)
    planned: set[int] = set()
    for a in signed:
        if a.income_per_family is not None:
            amount = money(Decimal(str(a.income_per_family)), a.currency, period.end)
            per_organization[a.organization_id] += float(amount)
            planned.add(a.organization_id)
    # a farmer's income: every PO of theirs with a signed plan (a member of two adds both)
    by_farmer: dict[int, float] = defaultdict(float)
    has_plan: dict[int, bool] = defaultdict(bool)
    for m in memberships:
        if m.organization_id in planned and (m.joined_on is None or m.joined_on <= period.end):
            by_farmer[m.farmer_id] += per_organization[m.organization_id]
            has_plan[m.farmer_id] = True
    keep = np.array([has_plan[m.farmer_id] for m in reached], dtype=bool)
    if not keep.any():
        return PeriodValue(period=period.label, value=None)
    income = np.array([by_farmer[m.farmer_id] for m in reached], dtype=np.float64)
    value = average_income(income[keep])
    by_group: dict[str, float | None] = {}
    sex = np.where(masks["women"], "women", np.where(masks["men"], "men", "other"))
    split = average_income_by_sex_and_indigenous(income[keep], sex[keep], masks["minority"][keep])
    for group in GROUPS:
        if group in ("women", "men"):
            by_group[group] = split["sex"].get(group)
        elif group in ("minority", "non_minority"):
            by_group[group] = split["indigenous"].get(group == "minority")
        else:
            mask = masks[group][keep]
            by_group[group] = average_income(income[keep][mask]) if mask.any() else None
    return PeriodValue(period=period.label, value=value, by_group=by_group)
