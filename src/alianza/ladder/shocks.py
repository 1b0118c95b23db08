"""Weather per district (correlated across nearby districts) and national price shocks."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from alianza.ladder.scenario import Scenario
from alianza.ladder.streams import season_generator


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
