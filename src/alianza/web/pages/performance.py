"""Performance and forecast pages: ``/performance`` (each agronomist's and district's figures
beside the peers' median and quartile, with a chart and CSV downloads) and ``/forecasts`` (a
district's kit demand for suppliers and produce supply and prices for off-takers, as bands
over the simulator calibrated on the district's records). The same services as
``/api/v1/performance/...`` and ``/api/v1/forecasts``."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from alianza.ladder.seasons import season_label
from alianza.platform.access import Permission, Role
from alianza.platform.errors import Refused
from alianza.platform.fieldrecords.forecasts import district_forecast
from alianza.platform.fieldrecords.records import place_tree
from alianza.platform.kits.service import catalogue_of, current_catalogue
from alianza.platform.rollout import performance
from alianza.platform.rollout.performance import PerformanceTable
from alianza.web import i18n
from alianza.web.auth import CurrentActor
from alianza.web.i18n import N_
from alianza.web.pages.agreements import refusal_problems
from alianza.web.templating import render

router = APIRouter(include_in_schema=False)

FIGURE_LABELS = {
    "farmers": N_("Farmers"),
    "villages": N_("Villages"),
    "groups": N_("Groups"),
    "agronomists": N_("Agronomists"),
    "visits": N_("Visits"),
    "sales": N_("Kit sales"),
    "sales_value": N_("Sales value"),
    "commission": N_("Commission"),
    "reinvestment_rate": N_("Reinvestment rate"),
}
MONEY = ("sales_value", "commission")
WEB_REPLICATES = 10
GROUP_SHARE = "_group_share"


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _chart(table: PerformanceTable, locale: str, figure: str) -> dict[str, Any]:
    """One figure per row beside the peers' median, for the chart macro."""
    return {
        "type": "bar",
        "labels": [row.name for row in table.rows],
        "datasets": [
            {
                "label": i18n.gettext(locale, FIGURE_LABELS[figure]),
                "data": [round(row.figures[figure], 4) for row in table.rows],
            },
            {
                "label": i18n.gettext(locale, N_("Peer median")),
                "data": [round(table.medians.get(figure, 0.0), 4) for _ in table.rows],
            },
        ],
        "format": "percent" if figure == "reinvestment_rate" else "money",
        "currency": table.currency,
    }


@router.get("/performance", response_class=HTMLResponse, name="performance")
def performance_page(
    request: Request, actor: CurrentActor, start: str | None = None, end: str | None = None
) -> HTMLResponse:
    actor.require(Permission.ROLLOUT_READ)
    actor.require(Permission.FIELD_READ)
    locale = i18n.locale_of(request)
    default_start, default_end = performance.default_period(actor)
    last = _date(end) or default_end
    first = _date(start) or min(default_start, last)
    problems: list[Any] = []
    try:
        agronomists = performance.agronomist_performance(actor, first, last)
    except Refused as refused:
        problems = refusal_problems(refused, locale)
        first, last = default_start, default_end
        agronomists = performance.agronomist_performance(actor, first, last)
    districts = (
        performance.district_performance(actor, first, last)
        if actor.role is not Role.AGRONOMIST
        else None
    )
    return render(
        request,
        "performance/performance.html",
        {
            "agronomists": agronomists,
            "districts": districts,
            "labels": FIGURE_LABELS,
            "money_figures": MONEY,
            "start": first,
            "end": last,
            "problems": problems,
            "own_only": actor.role is Role.AGRONOMIST,
            "sales_chart": _chart(agronomists, locale, "sales_value"),
            "reinvestment_chart": _chart(agronomists, locale, "reinvestment_rate"),
            "district_chart": _chart(districts, locale, "reinvestment_rate")
            if districts is not None and districts.rows
            else None,
        },
    )


def _short(name: str, identifier: str) -> str:
    """A product's name up to its first " (", or its id in words when that is still long."""
    short = name.split(" (", 1)[0].strip()
    return short if len(short) <= 28 else identifier.replace("_", " ").capitalize()


def _band_chart(
    rows: list[Any], label: Any, value: Any, locale: str, fmt: str = "number"
) -> dict[str, Any]:
    """Bars of the median with the 10th and 90th percentiles beside it."""
    names = (N_("10th percentile"), N_("Median"), N_("90th percentile"))
    return {
        "type": "bar",
        "labels": [label(row) for row in rows],
        "datasets": [
            {
                "label": i18n.gettext(locale, name),
                "data": [round(getattr(value(row), key), 2) for row in rows],
            }
            for name, key in zip(names, ("p10", "p50", "p90"), strict=True)
        ],
        "format": fmt,
        "currency": "USD",
    }


@router.get("/forecasts", response_class=HTMLResponse, name="forecasts")
def forecasts_page(
    request: Request, actor: CurrentActor, district: str | None = None, seasons: str = "2"
) -> HTMLResponse:
    actor.require(Permission.FIELD_READ)
    actor.require(Permission.SALES_READ)
    locale = i18n.locale_of(request)
    districts = [place.name for place in place_tree(actor).districts()]
    chosen_seasons = int(seasons) if seasons.isdigit() and 1 <= int(seasons) <= 4 else 2
    context: dict[str, Any] = {
        "districts": districts,
        "district": district,
        "seasons": chosen_seasons,
        "found": None,
        "problems": [],
    }
    status = 200
    if district:
        try:
            found = district_forecast(
                actor, district, seasons=chosen_seasons, replicates=WEB_REPLICATES
            )
        except Refused as refused:
            context["problems"] = refusal_problems(refused, locale)
            status = 409 if refused.rule != "known district" else 422
        else:
            catalogue = catalogue_of(current_catalogue(actor))
            names = {kit.id: kit.short_name for kit in catalogue.kits}
            for kit in catalogue.kits:
                names[kit.id + GROUP_SHARE] = i18n.gettext(
                    locale, N_("%(kit)s (savings-group share)")
                ) % {"kit": kit.short_name}
            products = {
                product.id: _short(product.name, product.id) for product in catalogue.products
            }
            result = found.forecast
            labels = found.season_labels
            demand = [row for row in result.kit_demand if row.units.p90 > 0]
            supply = [row for row in result.produce_supply if row.volume.p90 > 0]
            context |= {
                "found": found,
                "names": names,
                "products": products,
                "demand": demand,
                "supply": supply,
                "prices": result.prices,
                "first_season": season_label(found.records.first_season or 0, found.records.seasons_per_year),
                "last_season": season_label(found.records.last_season or 0, found.records.seasons_per_year),
                "demand_chart": _band_chart(
                    demand, lambda r: f"{labels[r.season]} · {names.get(r.kit, r.kit)}",
                    lambda r: r.units, locale,
                ),
                "supply_chart": _band_chart(
                    supply,
                    lambda r: f"{labels[r.season]} · {products.get(r.product, r.product)} {r.grade}",
                    lambda r: r.volume, locale,
                ),
                "price_chart": _band_chart(
                    result.prices,
                    lambda r: f"{labels[r.season]} · {products.get(r.product, r.product)}",
                    lambda r: r.price_usd, locale, "money",
                ),
            }  # fmt: skip
    return render(request, "performance/forecasts.html", context, status_code=status)
