"""Poverty lines in PPP dollars, conversion of incomes to them, and SDG 1.1.1.

Welfare is income (or consumption) per person per day in PPP dollars of the line's base year.
A person is poor when their welfare is strictly below the line z (World Bank PIP, FGT 1984).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Literal

import numpy as np
import yaml
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field

from alianza.impact._arrays import Array, group_codes, label, values_and_weights


class PovertyLine(BaseModel):
    """A poverty line: PPP dollars a person a day, in the PPP of `ppp_year`."""

    model_config = ConfigDict(frozen=True)

    name: str
    dollars_per_person_day: float = Field(gt=0)
    ppp_year: int
    source: str


_PIP_2025 = "World Bank, Poverty and Inequality Platform, June 2025 update (2021 PPP)"
INTERNATIONAL_POVERTY_LINE = PovertyLine(
    name="international", dollars_per_person_day=3.00, ppp_year=2021, source=_PIP_2025
)
LOWER_MIDDLE_INCOME_LINE = PovertyLine(
    name="lower_middle_income", dollars_per_person_day=4.20, ppp_year=2021, source=_PIP_2025
)
UPPER_MIDDLE_INCOME_LINE = PovertyLine(
    name="upper_middle_income", dollars_per_person_day=8.30, ppp_year=2021, source=_PIP_2025
)
LEGACY_POVERTY_LINE_2017 = PovertyLine(
    name="international_2017",
    dollars_per_person_day=2.15,
    ppp_year=2017,
    source="World Bank, international poverty line September 2022 - June 2025 (2017 PPP)",
)
POVERTY_LINES: dict[str, PovertyLine] = {
    line.name: line
    for line in (
        INTERNATIONAL_POVERTY_LINE,
        LOWER_MIDDLE_INCOME_LINE,
        UPPER_MIDDLE_INCOME_LINE,
        LEGACY_POVERTY_LINE_2017,
    )
}


class CountryConversion(BaseModel):
    """What converts a country's incomes to PPP dollars: the PPP conversion factor for private
    consumption (local currency per international dollar, WDI PA.NUS.PRVT.PP) and the market
    exchange rate (local currency per US dollar, WDI PA.NUS.FCRF)."""

    model_config = ConfigDict(frozen=True)

    iso3: str
    name: str
    currency: str
    ppp_factor: float = Field(gt=0)
    ppp_year: int
    exchange_rate: float = Field(gt=0)
    exchange_rate_year: int
    verified: bool
    note: str

    @property
    def price_level_ratio(self) -> float:
        """PPP factor / exchange rate: below 1 where a dollar buys more than in the US."""
        return self.ppp_factor / self.exchange_rate


@lru_cache(maxsize=1)
def country_conversions() -> Mapping[str, CountryConversion]:
    """The shipped defaults (countries.yaml in this package), by ISO 3166-1 alpha-3 code.
    Several figures are unverified: read each one's `verified` and `note`."""
    text = resources.files("alianza.impact").joinpath("countries.yaml").read_text("utf-8")
    document = yaml.safe_load(text)
    return {iso3: CountryConversion(iso3=iso3, **entry) for iso3, entry in document.items()}


def country_conversion(iso3: str) -> CountryConversion:
    """The shipped defaults for one country (`TZA`, `MWI`, `HND`, `BOL`, `COL`)."""
    conversions = country_conversions()
    try:
        return conversions[iso3.upper()]
    except KeyError:
        known = ", ".join(sorted(conversions))
        raise KeyError(f"iso3: no defaults for {iso3!r}; known: {known}") from None


def ppp_dollars_per_person_day(
    household_income: ArrayLike,
    household_size: ArrayLike,
    days: ArrayLike,
    ppp_factor: ArrayLike,
    exchange_rate: ArrayLike | None = None,
    currency: Literal["local", "usd"] = "local",
) -> Array:
    """Welfare in PPP dollars a person a day.

    local currency:  y = I / (n * d * PPP)
    market US$:      y = I * e / (n * d * PPP)

    I household income over the period (local currency, or US$ at market rate), n persons in
    the household, d days in the period, PPP local currency per international dollar (private
    consumption), e local currency per US$ (market exchange rate). Divided by PPP, not by e:
    where prices are low, a dollar at market rate buys 1/(PPP/e) dollars' worth.
    """
    income = np.asarray(household_income, dtype=np.float64)
    size = np.asarray(household_size, dtype=np.float64)
    if np.any(size <= 0):
        raise ValueError("household_size: must be > 0")
    if np.any(np.asarray(days) <= 0):
        raise ValueError("days: must be > 0")
    if np.any(np.asarray(ppp_factor) <= 0):
        raise ValueError("ppp_factor: must be > 0")
    if currency == "usd":
        if exchange_rate is None:
            raise ValueError("exchange_rate: needed to convert market dollars")
        if np.any(np.asarray(exchange_rate) <= 0):
            raise ValueError("exchange_rate: must be > 0")
        income = income * np.asarray(exchange_rate, dtype=np.float64)
    elif currency != "local":
        raise ValueError(f"currency: must be 'local' or 'usd', got {currency!r}")
    ppp = np.asarray(ppp_factor, dtype=np.float64)
    result: Array = income / (size * np.asarray(days, dtype=np.float64) * ppp)
    return result


