"""Population simulator: one chunk of whole markets through all seasons, vectorised over farmers.

Money is held in integer cents (int64). The only roundings are where a float becomes money:
sales revenue (``rint`` of units x price x 100), consumption and savings shares (``rint``),
credit principals and loan totals (``rint``) and instalments (ceiling); each is marked below.
For every farmer, exactly:

    end cash = start cash + margins + other income saved + credit - purchases - consumption
               - repayments

where margin = sales revenue - operating costs of the season. The order of one season is:

1. weather (district drought/flood), national price factors, kit wear-out;
2. harvest: output of productive units x yield noise x weather factor, per product;
3. each market clears: price per product from its demand curve; margins are paid;
4. loan instalments are paid (as far as cash allows; default after missed instalments);
5. the household consumes (subsistence need first, then a share of the rest) and saves; the
   saved share of its other income is put aside towards kits;
6. purchases: up to ``max_purchases_per_season`` kits, chosen by the next-kit rule.

See docs/simulation.md for every rule.
"""

from __future__ import annotations

import numpy as np

from alianza.ladder import season_kernel
from alianza.ladder.kits import KitTable
from alianza.ladder.markets import clear_markets, market_absorbs
from alianza.ladder.population import Farmers
from alianza.ladder.purchases import buy_next_kits, purchase_order
from alianza.ladder.scenario import Scenario
from alianza.ladder.shocks import season_shocks
from alianza.ladder.state import (
    NOT_YET,
    ChunkState,
    initial_state,
    productive_units,
    wear_out,
)
from alianza.ladder.statistics import SeasonRecorder
from alianza.ladder.streams import FARMER_DRAWS, fill_standard_normal, market_keys


