"""Population simulator: one chunk of whole markets through all seasons, vectorised over farmers.

Money is held in integer cents (int64). The only roundings are where a float becomes money:
sales revenue (``rint`` of units x price x 100), consumption and savings shares (``rint``),
credit principals and loan totals (``rint``) and instalments (ceiling); each is marked below.
For every farmer, exactly:

    end cash = start cash + margins + credit - purchases - consumption - repayments

where margin = sales revenue - operating costs of the season. The order of one season is:

1. weather (district drought/flood), national price factors, kit wear-out;
2. harvest: output of productive units x yield noise x weather factor, per product;
3. each market clears: price per product from its demand curve; margins are paid;
4. loan instalments are paid (as far as cash allows; default after missed instalments);
5. the household consumes (subsistence need first, then a share of the rest) and saves;
6. purchases: up to ``max_purchases_per_season`` kits, chosen by the next-kit rule.

See docs/simulation.md for every rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from alianza.ladder import season_kernel
from alianza.ladder.population import Farmers
from alianza.ladder.scenario import Policy, Scenario
from alianza.ladder.statistics import SeasonRecorder
from alianza.ladder.streams import (
    FARMER_DRAWS,
    PRICES,
    WEATHER,
    fill_standard_normal,
    season_generator,
    stream_key,
)

NOT_YET = -1


@dataclass(frozen=True)
class KitTable:
    """The catalogue as arrays indexed by kit (k) and product (p)."""

    kit_ids: list[str]
    product_ids: list[str]
    price_cents: np.ndarray  # int64 [K]
    operating_cost_cents: np.ndarray  # int64 [K] per unit and season
    output_per_season: np.ndarray  # float64 [K]: mean yield x harvests per season
    cv: np.ndarray  # float64 [K]
    product: np.ndarray  # int64 [K]
    land_m2: np.ndarray
    labour_days: np.ndarray
    water_m3: np.ndarray
    cap: np.ndarray  # int64 [K]
    life: np.ndarray  # int64 [K]
    first_harvest_delay: np.ndarray  # int64 [K]
    prerequisites: list[list[int]]
    replaces: np.ndarray  # int64 [K], -1 if none
    replaces_units: np.ndarray
    drought_factor: np.ndarray
    flood_factor: np.ndarray
    credit_principal_cents: np.ndarray  # int64 [K], 0 if no credit
    credit_total_due_cents: np.ndarray  # int64 [K]
    credit_instalments: np.ndarray  # int64 [K]
    credit_default_after: np.ndarray  # int64 [K]
    reference_price: np.ndarray  # float64 [P], USD per unit
    local_channel: np.ndarray  # bool [P]
    elasticity: np.ndarray  # float64 [P]
    floor_share: np.ndarray  # float64 [P]
    supply_per_farmer: np.ndarray  # float64 [P], NaN = unlimited demand
    preference: np.ndarray  # int64 [K]: 0 = highest expected margin a season (tie: catalogue)

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> KitTable:
        catalogue = scenario.catalogue
        kits = catalogue.kits
        kit_ids = [kit.id for kit in kits]
        product_ids = [product.id for product in catalogue.products]
        season_share = 1.0 / catalogue.seasons_per_year

        def cents(values: list[float]) -> np.ndarray:
            # Catalogue dollars become whole cents once, here.
            return np.rint(np.asarray(values, dtype=np.float64) * 100.0).astype(np.int64)

        principal = cents(
            [kit.price_usd * kit.credit.financed_share if kit.credit else 0.0 for kit in kits]
        )
        total_due = np.rint(
            principal
            * np.array(
                [
                    1.0 + kit.credit.interest_per_season * kit.credit.repayment_seasons
                    if kit.credit
                    else 1.0
                    for kit in kits
                ]
            )
        ).astype(np.int64)
        supply = scenario.markets.reference_supply_per_farmer
        reference_prices = {p.id: p.reference_price_usd for p in catalogue.products}
        expected_margin = [
            kit.yield_per_harvest.mean * kit.harvests_per_year * season_share
            * reference_prices[kit.product] - kit.operating_cost_usd_per_season
            for kit in kits
        ]
        by_margin = sorted(range(len(kits)), key=lambda k: (-expected_margin[k], k))
        preference = np.empty(len(kits), dtype=np.int64)
        preference[by_margin] = np.arange(len(kits))
        return cls(
            preference=preference,
            kit_ids=kit_ids,
            product_ids=product_ids,
            price_cents=cents([kit.price_usd for kit in kits]),
            operating_cost_cents=cents([kit.operating_cost_usd_per_season for kit in kits]),
            output_per_season=np.array(
                [kit.yield_per_harvest.mean * kit.harvests_per_year * season_share for kit in kits]
            ),
            cv=np.array([kit.yield_per_harvest.cv for kit in kits]),
            product=np.array([product_ids.index(kit.product) for kit in kits], dtype=np.int64),
            land_m2=np.array([kit.land_m2 for kit in kits]),
            labour_days=np.array([kit.labour_days_per_season for kit in kits]),
            water_m3=np.array([kit.water_m3_per_season for kit in kits]),
            cap=np.array([kit.max_per_farmer for kit in kits], dtype=np.int64),
            life=np.array([kit.life_seasons for kit in kits], dtype=np.int64),
            first_harvest_delay=np.array(
                [kit.seasons_to_first_harvest for kit in kits], dtype=np.int64
            ),
            prerequisites=[[kit_ids.index(n) for n in kit.prerequisites] for kit in kits],
            replaces=np.array(
                [kit_ids.index(kit.replaces) if kit.replaces else -1 for kit in kits],
                dtype=np.int64,
            ),
            replaces_units=np.array([kit.replaces_units for kit in kits], dtype=np.int64),
            drought_factor=np.array([kit.drought_yield_factor for kit in kits]),
            flood_factor=np.array([kit.flood_yield_factor for kit in kits]),
            credit_principal_cents=principal,
            credit_total_due_cents=total_due,
            credit_instalments=np.array(
                [kit.credit.repayment_seasons if kit.credit else 1 for kit in kits],
                dtype=np.int64,
            ),
            credit_default_after=np.array(
                [kit.credit.default_after_missed if kit.credit else 1 for kit in kits],
                dtype=np.int64,
            ),
            reference_price=np.array([p.reference_price_usd for p in catalogue.products]),
            local_channel=np.array([p.channel == "local" for p in catalogue.products]),
            elasticity=np.array([p.price_elasticity for p in catalogue.products]),
            floor_share=np.array([p.floor_price_share for p in catalogue.products]),
            supply_per_farmer=np.array(
                [supply.get(p, np.nan) for p in product_ids], dtype=np.float64
            ),
        )

    @property
    def kit_count(self) -> int:
        return len(self.kit_ids)

    @property
    def product_count(self) -> int:
        return len(self.product_ids)


def district_correlation_factor(scenario: Scenario) -> np.ndarray:
    """Cholesky factor L of corr(i, j) = exp(-|i - j| * spacing / correlation_length)."""
    districts = scenario.population.districts
    position = np.arange(districts) * scenario.population.district_spacing_km
    distance = np.abs(position[:, None] - position[None, :])
    correlation = np.exp(-distance / scenario.shocks.correlation_length_km)
    return np.linalg.cholesky(correlation + 1e-12 * np.eye(districts))


def district_weather(
    scenario: Scenario, season: int, factor: np.ndarray, key: np.ndarray
) -> np.ndarray:
    """Weather of every district in a season: 0 normal, 1 drought, 2 flood.

    A latent rainfall index x = L z (z standard normal per district, from the weather stream)
    is correlated across districts; drought when x < Phi^-1(p_drought), flood when
    x > Phi^-1(1 - p_flood).
    """
    shocks = scenario.shocks
    districts = factor.shape[0]
    weather = np.zeros(districts, dtype=np.int64)
    if shocks.drought_probability == 0 and shocks.flood_probability == 0:
        return weather
    latent = factor @ season_generator(key, season).standard_normal(districts)
    if shocks.drought_probability > 0:
        weather[latent < NormalDist().inv_cdf(shocks.drought_probability)] = 1
    if shocks.flood_probability > 0:
        # Phi^-1(1 - p) = -Phi^-1(p): exact even where 1 - p rounds to 1.
        weather[latent > -NormalDist().inv_cdf(shocks.flood_probability)] = 2
    return weather


def national_price_factors(
    scenario: Scenario, season: int, products: int, key: np.ndarray
) -> np.ndarray:
    """Price factor per product: exp(sd * z - sd^2 / 2) (mean 1), from the prices stream."""
    sd = scenario.shocks.price_shock_sd
    if sd == 0:
        return np.ones(products)
    z = season_generator(key, season).standard_normal(products)
    return np.exp(sd * z - 0.5 * sd * sd)


def clear_markets(
    kits: KitTable,
    supply: np.ndarray,
    farmers_per_market: np.ndarray,
    price_factor: np.ndarray,
) -> np.ndarray:
    """Price per product and market [P, M] in USD per unit.

    Local products with a reference supply Q = supply_per_farmer x farmers of the market:
    price = P_ref x f_p x min(1, max(floor_share, (S / Q) ** (-1 / elasticity))); i.e. the
    reference price while supply S is at most Q, falling along an iso-elastic demand curve
    beyond it, never below the floor. Off-taker products and products without a reference
    supply sell at P_ref x f_p (f_p the season's national price factor).
    """
    products, markets = supply.shape
    prices = np.empty((products, markets))
    for p in range(products):
        base = kits.reference_price[p] * price_factor[p]
        capacity = kits.supply_per_farmer[p]
        if not kits.local_channel[p] or np.isnan(capacity):
            prices[p] = base
            continue
        reference_supply = np.maximum(capacity * farmers_per_market, 1e-12)
        ratio = np.maximum(supply[p] / reference_supply, 1e-12)
        relative = np.clip(ratio ** (-1.0 / kits.elasticity[p]), kits.floor_share[p], 1.0)
        prices[p] = base * relative
    return prices


def market_absorbs(
    prices: np.ndarray, kits: KitTable, price_factor: np.ndarray, policy: Policy
) -> np.ndarray:
    """[P, M]: whether a market takes more of a product: price >= share x P_ref x f_p."""
    return prices >= policy.absorb_price_share * (kits.reference_price * price_factor)[:, None]


@dataclass
class ChunkState:
    """Mutable state of the farmers of one chunk (arrays indexed by farmer)."""

    cash: np.ndarray  # int64 cents
    reserve: np.ndarray  # int64 cents of savings not spent on kits
    owned: np.ndarray  # int32 [K, n] units
    vintages: list[np.ndarray]  # per kit: int32 [R_k, n] units bought by season (ring)
    vintage_totals: list[np.ndarray]  # per kit: int64 [R_k], units in each ring slot (all farmers)
    ring_block: np.ndarray  # int32 [sum R_k, n]: the rings above are views of it
    totals_block: np.ndarray  # int64 [sum R_k]
    ring_offset: np.ndarray  # int64 [K]: first row of kit k's ring in ring_block
    ring_length: np.ndarray  # int64 [K]
    loan_balance: np.ndarray  # int64 cents still due
    loan_instalment: np.ndarray  # int64 cents
    loan_missed: np.ndarray  # int64
    loan_default_after: np.ndarray  # int64
    defaulted: np.ndarray  # bool
    start_cash: np.ndarray
    margins: np.ndarray
    credit: np.ndarray
    purchases: np.ndarray
    consumption: np.ndarray
    repayments: np.ndarray
    written_off: np.ndarray
    first_above_poverty: np.ndarray  # season or -1
    first_commercial: np.ndarray  # season or -1
    last_margin: np.ndarray  # int64 cents, last season's margin
    kits_bought: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def ring_length(life: int, delay: int, seasons: int) -> int:
    """Vintage slots a kit needs: life + 1 if it can wear out within the horizon, else delay + 1."""
    return life + 1 if life < seasons + 1 else delay + 1


def initial_state(scenario: Scenario, kits: KitTable, farmers: Farmers) -> ChunkState:
    """State at the start: starting cash and starting kits (new: bought 'at season -1')."""
    n = farmers.count
    zeros = np.zeros(n, dtype=np.int64)
    owned = np.zeros((kits.kit_count, n), dtype=np.int32)
    lengths = np.array([
        ring_length(int(kits.life[k]), int(kits.first_harvest_delay[k]), scenario.seasons)
        for k in range(kits.kit_count)
    ], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    # All kits' rings in one block (the compiled kernel needs one array); per-kit views of it.
    ring_block = np.zeros((int(lengths.sum()), n), dtype=np.int32)
    totals_block = np.zeros(int(lengths.sum()), dtype=np.int64)
    vintages = []
    vintage_totals = []
    for k, kit_id in enumerate(kits.kit_ids):
        units = scenario.population.starting_kits.get(kit_id, 0)
        owned[k] = units
        length = int(lengths[k])
        ring = ring_block[offsets[k]:offsets[k] + length]
        totals = totals_block[offsets[k]:offsets[k] + length]
        if kits.life[k] < scenario.seasons + 1:
            ring[(-1) % length] = units
            totals[(-1) % length] = units * n
        vintages.append(ring)
        vintage_totals.append(totals)
    return ChunkState(
        cash=farmers.cash_cents.copy(),
        reserve=zeros.copy(),
        owned=owned,
        vintages=vintages,
        vintage_totals=vintage_totals,
        ring_block=ring_block,
        totals_block=totals_block,
        ring_offset=offsets,
        ring_length=lengths,
        loan_balance=zeros.copy(),
        loan_instalment=zeros.copy(),
        loan_missed=zeros.copy(),
        loan_default_after=zeros.copy(),
        defaulted=np.zeros(n, dtype=bool),
        start_cash=farmers.cash_cents.copy(),
        margins=zeros.copy(),
        credit=zeros.copy(),
        purchases=zeros.copy(),
        consumption=zeros.copy(),
        repayments=zeros.copy(),
        written_off=zeros.copy(),
        first_above_poverty=np.full(n, NOT_YET, dtype=np.int64),
        first_commercial=np.full(n, NOT_YET, dtype=np.int64),
        last_margin=zeros.copy(),
        kits_bought=np.zeros((kits.kit_count, n), dtype=np.int32),
    )


def wear_out(state: ChunkState, kits: KitTable, season: int, seasons: int) -> np.ndarray:
    """Retire units that reach the end of their life at the start of ``season``; [K] retired."""
    retired = np.zeros(kits.kit_count, dtype=np.int64)
    for k, ring in enumerate(state.vintages):
        slot = season % ring.shape[0]
        if state.vintage_totals[k][slot] == 0:
            continue  # nobody holds units of that vintage
        if kits.life[k] < seasons + 1:
            # slot holds units bought in season - (life + 1): they have produced `life` seasons.
            state.owned[k] -= ring[slot]
            retired[k] = state.vintage_totals[k][slot]
        ring[slot] = 0
        state.vintage_totals[k][slot] = 0
    return retired


def productive_units(state: ChunkState, kits: KitTable, k: int, season: int) -> np.ndarray:
    """Units of kit k that harvest this season: owned less those bought within `delay` seasons."""
    delay = int(kits.first_harvest_delay[k])
    if delay == 0:
        return state.owned[k]
    ring = state.vintages[k]
    productive = state.owned[k].copy()
    for age in range(1, delay + 1):
        productive -= ring[(season - age) % ring.shape[0]]
    return productive


def retire_replaced(
    state: ChunkState, k: int, buyers: np.ndarray, units: int, season: int
) -> np.ndarray:
    """Retire up to ``units`` units of kit k of these farmers, oldest first; return how many."""
    ring = state.vintages[k]
    length = ring.shape[0]
    remaining = np.minimum(state.owned[k, buyers], units)
    retired = remaining.copy()
    state.owned[k, buyers] -= remaining
    # Units older than the ring tracks (long-lived kits) are retired first: they hold no slot.
    untracked = state.owned[k, buyers] + remaining - ring[:, buyers].sum(axis=0)
    remaining = remaining - np.minimum(remaining, untracked)
    for age in range(length - 1, -1, -1):  # slot of season - age holds units of that age
        if not remaining.any():
            break
        slot = (season - age) % length
        if state.vintage_totals[k][slot] == 0:
            continue
        take = np.minimum(ring[slot, buyers], remaining)
        ring[slot, buyers] -= take
        state.vintage_totals[k][slot] -= int(take.sum())
        remaining -= take
    return retired


def simulate_chunk(
    scenario: Scenario,
    farmers: Farmers,
    first_market: int,
    last_market: int,
    recorder: SeasonRecorder,
    compiled: bool | None = None,
) -> ChunkState:
    """Simulate the farmers of markets first_market .. last_market - 1 for all seasons.

    ``farmers`` must hold exactly those markets' farmers, sorted by market. Per-season results
    go to ``recorder``; the final state is returned. ``compiled`` chooses the numba kernel
    (default: when numba is installed) or NumPy; both give identical results.
    """
    if compiled is None:
        compiled = season_kernel.AVAILABLE
    kits = KitTable.from_scenario(scenario)
    policy = scenario.policy
    seasons = scenario.seasons
    n = farmers.count
    market_count = last_market - first_market
    local_market = farmers.market - first_market
    farmers_per_market = np.bincount(local_market, minlength=market_count)
    market_bounds = np.concatenate([[0], np.cumsum(farmers_per_market)])
    market_keys = [
        stream_key(scenario.seed, FARMER_DRAWS, market, seasons)
        for market in range(first_market, last_market)
    ]
    correlation_factor = district_correlation_factor(scenario)
    weather_key = stream_key(scenario.seed, WEATHER, 0, seasons)
    prices_key = stream_key(scenario.seed, PRICES, 0, seasons)
    state = initial_state(scenario, kits, farmers)
    days = scenario.catalogue.days_per_season
    poverty_cents = scenario.outputs.poverty_line_usd_per_person_day * 100.0 * days
    commercial_cents = scenario.outputs.commercial_threshold_usd_per_day * 100.0 * days
    # Need per household and season, whole cents (rounded here).
    need = np.rint(
        policy.subsistence_usd_per_person_day * 100.0 * days * farmers.household_size
    ).astype(np.int64)
    labour_capacity = policy.labour_days_per_person_season * farmers.household_size
    order_of_purchases = purchase_order(kits, list(policy.order))
    z = np.zeros(n)
    everyone = np.arange(n)
    chunk_districts = np.unique(farmers.district)
    if compiled:
        kernel = CompiledSeason(kits, policy, order_of_purchases, n, market_count)
        recorder.compiled = True
    for season in range(seasons):
        weather = district_weather(scenario, season, correlation_factor, weather_key)
        price_factor = national_price_factors(scenario, season, kits.product_count, prices_key)
        retired = wear_out(state, kits, season, seasons)

        # 2. Harvest.
        if scenario.shocks.yield_noise:
            for m, key in enumerate(market_keys):
                fill_standard_normal(key, season, z[market_bounds[m]:market_bounds[m + 1]])
        # Multiplying by a factor of exactly 1 is skipped: the result is the same, bit for bit.
        farmer_weather = weather[farmers.district] if weather[chunk_districts].any() else None
        if compiled:
            supply, prices, margin, above_poverty, commercial, bought = kernel.season(
                scenario, state, farmers, local_market, z, farmer_weather, season,
                farmers_per_market, price_factor, need, poverty_cents, commercial_cents,
                labour_capacity,
            )
            recorder.record(
                season=season, state=state, margin=margin, above_poverty=above_poverty,
                commercial=commercial, supply=supply, prices=prices, bought=bought,
                retired=retired, weather=weather,
            )
            continue
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
                    noise_by_cv[cv] = np.maximum(1.0 + cv * z, 0.0)
                units *= noise_by_cv[cv]
            if farmer_weather is not None:
                weather_factor = np.array([1.0, kits.drought_factor[k], kits.flood_factor[k]])
                units *= weather_factor[farmer_weather]
            output[k] = units
            supply[kits.product[k]] += np.bincount(
                local_market, weights=units, minlength=market_count
            )

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

        # Indicators of the season (kit income per day).
        above_poverty = margin >= poverty_cents * farmers.household_size
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
                state, kits, farmers, candidates, local_market, absorbs, labour_capacity,
                land_used, labour_used, order_of_purchases, season, bought, policy.use_credit,
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
            weather=weather,
        )
    return state


def buy_next_kits(
    state: ChunkState,
    kits: KitTable,
    farmers: Farmers,
    candidates: np.ndarray,
    local_market: np.ndarray,
    absorbs: np.ndarray,
    labour_capacity: np.ndarray,
    land_used: np.ndarray,
    labour_used: np.ndarray,
    purchase_order: list[tuple[int, int]],
    season: int,
    bought: np.ndarray,
    use_credit: bool,
) -> np.ndarray:
    """Each candidate farmer buys at most one kit: the first eligible one in the policy's order.

    Eligible: below the cap, prerequisites owned, land and labour left, the local market of its
    product still absorbs more (this season's clearing price >= absorb share of the reference
    price), and cash minus savings covers the price, less the credit principal where the kit
    offers credit, cash alone does not cover the price, and the farmer has no loan and has
    never defaulted. An upgrade's land and labour check counts what its retired units free.
    Class: upgrade if it replaces a kit the farmer owns; more_of_same if the farmer already
    produces its product; otherwise diversify. ``purchase_order`` lists (class, kit) pairs in
    the order they are tried: classes in the policy's order, and within a class the kit with
    the highest expected margin a season first (ties: catalogue order).
    ``candidates`` are farmer indices; returns the indices of those who bought (in order).
    ``land_used`` and ``labour_used`` are kept up to date for the buyers.
    """
    count = kits.kit_count
    # Nobody who cannot pay for the cheapest kit (even on credit) needs the full check.
    cheapest = int(np.min(kits.price_cents - (kits.credit_principal_cents if use_credit else 0)))
    investable = state.cash[candidates] - state.reserve[candidates]
    rows = candidates[investable >= cheapest]
    if rows.size == 0:
        return rows
    investable = state.cash[rows] - state.reserve[rows]
    owned = state.owned[:, rows]
    has_kit = owned > 0
    credit_open = (state.loan_balance[rows] == 0) & ~state.defaulted[rows]
    land_free = farmers.land_m2[rows] - land_used[rows]
    labour_free = labour_capacity[rows] - labour_used[rows]
    markets = local_market[rows]
    produces = np.zeros((kits.product_count, rows.size), dtype=bool)
    for k in range(count):
        produces[kits.product[k]] |= has_kit[k]
    eligible: list[np.ndarray | None] = [None] * count
    borrows: list[np.ndarray | None] = [None] * count
    for k in range(count):
        ok = owned[k] < kits.cap[k]
        for need in kits.prerequisites[k]:
            ok &= has_kit[need]
        if not ok.any():
            continue
        replaced = kits.replaces[k]
        if replaced >= 0:
            # An upgrade frees the land and labour of the units it retires.
            freed = np.minimum(owned[replaced], kits.replaces_units[k])
            ok &= kits.land_m2[k] - freed * kits.land_m2[replaced] <= land_free
            ok &= kits.labour_days[k] - freed * kits.labour_days[replaced] <= labour_free
        else:
            ok &= kits.land_m2[k] <= land_free
            ok &= kits.labour_days[k] <= labour_free
        ok &= absorbs[kits.product[k]][markets]
        price = kits.price_cents[k]
        if use_credit and kits.credit_principal_cents[k] > 0:
            # Credit is taken only when cash alone does not cover the price.
            short = investable < price
            borrow = credit_open & short
            ok &= ~short | (borrow & (investable >= price - kits.credit_principal_cents[k]))
            borrows[k] = borrow
        else:
            ok &= investable >= price
        eligible[k] = ok
    undecided = np.ones(rows.size, dtype=bool)
    choice = np.full(rows.size, -1, dtype=np.int8)
    for kind, k in purchase_order:
        ok = eligible[k]
        if ok is None:
            continue
        replaced = kits.replaces[k]
        upgrade = has_kit[replaced] if replaced >= 0 else None
        if kind == UPGRADE:
            if upgrade is None:
                continue
            take = ok & upgrade
        else:
            same = produces[kits.product[k]]
            take = ok & (same if kind == MORE_OF_SAME else ~same)
            if upgrade is not None:
                take &= ~upgrade
        take &= undecided
        choice[take] = k
        undecided &= ~take
    for k in range(count):
        chosen = choice == k
        if not chosen.any():
            continue
        buyers = rows[chosen]
        price = kits.price_cents[k]
        state.cash[buyers] -= price
        state.purchases[buyers] += price
        state.owned[k, buyers] += 1
        state.kits_bought[k, buyers] += 1
        land_used[buyers] += kits.land_m2[k]
        labour_used[buyers] += kits.labour_days[k]
        ring = state.vintages[k]
        slot = season % ring.shape[0]
        ring[slot, buyers] += 1
        state.vintage_totals[k][slot] += buyers.size
        borrow = borrows[k]
        if borrow is not None:
            borrowers = buyers[borrow[chosen]]
            principal = kits.credit_principal_cents[k]
            total_due = kits.credit_total_due_cents[k]
            instalments = kits.credit_instalments[k]
            state.cash[borrowers] += principal
            state.credit[borrowers] += principal
            state.loan_balance[borrowers] = total_due
            # Instalments are the total due / number of instalments rounded up to a cent.
            state.loan_instalment[borrowers] = -(-total_due // instalments)
            state.loan_missed[borrowers] = 0
            state.loan_default_after[borrowers] = kits.credit_default_after[k]
        replaced = int(kits.replaces[k])
        if replaced >= 0:
            retired = retire_replaced(state, replaced, buyers, int(kits.replaces_units[k]), season)
            land_used[buyers] -= retired * kits.land_m2[replaced]
            labour_used[buyers] -= retired * kits.labour_days[replaced]
        bought[k] += np.bincount(local_market[buyers], minlength=bought.shape[1])
    return rows[choice >= 0]


MORE_OF_SAME, DIVERSIFY, UPGRADE = 0, 1, 2
KIND_OF_NAME = {"more_of_same": MORE_OF_SAME, "diversify": DIVERSIFY, "upgrade": UPGRADE}


def purchase_order(kits: KitTable, order: list[str]) -> list[tuple[int, int]]:
    """(kind, kit) pairs in the order the next-kit rule tries them."""
    by_preference = sorted(range(kits.kit_count), key=lambda k: int(kits.preference[k]))
    return [(KIND_OF_NAME[name], k) for name in order for k in by_preference]


class CompiledSeason:
    """Runs a season's per-farmer steps with the numba kernel (`season_kernel`)."""

    def __init__(self, kits: KitTable, policy: Policy, order: list[tuple[int, int]], n: int,
                 markets: int):
        self.kits = kits
        self.policy = policy
        count = kits.kit_count
        self.prerequisite_list = np.zeros((count, count), dtype=np.int64)
        self.prerequisite_count = np.zeros(count, dtype=np.int64)
        for k, needs in enumerate(kits.prerequisites):
            self.prerequisite_list[k, :len(needs)] = needs
            self.prerequisite_count[k] = len(needs)
        self.order_kind = np.array([kind for kind, _ in order], dtype=np.int64)
        self.order_kit = np.array([k for _, k in order], dtype=np.int64)
        self.weather_factor = np.stack(
            [np.ones(count), kits.drought_factor, kits.flood_factor], axis=1
        )
        self.cheapest = int(np.min(
            kits.price_cents - (kits.credit_principal_cents if policy.use_credit else 0)
        ))
        self.output = np.zeros((count, n))
        self.kit_market_supply = np.zeros((count, markets))
        self.no_weather = np.zeros(n, dtype=np.int64)

    def season(
        self, scenario: Scenario, state: ChunkState, farmers: Farmers, local_market: np.ndarray,
        z: np.ndarray, farmer_weather: np.ndarray | None, season: int,
        farmers_per_market: np.ndarray, price_factor: np.ndarray, need: np.ndarray,
        poverty_cents: float, commercial_cents: float, labour_capacity: np.ndarray,
    ) -> tuple[np.ndarray, ...]:
        kits, policy = self.kits, self.policy
        n = farmers.count
        owners = state.owned.sum(axis=1)
        season_kernel.harvest(
            state.owned, state.ring_block, state.ring_offset, state.ring_length,
            kits.first_harvest_delay, kits.output_per_season, kits.cv, z,
            scenario.shocks.yield_noise, self.weather_factor,
            self.no_weather if farmer_weather is None else farmer_weather,
            farmer_weather is not None, owners, local_market, season, self.output,
            self.kit_market_supply,
        )
        supply = np.zeros((kits.product_count, self.kit_market_supply.shape[1]))
        for k in range(kits.kit_count):
            if owners[k]:
                supply[kits.product[k]] += self.kit_market_supply[k]
        prices = clear_markets(kits, supply, farmers_per_market, price_factor)
        absorbs = market_absorbs(prices, kits, price_factor, policy)
        margin = np.empty(n, dtype=np.int64)
        above_poverty = np.empty(n, dtype=bool)
        commercial = np.empty(n, dtype=bool)
        bought = np.zeros((kits.kit_count, supply.shape[1]), dtype=np.int64)
        season_kernel.settle_and_buy(
            kits.product, kits.price_cents, kits.operating_cost_cents, kits.land_m2,
            kits.labour_days, kits.cap, self.prerequisite_list, self.prerequisite_count,
            kits.replaces,
            kits.replaces_units,
            kits.credit_principal_cents, kits.credit_total_due_cents, kits.credit_instalments,
            kits.credit_default_after, kits.life, scenario.seasons, self.order_kind,
            self.order_kit, self.cheapest, policy.max_purchases_per_season, policy.use_credit,
            kits.product_count,
            self.output, owners, prices, absorbs, local_market, need,
            policy.consumption_share, policy.savings_share, poverty_cents,
            farmers.household_size, commercial_cents, farmers.land_m2, labour_capacity, season,
            state.cash, state.reserve, state.owned, state.kits_bought, state.ring_block,
            state.totals_block, state.ring_offset, state.ring_length, state.loan_balance,
            state.loan_instalment, state.loan_missed, state.loan_default_after, state.defaulted,
            state.margins, state.credit, state.purchases, state.consumption, state.repayments,
            state.written_off, state.first_above_poverty, state.first_commercial,
            margin, above_poverty, commercial, bought,
        )
        state.last_margin = margin
        return supply, prices, margin, above_poverty, commercial, bought
