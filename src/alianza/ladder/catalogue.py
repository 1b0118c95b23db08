"""Kit catalogue: the kits a programme sells, their economics and how they chain into a ladder.

A catalogue is a YAML or JSON file validated by the pydantic models below. Every money field is
in US dollars; every "per season" field refers to the catalogue's season length
(365 / ``seasons_per_year`` days). `load_catalogue` returns a valid `Catalogue` or raises
`CatalogueError` listing *all* problems at once, each with its field path and reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from alianza.documents import PARSE_ERRORS, read_yaml_or_json
from alianza.problems import Message, Problem, ProblemError

KIT_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
# The example Micro Investing catalogue, shipped inside the package (package data) so that an
# installed alianza has it; examples/kits/catalogue.yaml in the source tree is a link to it.
EXAMPLE_CATALOGUE = Path(__file__).resolve().parent / "examples" / "catalogue.yaml"


class StrictModel(BaseModel):
    """Base: unknown fields are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class YieldDistribution(StrictModel):
    """Output of one kit unit per harvest, in the product's unit.

    Realised yield = ``mean * max(0, 1 + cv * z)`` with z a standard normal draw per farmer and
    season (and multiplied by any district shock factor).
    """

    mean: float = Field(ge=0, description="Expected output per harvest, in the product's unit.")
    cv: float = Field(
        default=0.3, ge=0, description="Coefficient of variation (standard deviation / mean)."
    )


class CreditTerms(StrictModel):
    """Credit that finances part of a kit's price, repaid from harvests in equal instalments.

    ``principal = financed_share * price``; total due ``= principal * (1 + interest_per_season *
    repayment_seasons)`` (flat interest), paid in ``repayment_seasons`` equal instalments
    starting the season after purchase.
    """

    kind: Literal["loan", "prepayment"] = Field(
        description="loan: a lender (savings group, MFI); prepayment: an off-taker pays in advance."
    )
    financed_share: float = Field(gt=0, le=1, description="Share of the kit price financed.")
    interest_per_season: float = Field(
        default=0.0, ge=0, le=1, description="Flat interest per season on the principal."
    )
    repayment_seasons: int = Field(ge=1, le=40, description="Number of equal instalments.")
    default_after_missed: int = Field(
        default=2,
        ge=1,
        description="Instalments missed in a row after which the rest is written off (default).",
    )
    lender: str | None = Field(default=None, description="Who provides it (free text).")


class SavingsGroup(StrictModel):
    """A savings group buying one unit of a kit together.

    Each of the ``members`` farmers pays price / members and owns a share: 1/members of the
    unit's output, operating cost, land and labour. The simulator offers the share as a kit of
    its own (id ``<kit>_group_share``) to farmers who cannot pay for the whole unit.
    """

    members: int = Field(ge=2, le=50, description="Farmers who buy one unit together.")


class Product(StrictModel):
    """A product a kit yields and how it is sold."""

    id: str = Field(pattern=KIT_ID_PATTERN)
    name: str = ""
    unit: str = Field(description="Unit of the yield, e.g. kg, tray of 30 eggs, bunch.")
    reference_price_usd: float = Field(
        gt=0, description="Farm-gate price per unit when the market is at its reference supply."
    )
    channel: Literal["local", "offtaker"] = Field(
        default="local",
        description="local: sold on the village market (price falls with supply); "
        "offtaker: contract price, unaffected by local supply.",
    )
    price_elasticity: float = Field(
        default=1.0,
        gt=0,
        description="Price elasticity of local demand (absolute value); price = reference * "
        "(supply / reference supply) ** (-1 / elasticity).",
    )
    floor_price_share: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="Local price never falls below this share of the reference price.",
    )


