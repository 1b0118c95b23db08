"""Graduation to alliances: `alianza graduation ready`, `alianza graduation clusters`,
`alianza graduation register` — which farmers meet a buyer's requirements, the clusters of
them proposed as producer organizations, and registering one in a single step."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from alianza.cli._options import AS_USER, PROGRAMME, URL_OPTION
from alianza.cli.programme import acting

graduation_app = typer.Typer(
    help="Graduation: farmers ready for a buyer, clusters proposed as producer organizations.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)

PRODUCT = typer.Option("vegetables", "--product", help="A catalogue product or a kit code.")
MIN_VOLUME = typer.Option("150", "--min-volume", help="Quantity per season, product's unit.")
GRADES = typer.Option("A", "--grades", help="Accepted grades, comma-separated (A,B).")
MIN_GRADE_SHARE = typer.Option("0.3", "--min-grade-share", help="Share at those grades, 0-1.")
SEASONS = typer.Option(4, "--seasons", min=1, max=40, help="The window: the last N seasons.")
MIN_DELIVERED = typer.Option(
    3, "--min-delivered", min=0, max=40, help="Seasons of the window with a sale."
)
MIN_CLIENT = typer.Option(
    None, "--min-client-seasons", min=0, max=400, help="Seasons since the first kit bought."
)
AS_OF = typer.Option(None, "--as-of", help="Day measured on (YYYY-MM-DD); default: latest record.")
RADIUS = typer.Option("1", "--radius-km", help="Villages within this distance join (km).")
MIN_FARMERS = typer.Option(10, "--min-farmers", min=1, help="Farmers a cluster needs.")
MIN_CLUSTER_VOLUME = typer.Option(
    "2000", "--min-cluster-volume", help="A cluster's volume per season (product's unit)."
)
FORMATS = ("table", "json", "csv")
FIELDS = {
    "product": "--product",
    "min_volume_per_season": "--min-volume",
    "grades": "--grades",
    "min_grade_share": "--min-grade-share",
    "seasons": "--seasons",
    "min_seasons_delivered": "--min-delivered",
    "min_seasons_as_client": "--min-client-seasons",
    "as_of": "--as-of",
    "radius_km": "--radius-km",
    "min_farmers": "--min-farmers",
    "name": "--name",
    "farmer_ids": "--farmers",
}


def _criteria(
    product: str,
    min_volume: str,
    grades: str,
    min_grade_share: str,
    seasons: int,
    min_delivered: int,
    min_client: int | None,
    as_of: str | None,
) -> dict[str, Any]:
    return {
        "product": product,
        "min_volume_per_season": min_volume,
        "grades": [g for g in grades.split(",") if g.strip()],
        "min_grade_share": min_grade_share,
        "seasons": seasons,
        "min_seasons_delivered": min_delivered,
        "min_seasons_as_client": min_client,
        "as_of": as_of,
    }


def _format(value: str) -> str:
    from alianza.cli._session import fail

    if value not in FORMATS:
        raise fail(f"--format: one of {', '.join(FORMATS)}, not {value!r}")
    return value


@graduation_app.command("ready")
def ready(
    programme: str = PROGRAMME,
    username: str = AS_USER,
    product: str = PRODUCT,
    min_volume: str = MIN_VOLUME,
    grades: str = GRADES,
    min_grade_share: str = MIN_GRADE_SHARE,
    seasons: int = SEASONS,
    min_delivered: int = MIN_DELIVERED,
    min_client: int | None = MIN_CLIENT,
    as_of: str | None = AS_OF,
    only: str | None = typer.Option(None, "--only", help="ready or not_ready."),
    output: str = typer.Option("table", "--format", help="table, json or csv."),
    url: str | None = URL_OPTION,
) -> None:
    """Each farmer of your scope against the buyer's criteria: the figures, met or not, and why."""
    from alianza.platform.graduation.service import assess

    output = _format(output)
    criteria = _criteria(
        product, min_volume, grades, min_grade_share, seasons, min_delivered, min_client, as_of
    )
    with acting(url, programme, username, FIELDS) as actor:
        found = assess(actor, criteria)
    rows = [f for f in found.farmers if only is None or f.ready == (only == "ready")]
    records = [
        {
            "farmer_id": f.farmer_id,
            "name": f.name,
            "district": f.district,
            "village": f.village,
            f"volume_per_season_{found.unit}": str(f.volume_per_season),
            "grade_share": str(f.grade_share),
            "seasons_delivered": f.seasons_delivered,
            "seasons_as_client": f.seasons_as_client,
            "ready": f.ready,
            "reasons": "; ".join(f.reasons),
        }
        for f in rows
    ]
    if output == "json":
        print(json.dumps({"as_of": found.as_of.isoformat(), "unit": found.unit,
                          "ready": found.ready_count, "farmers": len(found.farmers),
                          "items": records}, indent=2))  # fmt: skip
        return
    if output == "csv":
        writer = csv.DictWriter(
            sys.stdout, fieldnames=list(records[0]) if records else ["farmer_id"]
        )
        writer.writeheader()
        writer.writerows(records)
        return
    table = Table(
        title=f"{found.ready_count} of {len(found.farmers)} farmers ready "
        f"({found.window_start} to {found.as_of}, {found.unit})"
    )
    for column in (
        "farmer",
        "village",
        "volume/season",
        "grade share",
        "delivered",
        "ready",
        "why not",
    ):
        justify = "right" if column in ("volume/season", "grade share", "delivered") else "left"
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for f in rows:
        table.add_row(
            f"{f.name} ({f.farmer_id})",
            f.village,
            str(f.volume_per_season),
            str(f.grade_share),
            str(f.seasons_delivered),
            "yes" if f.ready else "no",
            "; ".join(f.reasons),
        )
    console.print(table)


