"""Scenario file: catalogue + population + markets + reinvestment policy + shocks + outputs.

A scenario is a YAML or JSON file validated by the pydantic models below; `load_scenario`
resolves the catalogue (a path relative to the scenario file, or inline) and raises
`CatalogueError` with every problem (field path and reason) at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from alianza.ladder.catalogue import (
    Catalogue,
    CatalogueError,
    Problem,
    StrictModel,
    ladder_problems,
    pydantic_problems,
    read_structured_file,
)


class Distribution(StrictModel):
    """A distribution of a farmer attribute at the start.

    constant: ``value``; lognormal: ``median * exp(sigma * z)``; uniform: between ``low`` and
    ``high``; poisson_plus_one: ``1 + Poisson(mean - 1)`` (household sizes).
    """

    distribution: Literal["constant", "lognormal", "uniform", "poisson_plus_one"] = "constant"
    value: float = 0.0
    median: float = Field(default=1.0, gt=0)
    sigma: float = Field(default=0.0, ge=0)
    low: float = 0.0
    high: float = 0.0
    mean: float = Field(default=5.0, ge=1)


GroupName = Literal["female", "youth", "minority"]


class GroupFactors(StrictModel):
    """Multipliers on the starting cash and land drawn for farmers of a group."""

    cash: float = Field(default=1.0, ge=0)
    land: float = Field(default=1.0, ge=0)


class Population(StrictModel):
    """Who the farmers are and where they live."""

    farmers: int = Field(default=10_000, ge=1, description="Number of farmers.")
    districts: int = Field(default=1, ge=1, description="Number of districts.")
    markets_per_district: int = Field(default=1, ge=1, description="Local markets per district.")
    district_spacing_km: float = Field(
        default=50.0, gt=0, description="Districts lie on a line this far apart (for shocks)."
    )
    starting_cash_usd: Distribution = Distribution(distribution="constant", value=10.0)
    land_m2: Distribution = Distribution(distribution="constant", value=2000.0)
    household_size: Distribution = Distribution(distribution="constant", value=5.0)
    female_share: float = Field(default=0.5, ge=0, le=1)
    youth_share: float = Field(default=0.3, ge=0, le=1)
    minority_share: float = Field(default=0.1, ge=0, le=1)
    group_factors: dict[GroupName, GroupFactors] = Field(
        default_factory=dict,
        description="Starting cash and land of female, young or minority farmers relative to "
        "the others (multipliers, applied one after another to members of several groups).",
    )
    starting_kits: dict[str, int] = Field(
        default_factory=dict, description="Kit units every farmer owns at the start (new)."
    )
    file: str | None = Field(
        default=None,
        description="CSV or Parquet file of farmers (overrides the generated population).",
    )


class Markets(StrictModel):
    """Local markets: how much of each product a market absorbs at the reference price."""

    reference_supply_per_farmer: dict[str, float] = Field(
        default_factory=dict,
        description="Per product: units a season one market absorbs at the reference price, per "
        "farmer of that market. Products without an entry have unlimited demand.",
    )


PurchaseClass = Literal["more_of_same", "diversify", "upgrade"]
DEFAULT_ORDER: tuple[PurchaseClass, ...] = ("more_of_same", "diversify", "upgrade")


class Policy(StrictModel):
    """How farmers use their kit income each season."""

    subsistence_usd_per_person_day: float = Field(
        default=0.0, ge=0, description="Household need met first out of positive kit income."
    )
    consumption_share: float = Field(
        default=0.3, ge=0, le=1, description="Share of income beyond the need that is consumed."
    )
    savings_share: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of income beyond the need put in savings "
        "(kept as cash, not used to buy kits).",
    )
    max_purchases_per_season: int = Field(default=1, ge=0, le=10)
    absorb_price_share: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="A local market 'absorbs' more of a product while last season's price is at "
        "least this share of its reference price.",
    )
    order: list[PurchaseClass] = Field(
        default_factory=lambda: list(DEFAULT_ORDER),
        description="Which kind of purchase is preferred first.",
    )
    use_credit: bool = True
    labour_days_per_person_season: float = Field(
        default=45.0, gt=0, description="Household labour available per person and season."
    )

    @model_validator(mode="after")
    def _shares_fit(self) -> Policy:
        if self.consumption_share + self.savings_share > 1:
            raise ValueError("consumption_share + savings_share must be <= 1")
        return self


class Shocks(StrictModel):
    """Weather and price shocks."""

    drought_probability: float = Field(default=0.0, ge=0, lt=1)
    flood_probability: float = Field(default=0.0, ge=0, lt=1)
    correlation_length_km: float = Field(
        default=100.0, gt=0, description="corr(district i, j) = exp(-distance / this length)."
    )
    price_shock_sd: float = Field(
        default=0.0, ge=0, description="Std. dev. of the log of the national price factor."
    )
    yield_noise: bool = Field(default=True, description="Farmer-level yield noise (kit cv).")


class Outputs(StrictModel):
    """Thresholds used in the reported indicators."""

    poverty_line_usd_per_person_day: float = Field(default=2.15, gt=0)
    commercial_threshold_usd_per_day: float = Field(
        default=20.0,
        gt=0,
        description="Household kit income a day at which a farm counts as commercial.",
    )


class Scenario(StrictModel):
    """One simulation: who, what, how, for how long."""

    name: str
    description: str = ""
    catalogue: Catalogue
    seed: int = Field(default=0, ge=0)
    seasons: int = Field(default=20, ge=1, le=400)
    population: Population = Population()
    markets: Markets = Markets()
    policy: Policy = Policy()
    shocks: Shocks = Shocks()
    outputs: Outputs = Outputs()

    @property
    def market_count(self) -> int:
        """Number of local markets: districts x markets_per_district."""
        return self.population.districts * self.population.markets_per_district


def validate_scenario(raw: Any, base_dir: Path, source: str = "scenario") -> Scenario:
    """Validate plain data as a scenario; the catalogue may be a path relative to base_dir."""
    problems: list[Problem] = []
    if isinstance(raw, dict) and isinstance(raw.get("catalogue"), str):
        catalogue_path = (base_dir / raw["catalogue"]).resolve()
        raw = {**raw, "catalogue": read_structured_file(catalogue_path, source, "catalogue")}
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as error:
        for problem in pydantic_problems(error, raw):
            problems.append(problem)
    if isinstance(raw, dict):
        problems.extend(
            Problem("catalogue." + p.field, p.message)
            for p in ladder_problems(raw.get("catalogue"))
        )
        problems.extend(reference_problems(raw))
    if problems or scenario is None:
        raise CatalogueError(source, problems)
    return scenario


def reference_problems(raw: dict[str, Any]) -> list[Problem]:
    """Names the scenario uses that its catalogue does not define, and impossible kit timing."""

    def section(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    catalogue = section(raw.get("catalogue"))
    kits = [k for k in catalogue.get("kits") or [] if isinstance(k, dict)]
    products = [p for p in catalogue.get("products") or [] if isinstance(p, dict)]
    kit_ids = {kit.get("id") for kit in kits}
    product_ids = {product.get("id") for product in products}
    problems = []
    population = section(raw.get("population"))
    for kit_id in section(population.get("starting_kits")):
        if kit_id not in kit_ids:
            problems.append(Problem(f"population.starting_kits.{kit_id}", "unknown kit"))
    markets = section(raw.get("markets"))
    for product_id in section(markets.get("reference_supply_per_farmer")):
        if product_id not in product_ids:
            problems.append(
                Problem(f"markets.reference_supply_per_farmer.{product_id}", "unknown product")
            )
    for index, kit in enumerate(kits):
        delay, life = kit.get("seasons_to_first_harvest", 0), kit.get("life_seasons")
        if isinstance(delay, int) and isinstance(life, int) and delay >= life:
            problems.append(
                Problem(
                    f"catalogue.kits[{index}] ({kit.get('id')}).seasons_to_first_harvest",
                    "must be < life_seasons",
                )
            )
    return problems


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (YAML or JSON)."""
    file_path = Path(path)
    scenario = validate_scenario(read_structured_file(file_path), file_path.parent, str(file_path))
    if scenario.population.file is not None:
        resolved = (file_path.parent / scenario.population.file).resolve()
        population = scenario.population.model_copy(update={"file": str(resolved)})
        scenario = scenario.model_copy(update={"population": population})
    return scenario


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (catalogue inline)."""
    return Scenario.model_json_schema()


def with_overrides(
    scenario: Scenario,
    farmers: int | None = None,
    seasons: int | None = None,
    seed: int | None = None,
) -> Scenario:
    """A copy of the scenario with the command line's overrides applied."""
    update: dict[str, Any] = {}
    if seasons is not None:
        update["seasons"] = seasons
    if seed is not None:
        update["seed"] = seed
    if farmers is not None:
        update["population"] = scenario.population.model_copy(update={"farmers": farmers})
    return scenario.model_copy(update=update)
