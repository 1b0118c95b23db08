"""Scenario file: catalogue + population + markets + reinvestment policy + shocks + outputs.

A scenario is a YAML or JSON file validated by the pydantic models below; `load_scenario`
resolves the catalogue (a path relative to the scenario file, or inline) and raises
`CatalogueError` with every problem (field path and reason) at once.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from alianza.impact.poverty import POVERTY_LINES, CountryConversion, country_conversions
from alianza.ladder.catalogue import (
    Catalogue,
    CatalogueError,
    Problem,
    StrictModel,
    ladder_problems,
    pydantic_problems,
    read_structured_file,
)
from alianza.problems import Message


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
    """Multipliers on the starting cash, land and other income drawn for farmers of a group."""

    cash: float = Field(default=1.0, ge=0)
    land: float = Field(default=1.0, ge=0)
    other_income: float = Field(default=1.0, ge=0)


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
    other_income_usd_per_season: Distribution = Field(
        default=Distribution(distribution="constant", value=0.0),
        description="The household's income a season outside the kits (farming outside them, "
        "off-farm work, transfers), USD; drawn once per farmer (floored at 0).",
    )
    female_share: float = Field(default=0.5, ge=0, le=1)
    youth_share: float = Field(default=0.3, ge=0, le=1)
    minority_share: float = Field(default=0.1, ge=0, le=1)
    group_factors: dict[GroupName, GroupFactors] = Field(
        default_factory=dict,
        description="Starting cash, land and other income of female, young or minority "
        "farmers relative to the others (multipliers, applied one after another to members of "
        "several groups).",
    )
    district_names: list[str] = Field(
        default_factory=list,
        description="One name per district, in order (default: District 1, District 2, ...).",
    )
    market_names: list[str] = Field(
        default_factory=list,
        description="One name per market, district by district (default: '<district> market "
        "1', ...).",
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
    other_income_saved_share: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of the household's other income put aside each season towards kits "
        "(the rest is consumed outside the model).",
    )
    labour_days_per_person_season: float = Field(
        default=45.0, gt=0, description="Household labour available per person and season."
    )

    @model_validator(mode="after")
    def _shares_fit(self) -> Policy:
        if self.consumption_share + self.savings_share > 1:
            raise ValueError(Message("consumption_share + savings_share must be <= 1"))
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


class Money(StrictModel):
    """The scenario's country and currencies: what converts market dollars to PPP dollars.

    Kit prices and incomes are simulated in US dollars at market rates (the catalogue's
    currency); poverty lines are in PPP dollars. PPP $ = US$ x exchange_rate / ppp_factor.
    Fields left out are taken from the country's defaults (`alianza/impact/countries.yaml`).
    """

    country: str | None = Field(
        default=None,
        description="ISO 3166-1 alpha-3 code whose defaults fill the fields below "
        "(TZA, MWI, HND, BOL, COL are shipped).",
    )
    currency: str | None = Field(
        default=None, description="The local currency (ISO 4217 code, e.g. TZS)."
    )
    exchange_rate: float | None = Field(
        default=None, gt=0, description="Market exchange rate, local currency per US dollar."
    )
    ppp_factor: float | None = Field(
        default=None,
        gt=0,
        description="PPP conversion factor, private consumption: local currency per "
        "international dollar (WDI PA.NUS.PRVT.PP).",
    )
    ppp_year: int | None = Field(
        default=None, description="PPP base year of ppp_factor (default 2021, or the country's)."
    )


class Conversion(StrictModel):
    """The resolved money section: every field known, and where it came from."""

    country: str | None
    currency: str
    exchange_rate: float
    ppp_factor: float
    ppp_year: int
    source: str
    stated: bool  # False: the scenario gave neither a country nor a PPP factor (1:1 assumed)

    @property
    def ppp_per_usd(self) -> float:
        """International (PPP) dollars one market US dollar buys: exchange_rate / ppp_factor."""
        return self.exchange_rate / self.ppp_factor


PovertyLineName = Literal[
    "international", "lower_middle_income", "upper_middle_income", "international_2017"
]


class Outputs(StrictModel):
    """Thresholds used in the reported indicators."""

    poverty_line: PovertyLineName = Field(
        default="international",
        description="World Bank line: international ($3.00 a person a day, 2021 PPP), "
        "lower_middle_income ($4.20), upper_middle_income ($8.30); international_2017 ($2.15, "
        "2017 PPP: legacy, needs a 2017 PPP factor).",
    )
    poverty_line_ppp_per_person_day: float | None = Field(
        default=None,
        gt=0,
        description="A line of your own, PPP dollars a person a day (overrides poverty_line).",
    )
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
    start_date: datetime.date | None = Field(
        default=None, description="First day of season 1 (gives every season a calendar label)."
    )
    money: Money = Money()
    population: Population = Population()
    markets: Markets = Markets()
    policy: Policy = Policy()
    shocks: Shocks = Shocks()
    outputs: Outputs = Outputs()

    @property
    def market_count(self) -> int:
        """Number of local markets: districts x markets_per_district."""
        return self.population.districts * self.population.markets_per_district

    def conversion(self) -> Conversion:
        """The money section with the country's defaults filled in (see `Money`)."""
        money = self.money
        defaults: CountryConversion | None = None
        if money.country is not None:
            defaults = country_conversions().get(money.country.upper())
            if defaults is None:
                raise ValueError(f"money.country: no defaults for {money.country!r}")
        if defaults is None and money.ppp_factor is None:
            return Conversion(
                country=None,
                currency=money.currency or "USD",
                exchange_rate=money.exchange_rate or 1.0,
                ppp_factor=money.exchange_rate or 1.0,
                ppp_year=money.ppp_year or 2021,
                source="not stated: one market dollar counted as one PPP dollar",
                stated=False,
            )
        exchange = money.exchange_rate or (defaults.exchange_rate if defaults else None)
        source_parts = []
        if defaults is not None:
            source_parts.append(
                f"defaults for {defaults.name} (alianza/impact/countries.yaml"
                + (", unverified" if not defaults.verified else "")
                + ")"
            )
        if money.ppp_factor is not None or money.exchange_rate is not None:
            source_parts.append("figures stated in the scenario")
        return Conversion(
            country=defaults.iso3 if defaults else money.country,
            currency=money.currency or (defaults.currency if defaults else "USD"),
            exchange_rate=exchange if exchange is not None else 1.0,
            ppp_factor=money.ppp_factor or (defaults.ppp_factor if defaults else 1.0),
            ppp_year=money.ppp_year or (defaults.ppp_year if defaults else 2021),
            source="; ".join(source_parts),
            stated=True,
        )

    def poverty_line_ppp(self) -> float:
        """The poverty line in PPP dollars a person a day."""
        custom = self.outputs.poverty_line_ppp_per_person_day
        if custom is not None:
            return custom
        return POVERTY_LINES[self.outputs.poverty_line].dollars_per_person_day

    def poverty_line_usd_per_person_day(self) -> float:
        """The poverty line in market US dollars a person a day: PPP line / ppp_per_usd."""
        return self.poverty_line_ppp() / self.conversion().ppp_per_usd

    def district_name(self, district: int) -> str:
        """The name of district `district` (0-based index)."""
        names = self.population.district_names
        return names[district] if names else f"District {district + 1}"

    def market_name(self, market: int) -> str:
        """The name of market `market` (0-based index)."""
        names = self.population.market_names
        if names:
            return names[market]
        per_district = self.population.markets_per_district
        district, position = divmod(market, per_district)
        return f"{self.district_name(district)} market {position + 1}"

    def season_start(self, season: int) -> datetime.date | None:
        """First day of season `season` (numbered from 1), if the scenario has a start date."""
        if self.start_date is None:
            return None
        offset = (season - 1) * self.catalogue.days_per_season
        return self.start_date + datetime.timedelta(days=int(offset))

    def season_label(self, season: int) -> str:
        """'Season 3', or 'Season 3 (Jul 2026)' when the scenario has a start date."""
        start = self.season_start(season)
        return f"Season {season}" if start is None else f"Season {season} ({start:%b %Y})"


