"""The appraisal of one plan: every figure RuralInvest gives, and what goes beyond it.

`evaluate(plan)` returns a `ProjectAppraisal` for a project and a `ProfileAppraisal` for
a profile; `report()` gives the typed report (`alianza.appraisal.report`) and `to_dict()`
its JSON form, in the shape of the reference files (`tests/appraisal/cases/*.expected.yaml`),
money to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from alianza.appraisal.batch import evaluate_lines
from alianza.appraisal.cashflow import (
    COMPONENTS,
    IS_COST,
    CashFlowTable,
    by_year,
    cash_flow_table,
    flow_lines,
    grant_flows,
    units_produced,
)
from alianza.appraisal.indicators import Irr, irr_of_row
from alianza.appraisal.loans import LoanYear, loan_schedule
from alianza.appraisal.money import cents, round_to
from alianza.appraisal.plan import Plan, PlanError, plan_warnings
from alianza.appraisal.sensitivity import (
    Risk,
    RiskOptions,
    SensitivityRow,
    risk,
    sensitivity_table,
    switching_values,
)
from alianza.appraisal.working_capital import WorkingCapital, working_capital

if TYPE_CHECKING:
    from alianza.appraisal.report import ProfileReport, ProjectReport

NO_RISK = RiskOptions()  # no risk analysis

# Working time in a person-year, by unit of labour (RuralInvest's: 288 days, 48 weeks,
# 12 months); hours at 8 a day.
PERSON_YEAR = {
    "hour": 288 * 8,
    "day": 288,
    "week": 48,
    "month": 12,
    "year": 1,
    "person-year": 1,
}


def _person_years(unit: str) -> float | None:
    """Units of work in a person-year, for a labour unit written as people write it
    ("day", "days", "person-day", "man-days", "Month" ...); None if it is not a time."""
    key = unit.strip().lower().replace("_", "-").replace(" ", "-")
    for prefix in ("person-", "man-", "work"):
        key = key.removeprefix(prefix)
    key = key.removesuffix("s") if key not in PERSON_YEAR else key
    return PERSON_YEAR.get(key)


@dataclass(frozen=True)
class InvestmentSummary:
    total: float
    own_contribution: float
    grants: float
    grants_by_donor: dict[str, float]

    @classmethod
    def of(cls, plan: Plan) -> InvestmentSummary:
        by_donor: dict[str, float] = {}
        for item in plan.investments:
            if item.grant:
                by_donor["(donor not named)"] = by_donor.get("(donor not named)", 0.0) + item.grant
            for donor, amount in item.grants.items():
                by_donor[donor] = by_donor.get(donor, 0.0) + amount
        return cls(
            total=cents(sum(item.cost for item in plan.investments)),
            own_contribution=cents(sum(item.own_contribution for item in plan.investments)),
            grants=cents(sum(item.total_grant for item in plan.investments)),
            grants_by_donor={donor: cents(amount) for donor, amount in by_donor.items()},
        )


def employment(plan: Plan, warnings: list[str]) -> float:
    """Person-years of work: labour of the investment, operating labour at full
    production (the last year) and staff among general costs; labour in units with no
    conversion to person-years is left out, with a warning."""
    horizon = plan.horizon
    total = 0.0

    def add(days_or_units: float, unit: str, where: str) -> None:
        nonlocal total
        per_year = _person_years(unit)
        if per_year is None:
            warnings.append(
                f"{where}: unit {unit!r} has no conversion to person-years; not counted in employment"
            )
        else:
            total += days_or_units / per_year

    for i, item in enumerate(plan.investments):
        if item.kind == "labour":
            add(item.quantity, item.unit, f"investments[{i}]")
    for i, activity in enumerate(plan.activities):
        units = float(units_produced(activity, horizon)[-1])
        for j, line in enumerate(activity.labour):
            add(line.quantity * units, line.unit, f"activities[{i}].labour[{j}]")
    for i, cost in enumerate(plan.general_costs):
        if cost.staff:
            add(float(by_year(cost.quantity, horizon)[-1]), cost.unit, f"general_costs[{i}]")
    return total


def _per_beneficiary(amount: float, plan: Plan) -> float | None:
    count = plan.beneficiaries.direct_total
    return cents(amount / count) if count else None


def _maybe(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def _years(value: float) -> float | None:
    """Years to 2 decimals (RuralInvest's rounding); None where there is no such year."""
    return round_to(float(value), 2) if np.isfinite(value) else None


@dataclass(frozen=True)
class ProjectAppraisal:
    plan: Plan
    discount_rate: float
    table: CashFlowTable
    flows: np.ndarray  # total flows t = 0..N
    applicant_flows: np.ndarray
    npv: float
    applicant_npv: float
    irr: Irr
    applicant_irr: Irr
    benefit_cost_ratio: float | None
    payback_years: float | None
    applicant_payback_years: float | None
    annual_net_income: float
    residual_value: float
    investment: InvestmentSummary
    working_capital: WorkingCapital
    loans: dict[str, list[LoanYear]]
    employment_person_years: float
    investment_per_beneficiary: float | None
    annual_cost_per_beneficiary: float | None
    sensitivity: list[SensitivityRow]
    switching_values: dict[str, float | None]
    risk: Risk | None = None
    warnings: list[str] = field(default_factory=list)

    def report(self) -> ProjectReport:
        """The typed report (alianza.appraisal.report) every output is rendered from."""
        from alianza.appraisal.report import project_report

        return project_report(self)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON data (the shape of tests/appraisal/cases/*.expected.yaml)."""
        return self.report().model_dump(mode="json")


@dataclass(frozen=True)
class ProfileAppraisal:
    """A profile's one typical year at full production."""

    plan: Plan
    investment: InvestmentSummary
    income: float
    operating_costs: float
    general_costs: float
    maintenance: float
    annual_reserve: float  # sum over goods of (unit_cost - salvage) x quantity / life
    net_after_reserve: float  # income - operating - general - maintenance - reserve
    years_to_recover: float | None  # investment / (income - operating - general - maintenance)
    employment_person_years: float
    investment_per_beneficiary: float | None
    annual_cost_per_beneficiary: float | None  # (operating + general) / beneficiaries
    warnings: list[str] = field(default_factory=list)

    def report(self) -> ProfileReport:
        """The typed report (alianza.appraisal.report) every output is rendered from."""
        from alianza.appraisal.report import profile_report

        return profile_report(self)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON data (the shape of tests/appraisal/cases/*.expected.yaml)."""
        return self.report().model_dump(mode="json")


Appraisal = ProjectAppraisal | ProfileAppraisal


def evaluate_profile(plan: Plan) -> ProfileAppraisal:
    warnings = plan_warnings(plan)
    table = cash_flow_table(plan)
    c = {name: float(values[0]) for name, values in table.components.items()}
    income = c["sales"] + c["own_use"]
    operating = float(table.operating[0])
    reserve = sum(
        (item.unit_cost - item.salvage) * item.quantity / item.life_years
        for item in plan.investments
        if item.kind == "asset" and item.life_years
    )
    investment = InvestmentSummary.of(plan)
    surplus = income - operating - c["general"] - c["maintenance"]
    if surplus <= 0:
        warnings.append(
            "income does not cover operating and general costs: the investment is never recovered"
        )
    return ProfileAppraisal(
        plan=plan,
        investment=investment,
        income=cents(income),
        operating_costs=cents(operating),
        general_costs=cents(c["general"]),
        maintenance=cents(c["maintenance"]),
        annual_reserve=cents(reserve),
        net_after_reserve=cents(surplus - reserve),
        years_to_recover=round(investment.total / surplus, 1) if surplus > 0 else None,
        employment_person_years=employment(plan, warnings),
        investment_per_beneficiary=_per_beneficiary(investment.total, plan),
        annual_cost_per_beneficiary=_per_beneficiary(operating + c["general"], plan),
        warnings=warnings,
    )


def evaluate_project(
    plan: Plan, discount_rate: float | None = None, risk_options: RiskOptions = NO_RISK
) -> ProjectAppraisal:
    rate = plan.discount_rate if discount_rate is None else discount_rate
    if rate is None:
        raise PlanError(
            plan.name, [("discount_rate", "give one in the plan, or with --discount-rate")]
        )
    if rate <= -1:
        raise PlanError(plan.name, [("discount_rate", "must be greater than -1")])
    warnings = plan_warnings(plan)
    if discount_rate is not None and discount_rate >= 1:
        warnings.append(f"discount rate {discount_rate:g} is read as {discount_rate:.0%} a year")
    table = cash_flow_table(plan)
    c = table.components
    # The same vectorised path as a batch of plans, so that both give the same figures.
    lines = flow_lines(table)[None]
    total = evaluate_lines(lines, IS_COST, rate)
    grants = np.zeros((1, len(COMPONENTS), table.horizon + 1))
    grants[0, 0] = grant_flows(table)  # added as a benefit line
    applicant = evaluate_lines(lines + grants, IS_COST, rate)
    flows, applicant_flows = total.flows[0], applicant.flows[0]
    paid_back, applicant_paid_back = total.payback_years[0], applicant.payback_years[0]
    for label, value in (("total", paid_back), ("applicant", applicant_paid_back)):
        if not np.isfinite(value):
            warnings.append(
                f"{label} flows are not paid back within the {plan.horizon}-year horizon"
            )
    full_year_costs = float(table.operating[-1] + c["general"][-1])
    investment = InvestmentSummary.of(plan)
    capital = working_capital(plan)
    covered = plan.working_capital.grant + plan.working_capital.own
    if covered > capital.amount + 0.005:
        # RuralInvest refuses such a plan (its amount financed must not be negative).
        warnings.append(
            f"working capital: grant + own ({covered:.2f}) exceed the working capital needed "
            f"({capital.amount:.2f}); nothing is financed"
        )
    if capital.financed and capital.real_rate < 0:
        warnings.append(
            f"working capital: inflation ({plan.inflation:g}) exceeds the interest rate "
            f"({plan.working_capital.interest_rate:g}); the real rate is negative, and so is "
            "the interest"
        )
    return ProjectAppraisal(
        plan=plan,
        discount_rate=rate,
        table=table,
        flows=flows,
        applicant_flows=applicant_flows,
        npv=cents(total.npv[0]),
        applicant_npv=cents(applicant.npv[0]),
        irr=irr_of_row(total.irr_batch, 0, flows),
        applicant_irr=irr_of_row(applicant.irr_batch, 0, applicant_flows),
        benefit_cost_ratio=_maybe(round(float(total.benefit_cost_ratio[0]), 4)),
        # Paybacks to 2 decimals, half up on the decimal form, as RuralInvest rounds them.
        payback_years=_years(paid_back),
        applicant_payback_years=_years(applicant_paid_back),
        annual_net_income=table.annual_net_income,
        residual_value=cents(c["residual"][-1]),
        investment=investment,
        working_capital=capital,
        loans={loan.name: loan_schedule(loan) for loan in plan.loans},
        employment_person_years=employment(plan, warnings),
        investment_per_beneficiary=_per_beneficiary(investment.total, plan),
        annual_cost_per_beneficiary=_per_beneficiary(full_year_costs, plan),
        sensitivity=sensitivity_table(table, rate),
        switching_values=switching_values(table, rate),
        risk=risk(table, rate, risk_options) if risk_options.draws else None,
        warnings=warnings,
    )


def evaluate(
    plan: Plan, discount_rate: float | None = None, risk_options: RiskOptions = NO_RISK
) -> Appraisal:
    """Appraise a plan: a profile's typical year, or a project over its horizon (with the
    risk analysis when `risk_options.draws` > 0). A profile has no discounting and no risk."""
    if plan.stage == "profile":
        return evaluate_profile(plan)
    return evaluate_project(plan, discount_rate, risk_options)
