"""The reference scenario as a dedicated kernel: a single chain of kits, one owned at a time.

Rules (issue 3): every farmer starts with ``start_cash`` and owns kit level ``start_level``
(already paid for); level k costs ``price_k`` (10 * 3**k dollars in the shipped example).
Each season the kit owned returns ``price_k * (1 + r)``, r ~ Normal(mean, sd) clipped at -1;
of that return ``consumption_share`` is consumed and the rest kept as cash; then, if cash >=
the next level's price, the farmer buys it (at most one upgrade a season) and it replaces the
old kit, which produces from the next season on.

This kernel computes exactly what the general simulator (`alianza.ladder.simulation`) computes
for a scenario of that shape -- same random streams, same float expressions, same rounding to
cents -- but with a handful of whole-array operations per season. `from_scenario` checks the
shape and extracts the parameters, so the scenario file stays the single source of truth.
Money is held as whole cents in float64 (integers below 2**53 are exact in float64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alianza.ladder import season_kernel
from alianza.ladder.population import market_sizes
from alianza.ladder.scenario import Scenario
from alianza.ladder.streams import FARMER_DRAWS, fill_standard_normal, market_keys


@dataclass(frozen=True)
class ReferenceLadder:
    """Parameters of the reference ladder (money in USD)."""

    level_prices_usd: tuple[float, ...]
    output_per_season: tuple[float, ...]  # expected output a season, product units (1 USD each)
    return_multiple: float  # expected return per season / price = 1 + mean of r
    return_cv: float  # sd of r / return_multiple
    consumption_share: float
    start_cash_usd: float
    start_level: int
    seasons: int
    farmers: int
    markets: int
    seed: int

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> ReferenceLadder:
        """Extract the parameters; ValueError if the scenario is not a single-kit ladder."""
        catalogue = scenario.catalogue
        kits = catalogue.kits
        problems = []
        shocks, policy, population = scenario.shocks, scenario.policy, scenario.population
        for position, kit in enumerate(kits):
            previous = kits[position - 1].id if position else None
            if position and (kit.prerequisites != [previous] or kit.replaces != previous):
                problems.append(f"{kit.id}: must require and replace {previous}")
            if kit.max_per_farmer != 1 or kit.operating_cost_usd_per_season != 0:
                problems.append(f"{kit.id}: needs max_per_farmer 1 and no operating cost")
            if (
                kit.land_m2
                or kit.labour_days_per_season
                or kit.credit
                or kit.life_seasons <= (scenario.seasons)
                or kit.seasons_to_first_harvest
            ):
                problems.append(f"{kit.id}: no land, labour, credit, delay or wear-out allowed")
            product = catalogue.product(kit.product)
            if product.channel != "offtaker" or product.reference_price_usd != 1.0:
                problems.append(f"{kit.id}: its product must sell to an offtaker at 1 USD a unit")
        multiples = {
            kit.yield_per_harvest.mean
            * kit.harvests_per_year
            / catalogue.seasons_per_year
            * catalogue.product(kit.product).reference_price_usd
            / kit.price_usd
            for kit in kits
            if kit.price_usd > 0
        }
        if len(multiples) != 1 or len({kit.yield_per_harvest.cv for kit in kits}) != 1:
            problems.append("every kit must return the same multiple of its price, same cv")
        if shocks.drought_probability or shocks.flood_probability or shocks.price_shock_sd:
            problems.append("no weather or price shocks allowed")
        if policy.subsistence_usd_per_person_day or policy.savings_share or policy.use_credit:
            problems.append("no subsistence need, savings or credit allowed")
        other = population.other_income_usd_per_season
        if policy.other_income_saved_share and (other.distribution != "constant" or other.value):
            problems.append("no other income saved towards kits allowed")
        if any(kit.savings_group for kit in kits):
            problems.append("no savings-group purchases allowed")
        if policy.max_purchases_per_season != 1 or policy.order != ["upgrade"]:
            problems.append("policy: order [upgrade] and one purchase a season")
        if population.file or population.starting_cash_usd.distribution != "constant":
            problems.append("starting cash must be a constant")
        if sum(population.starting_kits.values()) != 1:
            problems.append("every farmer starts owning exactly one kit")
        if problems:
            raise ValueError("not a reference ladder scenario: " + "; ".join(problems))
        ids = [kit.id for kit in kits]
        start_kit = next(iter(population.starting_kits))
        return cls(
            level_prices_usd=tuple(kit.price_usd for kit in kits),
            output_per_season=tuple(
                kit.yield_per_harvest.mean
                * kit.harvests_per_year
                * (1.0 / catalogue.seasons_per_year)
                for kit in kits
            ),
            return_multiple=float(multiples.pop()),
            return_cv=float(kits[0].yield_per_harvest.cv),
            consumption_share=policy.consumption_share,
            start_cash_usd=population.starting_cash_usd.value,
            start_level=ids.index(start_kit),
            seasons=scenario.seasons,
            farmers=population.farmers,
            markets=scenario.market_count,
            seed=scenario.seed,
        )


@dataclass
class ReferenceResult:
    """Final level and cash (whole cents) of every farmer, in farmer order."""

    level: np.ndarray  # int64
    cash_cents: np.ndarray  # int64
    consumption_cents: np.ndarray  # int64 (zeros unless tracked)
    top_level: int

    @property
    def mean_level(self) -> float:
        return float(self.level.mean())

    @property
    def share_at_top(self) -> float:
        return float(np.mean(self.level == self.top_level))

    @property
    def mean_cash_usd(self) -> float:
        return float(self.cash_cents.mean() / 100.0)


def simulate_reference(
    ladder: ReferenceLadder,
    first_market: int = 0,
    last_market: int | None = None,
    track_consumption: bool = False,
    compiled: bool | None = None,
) -> ReferenceResult:
    """Simulate the farmers of markets first_market .. last_market - 1 (default: all).

    Per season, for all farmers at once (whole cents, float64):
    margin = rint(m_level * max(1 + cv * z, 0) * 100), with m_level = price * return_multiple
    in product units (the catalogue's expression), z ~ N(0, 1) from the market's stream;
    consumed = rint(consumption_share * margin); cash += margin - consumed;
    upgrade where cash >= price of the next level: cash -= that price, level += 1.
    ``compiled``: after the draws, do a season's per-farmer arithmetic in one numba loop
    (default when numba is installed) instead of NumPy operations; identical results.
    """
    if compiled is None:
        compiled = season_kernel.AVAILABLE
    last_market = ladder.markets if last_market is None else last_market
    sizes = market_sizes(ladder.farmers, ladder.markets)[first_market:last_market]
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    n = int(bounds[-1])
    keys = market_keys(ladder.seed, FARMER_DRAWS, ladder.markets, ladder.seasons)[
        first_market:last_market
    ]
    prices = np.asarray(ladder.level_prices_usd, dtype=np.float64)
    top = prices.size - 1
    # Expected output per season in product units (1 USD a unit), as the simulator computes it.
    output_per_season = np.asarray(ladder.output_per_season, dtype=np.float64)
    price_cents = np.rint(prices * 100.0)
    next_price = np.append(price_cents[1:], np.inf)  # no level above the top
    level = np.full(n, ladder.start_level, dtype=np.intp)
    cash = np.full(n, np.rint(ladder.start_cash_usd * 100.0))
    consumption = np.zeros(n if track_consumption else 0)
    # Markets do not interact here, so they are simulated a cache-sized block of markets at a
    # time, all seasons per block: the same operations, in the same order, per farmer.
    block_start = 0
    while block_start < len(keys):
        block_end = block_start + 1
        while block_end < len(keys) and bounds[block_end + 1] - bounds[block_start] <= BLOCK:
            block_end += 1
        rows = slice(int(bounds[block_start]), int(bounds[block_end]))
        _simulate_block(
            ladder,
            keys[block_start:block_end],
            bounds[block_start : block_end + 1] - bounds[block_start],
            output_per_season,
            next_price,
            level[rows],
            cash[rows],
            consumption[rows] if track_consumption else None,
            compiled,
        )
        block_start = block_end
    return ReferenceResult(
        level=level.astype(np.int64, copy=False),
        cash_cents=cash.astype(np.int64),
        consumption_cents=(
            consumption.astype(np.int64) if track_consumption else np.zeros(n, dtype=np.int64)
        ),
        top_level=top,
    )


BLOCK = 16_384  # farmers simulated together: a few arrays of this size stay in the CPU cache


def _simulate_block(
    ladder: ReferenceLadder,
    keys: np.ndarray,  # [markets, seasons, 4]: the block's markets' stream keys
    bounds: np.ndarray,
    output_per_season: np.ndarray,
    next_price: np.ndarray,
    level: np.ndarray,
    cash: np.ndarray,
    consumption: np.ndarray | None,
    compiled: bool,
) -> None:
    """All seasons for one block of whole markets; updates level, cash (and consumption)."""
    n = level.size
    # Per farmer: expected output of the kit owned and price of the next level, updated only
    # for the farmers who upgrade (cheaper than looking both up every season).
    output_now = output_per_season[level]
    next_price_now = next_price[level]
    z = np.empty(n)
    consumed = np.empty(n)
    can_upgrade = np.empty(n, dtype=bool)
    share = ladder.consumption_share
    for season in range(ladder.seasons):
        for m, key in enumerate(keys):
            fill_standard_normal(key, season, z[bounds[m] : bounds[m + 1]])
        if compiled:
            season_kernel.reference_season(
                z,
                ladder.return_cv,
                share,
                output_now,
                next_price_now,
                level,
                cash,
                output_per_season,
                next_price,
                consumption if consumption is not None else z[:0],
                consumption is not None,
            )
            continue
        np.multiply(z, ladder.return_cv, out=z)
        np.add(z, 1.0, out=z)
        np.fmax(z, 0.0, out=z)  # return clipped at -100%
        np.multiply(output_now, z, out=z)
        np.multiply(z, 100.0, out=z)
        np.rint(z, out=z)  # margin, whole cents
        np.multiply(z, share, out=consumed)
        np.rint(consumed, out=consumed)  # consumed, whole cents
        if consumption is not None:
            consumption += consumed
        np.subtract(z, consumed, out=z)
        np.add(cash, z, out=cash)
        np.greater_equal(cash, next_price_now, out=can_upgrade)
        upgraders = np.flatnonzero(can_upgrade)
        if upgraders.size:
            cash[upgraders] -= next_price_now[upgraders]
            new_level = level[upgraders] + 1
            level[upgraders] = new_level
            output_now[upgraders] = output_per_season[new_level]
            next_price_now[upgraders] = next_price[new_level]
