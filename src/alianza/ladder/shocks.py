"""Weather per district (correlated across nearby districts) and national price shocks."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from alianza.ladder.scenario import Scenario
from alianza.ladder.streams import PRICES, WEATHER, season_generator, stream_key


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


_SEASON_SHOCKS: dict[tuple[object, ...], tuple[np.ndarray, np.ndarray]] = {}


def season_shocks(scenario: Scenario, products: int) -> tuple[np.ndarray, np.ndarray]:
    """Weather [T, D] (int64) and national price factors [T, P] of every season.

    They are the same in every chunk, so a process computes them once per scenario (kept for
    the last few scenarios it ran); the arrays are read-only.
    """
    key = (
        scenario.seed,
        scenario.seasons,
        scenario.population.districts,
        scenario.population.district_spacing_km,
        scenario.shocks.model_dump_json(),
        products,
    )
    if key not in _SEASON_SHOCKS:
        factor = district_correlation_factor(scenario)
        weather_key = stream_key(scenario.seed, WEATHER, 0, scenario.seasons)
        prices_key = stream_key(scenario.seed, PRICES, 0, scenario.seasons)
        weather = np.stack(
            [
                district_weather(scenario, season, factor, weather_key)
                for season in range(scenario.seasons)
            ]
        )
        prices = np.stack(
            [
                national_price_factors(scenario, season, products, prices_key)
                for season in range(scenario.seasons)
            ]
        )
        weather.flags.writeable = False
        prices.flags.writeable = False
        if len(_SEASON_SHOCKS) >= 4:
            _SEASON_SHOCKS.pop(next(iter(_SEASON_SHOCKS)))
        _SEASON_SHOCKS[key] = (weather, prices)
    return _SEASON_SHOCKS[key]
