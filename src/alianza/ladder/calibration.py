"""Calibration: a scenario's kit yield, margin, market and reinvestment parameters estimated
from field records (`alianza.ladder.records`), each with its standard error.

Estimators (n observations; SE the standard error; see docs/micro-investing.md, "Calibration"):

- **Yield** of kit k, from farmer-seasons with productive units u > 0 in normal weather
  (and a harvest recorded, where the records say so: ``harvest_recorded``):
  y = harvest / u is one unit's output in a season, ``mean * h * max(0, 1 + cv z)`` in the
  simulator (h = harvests_per_year / seasons_per_year), so
  ``mean = ybar / h`` with ``SE = s_y / (h sqrt(n))``, and ``cv = s_y / ybar`` with the
  delta-method ``SE^2 = (m4 - s^4) / (4 n ybar^2 s^2) + s^4 / (n ybar^4) - m3 / (n ybar^3)``
  (sample central moments m3, m4; for normal data it is ``cv^2 (1/2 + cv^2) / n``). The
  clipping at zero is ignored: it matters only when cv > 1/3.
- **Operating cost** per unit and season: the mean of operating_cost / units (SE: s / sqrt n).
- **Reference price** of a product without a local supply limit: the mean over seasons of the
  season's price (sale value / quantity sold over all markets), since the simulator's national
  price factor has mean 1; SE over seasons.
- **Local demand curve** of a product with a local supply limit: per market and season,
  ``log price = alpha_t - max(0, x - log q) / e`` with x = log(supply per farmer of the
  market), alpha_t = log(P_ref f_t) one intercept per season (its national price factor), q
  the reference supply per farmer and e the price elasticity: a line with a kink, fitted by
  least squares (`kinked_demand_fit`). ``P_ref = mean_t exp(alpha_t)`` (E f = 1; SE over
  seasons); the SEs of log q and 1 / e come from the fit's Gauss-Newton covariance, then the
  delta method. Market-seasons at the price floor are left out.
- **Consumption share** (reinvestment = 1 - consumption - savings): farmer-seasons with a
  positive kit income d = sales - operating costs consume ``need + share * (d - need)``
  (need = subsistence per person-day x days x household size, at most d): share is the
  least-squares slope through the origin of (consumption - need) on (d - need).

- **Weather factors** (with a ``weather`` column): drought_yield_factor and flood_yield_factor
  of kit k = mean yield per unit in such seasons / mean in normal ones; SE by the delta method
  for a ratio of independent means.

A parameter with fewer than ``min_observations`` observations keeps the base scenario's value
(reported as not estimated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, Field, ValidationError

from alianza.ladder.scenario import Scenario
from alianza.problems import Message, Problem, ProblemError, field_path

MIN_OBSERVATIONS = 30


class Estimate(BaseModel):
    """One parameter of the scenario, estimated from the records."""

    parameter: str = Field(description="Path in the scenario, e.g. catalogue.kits[drip_bed].cv")
    base: float | None = Field(description="The base scenario's value.")
    estimate: float | None = Field(description="None: too few observations, base kept.")
    standard_error: float | None
    observations: int

    @property
    def estimated(self) -> bool:
        return self.estimate is not None

    @classmethod
    def of(
        cls,
        parameter: str,
        base: float | None,
        observations: int,
        found: tuple[float, float] | None = None,
    ) -> Estimate:
        """``found`` (the estimate and its standard error), or None: too few observations,
        the base kept."""
        estimate, standard_error = found if found is not None else (None, None)
        return cls(
            parameter=parameter,
            base=base,
            estimate=estimate,
            standard_error=standard_error,
            observations=observations,
        )


class Calibration(BaseModel):
    """What calibration found: every estimate, and the scenario with them applied."""

    records: int
    farmers: int
    seasons: int
    estimates: list[Estimate]
    reinvestment_rate: float | None = Field(
        description="Kit purchases / positive kit income over all farmer-seasons (descriptive)."
    )

    def estimate(self, parameter: str) -> Estimate:
        return next(e for e in self.estimates if e.parameter == parameter)


def read_calibration(path: str | Path) -> Calibration:
    """Read a calibration report (JSON); ProblemError with every problem."""
    file_path = Path(path)
    try:
        return Calibration.model_validate_json(file_path.read_bytes())
    except ValidationError as error:
        raise ProblemError(
            str(file_path),
            [Problem(field_path(tuple(e["loc"])) or "(file)", e["msg"]) for e in error.errors()],
        ) from None


def mean_and_se(values: np.ndarray) -> tuple[float, float]:
    """Sample mean and its standard error s / sqrt(n) (s with n - 1)."""
    n = values.size
    mean = float(values.mean())
    se = float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    return mean, se


def cv_and_se(values: np.ndarray) -> tuple[float, float]:
    """Coefficient of variation s / mean and its delta-method standard error (moments)."""
    n = values.size
    mean = float(values.mean())
    centred = values - mean
    variance = float(np.mean(centred**2))
    sd = math.sqrt(variance)
    if mean <= 0 or sd == 0:
        return (sd / mean if mean > 0 else math.nan), 0.0
    m3 = float(np.mean(centred**3))
    m4 = float(np.mean(centred**4))
    var_cv = (
        (m4 - variance**2) / (4 * mean**2 * variance) + variance**2 / mean**4 - m3 / mean**3
    ) / n
    # Sample sd with n - 1 (the estimate); the moments above use n (the delta method's).
    return float(values.std(ddof=1) / mean), math.sqrt(max(var_cv, 0.0))


@dataclass(frozen=True)
class DemandFit:
    """A fitted local demand curve: log price_mt = alpha_t - slope * max(0, x_mt - kink)."""

    season_intercepts: np.ndarray  # alpha_t = log(P_ref x f_t), by season (sorted)
    kink: float  # log of the reference supply per farmer
    slope: float  # 1 / price elasticity
    kink_se: float
    slope_se: float
    rss: float


def _demand_ols(
    x: np.ndarray, y: np.ndarray, dummies: np.ndarray, kink: float
) -> tuple[np.ndarray, float]:
    design = np.column_stack([dummies, -np.maximum(x - kink, 0.0)])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coefficients
    return coefficients, float(residual @ residual)


def kinked_demand_fit(x: np.ndarray, y: np.ndarray, seasons: np.ndarray) -> DemandFit | None:
    """Least-squares fit of log price = alpha_t - slope * max(0, x - kink), x the log of the
    supply per farmer, one intercept per season (the season's national price factor).

    The kink is searched over the observed x, then refined by golden-section search between
    its neighbours; (alpha, slope) are ordinary least squares given the kink. Standard errors
    of (kink, slope) come from the Gauss-Newton covariance sigma^2 (J'J)^-1 of the whole fit
    (J the derivatives of the mean: season dummies, -max(0, x - kink), slope [x > kink]).
    None when fewer than 3 market-seasons lie on either side of every kink tried.
    """
    labels, season_index = np.unique(seasons, return_inverse=True)
    dummies = np.eye(labels.size)[season_index]
    xs = np.unique(x)
    best: tuple[float, int] | None = None
    for position in range(1, xs.size - 1):
        above = int(np.count_nonzero(x > xs[position]))
        if above < 3 or x.size - above < 3:
            continue
        coefficients, rss = _demand_ols(x, y, dummies, float(xs[position]))
        if coefficients[-1] > 0 and (best is None or rss < best[0]):
            best = (rss, position)
    if best is None:
        return None
    low, high = float(xs[best[1] - 1]), float(xs[best[1] + 1])
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    rss_a, rss_b = _demand_ols(x, y, dummies, a)[1], _demand_ols(x, y, dummies, b)[1]
    for _ in range(60):
        if rss_a < rss_b:
            high, b, rss_b = b, a, rss_a
            a = high - ratio * (high - low)
            rss_a = _demand_ols(x, y, dummies, a)[1]
        else:
            low, a, rss_a = a, b, rss_b
            b = low + ratio * (high - low)
            rss_b = _demand_ols(x, y, dummies, b)[1]
    kink = (low + high) / 2.0
    coefficients, rss = _demand_ols(x, y, dummies, kink)
    slope = float(coefficients[-1])
    jacobian = np.column_stack([dummies, -np.maximum(x - kink, 0.0), slope * (x > kink)])
    freedom = max(x.size - jacobian.shape[1], 1)
    covariance = rss / freedom * np.linalg.pinv(jacobian.T @ jacobian)
    return DemandFit(
        season_intercepts=coefficients[:-1],
        kink=kink,
        slope=slope,
        kink_se=math.sqrt(max(covariance[-1, -1], 0.0)),
        slope_se=math.sqrt(max(covariance[-2, -2], 0.0)),
        rss=rss,
    )


def _column(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False)


def calibrate(
    scenario: Scenario, records: pa.Table, min_observations: int = MIN_OBSERVATIONS
) -> tuple[Scenario, Calibration]:
    """Estimate the scenario's parameters from checked records (`records.check_records`) and
    return the scenario with the estimates applied, and the report."""
    catalogue = scenario.catalogue
    known = {kit.id for kit in catalogue.kits}
    unknown = [
        Problem(
            f"rows[{row + 1}].kit",
            Message("unknown kit '%(kit)s' (not in the scenario's catalogue)", kit=kit),
        )
        for row, kit in enumerate(records.column("kit").to_pylist())
        if kit not in known
    ]
    if unknown:
        more = (
            [Problem("kit", Message("and %(count)s more rows", count=len(unknown) - 20))]
            if len(unknown) > 20
            else []
        )
        raise ProblemError("records", unknown[:20] + more)
    season_share = {
        kit.id: kit.harvests_per_year / catalogue.seasons_per_year for kit in catalogue.kits
    }
    kit_column = np.array(records.column("kit").to_pylist(), dtype=object)
    units = _column(records, "units")
    productive = _column(records, "productive_units")
    harvest = _column(records, "harvest_quantity")
    sold = _column(records, "sold_quantity")
    value = _column(records, "sale_value_usd")
    cost = _column(records, "operating_cost_usd")
    season = _column(records, "season").astype(np.int64)
    weather = (
        np.array(records.column("weather").to_pylist(), dtype=object)
        if "weather" in records.column_names
        else np.full(records.num_rows, "normal", dtype=object)
    )
    normal = (weather == "normal") | (weather == None)  # noqa: E711 - elementwise on objects
    if "harvest_recorded" in records.column_names:  # an unrecorded harvest is not a zero one
        recorded = _column(records, "harvest_recorded").astype(float) > 0
        normal = normal & recorded
        weather = np.where(recorded, weather, "unrecorded")
    estimates: list[Estimate] = []
    kit_updates: dict[str, dict[str, Any]] = {}
    for kit in catalogue.kits:
        rows = (kit_column == kit.id) & (productive > 0) & normal
        per_unit = harvest[rows] / productive[rows] / season_share[kit.id]
        n = int(per_unit.size)
        name = f"catalogue.kits[{kit.id}]"
        if n >= min_observations:
            mean, mean_se = mean_and_se(per_unit)
            cv, cv_se = cv_and_se(per_unit)
            kit_updates[kit.id] = {"yield_per_harvest": {"mean": mean, "cv": cv}}
        found = {"mean": (mean, mean_se), "cv": (cv, cv_se)} if n >= min_observations else {}
        estimates += [
            Estimate.of(
                f"{name}.yield_per_harvest.{p}", getattr(kit.yield_per_harvest, p), n, found.get(p)
            )
            for p in ("mean", "cv")
        ]
        if n >= min_observations and "weather" in records.column_names:
            estimates += _weather_factors(
                kit,
                name,
                mean,
                mean_se,
                weather,
                kit_column,
                productive,
                harvest,
                season_share[kit.id],
                min_observations,
                kit_updates,
            )
        owned = (kit_column == kit.id) & (units > 0)
        per_unit_cost = cost[owned] / units[owned]
        n = int(per_unit_cost.size)
        parameter = f"{name}.operating_cost_usd_per_season"
        cost_found = mean_and_se(per_unit_cost) if n >= min_observations else None
        if cost_found is not None:
            kit_updates.setdefault(kit.id, {})["operating_cost_usd_per_season"] = cost_found[0]
        estimates.append(Estimate.of(parameter, kit.operating_cost_usd_per_season, n, cost_found))

    # Markets: prices per product, market and season.
    product_of_kit = {kit.id: kit.product for kit in catalogue.kits}
    product_column = np.array([product_of_kit.get(k, "") for k in kit_column], dtype=object)
    market = np.array(records.column("market").to_pylist(), dtype=object)
    farmer = np.array(records.column("farmer_id").to_pylist(), dtype=object)
    farmers_in_market: dict[Any, int] = {}
    for m in np.unique(market):
        farmers_in_market[m] = int(np.unique(farmer[market == m]).size)
    product_updates: dict[str, dict[str, Any]] = {}
    supply_updates: dict[str, float] = {}
    supply_limits = scenario.markets.reference_supply_per_farmer
    for product in catalogue.products:
        rows = (product_column == product.id) & (sold > 0)
        parameter = f"catalogue.products[{product.id}]"
        limited = product.channel == "local" and product.id in supply_limits
        if not limited:
            seasons = np.unique(season[rows])
            prices = np.array(
                [
                    value[rows & (season == t)].sum() / sold[rows & (season == t)].sum()
                    for t in seasons
                ]
            )
            n = int(prices.size)
            price_found = mean_and_se(prices) if n >= 2 else None  # the factor varies by season
            if price_found is not None:
                product_updates[product.id] = {"reference_price_usd": price_found[0]}
            estimates.append(
                Estimate.of(
                    f"{parameter}.reference_price_usd", product.reference_price_usd, n, price_found
                )
            )
            continue
        x_array, y_array, cluster_array = _market_seasons(
            records, product_column == product.id, rows, farmers_in_market
        )
        # Leave out market-seasons at the price floor (the curve is flat there).
        floor = math.log(product.floor_price_share) + float(np.max(y_array, initial=0.0))
        keep = y_array > floor + 1e-9
        fit = (
            kinked_demand_fit(x_array[keep], y_array[keep], cluster_array[keep])
            if keep.sum() >= min_observations
            else None
        )
        names = (
            (f"{parameter}.reference_price_usd", product.reference_price_usd),
            (f"markets.reference_supply_per_farmer[{product.id}]", supply_limits[product.id]),
            (f"{parameter}.price_elasticity", product.price_elasticity),
        )
        if fit is None:
            estimates += [Estimate.of(p, b, int(keep.sum())) for p, b in names]
            continue
        # P_ref = mean over seasons of P_ref x f_t (E f = 1); SE over seasons.
        price_ref, price_se = mean_and_se(np.exp(fit.season_intercepts))
        q, inverse_e = math.exp(fit.kink), fit.slope
        elasticity = 1.0 / inverse_e
        # Delta method: d exp(v) = exp(v) dv; d (1 / v) = -dv / v^2.
        values = (
            (price_ref, price_se),
            (q, q * fit.kink_se),
            (elasticity, fit.slope_se / inverse_e**2),
        )
        estimates += [
            Estimate.of(p, b, int(keep.sum()), found)
            for (p, b), found in zip(names, values, strict=True)
        ]
        product_updates[product.id] = {
            "reference_price_usd": price_ref,
            "price_elasticity": elasticity,
        }
        supply_updates[product.id] = q

    # Reinvestment: consumption share of kit income beyond the household's need.
    policy = scenario.policy
    reinvestment_rate = None
    policy_update: dict[str, Any] = {}
    income, consumed, persons, purchases = _farmer_seasons(records, scenario)
    positive = income > 0
    if positive.any():
        reinvestment_rate = float(purchases[positive].sum() / income[positive].sum())
    if "consumption_usd" in records.column_names:
        need = np.minimum(
            np.maximum(income, 0.0),
            policy.subsistence_usd_per_person_day * catalogue.days_per_season * persons,
        )
        excess = np.maximum(income, 0.0) - need
        rows = excess > 0
        n = int(rows.sum())
        parameter = "policy.consumption_share"
        if n >= min_observations:
            share = float(
                (consumed[rows] - need[rows]) @ excess[rows] / (excess[rows] @ excess[rows])
            )
            residual = consumed[rows] - need[rows] - share * excess[rows]
            se = math.sqrt(
                float(residual @ residual) / (n - 1) / float(excess[rows] @ excess[rows])
            )
            share = min(max(share, 0.0), 1.0 - policy.savings_share)
            policy_update["consumption_share"] = share
        estimates.append(
            Estimate.of(
                parameter,
                policy.consumption_share,
                n,
                (share, se) if "consumption_share" in policy_update else None,
            )
        )

    calibrated = apply_estimates(
        scenario, kit_updates, product_updates, supply_updates, policy_update
    )
    report = Calibration(
        records=records.num_rows,
        farmers=int(np.unique(farmer).size),
        seasons=int(np.unique(season).size),
        estimates=estimates,
        reinvestment_rate=reinvestment_rate,
    )
    return calibrated, report


def _weather_factors(
    kit: Any,
    name: str,
    normal_mean: float,
    normal_se: float,
    weather: np.ndarray,
    kit_column: np.ndarray,
    productive: np.ndarray,
    harvest: np.ndarray,
    season_share: float,
    min_observations: int,
    kit_updates: dict[str, dict[str, Any]],
) -> list[Estimate]:
    """Drought and flood yield factors: mean yield in such seasons / mean in normal ones, with
    the delta-method SE of a ratio of independent means,
    ``SE^2 = (SE_w / m_n)^2 + (m_w SE_n / m_n^2)^2``."""
    found = []
    for kind, field in (("drought", "drought_yield_factor"), ("flood", "flood_yield_factor")):
        rows = (kit_column == kit.id) & (productive > 0) & (weather == kind)
        per_unit = harvest[rows] / productive[rows] / season_share
        n = int(per_unit.size)
        base = getattr(kit, field)
        if n < min_observations or normal_mean <= 0:
            found.append(Estimate.of(f"{name}.{field}", base, n))
            continue
        mean, se = mean_and_se(per_unit)
        factor = mean / normal_mean
        factor_se = math.hypot(se / normal_mean, mean * normal_se / normal_mean**2)
        kit_updates.setdefault(kit.id, {})[field] = factor
        found.append(Estimate.of(f"{name}.{field}", base, n, (factor, factor_se)))
    return found


def _market_seasons(
    records: pa.Table,
    produced: np.ndarray,
    sold_rows: np.ndarray,
    farmers_in_market: dict[Any, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per market and season with sales: x = log(supply per farmer), y = log(price), season.
    Supply counts all the product's output in the market; price = sale value / quantity sold."""
    table = pa.table(
        {
            "market": records.column("market"),
            "season": records.column("season"),
            "supply": pa.array(np.where(produced, _column(records, "harvest_quantity"), 0.0)),
            "value": pa.array(np.where(sold_rows, _column(records, "sale_value_usd"), 0.0)),
            "sold": pa.array(np.where(sold_rows, _column(records, "sold_quantity"), 0.0)),
        }
    )
    cells = table.group_by(["market", "season"]).aggregate(
        [("supply", "sum"), ("value", "sum"), ("sold", "sum")]
    )
    sold = _column(cells, "sold_sum")
    keep = sold > 0
    farmers = np.array([farmers_in_market[m] for m in cells.column("market").to_pylist()])
    x = np.log(_column(cells, "supply_sum")[keep] / farmers[keep])
    y = np.log(_column(cells, "value_sum")[keep] / sold[keep])
    return x, y, _column(cells, "season")[keep]


def _farmer_seasons(
    records: pa.Table, scenario: Scenario
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per farmer and season: kit income (sales - operating costs), consumption, household
    size and spending on kits."""
    household = (
        records.column("household_size")
        if "household_size" in records.column_names
        else pa.array(np.ones(records.num_rows))
    )
    table = pa.table(
        {
            "farmer_id": records.column("farmer_id"),
            "season": records.column("season"),
            "income": pa.array(
                _column(records, "sale_value_usd") - _column(records, "operating_cost_usd")
            ),
            "consumption": records.column("consumption_usd")
            if "consumption_usd" in records.column_names
            else pa.array(np.zeros(records.num_rows)),
            "persons": household,
            "purchases": pa.array(_kit_purchase_value(records, scenario)),
        }
    )
    groups = table.group_by(["farmer_id", "season"]).aggregate(
        [("income", "sum"), ("consumption", "max"), ("persons", "max"), ("purchases", "sum")]
    )
    return (
        _column(groups, "income_sum"),
        _column(groups, "consumption_max"),
        _column(groups, "persons_max"),
        _column(groups, "purchases_sum"),
    )


def _kit_purchase_value(records: pa.Table, scenario: Scenario) -> np.ndarray:
    """USD spent on kits per row: units bought x the catalogue price."""
    prices = {kit.id: kit.price_usd for kit in scenario.catalogue.kits}
    kits = records.column("kit").to_pylist()
    bought = _column(records, "units_bought")
    return np.array([prices.get(k, 0.0) for k in kits]) * bought


def apply_estimates(
    scenario: Scenario,
    kit_updates: dict[str, dict[str, Any]],
    product_updates: dict[str, dict[str, Any]],
    supply_updates: dict[str, float],
    policy_update: dict[str, Any],
) -> Scenario:
    """A copy of the scenario with the estimated values (validated like a scenario file)."""
    raw = scenario.model_dump(mode="json")
    for kit in raw["catalogue"]["kits"]:
        update = kit_updates.get(kit["id"], {})
        if "yield_per_harvest" in update:
            kit["yield_per_harvest"] = update["yield_per_harvest"]
        for field in (
            "operating_cost_usd_per_season",
            "drought_yield_factor",
            "flood_yield_factor",
        ):
            if field in update:
                kit[field] = update[field]
    for product in raw["catalogue"]["products"]:
        product.update(product_updates.get(product["id"], {}))
    raw["markets"]["reference_supply_per_farmer"].update(supply_updates)
    raw["policy"].update(policy_update)
    return Scenario.model_validate(raw)