@graduation_app.command("clusters")
def clusters(
    programme: str = PROGRAMME,
    username: str = AS_USER,
    product: str = PRODUCT,
    min_volume: str = MIN_VOLUME,
    grades: str = GRADES,
    min_grade_share: str = MIN_GRADE_SHARE,
    seasons: int = SEASONS,
    min_delivered: int = MIN_DELIVERED,
    min_client: int | None = MIN_CLIENT,
    as_of: str | None = AS_OF,
    radius_km: str = RADIUS,
    min_farmers: int = MIN_FARMERS,
    min_cluster_volume: str = MIN_CLUSTER_VOLUME,
    output: str = typer.Option("table", "--format", help="table or json."),
    url: str | None = URL_OPTION,
) -> None:
    """Clusters of ready farmers in nearby villages, proposed as producer organizations."""
    from alianza.platform.graduation.service import clusters as propose

    output = _format(output)
    criteria = _criteria(
        product, min_volume, grades, min_grade_share, seasons, min_delivered, min_client, as_of
    )
    rules = {"radius_km": radius_km, "min_farmers": min_farmers,
             "min_volume_per_season": min_cluster_volume}  # fmt: skip
    with acting(url, programme, username, FIELDS) as actor:
        proposals, found = propose(actor, criteria, rules)
    records = [
        {
            "suggested_name": p.suggested_name,
            "district": p.district,
            "grouping": p.grouping,
            "villages": [name for _, name in p.villages],
            "farmer_ids": p.farmer_ids,
            f"volume_per_season_{found.unit}": str(p.volume_per_season),
            "grades": {g: str(v) for g, v in p.grades.items()},
            "place_id": p.place_id,
        }
        for p in proposals
    ]
    if output != "table":
        print(json.dumps({"as_of": found.as_of.isoformat(), "items": records}, indent=2))
        return
    table = Table(title=f"{len(proposals)} clusters proposed ({found.unit} per season)")
    for column in ("suggested name", "district", "villages", "farmers", "volume", "grade mix"):
        table.add_column(column, justify="right" if column in ("farmers", "volume") else "left")
    for p in proposals:
        villages = ", ".join(name for _, name in p.villages)
        if p.grouping == "district":
            villages += " (no GPS points: grouped by district)"
        table.add_row(
            p.suggested_name,
            p.district,
            villages,
            str(len(p.farmer_ids)),
            str(p.volume_per_season),
            ", ".join(f"{g} {v}" for g, v in p.grades.items()),
        )
    console.print(table)
    if proposals:
        console.print(
            "register one: alianza graduation register --name NAME --farmers "
            + ",".join(str(f) for f in proposals[0].farmer_ids[:3])
            + ",... (with the same criteria and rules)"
        )


@graduation_app.command("register")
def register(
    name: str = typer.Option(..., "--name", help="The producer organization's name."),
    farmers: str = typer.Option(
        ..., "--farmers", help="The cluster's farmer IDs, comma-separated."
    ),
    programme: str = PROGRAMME,
    username: str = AS_USER,
    product: str = PRODUCT,
    min_volume: str = MIN_VOLUME,
    grades: str = GRADES,
    min_grade_share: str = MIN_GRADE_SHARE,
    seasons: int = SEASONS,
    min_delivered: int = MIN_DELIVERED,
    min_client: int | None = MIN_CLIENT,
    as_of: str | None = AS_OF,
    radius_km: str = RADIUS,
    min_farmers: int = MIN_FARMERS,
    min_cluster_volume: str = MIN_CLUSTER_VOLUME,
    url: str | None = URL_OPTION,
) -> None:
    """Register a cluster as a producer organization, every farmer a member joined today;
    refused with the reason, nothing written, if one is no longer ready or already in a PO."""
    from alianza.cli._session import fail
    from alianza.platform.graduation.service import register_cluster

    try:
        farmer_ids = [int(f) for f in farmers.split(",") if f.strip()]
    except ValueError:
        raise fail("--farmers: farmer IDs separated by commas (12,15,31)") from None
    body = {
        "name": name,
        "farmer_ids": farmer_ids,
        "criteria": _criteria(
            product, min_volume, grades, min_grade_share, seasons, min_delivered, min_client, as_of
        ),
        "rules": {"radius_km": radius_km, "min_farmers": min_farmers,
                  "min_volume_per_season": min_cluster_volume},
    }  # fmt: skip
    with acting(url, programme, username, FIELDS) as actor:
        registered = register_cluster(actor, body)
        summary = (
            f"producer organization {registered.organization.id} ({registered.organization.name})"
            f" registered with {len(registered.member_ids)} members, "
            f"{registered.volume_per_season} per season, members since {date.today()}"
        )
    console.print(summary)
