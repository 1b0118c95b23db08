"""PNG charts (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if TYPE_CHECKING:
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
