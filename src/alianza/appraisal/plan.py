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
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from alianza.appraisal.currencies import ISO_4217
from alianza.documents import PARSE_ERRORS, read_yaml_or_json
from alianza.problems import Problem, ProblemError, field_path

FORMAT_VERSION = 1

NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Rate = Annotated[float, Field(gt=-1)]
Year = Annotated[int, Field(ge=1)]

# A calendar entry: a whole month 1..12, or half a month written "3a" (first half of
# March) or "3b" (second half), as RuralInvest marks them.
_HALF_MONTH = re.compile(r"^(1[0-2]|[1-9])([ab])$")
CalendarEntry = int | str


# A rule's finding: (the sub-field it is about, or its path below the item, or None for
# the whole item; the reason).
RuleProblem = tuple[str | tuple[str | int, ...] | None, str]
# A field whose own value is invalid (or missing): rules that need it are not checked.
UNKNOWN: Any = object()


def number(value: Any) -> float | None:
    """A value as a number, or None when it is not one (rules skip what they cannot read)."""
    if value is UNKNOWN or value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def field_of(item: Any, name: str, *aliases: str) -> Any:
    """A field of an item given either as a validated model or as raw data."""
    if isinstance(item, BaseModel):
        return getattr(item, name, UNKNOWN)
    if isinstance(item, dict):
        for key in (name, *aliases):
            if key in item:
                return item[key]
    return UNKNOWN


class Strict(BaseModel):
    """Base of every plan model: unknown fields are errors, so typos never pass silently.

    Rules across fields (`rules`) are checked even when other fields of the item are
    invalid, so that every problem of a plan is reported in one pass: a rule reads the
    fields that are valid on their own and skips those that are not."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @classmethod
    def rules(cls, values: dict[str, Any]) -> list[RuleProblem]:
        """Problems across fields; `values` holds each field (UNKNOWN where invalid)."""
        return []

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        try:
            model = handler(data)
        except ValidationError as exc:
            if not isinstance(data, dict):
                raise
            errors = exc.errors()
            # A field invalid in itself is unknown to the rules; one whose items hold an
            # error stays readable (rules read numbers leniently and skip the rest).
            failed = {str(error["loc"][0]) for error in errors if len(error["loc"]) == 1}
            problems = cls.rules(cls._raw_values(data, failed))
            if not problems:
                raise
            # Errors carried over keep their type, place and message (a custom error
            # cannot be rebuilt from its type name alone).
            carried = [
                InitErrorDetails(
                    type=PydanticCustomError(error["type"], error["msg"]),
                    loc=error["loc"],
                    input=error["input"],
                )
                for error in errors
            ]
            details = [*carried, *_error_details(problems, data)]
            raise ValidationError.from_exception_data(exc.title, details) from None
        problems = cls.rules({name: getattr(model, name) for name in type(model).model_fields})
        if problems:
            raise ValidationError.from_exception_data(cls.__name__, _error_details(problems, data))
        return model

    @classmethod
    def _raw_values(cls, data: dict[str, Any], failed: set[str]) -> dict[str, Any]:
        """Each field's raw value, its default when it is left out, UNKNOWN when invalid."""
        values: dict[str, Any] = {}
        for name, info in cls.model_fields.items():
            keys = [name]
            if isinstance(info.validation_alias, AliasChoices):
                keys += [key for key in info.validation_alias.choices if isinstance(key, str)]
            present = [key for key in keys if key in data]
            if any(key in failed for key in keys):
                values[name] = UNKNOWN
            elif present:
                values[name] = data[present[0]]
            elif info.is_required():
                values[name] = UNKNOWN
            else:
                values[name] = info.get_default(call_default_factory=True)
        return values


def _error_details(problems: list[RuleProblem], data: Any) -> list[InitErrorDetails]:
    return [
        InitErrorDetails(
            type=PydanticCustomError("plan_rule", reason),
            loc=field if isinstance(field, tuple) else (field,) if field else (),
            input=field_of(data, field) if isinstance(field, str) else data,
        )
        for field, reason in problems
    ]


