"""Growth planner: one farmer's expected path up the ladder, and its spread under shocks.

The planner runs the population simulator itself (same rules, same code):

- the *expected path* is one farmer with every random factor at its mean: yield noise off
  (z = 0), no drought, flood or price shock, reference prices (one farmer does not move a
  market);
- the *spread* is ``draws`` copies of the same farmer, each in its own market and district
  (uncorrelated weather), with yield noise, drought/flood and price shocks on; the 10th and
  90th percentiles of cash and income across copies are reported per season. The copies share
  one national price path per season (seeded).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alianza.ladder.catalogue import Catalogue
from alianza.ladder.kits import KitTable
from alianza.ladder.population import Farmers
from alianza.ladder.scenario import Distribution, Policy, Population, Scenario, Shocks
from alianza.ladder.simulation import simulate_chunk
from alianza.ladder.state import ChunkState
from alianza.ladder.statistics import SeasonRecorder


@dataclass(frozen=True)
class PlanOptions:
    """What the planner is asked."""

    cash_usd: float = 10.0
    land_m2: float = 2000.0
    household_size: int = 5
    seasons: int = 12
    seed: int = 0
    draws: int = 1000
    policy: Policy = Policy(max_purchases_per_season=3)
    drought_probability: float = 0.1
    flood_probability: float = 0.05
    price_shock_sd: float = 0.1
    # The World Bank's international line, 2021 PPP dollars a person a day.
    poverty_line_ppp_per_person_day: float = 3.00
    # PPP dollars one market dollar buys (exchange rate / PPP factor); 1 when no country is set.
    ppp_per_usd: float = 1.0
    commercial_threshold_usd_per_day: float = 20.0

    @property
    def poverty_line_usd_per_person_day(self) -> float:
        """The poverty line in market dollars: PPP line / ppp_per_usd."""
        return self.poverty_line_ppp_per_person_day / self.ppp_per_usd


@dataclass
class PlanRow:
    """One season of the expected path (season numbered from 1)."""

    season: int
    bought: list[str]
    income_usd_per_day: float  # household kit margin per day
    income_usd_per_person_day: float
    cash_usd: float
    kits_owned: dict[str, int]
    loan_balance_usd: float


@dataclass
class GrowthPlan:
    """The planner's answer."""

    catalogue_name: str
    rows: list[PlanRow]
    kit_names: dict[str, str]  # short names by kit id, for the chart
    first_season_above_poverty: int | None
    first_season_commercial: int | None
    poverty_line_household_usd_per_day: float
    commercial_threshold_usd_per_day: float
    cash_p10: list[float] = field(default_factory=list)
    cash_p90: list[float] = field(default_factory=list)
    income_p10: list[float] = field(default_factory=list)
    income_p90: list[float] = field(default_factory=list)
    share_above_poverty_by_end: float = 0.0
    share_commercial_by_end: float = 0.0


