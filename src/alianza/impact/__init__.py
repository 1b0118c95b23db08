"""Results indicators: poverty lines and SDG 1.1.1, SDG 2.3.1 and 2.3.2, SDG 10.1.1 with the
Gini coefficient and the Palma ratio, time to cross a threshold, land spared, and weighted
quantiles.

Pure computation over NumPy arrays (one element per farmer or household): no database, web or
CLI imports. Every function's docstring gives its formula and units; docs/impact.md gives the
sources.
"""

from alianza.impact.inequality import (
    Bottom40Growth,
    bottom40_growth,
    gini,
    gini_sorted,
    income_share,
    lorenz_curve,
    palma_ratio,
)
from alianza.impact.land import land_spared
from alianza.impact.poverty import (
    INTERNATIONAL_POVERTY_LINE,
    LEGACY_POVERTY_LINE_2017,
    LOWER_MIDDLE_INCOME_LINE,
    POVERTY_LINES,
    UPPER_MIDDLE_INCOME_LINE,
    CountryConversion,
    PovertyLine,
    country_conversion,
    country_conversions,
    fgt,
    fgt_by_group,
    headcount_by_group,
    headcount_ratio,
    person_weights,
    poverty_gap,
    ppp_dollars_per_person_day,
    squared_poverty_gap,
)
from alianza.impact.quantiles import QUANTILES, weighted_quantile, weighted_quantiles_summary
from alianza.impact.sdg2 import (
    average_income,
    average_income_by_sex_and_indigenous,
    production_per_labour_day,
)
from alianza.impact.survival import (
    KaplanMeier,
    kaplan_meier,
    kaplan_meier_from_counts,
    median_time,
    time_to_cross,
)

__all__ = [
    "INTERNATIONAL_POVERTY_LINE",
    "LEGACY_POVERTY_LINE_2017",
    "LOWER_MIDDLE_INCOME_LINE",
    "POVERTY_LINES",
    "QUANTILES",
    "UPPER_MIDDLE_INCOME_LINE",
    "Bottom40Growth",
    "CountryConversion",
    "KaplanMeier",
    "PovertyLine",
    "average_income",
    "average_income_by_sex_and_indigenous",
    "bottom40_growth",
    "country_conversion",
    "country_conversions",
    "fgt",
    "fgt_by_group",
    "gini",
    "gini_sorted",
    "headcount_by_group",
    "headcount_ratio",
    "income_share",
    "kaplan_meier",
    "kaplan_meier_from_counts",
    "land_spared",
    "lorenz_curve",
    "median_time",
    "palma_ratio",
    "person_weights",
    "poverty_gap",
    "ppp_dollars_per_person_day",
    "production_per_labour_day",
    "squared_poverty_gap",
    "time_to_cross",
    "weighted_quantile",
    "weighted_quantiles_summary",
]