def part_within(values: dict[str, Any], part: str, whole: str = "quantity") -> list[RuleProblem]:
    """Refuse a part (own use, unpaid labour, in kind) larger than its quantity."""
    part_value, whole_value = number(values[part]), number(values[whole])
    if part_value is not None and whole_value is not None and part_value > whole_value:
        return [(part, "cannot exceed the quantity")]
    return []


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
    own_in_kind: NonNegative = Field(
        0.0, description="of own_contribution, the part given in kind (work, materials)"
    )
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

    @classmethod
    def rules(cls, values: dict[str, Any]) -> list[RuleProblem]:
        problems: list[RuleProblem] = []
        kind, life = values["kind"], values["life_years"]
        unit_cost, salvage = number(values["unit_cost"]), number(values["salvage"])
        if kind == "asset":
            if life is None:
                problems.append(("life_years", "an asset needs its useful life (> 0)"))
            elif (years := number(life)) is not None and years <= 0:
                problems.append(("life_years", "must be > 0"))
            if unit_cost is not None and salvage is not None and salvage > unit_cost:
                problems.append(("salvage", "cannot exceed unit_cost"))
        elif kind in ("labour", "service") and (
            life is not None or number(values["maintenance"]) or salvage
        ):
            problems.append(
                (
                    None,
                    f"a {kind} item is spent once: life_years, maintenance and salvage "
                    "apply to assets only",
                )
            )
        in_kind, own_total = number(values["own_in_kind"]), number(values["own_contribution"])
        if in_kind is not None and own_total is not None and in_kind > own_total + 0.005:
            problems.append(("own_in_kind", "cannot exceed own_contribution"))
        quantity, own, grant = (
            number(values[name]) for name in ("quantity", "own_contribution", "grant")
        )
        grants = values["grants"]
        donors = (
            [number(amount) for amount in grants.values()] if isinstance(grants, dict) else [None]
        )
        parts = [own, grant, *donors]
        if quantity is not None and unit_cost is not None and None not in parts:
            funded, cost = sum(p for p in parts if p is not None), quantity * unit_cost
            # Unit costs are often rounded from a total (80 days at 3.57 for 285.71): allow 1%.
            if funded > cost * 1.01 + 0.005:
                problems.append(
                    (
                        None,
                        f"own_contribution + grants ({funded:.2f}) exceed the item's cost "
                        f"({cost:.2f})",
                    )
                )
        return problems


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

    @classmethod
    def rules(cls, values: dict[str, Any]) -> list[RuleProblem]:
        quantities = [number(q) for q in _as_list(values["quantity"])]
        amounts = [number(a) for a in _as_list(values["in_kind_amount"])]
        in_kind, unit_cost = number(values["in_kind"]), number(values["unit_cost"])
        if not quantities or not amounts or None in quantities + amounts or in_kind is None:
            return []
        if in_kind > min(q for q in quantities if q is not None):
            return [("in_kind", "cannot exceed the quantity")]
        if unit_cost is None:
            return []
        # Compare year by year, the shorter list's last value repeating.
        for year in range(max(len(quantities), len(amounts))):
            quantity = quantities[min(year, len(quantities) - 1)] or 0.0
            amount = amounts[min(year, len(amounts) - 1)] or 0.0
            cash = (quantity - in_kind) * unit_cost
            if amount > cash + 0.005:
                return [
                    (
                        "in_kind_amount",
                        f"{amount:.2f} in year {year + 1} exceeds the cost not already given "
                        f"in kind ({cash:.2f})",
                    )
                ]
        return []


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


class IncomeLine(Strict):
    item: str
    unit: str = ""
    quantity: NonNegative = Field(description="per activity unit")
    price: NonNegative
    transport: NonNegative = Field(0.0, description="cost of taking one unit to market")
    own_use: NonNegative = Field(0.0, description="part of the quantity not sold")

    @classmethod
    def rules(cls, values: dict[str, Any]) -> list[RuleProblem]:
        return part_within(values, "own_use")


class InputLine(Strict):
    item: str
    unit: str = ""
    quantity: NonNegative = Field(description="per activity unit")
    price: NonNegative
    transport: NonNegative = 0.0
    in_kind: NonNegative = Field(
        0.0, description="part of the quantity supplied in kind (not bought with cash)"
    )

    @classmethod
    def rules(cls, values: dict[str, Any]) -> list[RuleProblem]:
        return part_within(values, "in_kind")


