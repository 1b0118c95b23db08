"""The results framework's typed report and its targets file.

One :class:`ResultsReport` is rendered to a Rich table, JSON and XLSX from the same model
(``platform/results/render.py``). An indicator is one row: a value per period, each value with
its disaggregations (by sex, youth and minority status where the records allow), a baseline
and a target. Micro Investing indicators join as further :class:`Indicator` rows with their
own keys (see :data:`INDICATOR_KEYS`); nothing in the model is specific to one programme type.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from alianza.appraisal.translations import N_

# The disaggregation groups, in the order the columns show them. A farmer is youth up to
# YOUTH_MAX_AGE (registry) in the year the period ends.
GROUPS = ("women", "men", "youth", "non_youth", "minority", "non_minority")
GROUP_LABELS = {
    "women": N_("Women"),
    "men": N_("Men"),
    "youth": N_("Youth"),
    "non_youth": N_("Not youth"),
    "minority": N_("Minority"),
    "non_minority": N_("Not minority"),
}

Unit = Literal["money", "quantity", "share", "count", "kits", "person_years"]

# key -> (name, definition); every key is an indicator the service can compute. The first
# group is a Productive Alliances programme's (agreements and deliveries), the second a Micro
# Investing programme's (kit sales, harvests, produce sales); see MI_KEYS.
INDICATOR_KEYS: dict[str, tuple[str, str]] = {
    "po_sales_value": (
        N_("PO sales (value)"),
        N_("Value of the deliveries to buyers under alliance agreements in the period"),
    ),
    "po_sales_volume": (
        N_("PO sales (volume)"),
        N_("Quantity delivered to buyers under alliance agreements in the period"),
    ),
    "grade_share": (
        N_("Deliveries meeting the buyer's grade"),
        N_("Share of the deliveries graded at the agreement's first (specified) grade"),
    ),
    "members_reached": (
        N_("Members reached"),
        N_("Members of producer organizations with a signed alliance agreement"),
    ),
    "employment": (
        N_("Employment (planned)"),
        N_("Person-years of employment in the approved plans of signed alliances"),
    ),
    "household_income": (
        N_("Household incremental income (planned)"),
        N_("Average over members reached of their plans' incremental income per family a year"),
    ),
    "alliance_survival": (
        N_("Alliance survival"),
        N_("Share of alliances signed by the period's end and still running that delivered in it"),
    ),
    "kit_purchases": (
        N_("Kit purchases"),
        N_("Kit units bought (paid) by farmers in the period"),
    ),
    "kit_purchases_value": (
        N_("Kit purchases (value)"),
        N_("Value of the kits bought (paid) by farmers in the period"),
    ),
    "reinvestment_rate": (
        N_("Reinvestment rate"),
        N_(
            "Share of the farmers owning a kit before the period who bought another in it with "
            "their own money, paid for by their produce sales since their first kit"
        ),
    ),
    "income_per_day": (
        N_("Kit income per person per day"),
        N_(
            "Mean over active farmers of produce sales less kit purchases in the period, per "
            "household member per day of the period"
        ),
    ),
    "poverty_share": (
        N_("Poverty share (kit income, $3.00 2021 PPP)"),
        N_(
            "Share of the persons in active farmers' households whose kit income per person per "
            "day, in 2021 PPP dollars, is below the international poverty line of $3.00"
        ),
    ),
    "yield_per_kit": (
        N_("Yield per kit"),
        N_("Harvest in the period per unit of the kit owned by the farmers who harvested it"),
    ),
}
MI_KEYS = (
    "kit_purchases",
    "kit_purchases_value",
    "reinvestment_rate",
    "income_per_day",
    "poverty_share",
    "yield_per_kit",
)
PA_KEYS = tuple(k for k in INDICATOR_KEYS if k not in MI_KEYS)


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Period(Model):
    label: str
    start: date
    end: date


class PeriodValue(Model):
    """An indicator's value in one period; ``by_group`` holds the disaggregations the records
    allow (absent groups: the records do not say)."""

    period: str
    value: float | None
    by_group: dict[str, float | None] = Field(default_factory=dict)
    target: float | None = None


class Indicator(Model):
    key: str
    name: str
    definition: str
    unit: Unit
    unit_label: str = Field(description="the currency code or the quantity's unit, if any")
    disaggregated: bool
    baseline: float | None
    baseline_source: Literal["first period", "targets file", "none"]
    target: float | None
    values: list[PeriodValue]
    note: str | None = Field(
        default=None, description="what the figure rests on (e.g. the PPP factor used)"
    )


class ResultsReport(Model):
    programme: str
    programme_name: str
    reporting_currency: str
    generated_on: date
    periods: list[Period]
    indicators: list[Indicator]
    missing: list[str] = Field(
        default_factory=list, description="indicators the records cannot give yet, and why"
    )

    def indicator(self, key: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.key == key:
                return indicator
        raise KeyError(key)


Number = Annotated[float, Field(allow_inf_nan=False)]


class TargetIn(Model):
    """One indicator's target: ``target`` for the whole report (its last period), ``baseline``
    to replace the first period's value, ``by_period`` for a target per period label."""

    target: Number | None = None
    baseline: Number | None = None
    by_period: dict[str, Number] = Field(default_factory=dict)


class TargetsIn(Model):
    """The targets file: ``programme`` (checked against the report's) and indicator key ->
    a number (the target) or a :class:`TargetIn` (keys are checked against
    :data:`INDICATOR_KEYS` by the loader, so that the error names the key)."""

    programme: str | None = None
    indicators: dict[str, Number | TargetIn] = Field(default_factory=dict)

    def target_of(self, key: str) -> TargetIn | None:
        found = self.indicators.get(key)
        if found is None:
            return None
        return found if isinstance(found, TargetIn) else TargetIn(target=found)
