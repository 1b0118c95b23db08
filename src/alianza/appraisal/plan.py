"""The business-plan format (version 1): pydantic models, loading and error reporting.

A plan is either a *profile* (one typical year at full production, no financing) or a
*project* (a horizon of `years`, with working capital, loans and, optionally, the
without-project situation whose flows are subtracted to appraise the increment).
Money is in the plan's currency at constant prices. `docs/plan-format.md` documents
every field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from alianza.documents import PARSE_ERRORS, read_yaml_or_json

FORMAT_VERSION = 1

NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Rate = Annotated[float, Field(gt=-1)]
Year = Annotated[int, Field(ge=1)]

# A calendar entry: a whole month 1..12, or half a month written "3a" (first half of
# March) or "3b" (second half), as RuralInvest marks them.
_HALF_MONTH = re.compile(r"^(1[0-2]|[1-9])([ab])$")
CalendarEntry = int | str


class Strict(BaseModel):
    """Base of every plan model: unknown fields are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def part_within(part: float, whole: float, name: str) -> None:
    """Refuse a part (own use, unpaid labour, in kind) larger than its quantity."""
    if part > whole:
        raise ValueError(f"{name}: cannot exceed the quantity")


class Investment(Strict):
    """An item bought for the project: a good with a useful life, or labour or a service
    spent once in its year."""

    item: str
    kind: Literal["asset", "labour", "service"] = "asset"
    unit: str = ""
    quantity: NonNegative
    unit_cost: NonNegative
    life_years: int | None = Field(default=None, description="useful life of an asset, years")
    maintenance: NonNegative = Field(0.0, description="per unit and year of use")
    salvage: NonNegative = Field(0.0, description="per unit, at the end of its life")
    replace: bool = Field(True, description="bought again at the end of each life")
    begin: Year = Field(
        1,
        validation_alias=AliasChoices("begin", "start_year", "year"),
        description="year of operation in which it is bought",
    )
    own_contribution: NonNegative = 0.0
    grant: NonNegative = 0.0
    grants: dict[str, NonNegative] = Field(
        default_factory=dict, description="grants by donor, added to `grant`"
    )

    @property
    def cost(self) -> float:
        return self.quantity * self.unit_cost

    @property
    def total_grant(self) -> float:
        return self.grant + sum(self.grants.values())

    @model_validator(mode="after")
    def _check(self) -> Investment:
        if self.kind == "asset":
            if self.life_years is None:
                raise ValueError("life_years: an asset needs its useful life (> 0)")
            if self.life_years <= 0:
                raise ValueError("life_years: must be > 0")
            if self.salvage > self.unit_cost:
                raise ValueError("salvage: cannot exceed unit_cost")
        elif self.life_years is not None or self.maintenance or self.salvage:
            raise ValueError(
                f"a {self.kind} item is spent once: life_years, maintenance and salvage "
                "apply to assets only"
            )
        funded = self.own_contribution + self.total_grant
        # Unit costs are often rounded from a total (80 days at 3.57 for 285.71): allow 1%.
        if funded > self.cost * 1.01 + 0.005:
            raise ValueError(
                f"own_contribution + grants ({funded:.2f}) exceed the item's cost ({self.cost:.2f})"
            )
        return self


QuantityByYear = NonNegative | list[NonNegative]


class GeneralCost(Strict):
    """A cost of running the enterprise as a whole, every year of operation."""

    item: str
    unit: str = ""
    quantity: QuantityByYear = Field(
        description="per year; a list gives it by year of operation, the last value repeating"
    )
    unit_cost: NonNegative
    staff: bool = Field(False, description="counts towards employment")
    in_kind: NonNegative = Field(0.0, description="part of the quantity given in kind, not paid")
    in_kind_amount: QuantityByYear = Field(
        0.0,
        description="money a year given in kind (not paid); a list gives it by year of operation",
    )

    @field_validator("quantity", "in_kind_amount")
    @classmethod
    def _not_empty(cls, value: QuantityByYear) -> QuantityByYear:
        if isinstance(value, list) and not value:
            raise ValueError("give at least one value")
        return value

    @model_validator(mode="after")
    def _in_kind_within_cost(self) -> GeneralCost:
        quantities, amounts = _as_list(self.quantity), _as_list(self.in_kind_amount)
        part_within(self.in_kind, min(quantities), "in_kind")
        # Compare year by year, the shorter list's last value repeating.
        for year in range(max(len(quantities), len(amounts))):
            quantity = quantities[min(year, len(quantities) - 1)]
            amount = amounts[min(year, len(amounts) - 1)]
            cash = (quantity - self.in_kind) * self.unit_cost
            if amount > cash + 0.005:
                raise ValueError(
                    f"in_kind_amount: {amount:.2f} in year {year + 1} exceeds the cost not "
                    f"already given in kind ({cash:.2f})"
                )
        return self


def _as_list(value: QuantityByYear) -> list[float]:
    return list(value) if isinstance(value, list) else [value]