def simulate_chunk(
    scenario: Scenario,
    farmers: Farmers,
    first_market: int,
    last_market: int,
    recorder: SeasonRecorder,
    compiled: bool | None = None,
    kits: KitTable | None = None,
    start: ChunkState | None = None,
) -> ChunkState:
    """Simulate the farmers of markets first_market .. last_market - 1 for all seasons.

    ``farmers`` must hold exactly those markets' farmers, sorted by market. Per-season results
    go to ``recorder``; the final state is returned. ``compiled`` chooses the numba kernel
    (default: when numba is installed) or NumPy; both give identical results. ``kits``: the
    scenario's `KitTable`, if the caller has it already. ``start``: the farmers' state to start
    from (kits by vintage, cash), e.g. today's state for a forecast; default `initial_state`.
    """
    if compiled is None:
        compiled = season_kernel.AVAILABLE
    if kits is None:
        kits = KitTable.from_scenario(scenario)
    if kits.kit_count > season_kernel.MAX_KITS:
        compiled = False  # the kernel's tables have a row for every set of kits
    policy = scenario.policy
    seasons = scenario.seasons
    n = farmers.count
    market_count = last_market - first_market
    local_market = farmers.market - first_market
    farmers_per_market = np.bincount(local_market, minlength=market_count)
    weathers, price_factors = season_shocks(scenario, kits.product_count)
    recorder.weather[:] = weathers
    state = initial_state(scenario, kits, farmers) if start is None else start
    days = scenario.catalogue.days_per_season
    # The PPP line in market cents a person and season (the conversion is the scenario's).
    poverty_cents = scenario.poverty_line_usd_per_person_day() * 100.0 * days
    commercial_cents = scenario.outputs.commercial_threshold_usd_per_day * 100.0 * days
    # Need per household and season, whole cents (rounded here).
    need = np.rint(
        policy.subsistence_usd_per_person_day * 100.0 * days * farmers.household_size
    ).astype(np.int64)
    labour_capacity = policy.labour_days_per_person_season * farmers.household_size
    other_income = farmers.other_income_cents
    # The share of other income put aside a season, whole cents (rounded here, once).
    other_saved = np.rint(policy.other_income_saved_share * other_income).astype(np.int64)
    order_of_purchases = purchase_order(kits, list(policy.order))
    z = yield_draws(scenario, first_market, farmers_per_market)
    if compiled:
        CompiledChunk(scenario, kits, order_of_purchases).run(
            state,
            farmers,
            local_market,
            farmers_per_market,
            z,
            weathers,
            price_factors,
            need,
            labour_capacity,
            other_income,
            other_saved,
            poverty_cents,
            commercial_cents,
            recorder,
        )
        return state
    everyone = np.arange(n)
    chunk_districts = np.unique(farmers.district)
    for season in range(seasons):
        weather = weathers[season]
        price_factor = price_factors[season]
        retired = wear_out(state, kits, season, seasons)

        # 2. Harvest.
        # Multiplying by a factor of exactly 1 is skipped: the result is the same, bit for bit.
        farmer_weather = weather[farmers.district] if weather[chunk_districts].any() else None
        output: list[np.ndarray | None] = [None] * kits.kit_count
        supply = np.zeros((kits.product_count, market_count))
        owners = state.owned.sum(axis=1)
        revenue = np.zeros(n)
        noise_by_cv: dict[float, np.ndarray] = {}
        for k in range(kits.kit_count):
            if owners[k] == 0:
                continue
            # output = productive units x expected output x max(0, 1 + cv z) x weather factor
            units = productive_units(state, kits, k, season) * kits.output_per_season[k]
            if scenario.shocks.yield_noise:
                cv = float(kits.cv[k])
                if cv not in noise_by_cv:
                    noise_by_cv[cv] = np.maximum(1.0 + cv * z[season], 0.0)
                units *= noise_by_cv[cv]
            if farmer_weather is not None:
                weather_factor = np.array([1.0, kits.drought_factor[k], kits.flood_factor[k]])
                units *= weather_factor[farmer_weather]
            output[k] = units
            supply[kits.product[k]] += np.bincount(
                local_market, weights=units, minlength=market_count
            )

        recorder.record_harvest(season, state, output)

        # 3. Markets clear; margins.
        prices = clear_markets(kits, supply, farmers_per_market, price_factor)
        for k in range(kits.kit_count):
            units = output[k]
            if units is not None:
                revenue += units * prices[kits.product[k]][local_market]
        # Sales revenue becomes whole cents here (rint, half to even).
        margin = np.rint(revenue * 100.0).astype(np.int64) - (
            kits.operating_cost_cents @ state.owned
        )
        state.cash += margin
        state.margins += margin
        state.last_margin = margin
        absorbs = market_absorbs(prices, kits, price_factor, policy)

        # 4. Loan instalments.
        active = state.loan_balance > 0
        due = np.minimum(state.loan_instalment, state.loan_balance)
        paid = np.where(active, np.minimum(due, np.maximum(state.cash, 0)), 0)
        state.cash -= paid
        state.loan_balance -= paid
        state.repayments += paid
        missed = active & (paid < due)
        state.loan_missed = np.where(missed, state.loan_missed + 1, 0)
        default = missed & (state.loan_missed >= state.loan_default_after)
        state.written_off += np.where(default, state.loan_balance, 0)
        state.loan_balance[default] = 0
        state.defaulted |= default

        # 5. Consumption and savings out of this season's disposable kit income.
        disposable = np.maximum(margin - paid, 0)
        base_need = np.minimum(disposable, need)
        excess = disposable - base_need
        # Shares of the excess become whole cents here (rint).
        consumed = base_need + np.rint(policy.consumption_share * excess).astype(np.int64)
        consumed = np.minimum(consumed, np.maximum(state.cash, 0))
        state.cash -= consumed
        state.consumption += consumed
        if policy.savings_share > 0:
            state.reserve += np.rint(policy.savings_share * excess).astype(np.int64)
        state.reserve = np.minimum(state.reserve, np.maximum(state.cash, 0))
        state.cash += other_saved
        state.other_income_saved += other_saved

        # Indicators of the season: poverty on the household's whole income (kits and other
        # income), commercial on kit income.
        above_poverty = margin + other_income >= poverty_cents * farmers.household_size
        commercial = margin >= commercial_cents
        state.first_above_poverty[(state.first_above_poverty == NOT_YET) & above_poverty] = season
        state.first_commercial[(state.first_commercial == NOT_YET) & commercial] = season

        # 6. Purchases.
        bought = np.zeros((kits.kit_count, market_count), dtype=np.int64)
        candidates = everyone
        if policy.max_purchases_per_season:
            land_used = np.zeros(n)
            labour_used = np.zeros(n)
            for k in range(kits.kit_count):
                if owners[k]:
                    land_used += state.owned[k] * kits.land_m2[k]
                    labour_used += state.owned[k] * kits.labour_days[k]
        for _ in range(policy.max_purchases_per_season):
            # Those who bought nothing this round cannot buy in the next: nothing changed for them.
            candidates = buy_next_kits(
                state,
                kits,
                farmers,
                candidates,
                local_market,
                absorbs,
                labour_capacity,
                land_used,
                labour_used,
                order_of_purchases,
                season,
                bought,
                policy.use_credit,
            )
            if candidates.size == 0:
                break

        recorder.record(
            season=season,
            state=state,
            margin=margin,
            above_poverty=above_poverty,
            commercial=commercial,
            supply=supply,
            prices=prices,
            bought=bought,
            retired=retired,
            local_market=local_market,
            other_income=other_income,
        )
    return state