class Kit(StrictModel):
    """A packaged investment (equipment, inputs, advice) a farmer buys."""

    id: str = Field(pattern=KIT_ID_PATTERN, description="Short identifier used everywhere.")
    name: str = ""
    price_usd: float = Field(ge=0, description="Price paid for one unit, USD.")
    life_seasons: int = Field(ge=1, description="Seasons a unit produces before it wears out.")
    harvests_per_year: float = Field(gt=0, le=12, description="Harvests a year one unit gives.")
    seasons_to_first_harvest: int = Field(
        default=0, ge=0, description="Seasons after purchase before the first harvest."
    )
    product: str = Field(description="Id of the product it yields (see `products`).")
    yield_per_harvest: YieldDistribution
    operating_cost_usd_per_season: float = Field(
        default=0.0, ge=0, description="Inputs (seed, fertiliser, feed) per unit and season."
    )
    labour_days_per_season: float = Field(default=0.0, ge=0)
    land_m2: float = Field(default=0.0, ge=0, description="Land one unit occupies.")
    water_m3_per_season: float = Field(default=0.0, ge=0)
    prerequisites: list[str] = Field(
        default_factory=list, description="Kits that must be owned before this one can be bought."
    )
    replaces: str | None = Field(
        default=None, description="A smaller kit this upgrade supersedes (its units are retired)."
    )
    replaces_units: int = Field(
        default=1, ge=1, description="How many units of `replaces` one unit retires."
    )
    max_per_farmer: int = Field(default=1, ge=1, description="Cap on units one farmer may own.")
    drought_yield_factor: float = Field(
        default=0.5, ge=0, le=2, description="Yield multiplier in a drought season."
    )
    flood_yield_factor: float = Field(
        default=0.7, ge=0, le=2, description="Yield multiplier in a flood season."
    )
    credit: CreditTerms | None = None
    savings_group: SavingsGroup | None = Field(
        default=None,
        description="Whether a savings group may buy a unit together (each member a share).",
    )
    source: str | None = Field(default=None, description="Where the figures come from.")

    @model_validator(mode="after")
    def _group_purchase_is_simple(self) -> Kit:
        if self.savings_group is not None and (self.replaces is not None or self.credit):
            raise ValueError(Message("savings_group: not allowed with replaces or credit"))
        return self

    @property
    def short_name(self) -> str:
        """The name up to its first ' - ' or ' (' (the id when it has none): chart labels."""
        name = self.name or self.id
        for separator in (" - ", " ("):
            name = name.split(separator, 1)[0]
        return name.strip() or self.id


class Catalogue(StrictModel):
    """A programme's kit catalogue."""

    name: str
    source: str | None = Field(default=None, description="Citation for the figures.")
    currency: Literal["USD"] = "USD"
    seasons_per_year: int = Field(
        default=4, ge=1, le=12, description="Seasons a year; sets the length of one season."
    )
    products: list[Product] = Field(min_length=1)
    kits: list[Kit] = Field(min_length=1)

    def kit(self, kit_id: str) -> Kit:
        """The kit with this id (KeyError if absent)."""
        for kit in self.kits:
            if kit.id == kit_id:
                return kit
        raise KeyError(kit_id)

    def product(self, product_id: str) -> Product:
        """The product with this id (KeyError if absent)."""
        for product in self.products:
            if product.id == product_id:
                return product
        raise KeyError(product_id)

    @property
    def days_per_season(self) -> float:
        """Length of one season in days: 365 / seasons_per_year."""
        return 365.0 / self.seasons_per_year


class CatalogueError(ProblemError):
    """A catalogue (or scenario) is invalid; `problems` lists every problem found."""


def read_structured_file(path: Path, source: str | None = None, field: str = "(file)") -> Any:
    """Parse a YAML (.yaml/.yml) or JSON (.json) file into plain Python data; a file that
    cannot be read or parsed is a CatalogueError of `source`, naming `field`."""
    try:
        return read_yaml_or_json(path)
    except OSError as error:
        problem = Problem(
            field,
            Message("cannot read %(path)s: %(error)s", path=str(path), error=str(error.strerror)),
        )
    except PARSE_ERRORS as error:
        problem = Problem(field, Message("not valid YAML/JSON: %(error)s", error=str(error)))
    raise CatalogueError(source or str(path), [problem])


def _kit_label(raw_kits: list[Any], index: int) -> str:
    kit = raw_kits[index] if index < len(raw_kits) else None
    kit_id = kit.get("id") if isinstance(kit, Mapping) else None
    return f"kits[{index}] ({kit_id})" if kit_id else f"kits[{index}]"