class IncomeLine(Strict):
    item: str
    unit: str = ""
    quantity: NonNegative = Field(description="per activity unit")
    price: NonNegative
    transport: NonNegative = Field(0.0, description="cost of taking one unit to market")
    own_use: NonNegative = Field(0.0, description="part of the quantity not sold")

    @model_validator(mode="after")
    def _own_use_within_quantity(self) -> IncomeLine:
        part_within(self.own_use, self.quantity, "own_use")
        return self


class InputLine(Strict):
    item: str
    unit: str = ""
    quantity: NonNegative = Field(description="per activity unit")
    price: NonNegative
    transport: NonNegative = 0.0
    in_kind: NonNegative = Field(
        0.0, description="part of the quantity supplied in kind (not bought with cash)"
    )

    @model_validator(mode="after")
    def _in_kind_within_quantity(self) -> InputLine:
        part_within(self.in_kind, self.quantity, "in_kind")
        return self


class LabourLine(Strict):
    item: str
    unit: str = "day"
    quantity: NonNegative = Field(description="per activity unit")
    wage: NonNegative
    unpaid: NonNegative = Field(0.0, description="part of the quantity not paid in cash")

    @model_validator(mode="after")
    def _unpaid_within_quantity(self) -> LabourLine:
        part_within(self.unpaid, self.quantity, "unpaid")
        return self


NO_MONTH = "none"
# A calendar list, or "none": the amount moves in no month (it stays out of the working
# capital), said explicitly so that an empty list left by mistake is still an error.
CalendarMonths = list[CalendarEntry] | Literal["none"]


def month_of(entry: CalendarEntry) -> int:
    """The month 1..12 of a calendar entry (3, "3a" and "3b" are all March)."""
    return entry if isinstance(entry, int) else int(entry[:-1])


class Calendar(Strict):
    """Months (1..12, or half months "3a"/"3b") in which an activity's money moves. Each
    year's amount is shared over the half months marked, a whole month weighing two
    halves. A missing list means all twelve months; "none" means no month."""

    inputs: CalendarMonths | None = None
    transport: CalendarMonths | None = None
    sales: CalendarMonths | None = None

    @field_validator("inputs", "transport", "sales")
    @classmethod
    def _valid_entries(cls, value: CalendarMonths | None) -> CalendarMonths | None:
        if value is None or value == NO_MONTH:
            return value
        if not value:
            raise ValueError(
                f"list at least one month, write {NO_MONTH!r} for no month, or leave the "
                "list out for all twelve"
            )
        halves: list[str] = []
        for entry in value:
            if isinstance(entry, bool) or (isinstance(entry, int) and not 1 <= entry <= 12):
                raise ValueError(f"{entry!r} is not a month 1..12")
            if isinstance(entry, str) and not _HALF_MONTH.match(entry):
                raise ValueError(f"{entry!r} is not a month 1..12 or a half month like '3a'")
            month = month_of(entry)
            halves += [f"{month}a", f"{month}b"] if isinstance(entry, int) else [entry]
        repeated = sorted({half for half in halves if halves.count(half) > 1})
        if repeated:
            raise ValueError(f"a month or half month is listed twice: {', '.join(repeated)}")
        return value


class Activity(Strict):
    """A line of production: `production` activity units per cycle, by year of operation
    (the last value repeating), `cycles_per_year` cycles a year."""

    name: str
    unit: str = ""
    cycles_per_year: Positive = 1
    production: list[NonNegative] = Field(min_length=1)
    calendar: Calendar = Calendar()
    income: list[IncomeLine] = Field(default_factory=list)
    inputs: list[InputLine] = Field(default_factory=list)
    labour: list[LabourLine] = Field(default_factory=list)


class WorkingCapital(Strict):
    grant: NonNegative = 0.0
    own: NonNegative = 0.0
    interest_rate: NonNegative = Field(0.0, description="nominal; real = nominal - inflation")


class Loan(Strict):
    name: str = "Loan"
    amount: Positive
    interest_rate: NonNegative
    years: Annotated[int, Field(ge=1)]
    grace_principal_years: Annotated[int, Field(ge=0)] = 0
    grace_interest_years: Annotated[int, Field(ge=0)] = 0
    first_year: Year = 1

    @model_validator(mode="after")
    def _grace_within_term(self) -> Loan:
        if max(self.grace_principal_years, self.grace_interest_years) >= self.years:
            raise ValueError("grace periods must end before the loan's last year")
        return self


class BeneficiaryGroup(Strict):
    men: Annotated[int, Field(ge=0)] = 0
    women: Annotated[int, Field(ge=0)] = 0
    children: Annotated[int, Field(ge=0)] = 0
    youth: Annotated[int, Field(ge=0)] = Field(0, description="of the above, aged 15-35")
    indigenous: Annotated[int, Field(ge=0)] = Field(
        0, description="of the above, indigenous or minority"
    )

    @property
    def total(self) -> int:
        return self.men + self.women + self.children

    @model_validator(mode="after")
    def _subsets_within_total(self) -> BeneficiaryGroup:
        for name in ("youth", "indigenous"):
            if getattr(self, name) > self.total:
                raise ValueError(f"{name}: cannot exceed men + women + children")
        return self


