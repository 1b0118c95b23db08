"""The programme's choice lists for the field forms: districts, villages, groups, kits,
products, grades, buyers and suppliers, read from a YAML or JSON file (``alianza forms build
--programme-data FILE``) until the platform supplies them from its database.

Kits and products may be listed here or taken from a kit catalogue (``catalogue:``, a path
relative to this file, in the format of `alianza.ladder`). Every reference (a village's
district, a group's village, a kit's product) must name an entry of its list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alianza.documents import PARSE_ERRORS, read_yaml_or_json
from alianza.fieldforms.geo import DistrictArea
from alianza.problems import Problem, ProblemError, field_path

# A choice's name is what the phone stores and the export carries: no spaces.
CHOICE_NAME = r"^[A-Za-z_][A-Za-z0-9_.\-]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class District(Strict):
    id: str = Field(pattern=CHOICE_NAME)
    name: str = Field(min_length=1)
    area: DistrictArea | None = Field(
        default=None, description="Bounding box and/or polygon: GPS points are checked in it."
    )


class Village(Strict):
    id: str = Field(pattern=CHOICE_NAME)
    name: str = Field(min_length=1)
    district: str


class Group(Strict):
    id: str = Field(pattern=CHOICE_NAME)
    name: str = Field(min_length=1)
    village: str


class ProductChoice(Strict):
    id: str = Field(pattern=CHOICE_NAME)
    name: str = Field(min_length=1)
    unit: str = "kg"


class KitChoice(Strict):
    id: str = Field(pattern=CHOICE_NAME)
    name: str = Field(min_length=1)
    product: str


class Choice(Strict):
    id: str = Field(pattern=CHOICE_NAME)
    name: str = Field(min_length=1)


class SupplierChoice(Strict):
    """An input supplier a kit sale may name: ``id`` is the platform supplier's name as a
    choice name (lower case, ``_`` for spaces and signs: "Agro Inputs Dedza" is
    ``agro_inputs_dedza``), ``districts`` the districts whose sales it supplies."""

    id: str = Field(pattern=CHOICE_NAME)
    name: str = Field(min_length=1)
    districts: list[str] = Field(min_length=1)


DEFAULT_GRADES = (
    Choice(id="a", name="Grade A (buyer specification)"),
    Choice(id="b", name="Grade B"),
    Choice(id="ungraded", name="Ungraded"),
)
DEFAULT_BUYERS = (
    Choice(id="local_market", name="Local market"),
    Choice(id="own_use", name="Own use (not sold)"),
)


class ProgrammeData(Strict):
    """What the field forms' choice lists are filled with."""

    programme: str = Field(min_length=1)
    catalogue: str | None = Field(
        default=None, description="Kit catalogue file whose kits and products are used."
    )
    districts: list[District] = Field(min_length=1)
    villages: list[Village] = Field(min_length=1)
    groups: list[Group] = Field(default_factory=list)
    kits: list[KitChoice] = Field(default_factory=list)
    products: list[ProductChoice] = Field(default_factory=list)
    grades: list[Choice] = Field(default_factory=lambda: list(DEFAULT_GRADES))
    buyers: list[Choice] = Field(default_factory=lambda: list(DEFAULT_BUYERS))
    suppliers: list[SupplierChoice] = Field(
        default_factory=list,
        description="Suppliers a kit sale may name (none: each district's only supplier).",
    )

    def district_of_village(self, village_id: str) -> District:
        village = next(v for v in self.villages if v.id == village_id)
        return next(d for d in self.districts if d.id == village.district)


def reference_problems(data: ProgrammeData) -> list[Problem]:
    """Duplicate ids and references to entries that do not exist."""
    problems: list[Problem] = []
    lists: dict[str, list[Any]] = {
        "districts": data.districts,
        "villages": data.villages,
        "groups": data.groups,
        "kits": data.kits,
        "products": data.products,
        "grades": data.grades,
        "buyers": data.buyers,
        "suppliers": data.suppliers,
    }
    for name, entries in lists.items():
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            if entry.id in seen:
                problems.append(Problem(f"{name}[{index}].id", f"duplicate id {entry.id!r}"))
            seen.add(entry.id)
    ids = {name: {entry.id for entry in entries} for name, entries in lists.items()}
    checks = (
        ("villages", "district", "districts"),
        ("groups", "village", "villages"),
        ("kits", "product", "products"),
    )
    for list_name, attribute, target in checks:
        for index, entry in enumerate(lists[list_name]):
            value = getattr(entry, attribute)
            if value not in ids[target]:
                problems.append(
                    Problem(f"{list_name}[{index}].{attribute}", f"unknown {attribute} {value!r}")
                )
    for index, supplier in enumerate(data.suppliers):
        for position, district in enumerate(supplier.districts):
            if district not in ids["districts"]:
                problems.append(
                    Problem(
                        f"suppliers[{index}].districts[{position}]",
                        f"unknown district {district!r}",
                    )
                )
    if not data.kits:
        problems.append(Problem("kits", "no kits: list them or name a catalogue"))
    return problems


def validate_programme_data(
    raw: Any, base_dir: Path, source: str = "programme data"
) -> ProgrammeData:
    """Validate plain data; raise ProblemError with every problem (field path and reason)."""
    if isinstance(raw, dict) and isinstance(raw.get("catalogue"), str):
        raw = _with_catalogue(raw, base_dir, source)
    try:
        data = ProgrammeData.model_validate(raw)
    except ValidationError as error:
        raise ProblemError(
            source,
            [
                Problem(
                    field_path(tuple(e["loc"])) or "(root)", e["msg"].removeprefix("Value error, ")
                )
                for e in error.errors()
            ],
        ) from None
    problems = reference_problems(data)
    if problems:
        raise ProblemError(source, problems)
    return data


def _with_catalogue(raw: dict[str, Any], base_dir: Path, source: str) -> dict[str, Any]:
    """Kits and products from the named kit catalogue (entries given here take precedence)."""
    from alianza.ladder.catalogue import load_catalogue

    catalogue = load_catalogue(base_dir / raw["catalogue"])
    kits = raw.get("kits") or [
        {"id": kit.id, "name": kit.name or kit.id, "product": kit.product} for kit in catalogue.kits
    ]
    products = raw.get("products") or [
        {"id": p.id, "name": p.name or p.id, "unit": p.unit} for p in catalogue.products
    ]
    return {**raw, "kits": kits, "products": products}


def load_programme_data(path: str | Path) -> ProgrammeData:
    """Read and validate a programme-data file (YAML or JSON)."""
    file_path = Path(path)
    try:
        raw = read_yaml_or_json(file_path)
    except PARSE_ERRORS as error:
        raise ProblemError(
            str(file_path), [Problem("(file)", f"not valid YAML/JSON: {error}")]
        ) from None
    return validate_programme_data(raw, file_path.parent, str(file_path))