class LabourLine(Strict):
    item: str
    unit: str = "day"
    quantity: NonNegative = Field(description="per activity unit")
    wage: NonNegative
    unpaid: NonNegative = Field(0.0, description="part of the quantity not paid in cash")

    @classmethod
    def rules(cls, values: dict[str, Any]) -> list[RuleProblem]:
        return part_within(values, "unpaid")


NO_MONTH = "none"
# A calendar list, or "none": the amount moves in no month (it stays out of the working
# capital), said explicitly so that an empty list left by mistake is still an error.
CalendarMonths = list[CalendarEntry] | Literal["none"]


def month_of(entry: CalendarEntry) -> int:
    """The month 1..12 of a calendar entry (3, "3a" and "3b" are all March)."""
    return entry if isinstance(entry, int) else int(entry[:-1])


def _calendar_order(entry: CalendarEntry) -> tuple[int, str]:
    return (month_of(entry), "" if isinstance(entry, int) else entry[-1])


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
        # Kept in calendar order: the order listed means nothing to the appraisal, and one
        # order makes a plan read from a workbook's month columns equal to its YAML.
        return sorted(value, key=_calendar_order)


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

    @classmethod
    def rules(cls, values: dict[str, Any]) -> list[RuleProblem]:
        graces = [
            number(values[name]) for name in ("grace_principal_years", "grace_interest_years")
        ]
        years = number(values["years"])
        if years is not None and None not in graces and max(g or 0.0 for g in graces) >= years:
            return [(None, "grace periods must end before the loan's last year")]
        return []


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

    @classmethod
    def rules(cls, values: dict[str, Any]) -> list[RuleProblem]:
        people = [number(values[name]) for name in ("men", "women", "children")]
        if None in people:
            return []
        total = sum(p or 0.0 for p in people)
        return [
            (name, "cannot exceed men + women + children")
            for name in ("youth", "indigenous")
            if (count := number(values[name])) is not None and count > total
        ]


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
    organization: str | None = Field(None, description="who presents the plan (the report's title)")
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

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        code = value.upper()
        if code not in ISO_4217:
            raise ValueError(f"{value!r} is not an ISO 4217 currency code (USD, HNL, MWK …)")
        return code

    @field_validator("years", mode="before")
    @classmethod
    def _horizon_positive(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
            raise ValueError("the horizon must be at least 1 year")
        return value

    @classmethod
    def rules(cls, values: dict[str, Any]) -> list[RuleProblem]:
        problems: list[RuleProblem] = []
        activities = values["activities"]
        if isinstance(activities, list) and not activities:
            problems.append(("activities", "a plan needs at least one activity to appraise"))
        stage, years = values["stage"], values["years"]
        if stage == "project":
            if years is None:
                problems.append(("years", "a project needs its horizon (years of operation)"))
            investments = values["investments"]
            horizon = number(years)
            if horizon is not None and isinstance(investments, list):
                for i, item in enumerate(investments):
                    begin = number(field_of(item, "begin", "start_year", "year"))
                    if begin is not None and begin > horizon:
                        problems.append(
                            (
                                ("investments", i, "begin"),
                                f"year {begin:g} is after the horizon of {horizon:g} years",
                            )
                        )
        elif stage == "profile" and (
            values["loans"] not in (UNKNOWN, [], None)
            or values["without_project"] not in (UNKNOWN, None)
        ):
            problems.append((None, "a profile has no loans and no without-project situation"))
        return problems

    @property
    def horizon(self) -> int:
        """Years of operation analysed: the plan's `years`, or 1 for a profile."""
        return self.years if self.stage == "project" and self.years else 1


# Beyond these, a legal value is probably a slip: a rate of 3 meant as 3%, a life in months.
SUSPICIOUS_RATE = 1.0  # a year: 100% or more
LONGEST_LIFE = 100  # years


def plan_warnings(plan: Plan) -> list[str]:
    """Values that are legal but probably a mistake, each with its field path: a rate of
    1 or more a year (3 is read as 300%), a price, wage or unit cost of zero, a useful life
    longer than a century."""
    warnings: list[str] = []

    def rate(path: str, value: float | None) -> None:
        if value is not None and value >= SUSPICIOUS_RATE:
            warnings.append(
                f"{path}: {value:g} is read as {value:.0%} a year; write {value / 100:g} "
                f"for {value:g}%"
            )

    rate("discount_rate", plan.discount_rate)
    rate("inflation", plan.inflation)
    rate("working_capital.interest_rate", plan.working_capital.interest_rate)
    for i, loan in enumerate(plan.loans):
        rate(f"loans[{i}].interest_rate", loan.interest_rate)
    situations: list[tuple[str, Plan | Situation]] = [("", plan)]
    if plan.without_project is not None:
        situations.append(("without_project.", plan.without_project))
    for prefix, situation in situations:
        for i, item in enumerate(situation.investments):
            where = f"{prefix}investments[{i}]"
            if item.unit_cost == 0:
                warnings.append(f"{where}.unit_cost: 0, the item costs nothing")
            if item.life_years is not None and item.life_years > LONGEST_LIFE:
                warnings.append(
                    f"{where}.life_years: {item.life_years} years, longer than "
                    f"{LONGEST_LIFE}; is it in months?"
                )
        for i, activity in enumerate(situation.activities):
            lines: list[tuple[str, list[Any], str]] = [
                ("income", activity.income, "price"),
                ("inputs", activity.inputs, "price"),
                ("labour", activity.labour, "wage"),
            ]
            for kind, entries, name in lines:
                for j, line in enumerate(entries):
                    if getattr(line, name) == 0:
                        warnings.append(
                            f"{prefix}activities[{i}].{kind}[{j}].{name}: 0, the line is "
                            "worth nothing"
                        )
    return warnings


class PlanError(ProblemError):
    """A plan file that cannot be read or validated; `errors` lists every problem as
    (field path, reason), `problems` as :class:`alianza.problems.Problem`."""

    def __init__(self, source: str, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__(source, [Problem(path, reason) for path, reason in errors])


def _reason(error: Any) -> str:
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def located_errors(exc: ValidationError) -> list[tuple[tuple[int | str, ...], str]]:
    """The (location, reason) pairs of a pydantic validation error, in a reader's terms.

    A reason naming its own sub-field ("life_years: must be > 0") is attached to it."""
    errors = []
    for error in exc.errors():
        # Union members repeat the same location with their tag; keep the path readable.
        location = tuple(
            part for part in error["loc"] if not (isinstance(part, str) and "[" in part)
        )
        reason = _reason(error)
        head, sep, rest = reason.partition(": ")
        if sep and re.fullmatch(r"[a-z_]+", head):
            location, reason = (*location, head), rest
        errors.append((location, reason))
    # One mistake can fail several union members with the same message; report it once.
    return list(dict.fromkeys(errors))


def errors_of(exc: ValidationError) -> list[tuple[str, str]]:
    """The (field path, reason) pairs of a pydantic validation error (see located_errors)."""
    return list(
        dict.fromkeys((field_path(location), reason) for location, reason in located_errors(exc))
    )


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
    """Read and validate a plan file: YAML, JSON, or an Excel workbook (.xlsx) laid out as
    `alianza plan new` writes it (its problems then point at sheets and cells)."""
    from alianza.appraisal.workbook import is_workbook, load_plan_workbook

    if is_workbook(path):
        return load_plan_workbook(path)
    return parse_plan(read_document(path), str(path))


def plan_document(plan: Plan) -> dict[str, Any]:
    """A plan as the data of a YAML or JSON file: its fields, defaults left out, whole
    numbers written without a decimal point (``parse_plan`` of it gives the same plan)."""

    def tidy(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: tidy(item) for key, item in value.items()}
        if isinstance(value, list):
            return [tidy(item) for item in value]
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value

    data: dict[str, Any] = tidy(plan.model_dump(mode="json", exclude_defaults=True))
    return data


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of the plan format, for editors and other tools."""
    schema = Plan.model_json_schema()
    schema["title"] = "alianza business plan, format version 1"
    return schema