class Beneficiaries(Strict):
    total: Annotated[int, Field(ge=0)] | None = Field(
        None, description="when men, women and children are not given apart"
    )
    direct: BeneficiaryGroup | None = None
    indirect: BeneficiaryGroup | None = None

    @property
    def direct_total(self) -> int:
        if self.direct is not None:
            return self.direct.total
        return self.total or 0

    @property
    def indirect_total(self) -> int:
        return self.indirect.total if self.indirect is not None else 0


class SituationWorkingCapital(Strict):
    grant: NonNegative = Field(0.0, description="working-capital grant the applicants get anyway")


class Situation(Strict):
    """The enterprise without the project: what the applicants would invest, spend and
    produce anyway. Its flows are subtracted from the project's, and its grants from the
    grants given back to the applicant."""

    investments: list[Investment] = Field(default_factory=list)
    general_costs: list[GeneralCost] = Field(default_factory=list)
    activities: list[Activity] = Field(default_factory=list)
    working_capital: SituationWorkingCapital = SituationWorkingCapital()


class Plan(Strict):
    """A business plan in alianza's plan format, version 1."""

    plan: Literal[1] = Field(description="format version")
    stage: Literal["profile", "project"] = "project"
    name: str
    currency: str = Field(min_length=3, max_length=3)
    years: Annotated[int, Field(ge=1, le=100)] | None = Field(
        None, description="horizon of the analysis, years of operation (projects)"
    )
    discount_rate: Rate | None = Field(None, description="real, per year (projects)")
    inflation: NonNegative = 0.0
    beneficiaries: Beneficiaries = Beneficiaries()
    investments: list[Investment] = Field(default_factory=list)
    general_costs: list[GeneralCost] = Field(default_factory=list)
    activities: list[Activity]
    working_capital: WorkingCapital = WorkingCapital()
    loans: list[Loan] = Field(default_factory=list)
    without_project: Situation | None = None

    @field_validator("years", mode="before")
    @classmethod
    def _horizon_positive(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
            raise ValueError("the horizon must be at least 1 year")
        return value

    @model_validator(mode="after")
    def _appraisable(self) -> Plan:
        if not self.activities:
            raise ValueError("activities: a plan needs at least one activity to appraise")
        if self.stage == "project":
            if self.years is None:
                raise ValueError("years: a project needs its horizon (years of operation)")
            late = [
                f"investments[{i}] begins in year {item.begin}"
                for i, item in enumerate(self.investments)
                if item.begin > self.years
            ]
            if late:
                raise ValueError("; ".join(late) + f", after the horizon of {self.years} years")
        elif self.loans or self.without_project is not None:
            raise ValueError("a profile has no loans and no without-project situation")
        return self

    @property
    def horizon(self) -> int:
        """Years of operation analysed: the plan's `years`, or 1 for a profile."""
        return self.years if self.stage == "project" and self.years else 1


class PlanError(ValueError):
    """A plan file that cannot be read or validated; `errors` lists every problem as
    (field path, reason)."""

    def __init__(self, source: str, errors: list[tuple[str, str]]):
        self.source = source
        self.errors = errors
        lines = "\n".join(
            f"  {path}: {reason}" if path else f"  {reason}" for path, reason in errors
        )
        super().__init__(f"{source}: {len(errors)} problem(s)\n{lines}")


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _reason(error: Any) -> str:
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def errors_of(exc: ValidationError) -> list[tuple[str, str]]:
    """The (field path, reason) pairs of a pydantic validation error, in a reader's terms.

    A reason naming its own sub-field ("life_years: must be > 0") is attached to it."""
    errors = []
    for error in exc.errors():
        # Union members repeat the same location with their tag; keep the path readable.
        location = tuple(
            part for part in error["loc"] if not (isinstance(part, str) and "[" in part)
        )
        path, reason = _field_path(location), _reason(error)
        head, sep, rest = reason.partition(": ")
        if sep and re.fullmatch(r"[a-z_]+", head):
            path, reason = f"{path}.{head}" if path else head, rest
        errors.append((path, reason))
    # One mistake can fail several union members with the same message; report it once.
    return list(dict.fromkeys(errors))


def parse_plan(data: Any, source: str = "plan") -> Plan:
    """Validate a plan given as a mapping; every problem is reported at once."""
    if not isinstance(data, dict):
        raise PlanError(source, [("", "a plan is a mapping of fields (see docs/plan-format.md)")])
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(source, errors_of(exc)) from None


def read_document(path: str | Path) -> Any:
    """The data of a YAML or JSON file (JSON is read as JSON, anything else as YAML)."""
    path = Path(path)
    try:
        return read_yaml_or_json(path)
    except OSError as exc:
        raise PlanError(str(path), [("", f"cannot read the file: {exc.strerror}")]) from None
    except PARSE_ERRORS as exc:
        raise PlanError(str(path), [("", f"not valid YAML/JSON: {exc}")]) from None


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file (YAML or JSON)."""
    return parse_plan(read_document(path), str(path))


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of the plan format, for editors and other tools."""
    schema = Plan.model_json_schema()
    schema["title"] = "alianza business plan, format version 1"
    return schema
