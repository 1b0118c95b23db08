"""PNG charts (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if TYPE_CHECKING:
    from alianza.ladder.forecast import Forecast
    from alianza.ladder.planner import GrowthPlan
    from alianza.ladder.runner import SimulationResult


def income_fan_chart(result: SimulationResult, path: Path) -> None:
    """Fan chart: p10-p90 band and median of kit income per person per day, by season."""
    from alianza.ladder.outputs import income_percentiles

    seasons = np.arange(1, result.scenario.seasons + 1)
    quantiles = [income_percentiles(result, s) for s in range(result.scenario.seasons)]
    p10 = np.array([q["p10"] for q in quantiles])
    p50 = np.array([q["p50"] for q in quantiles])
    p90 = np.array([q["p90"] for q in quantiles])
    poverty = result.scenario.outputs.poverty_line_usd_per_person_day
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    axes.fill_between(seasons, p10, p90, alpha=0.3, label="10th-90th percentile")
    axes.plot(seasons, p50, label="median")
    axes.axhline(poverty, color="red", linestyle="--", label=f"poverty line ${poverty:.2f}")
    axes.set_xlabel("season")
    axes.set_ylabel("kit income, USD per person per day")
    axes.set_title(f"{result.scenario.name}: income")
    axes.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def ladder_progression_chart(result: SimulationResult, path: Path) -> None:
    """Kits owned by type, per season (stacked), per 100 farmers."""
    seasons = np.arange(1, result.scenario.seasons + 1)
    farmers = max(int(result.cell_farmers[0].sum()), 1)
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    axes.stackplot(
        seasons, (result.kits_owned.T * 100.0 / farmers), labels=result.kit_ids, alpha=0.85
    )
    axes.set_xlabel("season")
    axes.set_ylabel("kits owned per 100 farmers")
    axes.set_title(f"{result.scenario.name}: ladder progression")
    axes.legend(loc="upper left", fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def growth_plan_chart(plan: GrowthPlan, path: Path) -> None:
    """Planner chart: expected cash and income with their 10th-90th percentile bands."""
    seasons = np.array([row.season for row in plan.rows])
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), dpi=100, sharex=True)
    top.fill_between(
        seasons, plan.cash_p10, plan.cash_p90, alpha=0.3, label="cash 10th-90th percentile (shocks)"
    )
    top.plot(seasons, [row.cash_usd for row in plan.rows], label="expected path: cash")
    top.set_ylabel("cash at end of season, USD")
    top.legend(loc="upper left")
    top.set_title(f"Growth plan: {plan.catalogue_name}")
    bottom.fill_between(
        seasons, plan.income_p10, plan.income_p90, alpha=0.3, label="income 10th-90th percentile"
    )
    bottom.plot(
        seasons, [row.income_usd_per_day for row in plan.rows], label="expected path: income"
    )
    bottom.axhline(
        plan.poverty_line_household_usd_per_day,
        color="red",
        linestyle="--",
        label="poverty line (household)",
    )
    bottom.axhline(
        plan.commercial_threshold_usd_per_day,
        color="green",
        linestyle=":",
        label="commercial threshold",
    )
    seen: set[str] = set()
    labels = 0
    for row in plan.rows:
        new_kits = [kit for kit in row.bought if kit not in seen]
        seen.update(row.bought)
        if new_kits:  # label only the first purchase of each kit type: the ladder's steps
            # Staggered heights so that labels of consecutive seasons do not overlap.
            bottom.annotate(
                "+ " + ", ".join(dict.fromkeys(new_kits)),
                (row.season, row.income_usd_per_day),
                fontsize=7,
                xytext=(-6, 12 + 14 * (labels % 3)),
                textcoords="offset points",
                ha="right",
                arrowprops={"arrowstyle": "-", "lw": 0.5},
            )
            labels += 1
    bottom.xaxis.get_major_locator().set_params(integer=True)
    bottom.set_ylabel("kit income, USD per day (household)")
    bottom.set_xlabel("season")
    bottom.legend(loc="upper left", fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def forecast_chart(forecast: Forecast, path: Path) -> None:
    """Forecast chart: kit demand, produce supply and local prices per season, each as the
    median with its 10th-90th percentile band over the replicates (error bars)."""
    seasons = sorted({row.season for row in forecast.kit_demand})
    kits = list(dict.fromkeys(row.kit for row in forecast.kit_demand))
    products = list(dict.fromkeys(row.product for row in forecast.prices))
    figure, (demand, supply, prices) = plt.subplots(3, 1, figsize=(8, 10), dpi=100)
    width = 0.8 / max(len(kits), 1)
    for index, kit in enumerate(kits):
        rows = [r for r in forecast.kit_demand if r.kit == kit]
        x = np.array([r.season for r in rows]) + (index - (len(kits) - 1) / 2) * width
        mid = np.array([r.units.p50 for r in rows])
        errors = [mid - [r.units.p10 for r in rows], [r.units.p90 for r in rows] - mid]
        demand.bar(x, mid, width, yerr=errors, capsize=3, label=kit)
    demand.set_ylabel("kits bought (units)")
    demand.set_title(
        f"Forecast for {forecast.district}: {forecast.farmers:,} farmers, "
        f"{forecast.replicates} replicates (median, 10th-90th percentile)"
    )
    demand.legend(fontsize="small")
    width = 0.8 / max(len(products), 1)
    for index, product in enumerate(products):
        volume: dict[int, list[float]] = {}
        for row in forecast.produce_supply:
            if row.product == product:
                entry = volume.setdefault(row.season, [0.0, 0.0, 0.0])
                entry[0] += row.volume.p10
                entry[1] += row.volume.p50
                entry[2] += row.volume.p90
        x = np.array(sorted(volume)) + (index - (len(products) - 1) / 2) * width
        values = np.array([volume[s] for s in sorted(volume)])
        if values.size:
            # Points, not bars: bars on a log axis start at an arbitrary bottom.
            supply.errorbar(
                x,
                values[:, 1],
                yerr=[values[:, 1] - values[:, 0], values[:, 2] - values[:, 1]],
                marker="s",
                linestyle="none",
                capsize=3,
                label=product,
            )
        price_rows = [r for r in forecast.prices if r.product == product]
        relative = np.array(
            [[r.price_usd.p10, r.price_usd.p50, r.price_usd.p90] for r in price_rows]
        )
        relative = relative / price_rows[0].reference_price_usd if price_rows else relative
        prices.errorbar(
            [r.season for r in price_rows],
            relative[:, 1],
            yerr=[relative[:, 1] - relative[:, 0], relative[:, 2] - relative[:, 1]],
            marker="o",
            capsize=3,
            label=product,
        )
    supply.set_yscale("log")
    supply.set_ylabel("produce (product's unit, log scale)")
    supply.legend(fontsize="small")
    prices.axhline(1.0, color="grey", linestyle="--", label="reference price")
    prices.set_ylabel("price / reference price")
    prices.set_xlabel("season after the records")
    prices.legend(fontsize="small")
    for axes in (demand, supply, prices):
        axes.set_xticks(seasons)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