def validate_scenario(raw: Any, base_dir: Path, source: str = "scenario") -> Scenario:
    """Validate plain data as a scenario; the catalogue may be a path relative to base_dir."""
    problems: list[Problem] = []
    if isinstance(raw, dict) and isinstance(raw.get("catalogue"), str):
        catalogue_path = (base_dir / raw["catalogue"]).resolve()
        raw = {**raw, "catalogue": read_structured_file(catalogue_path, source, "catalogue")}
    if isinstance(raw, dict):
        raw, replaced = _without_replaced_fields(raw)
        problems.extend(replaced)
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
    if scenario is not None:
        problems.extend(consistency_problems(scenario))
    if problems or scenario is None:
        raise CatalogueError(source, problems)
    return scenario


REPLACED_FIELDS = {
    ("outputs", "poverty_line_usd_per_person_day"): Message(
        "replaced: poverty lines are in PPP dollars now; set outputs.poverty_line (default "
        "international, $3.00 2021 PPP) and money.country or money.ppp_factor (see "
        "docs/simulation.md)"
    ),
}


def _without_replaced_fields(raw: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The raw scenario without fields of an earlier format, and a problem for each one."""
    problems = []
    for (section, name), message in REPLACED_FIELDS.items():
        part = raw.get(section)
        if isinstance(part, dict) and name in part:
            problems.append(Problem(f"{section}.{name}", message))
            raw = {**raw, section: {k: v for k, v in part.items() if k != name}}
    return raw, problems


def consistency_problems(scenario: Scenario) -> list[Problem]:
    """Problems only the whole scenario shows: names per district and market, the country,
    and a poverty line of another PPP base year than the conversion factor."""
    problems = []
    population = scenario.population
    for field, names, count in (
        ("district_names", population.district_names, population.districts),
        ("market_names", population.market_names, scenario.market_count),
    ):
        if names and len(names) != count:
            one_per = (
                Message(
                    "must list one name per district (%(count)s), got %(given)s",
                    count=count,
                    given=len(names),
                )
                if field == "district_names"
                else Message(
                    "must list one name per market (%(count)s), got %(given)s",
                    count=count,
                    given=len(names),
                )
            )
            problems.append(Problem(f"population.{field}", one_per))
        elif len(set(names)) != len(names):
            problems.append(Problem(f"population.{field}", Message("names must be distinct")))
    kit_ids = {kit.id for kit in scenario.catalogue.kits}
    for index, kit in enumerate(scenario.catalogue.kits):
        if kit.savings_group is not None and kit.id + "_group_share" in kit_ids:
            problems.append(
                Problem(
                    f"catalogue.kits[{index}] ({kit.id}).savings_group",
                    Message(
                        "its share would be named %(share)s, the id of another kit",
                        share=kit.id + "_group_share",
                    ),
                )
            )
    money = scenario.money
    if money.country is not None and money.country.upper() not in country_conversions():
        known = ", ".join(sorted(country_conversions()))
        problems.append(
            Problem(
                "money.country",
                Message(
                    "no defaults for '%(country)s' (shipped: %(known)s); "
                    "state money.ppp_factor and money.exchange_rate instead",
                    country=money.country,
                    known=known,
                ),
            )
        )
        return problems
    if (
        money.country is None
        and money.ppp_factor is not None
        and money.exchange_rate is None
        and (money.currency or "USD").upper() != "USD"
    ):
        problems.append(
            Problem(
                "money.exchange_rate",
                Message(
                    "needed with ppp_factor when no country is given (local currency per US dollar)"
                ),
            )
        )
    if money.ppp_year is not None and money.ppp_factor is None:
        default_year = 2021
        if money.country is not None:
            default_year = country_conversions()[money.country.upper()].ppp_year
        if money.ppp_year != default_year:
            problems.append(
                Problem(
                    "money.ppp_factor",
                    Message(
                        "needed with ppp_year %(year)s: the default factor is of %(default_year)s",
                        year=money.ppp_year,
                        default_year=default_year,
                    ),
                )
            )
    conversion = scenario.conversion()
    if scenario.outputs.poverty_line_ppp_per_person_day is None:
        line = POVERTY_LINES[scenario.outputs.poverty_line]
        if conversion.stated and line.ppp_year != conversion.ppp_year:
            problems.append(
                Problem(
                    "outputs.poverty_line",
                    Message(
                        "the %(line)s line is in %(line_year)s PPP dollars but the PPP factor "
                        "is of %(factor_year)s: state money.ppp_factor and money.ppp_year "
                        "of %(line_year)s",
                        line=line.name,
                        line_year=line.ppp_year,
                        factor_year=conversion.ppp_year,
                    ),
                )
            )
    return problems


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
            problems.append(Problem(f"population.starting_kits.{kit_id}", Message("unknown kit")))
    markets = section(raw.get("markets"))
    for product_id in section(markets.get("reference_supply_per_farmer")):
        if product_id not in product_ids:
            problems.append(
                Problem(
                    f"markets.reference_supply_per_farmer.{product_id}", Message("unknown product")
                )
            )
    for index, kit in enumerate(kits):
        delay, life = kit.get("seasons_to_first_harvest", 0), kit.get("life_seasons")
        if isinstance(delay, int) and isinstance(life, int) and delay >= life:
            problems.append(
                Problem(
                    f"catalogue.kits[{index}] ({kit.get('id')}).seasons_to_first_harvest",
                    Message("must be < life_seasons"),
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
