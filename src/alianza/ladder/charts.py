"""PNG charts (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullLocator,
)

if TYPE_CHECKING:
    from alianza.ladder.forecast import Forecast
    from alianza.ladder.planner import GrowthPlan
    from alianza.ladder.runner import SimulationResult


FLOOR_PPP = 0.01  # a log axis cannot show zero: lower incomes are drawn at 1 cent
GROUP_LINES = {
    "all": ("all farmers", "black", "-"),
    "female": ("women", "tab:purple", "-"),
    "male": ("men", "tab:blue", "-"),
    "youth": ("youth", "tab:orange", "--"),
    "minority": ("minorities", "tab:green", ":"),
}


def _season_axis(axes: Any, result: SimulationResult) -> None:
    """Whole-number season ticks from 1; with a start date, the calendar label under a few."""
    scenario = result.scenario
    seasons = scenario.seasons
    axes.set_xlim(0.5, seasons + 0.5)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(seasons, 10)))
    ticks = [int(t) for t in axes.get_xticks() if 1 <= t <= seasons]
    axes.set_xticks(ticks)
    if scenario.start_date is not None:
        labels = []
        for tick in ticks:
            start = scenario.season_start(tick)
            labels.append(f"{tick}\n{start:%b %Y}" if start is not None else str(tick))
        axes.set_xticklabels(labels, fontsize="small")
        axes.set_xlabel("season (and the month it starts)")
    else:
        axes.set_xlabel("season")


def income_fan_chart(result: SimulationResult, path: Path) -> None:
    """Fan chart on a log axis: p10-p90 and p25-p75 bands and the median of income per person
    per day in PPP dollars (kits and other income), by season, with the poverty line."""
    from alianza.ladder.outputs import income_percentiles

    scenario = result.scenario
    ppp_per_usd = scenario.conversion().ppp_per_usd
    seasons = np.arange(1, scenario.seasons + 1)
    quantiles = [income_percentiles(result, s) for s in range(scenario.seasons)]

    def series(name: str) -> np.ndarray:
        values = np.array([np.nan if q[name] is None else q[name] for q in quantiles])
        return np.maximum(values * ppp_per_usd, FLOOR_PPP)

    line = scenario.poverty_line_ppp()
    figure, axes = plt.subplots(figsize=(9, 5), dpi=100)
    axes.fill_between(
        seasons,
        series("p10"),
        series("p90"),
        alpha=0.2,
        color="tab:blue",
        label="10th-90th percentile",
    )
    axes.fill_between(
        seasons,
        series("p25"),
        series("p75"),
        alpha=0.35,
        color="tab:blue",
        label="25th-75th percentile",
    )
    axes.plot(seasons, series("median"), color="tab:blue", linewidth=2, label="median")
    axes.axhline(line, color="red", linestyle="--", label=f"poverty line \\${line:.2f} (PPP)")
    axes.set_yscale("log")
    # Ticks at 1, 2 and 5 of each decade, in dollars: a log axis readers can read.
    axes.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axes.yaxis.set_minor_locator(NullLocator())
    axes.yaxis.set_major_formatter(FuncFormatter(_dollars))
    axes.set_ylabel("income per person per day, PPP \\$ (log scale)")
    _season_axis(axes, result)
    conversion = scenario.conversion()
    note = (
        f"PPP \\$ = market US\\$ x {ppp_per_usd:.2f} ({conversion.currency}: exchange rate "
        f"{conversion.exchange_rate:g}, PPP factor {conversion.ppp_factor:g})"
        if conversion.stated
        else "no PPP factor stated: market dollars shown as PPP dollars"
    )
    axes.set_title(
        f"{scenario.name}: household income per person per day\n{note}", fontsize="medium"
    )
    axes.legend(loc="upper left", fontsize="small")
    axes.grid(True, which="major", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _dollars(value: float, _position: int) -> str:
    # "\\$": a plain dollar sign (matplotlib reads $...$ as mathematics).
    return f"\\${value:,.2f}" if value < 10 else f"\\${value:,.0f}"


def highest_rung_chart(result: SimulationResult, document: dict[str, Any], path: Path) -> None:
    """Horizontal bars: share of farmers by the dearest kit they ever owned (kit names)."""
    rungs = document["highest_rung"]
    farmers = max(sum(r["farmers"] for r in rungs), 1)
    labels = ["no kit" if r["kit"] is None else textwrap.fill(r["name"], 34) for r in rungs]
    shares = np.array([r["farmers"] / farmers * 100.0 for r in rungs])
    height = 1.2 + 0.45 * len(rungs) + 0.15 * sum(label.count("\n") for label in labels)
    figure, axes = plt.subplots(figsize=(9, height), dpi=100)
    positions = np.arange(len(rungs))
    axes.barh(positions, shares, color="tab:green")
    axes.set_yticks(positions, labels, fontsize="small")
    axes.invert_yaxis()  # the first rung on top, the dearest kit at the bottom
    for position, share in zip(positions, shares, strict=True):
        axes.annotate(
            f"{share:.1f}%",
            (share, position),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize="small",
        )
    axes.set_xlim(0, max(shares.max() * 1.15, 1.0))
    axes.set_xlabel("farmers, % (the dearest kit each ever owned, after the last season)")
    axes.set_title(f"{result.scenario.name}: highest rung reached", fontsize="medium")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def poverty_by_group_chart(result: SimulationResult, path: Path) -> None:
    """Share of farmers above the poverty line, season by season, by group."""
    from alianza.ladder.statistics import GROUPS

    scenario = result.scenario
    seasons = np.arange(1, scenario.seasons + 1)
    figure, axes = plt.subplots(figsize=(9, 5), dpi=100)
    for group, (label, colour, style) in GROUP_LINES.items():
        cells = GROUPS[group]
        farmers = result.cell_farmers[:, cells].sum(axis=1)
        above = result.cell_above_poverty[:, cells].sum(axis=1)
        share = np.where(farmers > 0, above / np.maximum(farmers, 1) * 100.0, np.nan)
        axes.plot(seasons, share, color=colour, linestyle=style, linewidth=2, label=label)
    axes.set_ylim(0, 100)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}%"))
    axes.set_ylabel("above the poverty line, % of farmers")
    _season_axis(axes, result)
    line = scenario.poverty_line_ppp()
    axes.set_title(
        f"{scenario.name}: share above the poverty line (\\${line:.2f} a person a day, PPP)",
        fontsize="medium",
    )
    axes.legend(loc="upper left", fontsize="small")
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def ladder_progression_chart(result: SimulationResult, path: Path) -> None:
    """Kits owned by type, per season (stacked), per 100 farmers; kit names in the legend."""
    seasons = np.arange(1, result.scenario.seasons + 1)
    farmers = max(int(result.cell_farmers[0].sum()), 1)
    figure, axes = plt.subplots(figsize=(10, 5), dpi=100)
    labels = [textwrap.fill(name, 30) for name in result.kit_names]
    axes.stackplot(seasons, (result.kits_owned.T * 100.0 / farmers), labels=labels, alpha=0.85)
    axes.set_ylabel("kits owned per 100 farmers")
    _season_axis(axes, result)
    axes.set_title(f"{result.scenario.name}: ladder progression", fontsize="medium")
    # Outside the plot, on the right: the legend never covers the areas.
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


CHARTS = ("income_fan.png", "highest_rung.png", "poverty_by_group.png", "ladder_progression.png")


def write_charts(result: SimulationResult, document: dict[str, Any], out_dir: Path) -> None:
    """Every chart of a simulation, as PNG files in out_dir (names in CHARTS)."""
    income_fan_chart(result, out_dir / "income_fan.png")
    highest_rung_chart(result, document, out_dir / "highest_rung.png")
    poverty_by_group_chart(result, out_dir / "poverty_by_group.png")
    ladder_progression_chart(result, out_dir / "ladder_progression.png")


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
        label="poverty line (household, from \\$3.00 a person a day in 2021 PPP)",
    )
    bottom.axhline(
        plan.commercial_threshold_usd_per_day,
        color="green",
        linestyle=":",
        label="commercial threshold",
    )
    bottom.xaxis.get_major_locator().set_params(integer=True)
    bottom.set_ylabel("kit income, USD per day (household)")
    bottom.set_xlabel("season")
    # Below the plot: the step labels above the line never run into it.
    bottom.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize="small")
    # Lay the figure out first, then place the labels: their overlap test reads positions
    # on the final layout (the headroom keeps raised labels inside the panel).
    low, high = bottom.get_ylim()
    bottom.set_ylim(low, high + 0.25 * (high - low))
    figure.tight_layout()
    seen: set[str] = set()
    placed: list[Any] = []  # the labels' boxes, in display coordinates
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    for row in plan.rows:
        new_kits = [kit for kit in row.bought if kit not in seen]
        seen.update(row.bought)
        if not new_kits:  # label only the first purchase of each kit type: the ladder's steps
            continue
        names = [plan.kit_names.get(kit, kit) for kit in dict.fromkeys(new_kits)]
        # Left of its point, but right of the first seasons' (the axis is there).
        dx = 6 if row.season <= 2 else -6
        label = bottom.annotate(
            textwrap.fill("+ " + ", ".join(names), 26),
            (row.season, row.income_usd_per_day),
            fontsize=7,
            xytext=(dx, 12),
            textcoords="offset points",
            ha="left" if dx > 0 else "right",
            va="bottom",
            arrowprops={"arrowstyle": "-", "lw": 0.5},
        )
        # Raised until its text overlaps no earlier label's (at most 8 steps of 8 points);
        # Text's own extent: the Annotation's would include its leader line.
        for step in range(8):
            label.update_positions(renderer)
            box = Text.get_window_extent(label, renderer)
            if not any(box.padded(2).overlaps(other) for other in placed):
                break
            label.set_position((dx, 12 + 8 * (step + 1)))
        label.update_positions(renderer)
        placed.append(Text.get_window_extent(label, renderer))
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