def person_weights(household_size: ArrayLike, household_weights: ArrayLike | None = None) -> Array:
    """Weights that count persons: w_i * n_i (survey weight times household size), so that a
    share of persons is computed from one row per household (SDG 1.1.1 counts persons)."""
    size = np.asarray(household_size, dtype=np.float64)
    if household_weights is None:
        return size
    weights: Array = size * np.asarray(household_weights, dtype=np.float64)
    return weights


def _line_value(line: PovertyLine | float) -> float:
    z = line.dollars_per_person_day if isinstance(line, PovertyLine) else float(line)
    if not z > 0:
        raise ValueError("line: must be > 0")
    return z


def _deprivation(welfare: np.ndarray, z: float, alpha: float) -> np.ndarray:
    """g_i^alpha 1[y_i < z] with g_i = (z - y_i) / z; alpha = 0 gives the poverty indicator."""
    if alpha < 0:
        raise ValueError("alpha: must be >= 0")
    poor = welfare < z
    if alpha == 0:
        return poor.astype(np.float64)
    gap = np.where(poor, (z - welfare) / z, 0.0)
    return gap if alpha == 1 else gap**alpha


def fgt(
    welfare: ArrayLike,
    line: PovertyLine | float,
    alpha: float = 0.0,
    weights: ArrayLike | None = None,
) -> float:
    """Foster-Greer-Thorbecke index (Foster, Greer and Thorbecke 1984):

        P_alpha = sum_i w_i ((z - y_i) / z)^alpha 1[y_i < z] / sum_i w_i

    alpha = 0: headcount ratio (SDG 1.1.1); 1: poverty gap; 2: squared poverty gap (severity).
    y welfare in PPP $ a person a day, z the line in the same units; a share in [0, 1].
    """
    y, w = values_and_weights(welfare, weights)
    total = float(w.sum(dtype=np.float64))
    if total == 0:
        raise ValueError("weights: must not all be zero")
    return float(np.dot(w, _deprivation(y, _line_value(line), alpha))) / total


def headcount_ratio(
    welfare: ArrayLike, line: PovertyLine | float, weights: ArrayLike | None = None
) -> float:
    """SDG 1.1.1: share of persons (with `person_weights`) or households (no or household
    weights) whose welfare is below the line: sum_i w_i 1[y_i < z] / sum_i w_i."""
    return fgt(welfare, line, 0.0, weights)


def poverty_gap(
    welfare: ArrayLike, line: PovertyLine | float, weights: ArrayLike | None = None
) -> float:
    """FGT(1): mean shortfall from the line as a share of it, the non-poor counting 0."""
    return fgt(welfare, line, 1.0, weights)


def squared_poverty_gap(
    welfare: ArrayLike, line: PovertyLine | float, weights: ArrayLike | None = None
) -> float:
    """FGT(2): mean squared relative shortfall; weighs the poorest most (severity)."""
    return fgt(welfare, line, 2.0, weights)


def fgt_by_group(
    welfare: ArrayLike,
    line: PovertyLine | float,
    groups: ArrayLike,
    alpha: float = 0.0,
    weights: ArrayLike | None = None,
) -> dict[object, float]:
    """FGT(alpha) within each group: {label: P_alpha of the elements with that label}.

    `groups` holds one label per element (sex, youth, minority, a combination, a district);
    one pass with bincount, no loop over elements.
    """
    y, w = values_and_weights(welfare, weights)
    distinct, codes = group_codes(groups, y.shape[0])
    deprivation = _deprivation(y, _line_value(line), alpha)
    totals = np.bincount(codes, weights=w, minlength=distinct.shape[0])
    poor = np.bincount(codes, weights=w * deprivation, minlength=distinct.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = poor / totals
    return {label(g): float(s) for g, s in zip(distinct, shares, strict=True)}


def headcount_by_group(
    welfare: ArrayLike,
    line: PovertyLine | float,
    groups: ArrayLike,
    weights: ArrayLike | None = None,
) -> dict[object, float]:
    """SDG 1.1.1 disaggregated: the headcount ratio within each group label."""
    return fgt_by_group(welfare, line, groups, 0.0, weights)
