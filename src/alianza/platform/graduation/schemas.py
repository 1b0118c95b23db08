"""What a buyer asks for (:class:`ReadinessCriteria`), how clusters are drawn
(:class:`ClusterRules`), and the one-step registration of a cluster as a producer
organization (:class:`ClusterRegistrationIn`).

Criteria come with each request (CLI options, the page's form, the API's query or body); the
defaults are :data:`DEFAULT_CRITERIA`, chosen so that the demo programme DEMO-MI shows some
farmers ready and most not (see docs/micro-investing.md).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field, field_validator, model_validator

from alianza.problems import Message


def _no_float(value: object) -> object:
    if isinstance(value, float):
        raise ValueError(
            Message("give quantities and shares as a Decimal or a string, never a float")
        )
    return value


class ReadinessCriteria(BaseModel):
    """A buyer's requirements of one product, over the last ``seasons`` seasons."""

    product: str = Field(
        default="vegetables",
        min_length=1,
        max_length=60,
        description="A product of the kit catalogue (all its kits count) or one kit's code.",
    )
    min_volume_per_season: Decimal = Field(
        default=Decimal("150"),
        ge=0,
        max_digits=18,
        decimal_places=3,
        description="Harvested quantity per season, in the product's unit (window average).",
    )
    grades: list[str] = Field(
        default_factory=lambda: ["A"],
        min_length=1,
        max_length=10,
        description="The grades the buyer accepts.",
    )
    min_grade_share: Decimal = Field(
        default=Decimal("0.3"),
        ge=0,
        le=1,
        decimal_places=4,
        description="Share of the harvested quantity at one of the grades, 0 to 1.",
    )
    seasons: int = Field(default=4, ge=1, le=40, description="The window: the last N seasons.")
    min_seasons_delivered: int = Field(
        default=3, ge=0, le=40, description="Seasons of the window with a recorded sale."
    )
    min_seasons_as_client: int | None = Field(
        default=None, ge=0, le=400, description="Seasons since the first kit purchase."
    )
    as_of: date | None = Field(
        default=None,
        description="The day readiness is measured on; default the programme's latest "
        "recorded harvest or produce sale.",
    )

    _numbers = field_validator("min_volume_per_season", "min_grade_share", mode="before")(_no_float)

    @field_validator("grades")
    @classmethod
    def _grades(cls, grades: list[str]) -> list[str]:
        cleaned = sorted({g.strip() for g in grades if g.strip()})
        if not cleaned:
            raise ValueError(Message("name at least one grade"))
        if any(len(g) > 20 for g in cleaned):
            raise ValueError(Message("a grade has at most 20 characters"))
        return cleaned

    @model_validator(mode="after")
    def _window(self) -> ReadinessCriteria:
        if self.min_seasons_delivered > self.seasons:
            raise ValueError(
                Message(
                    "min_seasons_delivered (%(delivered)s) cannot exceed the window of "
                    "%(seasons)s seasons",
                    delivered=self.min_seasons_delivered,
                    seasons=self.seasons,
                )
            )
        return self


DEFAULT_CRITERIA = ReadinessCriteria()


class ClusterRules(BaseModel):
    """How ready farmers are grouped: villages of one district within ``radius_km`` of each
    other (transitively); a cluster is proposed from ``min_farmers`` farmers and
    ``min_volume_per_season`` in all."""

    radius_km: Decimal = Field(default=Decimal("1"), ge=0, le=500, decimal_places=3)
    min_farmers: int = Field(default=10, ge=1, le=100000)
    min_volume_per_season: Decimal = Field(
        default=Decimal("2000"), ge=0, max_digits=18, decimal_places=3
    )

    _numbers = field_validator("radius_km", "min_volume_per_season", mode="before")(_no_float)


class ClusterRegistrationIn(BaseModel):
    """Register a proposed cluster as a producer organization: its farmers (every one still
    ready under ``criteria`` and in no producer organization) become members, joined today."""

    name: str = Field(min_length=1, max_length=200)
    farmer_ids: list[int] = Field(min_length=1, max_length=100000)
    criteria: ReadinessCriteria = Field(default_factory=ReadinessCriteria)
    rules: ClusterRules = Field(default_factory=ClusterRules)
    registration_number: str | None = Field(default=None, max_length=80)
    founded_year: int | None = Field(default=None, ge=1800, le=2100)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        cleaned = " ".join(name.split())
        if not cleaned:
            raise ValueError(Message("give the organization a name"))
        return cleaned

    @field_validator("farmer_ids")
    @classmethod
    def _farmers(cls, farmer_ids: list[int]) -> list[int]:
        if len(set(farmer_ids)) != len(farmer_ids):
            raise ValueError(Message("a farmer is named twice"))
        if any(f < 1 for f in farmer_ids):
            raise ValueError(Message("farmer ids are positive"))
        return farmer_ids