def yield_draws(
    scenario: Scenario, first_market: int, farmers_per_market: np.ndarray
) -> np.ndarray:
    """Standard normal yield-noise draws [T, n] of the chunk's farmers (zeros without noise):
    market m's farmers in season t take the first draws of stream (FARMER_DRAWS, m) in t."""
    seasons = scenario.seasons
    z = np.zeros((seasons, int(farmers_per_market.sum())))
    if not scenario.shocks.yield_noise:
        return z
    bounds = np.concatenate([[0], np.cumsum(farmers_per_market)])
    keys = market_keys(scenario.seed, FARMER_DRAWS, scenario.market_count, seasons)
    for m in range(farmers_per_market.shape[0]):
        key = keys[first_market + m]
        for season in range(seasons):
            fill_standard_normal(key, season, z[season, bounds[m] : bounds[m + 1]])
    return z


class CompiledChunk:
    """Runs all seasons of a chunk in the numba kernel (`season_kernel.simulate_seasons`)."""

    def __init__(self, scenario: Scenario, kits: KitTable, order: list[tuple[int, int]]):
        policy = scenario.policy
        count = kits.kit_count
        cheapest = int(
            np.min(kits.price_cents - (kits.credit_principal_cents if policy.use_credit else 0))
        )
        self.kit_arrays = (
            kits.product,
            kits.price_cents,
            kits.operating_cost_cents,
            kits.land_m2,
            kits.labour_days,
            kits.cap,
            kits.replaces,
            kits.replaces_units,
            kits.credit_principal_cents,
            kits.credit_total_due_cents,
            kits.credit_instalments,
            kits.credit_default_after,
            kits.life,
            kits.first_harvest_delay,
            kits.output_per_season,
            kits.cv,
            np.stack([np.ones(count), kits.drought_factor, kits.flood_factor], axis=1),
            *season_kernel.kit_tables(kits.product, kits.replaces, kits.prerequisites, order),
            cheapest,
        )
        self.market_values = (
            kits.reference_price,
            kits.supply_per_farmer,
            kits.local_channel,
            kits.elasticity,
            kits.floor_share,
        )
        self.policy_values = (
            policy.max_purchases_per_season,
            policy.use_credit,
            policy.absorb_price_share,
            policy.consumption_share,
            policy.savings_share,
        )
        self.days = scenario.catalogue.days_per_season

    def run(
        self,
        state: ChunkState,
        farmers: Farmers,
        local_market: np.ndarray,
        farmers_per_market: np.ndarray,
        z: np.ndarray,
        weathers: np.ndarray,
        price_factors: np.ndarray,
        need: np.ndarray,
        labour_capacity: np.ndarray,
        other_income: np.ndarray,
        other_saved: np.ndarray,
        poverty_cents: float,
        commercial_cents: float,
        recorder: SeasonRecorder,
    ) -> None:
        recorder.cell_farmers[:] = recorder.cell_counts
        season_kernel.simulate_seasons(
            self.kit_arrays,
            (*self.market_values, farmers_per_market),
            (*self.policy_values, poverty_cents, commercial_cents, self.days),
            (
                local_market,
                farmers.district,
                need,
                farmers.household_size,
                farmers.land_m2,
                labour_capacity,
                other_income,
                other_saved,
                recorder.cells,
                *recorder.cash_bin_tables(),
            ),
            (
                state.cash,
                state.reserve,
                state.owned,
                state.kits_bought,
                state.ring_block,
                state.totals_block,
                state.ring_offset,
                state.ring_length,
                state.loan_balance,
                state.loan_instalment,
                state.loan_missed,
                state.loan_default_after,
                state.defaulted,
                state.margins,
                state.other_income_saved,
                state.credit,
                state.purchases,
                state.consumption,
                state.repayments,
                state.written_off,
                state.first_above_poverty,
                state.first_commercial,
            ),
            (
                recorder.supply,
                recorder.prices,
                recorder.bought,
                recorder.kits_retired,
                recorder.cell_income,
                recorder.cell_cash,
                recorder.cell_poverty,
                recorder.cell_commercial,
                recorder.income_count,
                recorder.income_cents,
                recorder.cash_count,
                recorder.kits_owned,
                recorder.loans_active,
                recorder.loans_defaulted,
                recorder.written_off,
                recorder.market_income,
                recorder.market_poverty,
            ),
            z,
            weathers,
            price_factors,
            state.last_margin,
        )