def pydantic_problems(error: ValidationError, raw: Any, prefix: str = "") -> list[Problem]:
    """Turn pydantic's errors into `Problem`s with dotted paths; kits are labelled by id."""
    container = raw.get("catalogue", raw) if isinstance(raw, Mapping) else {}
    container = container if isinstance(container, Mapping) else {}
    raw_kits = container.get("kits", [])
    raw_kits = raw_kits if isinstance(raw_kits, list) else []
    problems = []
    for item in error.errors():
        parts: list[str] = []
        location = list(item["loc"])
        position = 0
        while position < len(location):
            part = location[position]
            if (
                part == "kits"
                and position + 1 < len(location)
                and isinstance(location[position + 1], int)
            ):
                parts.append(_kit_label(raw_kits, int(location[position + 1])))
                position += 2
                continue
            parts.append(f"[{part}]" if isinstance(part, int) else str(part))
            position += 1
        path = prefix + ".".join(parts).replace(".[", "[")
        problems.append(Problem(path or "(root)", _pydantic_message(item)))
    return problems


def _pydantic_message(item: Any) -> str:
    """A pydantic error's message in the catalogue's terms: a limit as ``must be >= 0``, a
    validator's own :class:`Message` as it raised it; any other as pydantic words it (the web
    says pydantic's messages in the reader's language by their pattern)."""
    message = str(item["msg"]).removeprefix("Value error, ")
    raised = (item.get("ctx") or {}).get("error")
    if isinstance(raised, ValueError) and raised.args and isinstance(raised.args[0], Message):
        return raised.args[0]
    if message.startswith("Input should be greater than or equal to"):
        return Message("must be >= %(limit)s", limit=_limit(message.rsplit(" ", 1)[-1]))
    if message.startswith("Input should be greater than"):
        return Message("must be > %(limit)s", limit=_limit(message.rsplit(" ", 1)[-1]))
    return message


def _limit(text: str) -> object:
    """A field's bound as pydantic's message writes it (``0``, ``0.5``), as a number where it
    is a plain one, so that it is written for the reader's locale (``0,5``)."""
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return Decimal(text)
    return text


def ladder_problems(raw: Any) -> list[Problem]:
    """Graph problems of a (possibly otherwise invalid) raw catalogue.

    Finds duplicate ids, unknown products, unknown prerequisites or `replaces`, prerequisite
    cycles, and kits that can never be bought because a prerequisite is unreachable.
    """
    if not isinstance(raw, Mapping):
        return []
    raw_kits = raw.get("kits")
    raw_products = raw.get("products")
    if not isinstance(raw_kits, list):
        return []
    product_ids = {
        p.get("id")
        for p in (raw_products if isinstance(raw_products, list) else [])
        if isinstance(p, Mapping)
    }
    problems: list[Problem] = []
    prerequisites: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    for index, kit in enumerate(raw_kits):
        if not isinstance(kit, Mapping) or not isinstance(kit.get("id"), str):
            continue
        kit_id = kit["id"]
        label = _kit_label(raw_kits, index)
        if kit_id in prerequisites:
            problems.append(
                Problem(f"{label}.id", Message("duplicate kit id '%(kit)s'", kit=kit_id))
            )
            continue
        labels[kit_id] = label
        needs = kit.get("prerequisites") or []
        prerequisites[kit_id] = (
            [n for n in needs if isinstance(n, str)] if isinstance(needs, list) else []
        )
        product = kit.get("product")
        if isinstance(product, str) and product not in product_ids:
            problems.append(
                Problem(
                    f"{label}.product", Message("unknown product '%(product)s'", product=product)
                )
            )
    for kit_id, needs in prerequisites.items():
        for position, need in enumerate(needs):
            if need not in prerequisites:
                problems.append(
                    Problem(
                        f"{labels[kit_id]}.prerequisites[{position}]",
                        Message("unknown kit '%(kit)s'", kit=need),
                    )
                )
            elif need == kit_id:
                problems.append(
                    Problem(
                        f"{labels[kit_id]}.prerequisites[{position}]",
                        Message("kit requires itself"),
                    )
                )
    for index, kit in enumerate(raw_kits):
        if isinstance(kit, Mapping) and isinstance(kit.get("replaces"), str):
            replaced = kit["replaces"]
            if replaced not in prerequisites:
                problems.append(
                    Problem(
                        f"{_kit_label(raw_kits, index)}.replaces",
                        Message("unknown kit '%(kit)s'", kit=replaced),
                    )
                )
            elif replaced == kit.get("id"):
                problems.append(
                    Problem(
                        f"{_kit_label(raw_kits, index)}.replaces", Message("kit replaces itself")
                    )
                )
    problems.extend(_cycle_and_reachability_problems(prerequisites, labels))
    return problems