class TraceRecorder(SeasonRecorder):
    """A recorder that also keeps every farmer's cash, margin, kits and purchases each season."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.cash_trace: list[np.ndarray] = []
        self.margin_trace: list[np.ndarray] = []
        self.owned_trace: list[np.ndarray] = []
        self.bought_trace: list[np.ndarray] = []
        self.loan_trace: list[np.ndarray] = []
        self._previous_bought: np.ndarray | None = None

    def record(
        self,
        season: int,
        state: ChunkState,
        margin: np.ndarray,
        above_poverty: np.ndarray,
        commercial: np.ndarray,
        supply: np.ndarray,
        prices: np.ndarray,
        bought: np.ndarray,
        retired: np.ndarray,
        local_market: np.ndarray,
        other_income: np.ndarray,
    ) -> None:
        super().record(
            season,
            state,
            margin,
            above_poverty,
            commercial,
            supply,
            prices,
            bought,
            retired,
            local_market,
            other_income,
        )
        self.cash_trace.append(state.cash.copy())
        self.margin_trace.append(margin.copy())
        self.owned_trace.append(state.owned.copy())
        previous = (
            np.zeros_like(state.kits_bought)
            if self._previous_bought is None
            else self._previous_bought
        )
        self.bought_trace.append(state.kits_bought - previous)
        self._previous_bought = state.kits_bought.copy()
        self.loan_trace.append(state.loan_balance.copy())


def _planning_scenario(
    catalogue: Catalogue, options: PlanOptions, copies: int, shocks: bool
) -> Scenario:
    return Scenario(
        name="growth plan",
        catalogue=catalogue,
        seed=options.seed,
        seasons=options.seasons,
        population=Population(
            farmers=copies,
            districts=copies,
            markets_per_district=1,
            district_spacing_km=1e9,  # copies' weather is independent
            starting_cash_usd=Distribution(distribution="constant", value=options.cash_usd),
            land_m2=Distribution(distribution="constant", value=options.land_m2),
            household_size=Distribution(distribution="constant", value=options.household_size),
        ),
        policy=options.policy,
        shocks=Shocks(
            drought_probability=options.drought_probability if shocks else 0.0,
            flood_probability=options.flood_probability if shocks else 0.0,
            price_shock_sd=options.price_shock_sd if shocks else 0.0,
            yield_noise=shocks,
        ),
    )


def _run(scenario: Scenario, copies: int, options: PlanOptions) -> TraceRecorder:
    cash_cents = int(round(options.cash_usd * 100))
    farmers = Farmers(
        farmer_id=np.arange(copies, dtype=np.int64),
        market=np.arange(copies, dtype=np.int64),
        district=np.arange(copies, dtype=np.int64),
        cash_cents=np.full(copies, cash_cents, dtype=np.int64),
        land_m2=np.full(copies, float(options.land_m2)),
        household_size=np.full(copies, options.household_size, dtype=np.int64),
        other_income_cents=np.zeros(copies, dtype=np.int64),
        female=np.zeros(copies, dtype=bool),
        youth=np.zeros(copies, dtype=bool),
        minority=np.zeros(copies, dtype=bool),
    )
    recorder = TraceRecorder(
        seasons=scenario.seasons,
        kits=KitTable.from_scenario(scenario).kit_count,
        products=len(scenario.catalogue.products),
        markets=copies,
        districts=copies,
        cells=np.zeros(copies, dtype=np.int64),
        household_size=farmers.household_size,
        days_per_season=scenario.catalogue.days_per_season,
    )
    # The NumPy path: it records every season as it goes (the compiled kernel records only the
    # statistics, at the end); a plan's few hundred farmers take well under a second.
    simulate_chunk(scenario, farmers, 0, copies, recorder, compiled=False)
    return recorder


def plan_growth(catalogue: Catalogue, options: PlanOptions) -> GrowthPlan:
    """Expected season-by-season path and its 10th-90th percentile spread under shocks."""
    days = catalogue.days_per_season
    expected_scenario = _planning_scenario(catalogue, options, 1, shocks=False)
    table = KitTable.from_scenario(expected_scenario)
    kit_ids = table.kit_ids
    expected = _run(expected_scenario, 1, options)
    poverty_household = options.poverty_line_usd_per_person_day * options.household_size
    rows = []
    first_poverty: int | None = None
    first_commercial: int | None = None
    for season in range(options.seasons):
        margin = int(expected.margin_trace[season][0])
        income_day = margin / 100.0 / days
        owned = expected.owned_trace[season][:, 0]
        bought = expected.bought_trace[season][:, 0]
        rows.append(
            PlanRow(
                season=season + 1,
                bought=[kit for k, kit in enumerate(kit_ids) for _ in range(int(bought[k]))],
                income_usd_per_day=income_day,
                income_usd_per_person_day=income_day / options.household_size,
                cash_usd=int(expected.cash_trace[season][0]) / 100.0,
                kits_owned={kit: int(owned[k]) for k, kit in enumerate(kit_ids) if owned[k]},
                loan_balance_usd=int(expected.loan_trace[season][0]) / 100.0,
            )
        )
        if first_poverty is None and income_day >= poverty_household:
            first_poverty = season + 1
        if first_commercial is None and income_day >= options.commercial_threshold_usd_per_day:
            first_commercial = season + 1
    plan = GrowthPlan(
        catalogue_name=catalogue.name,
        rows=rows,
        kit_names=dict(zip(kit_ids, table.kit_names, strict=True)),
        first_season_above_poverty=first_poverty,
        first_season_commercial=first_commercial,
        poverty_line_household_usd_per_day=poverty_household,
        commercial_threshold_usd_per_day=options.commercial_threshold_usd_per_day,
    )
    if options.draws > 0:
        spread = _run(
            _planning_scenario(catalogue, options, options.draws, shocks=True),
            options.draws,
            options,
        )
        cash = np.array(spread.cash_trace) / 100.0
        income = np.array(spread.margin_trace) / 100.0 / days
        plan.cash_p10 = np.percentile(cash, 10, axis=1).tolist()
        plan.cash_p90 = np.percentile(cash, 90, axis=1).tolist()
        plan.income_p10 = np.percentile(income, 10, axis=1).tolist()
        plan.income_p90 = np.percentile(income, 90, axis=1).tolist()
        plan.share_above_poverty_by_end = float(np.mean((income >= poverty_household).any(axis=0)))
        plan.share_commercial_by_end = float(
            np.mean((income >= options.commercial_threshold_usd_per_day).any(axis=0))
        )
    return plan
