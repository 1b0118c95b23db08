"""Validated input for the registry."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from alianza.platform.registry.phones import normalise_phone
from alianza.problems import Message


def normalise_national_id(national_id: str) -> str:
    """A national id without whitespace, upper case."""
    return "".join(national_id.split()).upper()


PLACE_PARENTS: dict[str, str | None] = {
    "country": None,
    "district": "country",
    "municipality": "district",
    "village": "municipality",
}
ORGANIZATION_KINDS = (
    "producer_organization",
    "buyer",
    "ta_provider",
    "financial_institution",
    "implementing_partner",
    # Micro Investing: input suppliers, off-takers, and the groups farmers meet in
    "supplier",
    "offtaker",
    "savings_group",
    "club",
    "incubator",
)
SEXES = ("female", "male")


class PlaceIn(BaseModel):
    kind: str
    name: str = Field(min_length=1, max_length=120)
    code: str | None = Field(default=None, max_length=40)
    parent_id: int | None = None

    @field_validator("kind")
    @classmethod
    def _kind(cls, kind: str) -> str:
        if kind not in PLACE_PARENTS:
            raise ValueError(Message("must be one of %(kinds)s", kinds=str(list(PLACE_PARENTS))))
        return kind


class MarketIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(default="wholesale", max_length=40)
    place_id: int


class OrganizationIn(BaseModel):
    kind: str
    name: str = Field(min_length=1, max_length=200)
    registration_number: str | None = Field(default=None, max_length=80)
    place_id: int | None = None
    founded_year: int | None = Field(default=None, ge=1800, le=2100)

    @field_validator("kind")
    @classmethod
    def _kind(cls, kind: str) -> str:
        if kind not in ORGANIZATION_KINDS:
            raise ValueError(
                Message("must be one of %(kinds)s", kinds=str(list(ORGANIZATION_KINDS)))
            )
        return kind


class FarmerIn(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    sex: str
    birth_year: int = Field(ge=1900, le=2100)
    minority: bool = False
    household_size: int = Field(ge=1, le=60)
    land_hectares: Decimal = Field(ge=0, le=100000, decimal_places=3)
    phone: str | None = Field(default=None, max_length=30)
    national_id: str | None = Field(default=None, max_length=40)
    village_id: int
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        return " ".join(name.split())

    @field_validator("sex", mode="before")
    @classmethod
    def _sex(cls, sex: object) -> str:
        text = str(sex).strip().lower()
        aliases = {
            "f": "female",
            "female": "female",
            "woman": "female",
            "mujer": "female",
            "m": "male",
            "male": "male",
            "man": "male",
            "hombre": "male",
        }
        if text not in aliases:
            raise ValueError(Message("must be female or male"))
        return aliases[text]

    @field_validator("phone")
    @classmethod
    def _phone(cls, phone: str | None, info: ValidationInfo) -> str | None:
        """E.164, read in the ``phone_region`` of the validation context when it has no "+"."""
        if phone is None or not phone.strip():
            return None
        region = (info.context or {}).get("phone_region")
        return normalise_phone(phone, region)

    @field_validator("national_id")
    @classmethod
    def _national_id(cls, national_id: str | None) -> str | None:
        if national_id is None or not national_id.strip():
            return None
        return normalise_national_id(national_id)


class MembershipIn(BaseModel):
    farmer_id: int
    organization_id: int
    joined_on: date | None = None