def _cycle_and_reachability_problems(
    prerequisites: Mapping[str, list[str]], labels: Mapping[str, str]
) -> list[Problem]:
    problems: list[Problem] = []
    reported_cycles: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished

    def visit(kit_id: str, path: list[str]) -> None:
        state[kit_id] = 1
        path.append(kit_id)
        for need in prerequisites.get(kit_id, []):
            if need not in prerequisites or need == kit_id:
                continue
            if state.get(need) == 1:
                cycle = path[path.index(need) :] + [need]
                key = frozenset(cycle)
                if key not in reported_cycles:
                    reported_cycles.add(key)
                    problems.append(
                        Problem(
                            f"{labels[need]}.prerequisites",
                            Message("prerequisite cycle: %(cycle)s", cycle=" -> ".join(cycle)),
                        )
                    )
            elif need not in state:
                visit(need, path)
        path.pop()
        state[kit_id] = 2

    for kit_id in prerequisites:
        if kit_id not in state:
            visit(kit_id, [])
    in_cycle = {kit for cycle in reported_cycles for kit in cycle}
    reachable: set[str] = set()
    changed = True
    while changed:
        changed = False
        for kit_id, needs in prerequisites.items():
            if kit_id not in reachable and all(n in reachable for n in needs):
                reachable.add(kit_id)
                changed = True
    for kit_id in prerequisites:
        if kit_id not in reachable and kit_id not in in_cycle:
            blockers = [n for n in prerequisites[kit_id] if n not in reachable]
            problems.append(
                Problem(
                    f"{labels[kit_id]}.prerequisites",
                    Message(
                        "unreachable: no farmer can ever own %(kits)s",
                        kits=", ".join(repr(b) for b in blockers),
                    ),
                )
            )
    return problems


def validate_catalogue(raw: Any, source: str = "catalogue") -> Catalogue:
    """Validate plain data as a catalogue; raise `CatalogueError` with every problem found."""
    problems: list[Problem] = []
    catalogue: Catalogue | None = None
    try:
        catalogue = Catalogue.model_validate(raw)
    except ValidationError as error:
        problems.extend(pydantic_problems(error, raw))
    problems.extend(ladder_problems(raw))
    if problems or catalogue is None:
        raise CatalogueError(source, problems)
    return catalogue


def load_catalogue(path: str | Path) -> Catalogue:
    """Read and validate a catalogue file (YAML or JSON)."""
    file_path = Path(path)
    return validate_catalogue(read_structured_file(file_path), str(file_path))


def catalogue_json_schema() -> dict[str, Any]:
    """The JSON Schema of a catalogue file."""
    return Catalogue.model_json_schema()


def topological_kit_order(catalogue: Catalogue) -> list[str]:
    """Kit ids ordered so that every kit comes after its prerequisites (stable on ties)."""
    placed: list[str] = []
    remaining = [kit.id for kit in catalogue.kits]
    while remaining:
        for kit_id in remaining:
            if all(n in placed for n in catalogue.kit(kit_id).prerequisites):
                placed.append(kit_id)
                remaining.remove(kit_id)
                break
    return placed


def kit_ids(kits: Iterable[Kit]) -> list[str]:
    """The ids of these kits, in order."""
    return [kit.id for kit in kits]
