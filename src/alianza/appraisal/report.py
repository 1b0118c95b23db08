"""The appraisal report: one typed model of an appraisal's results.

`evaluate(plan).report()` gives a :class:`ProjectReport` or a :class:`ProfileReport`
(:data:`AppraisalReport`, told apart by `stage`). The CLI's table, the JSON of the CLI and
the API, the appraisal the platform stores with a plan version, the web pages and the
XLSX and PDF reports are all rendered from it, so they cannot disagree. Money is in the
plan's currency, to the cent; rates are fractions (0.12 for 12%); years are years of
operation 1..N, and `t` counts from 0 (the year-1 investment at t = 0).

The figures that go beyond the indicators:

- the financing plan: what the investment and the working capital cost, and who pays
  for them: grants (by donor), the applicants' own contribution (cash and in kind),
  loans and the short-term credit for working capital, and what is left unfinanced;
- the investment and financing schedule by year of operation;
- the lender's view: the cash of the situation with the project before financing, the
  financing received, the debt service, the cash after financing and its cumulative
  position, and the debt-service coverage ratio (DSCR) of each year with its minimum;
- figures per direct beneficiary, and attributed to women and men by their number.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from alianza.appraisal.cashflow import activity_flows, asset_schedule, general_cost_by_year
from alianza.appraisal.indicators import IrrStatus
from alianza.appraisal.loans import loan_schedule
from alianza.appraisal.money import cents
from alianza.appraisal.plan import BeneficiaryGroup, Plan

if TYPE_CHECKING:
    from alianza.appraisal.evaluate import ProfileAppraisal, ProjectAppraisal

UNNAMED_DONOR = "(donor not named)"  # the donor of a grant given as `grant`, not `grants`


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportInfo(Model):
    """The title block: what was appraised, by which version of alianza, when."""

    plan: str
    organization: str | None = None
    currency: str
    produced_on: date
    alianza_version: str


class IrrDetail(Model):
    status: IrrStatus
    rates: list[float] = Field(description="every rate in (-1, 10] at which the NPV is zero")
    reason: str | None = None


class InvestmentTotals(Model):
    total: float
    own_contribution: float
    own_in_kind: float = Field(0.0, description="of the own contribution, given in kind")
    grants: float
    grants_by_donor: dict[str, float]


class CashFlowYear(Model):
    """A year of the cash-flow table (the increment over the situation without the
    project, where the plan gives one)."""

    year: int
    sales: float
    own_use: float
    salvage: float
    residual: float
    operating: float
    general: float
    maintenance: float
    replacements: float
    investment: float
    net: float


class CashFlows(Model):
    total: list[float] = Field(description="t = 0..N")
    applicant: list[float] = Field(description="t = 0..N, the grants given back")


class WorkingCapitalFigures(Model):
    amount: float = Field(description="the deepest cumulative cash deficit, month by month")
    period_months: int
    average_period_months: float
    grant: float
    own: float
    financed: float = Field(description="amount - grant - own, not below 0: short-term credit")
    real_rate: float
    interest: float


class FinancingPlan(Model):
    """Who pays for the investment and the working capital. `counterpart_cash` and
    `counterpart_in_kind` are the applicants' own contribution; `credit` the loans and
    the short-term credit for working capital; `unfinanced` what no source covers
    (negative when the sources exceed the costs)."""

    investment: float
    working_capital: float
    total: float
    grants: float
    grants_by_donor: dict[str, float]
    counterpart_cash: float
    counterpart_in_kind: float
    loans: float
    working_capital_credit: float
    credit: float
    unfinanced: float

    @property
    def counterpart(self) -> float:
        return cents(self.counterpart_cash + self.counterpart_in_kind)


class FinancingYear(Model):
    """A year of the investment and financing schedule (the situation with the project)."""

    year: int
    investment: float = Field(description="items bought for the first time this year")
    replacements: float
    working_capital: float
    grants_by_donor: dict[str, float]
    grants: float
    own_cash: float
    own_in_kind: float
    loans: float = Field(description="loan disbursements")
    working_capital_credit: float
    unfinanced: float = Field(description="investment + working capital - every source")


class LoanYear(Model):
    year: int
    opening: float
    interest: float
    principal: float
    payment: float
    closing: float


class LoanReport(Model):
    name: str
    amount: float
    interest_rate: float
    years: int
    first_year: int
    schedule: list[LoanYear]
    total_interest: float


class DebtServiceYear(Model):
    """A year of the lender's view: the cash of the situation with the project."""

    year: int
    cash_from_operations: float = Field(
        description="cash sales - transport - inputs bought - labour paid - general costs "
        "paid - maintenance"
    )
    salvage: float
    replacements: float
    investment: float = Field(description="items bought this year, less what is given in kind")
    cash_before_financing: float
    grants: float
    own_contribution: float = Field(description="the applicants' own contribution in cash")
    loan_disbursements: float
    interest: float
    principal: float
    debt_service: float = Field(description="interest + principal paid this year")
    cash_after_financing: float
    cumulative_cash: float
    dscr: float | None = Field(
        description="(cash from operations + salvage - replacements) / debt service; "
        "None in a year with no debt service"
    )


class DebtService(Model):
    years: list[DebtServiceYear]
    minimum_dscr: float | None
    minimum_dscr_year: int | None
    lowest_cumulative_cash: float
    lowest_cumulative_cash_year: int


class SensitivityRow(Model):
    driver: str
    change: float
    npv: float
    irr: float | None


class RiskFigures(Model):
    draws: int
    seed: int
    price_sd: float
    yield_sd: float
    npv_mean: float
    npv_sd: float
    npv_percentiles: dict[str, float]
    probability_negative_npv: float


class Beneficiaries(Model):
    direct: int
    indirect: int
    direct_by_group: BeneficiaryGroup | None = None
    indirect_by_group: BeneficiaryGroup | None = None


class SexShare(Model):
    """Figures attributed to the women (or men) among the direct beneficiaries, in
    proportion to their number."""

    sex: Literal["women", "men"]
    people: int
    share: float
    investment: float
    grant: float
    incremental_income: float | None = None


class PerBeneficiary(Model):
    """Per direct beneficiary (None where the plan counts none)."""

    beneficiaries: int
    investment: float | None
    grant: float | None
    incremental_income: float | None = Field(
        None, description="a project's annual net income, a profile's net after its reserve"
    )
    annual_cost: float | None
    by_sex: list[SexShare] = Field(default_factory=list)


class ProjectReport(Model):
    stage: Literal["project"] = "project"
    info: ReportInfo
    name: str
    currency: str
    years: int
    discount_rate: float
    inflation: float
    increment: bool = Field(
        False, description="the flows are the increment over the situation without the project"
    )
    investment: InvestmentTotals
    financing: FinancingPlan
    financing_schedule: list[FinancingYear]
    cash_flow_table: list[CashFlowYear]
    cash_flows: CashFlows
    npv: float
    irr: float | None
    irr_detail: IrrDetail
    applicant_npv: float
    applicant_irr: float | None
    applicant_irr_detail: IrrDetail
    benefit_cost_ratio: float | None
    residual_value: float
    annual_net_income: float
    payback_years: float | None
    applicant_payback_years: float | None
    working_capital: WorkingCapitalFigures
    loans: list[LoanReport]
    debt_service: DebtService
    employment_person_years: float
    beneficiaries: Beneficiaries
    investment_per_beneficiary: float | None
    annual_cost_per_beneficiary: float | None
    per_beneficiary: PerBeneficiary
    sensitivity: list[SensitivityRow]
    switching_values: dict[str, float | None]
    risk: RiskFigures | None = None
    warnings: list[str]

    def sensitivity_grid(self) -> tuple[list[float], dict[str, list[SensitivityRow]]]:
        """The changes (sorted) and each driver's rows in that order."""
        changes = sorted({row.change for row in self.sensitivity})
        rows: dict[str, list[SensitivityRow]] = {}
        for driver in self.switching_values:
            by_change = {row.change: row for row in self.sensitivity if row.driver == driver}
            rows[driver] = [by_change[change] for change in changes if change in by_change]
        return changes, rows


class ProfileReport(Model):
    stage: Literal["profile"] = "profile"
    info: ReportInfo
    name: str
    currency: str
    investment: float
    own_contribution: float
    own_in_kind: float = 0.0
    grants: float
    grants_by_donor: dict[str, float]
    financing: FinancingPlan
    income: float
    operating_costs: float
    general_costs: float
    maintenance: float
    annual_reserve: float
    net_after_reserve: float
    years_to_recover: float | None
    employment_person_years: float
    beneficiaries: Beneficiaries
    investment_per_beneficiary: float | None
    annual_cost_per_beneficiary: float | None
    per_beneficiary: PerBeneficiary
    warnings: list[str]


AppraisalReport = Annotated[ProjectReport | ProfileReport, Field(discriminator="stage")]


def report_of(data: object) -> ProjectReport | ProfileReport:
    """A report read back from its JSON form (a stored appraisal, an API answer)."""
    from pydantic import TypeAdapter

    return TypeAdapter(AppraisalReport).validate_python(data)


# --- building the report ----------------------------------------------------------------


def _info(plan: Plan) -> ReportInfo:
    from importlib.metadata import PackageNotFoundError, version

    try:
        alianza_version = version("alianza")
    except PackageNotFoundError:  # run from a source tree that is not installed
        from alianza import __version__ as alianza_version
    return ReportInfo(
        plan=plan.name,
        organization=plan.organization,
        currency=plan.currency,
        produced_on=date.today(),
        alianza_version=alianza_version,
    )


def _grants_by_donor(plan: Plan) -> dict[str, float]:
    by_donor: dict[str, float] = {}
    for item in plan.investments:
        if item.grant:
            by_donor[UNNAMED_DONOR] = by_donor.get(UNNAMED_DONOR, 0.0) + item.grant
        for donor, amount in item.grants.items():
            by_donor[donor] = by_donor.get(donor, 0.0) + amount
    return by_donor


def investment_totals(plan: Plan) -> InvestmentTotals:
    return InvestmentTotals(
        total=cents(sum(item.cost for item in plan.investments)),
        own_contribution=cents(sum(item.own_contribution for item in plan.investments)),
        own_in_kind=cents(sum(item.own_in_kind for item in plan.investments)),
        grants=cents(sum(item.total_grant for item in plan.investments)),
        grants_by_donor={donor: cents(v) for donor, v in _grants_by_donor(plan).items()},
    )


def financing_plan(
    plan: Plan, working_capital: float = 0.0, working_capital_credit: float = 0.0
) -> FinancingPlan:
    """The plan's financing: every source summed from the plan itself (items' grants and
    own contributions, the working capital's grant and own part, the loans)."""
    investment = investment_totals(plan)
    wc = plan.working_capital
    by_donor = dict(investment.grants_by_donor)
    if wc.grant:
        by_donor[UNNAMED_DONOR] = cents(by_donor.get(UNNAMED_DONOR, 0.0) + wc.grant)
    grants = cents(investment.grants + wc.grant)
    in_kind = investment.own_in_kind
    cash = cents(investment.own_contribution - in_kind + wc.own)
    loans = cents(sum(loan.amount for loan in plan.loans))
    credit = cents(loans + working_capital_credit)
    total = cents(investment.total + working_capital)
    return FinancingPlan(
        investment=investment.total,
        working_capital=cents(working_capital),
        total=total,
        grants=grants,
        grants_by_donor=by_donor,
        counterpart_cash=cash,
        counterpart_in_kind=in_kind,
        loans=loans,
        working_capital_credit=cents(working_capital_credit),
        credit=credit,
        unfinanced=cents(total - grants - cash - in_kind - credit),
    )


def financing_schedule(
    plan: Plan, working_capital: float, working_capital_credit: float
) -> list[FinancingYear]:
    """Year by year (situation with the project): what is bought and who pays for it.
    The working capital is needed, and financed, in year 1; replacements are paid from
    the enterprise's own flows."""
    horizon = plan.horizon
    schedule = asset_schedule(plan.investments, horizon)
    investment = schedule.investment.sum(axis=0)
    replacements = schedule.replacements.sum(axis=0)
    donors = list(_grants_by_donor(plan))
    wc = plan.working_capital
    if wc.grant and UNNAMED_DONOR not in donors:
        donors.append(UNNAMED_DONOR)
    rows = []
    for year in range(1, horizon + 1):
        items = [item for item in plan.investments if item.begin == year]
        by_donor = dict.fromkeys(donors, 0.0)
        for item in items:
            if item.grant:
                by_donor[UNNAMED_DONOR] += item.grant
            for donor, amount in item.grants.items():
                by_donor[donor] += amount
        own = sum(item.own_contribution for item in items)
        in_kind = sum(item.own_in_kind for item in items)
        needed = working_capital if year == 1 else 0.0
        wc_credit = working_capital_credit if year == 1 else 0.0
        if year == 1:
            by_donor[UNNAMED_DONOR] = by_donor.get(UNNAMED_DONOR, 0.0) + wc.grant
            own += wc.own
        by_donor = {donor: cents(v) for donor, v in by_donor.items() if donor in donors}
        loans = sum(loan.amount for loan in plan.loans if loan.first_year == year)
        grants = cents(sum(by_donor.values()))
        cost = float(investment[year - 1]) + needed
        rows.append(
            FinancingYear(
                year=year,
                investment=cents(investment[year - 1]),
                replacements=cents(replacements[year - 1]),
                working_capital=cents(needed),
                grants_by_donor=by_donor,
                grants=grants,
                own_cash=cents(own - in_kind),
                own_in_kind=cents(in_kind),
                loans=cents(loans),
                working_capital_credit=cents(wc_credit),
                unfinanced=cents(cost - grants - own - loans - wc_credit),
            )
        )
    return rows


def debt_service(plan: Plan, loans: list[LoanReport]) -> DebtService:
    """The lender's view, year by year, of the situation with the project (its cash: what
    is given in kind, own use and the residual value are not cash). The working capital
    and its short-term credit move within the year and are left to their own table."""
    horizon = plan.horizon
    operations = np.zeros(horizon)
    for activity in plan.activities:
        flows = activity_flows(activity, horizon)
        operations += (
            flows.cash_sales - flows.cash_transport - flows.cash_inputs - flows.paid_labour
        )
    for cost in plan.general_costs:
        operations -= general_cost_by_year(cost, horizon, cash_only=True)
    schedule = asset_schedule(plan.investments, horizon)
    operations -= schedule.maintenance.sum(axis=0)
    salvage = schedule.salvage.sum(axis=0)
    replacements = schedule.replacements.sum(axis=0)
    bought = schedule.investment.sum(axis=0)
    in_kind, grants, own = np.zeros(horizon), np.zeros(horizon), np.zeros(horizon)
    for item in plan.investments:
        in_kind[item.begin - 1] += item.own_in_kind
        grants[item.begin - 1] += item.total_grant
        own[item.begin - 1] += item.own_contribution - item.own_in_kind
    grants[0] += plan.working_capital.grant
    own[0] += plan.working_capital.own
    disbursed, interest, principal, paid = (np.zeros(horizon) for _ in range(4))
    for loan in loans:
        if loan.first_year <= horizon:
            disbursed[loan.first_year - 1] += loan.amount
        for row in loan.schedule:
            if row.year <= horizon:
                interest[row.year - 1] += row.interest
                principal[row.year - 1] += row.principal
                paid[row.year - 1] += row.payment
    years = []
    cumulative = 0.0
    for k in range(horizon):
        before = operations[k] + salvage[k] - replacements[k] - (bought[k] - in_kind[k])
        after = before + grants[k] + own[k] + disbursed[k] - paid[k]
        cumulative = cents(cumulative + cents(after))
        available = operations[k] + salvage[k] - replacements[k]
        dscr = None if paid[k] < 0.005 else round(float(available / paid[k]), 4)
        years.append(
            DebtServiceYear(
                year=k + 1,
                cash_from_operations=cents(operations[k]),
                salvage=cents(salvage[k]),
                replacements=cents(replacements[k]),
                investment=cents(bought[k] - in_kind[k]),
                cash_before_financing=cents(before),
                grants=cents(grants[k]),
                own_contribution=cents(own[k]),
                loan_disbursements=cents(disbursed[k]),
                interest=cents(interest[k]),
                principal=cents(principal[k]),
                debt_service=cents(paid[k]),
                cash_after_financing=cents(after),
                cumulative_cash=cumulative,
                dscr=dscr,
            )
        )
    ratios = [(row.dscr, row.year) for row in years if row.dscr is not None]
    lowest = min(years, key=lambda row: (row.cumulative_cash, row.year))
    return DebtService(
        years=years,
        minimum_dscr=min(ratios)[0] if ratios else None,
        minimum_dscr_year=min(ratios)[1] if ratios else None,
        lowest_cumulative_cash=lowest.cumulative_cash,
        lowest_cumulative_cash_year=lowest.year,
    )


def beneficiaries_of(plan: Plan) -> Beneficiaries:
    b = plan.beneficiaries
    return Beneficiaries(
        direct=b.direct_total,
        indirect=b.indirect_total,
        direct_by_group=b.direct,
        indirect_by_group=b.indirect,
    )


def per_beneficiary(
    plan: Plan, investment: float, grant: float, income: float | None, annual_cost: float
) -> PerBeneficiary:
    """Amounts per direct beneficiary; with men and women counted apart, the totals
    attributed to each in proportion to their number among the direct beneficiaries."""
    count = plan.beneficiaries.direct_total

    def each(amount: float | None) -> float | None:
        return None if not count or amount is None else cents(amount / count)

    by_sex = []
    group = plan.beneficiaries.direct
    if group is not None and count:
        for sex, people in (("women", group.women), ("men", group.men)):
            share = people / count
            by_sex.append(
                SexShare(
                    sex=sex,  # type: ignore[arg-type]
                    people=people,
                    share=round(share, 4),
                    investment=cents(investment * share),
                    grant=cents(grant * share),
                    incremental_income=None if income is None else cents(income * share),
                )
            )
    return PerBeneficiary(
        beneficiaries=count,
        investment=each(investment),
        grant=each(grant),
        incremental_income=each(income),
        annual_cost=each(annual_cost),
        by_sex=by_sex,
    )


def _irr_detail(result: object) -> IrrDetail:
    return IrrDetail(
        status=result.status,  # type: ignore[attr-defined]
        rates=[float(r) for r in result.rates],  # type: ignore[attr-defined]
        reason=result.reason,  # type: ignore[attr-defined]
    )


def _rate(result: object) -> float | None:
    value = result.value  # type: ignore[attr-defined]
    return None if value is None else round(value, 6)


def project_report(appraisal: ProjectAppraisal) -> ProjectReport:
    plan, wc = appraisal.plan, appraisal.working_capital
    loans = [
        LoanReport(
            name=loan.name,
            amount=cents(loan.amount),
            interest_rate=loan.interest_rate,
            years=loan.years,
            first_year=loan.first_year,
            schedule=[LoanYear(**vars(row)) for row in rows],
            total_interest=cents(sum(row.interest for row in rows)),
        )
        # Each loan of the plan (two may share a name), its schedule computed once more.
        for loan, rows in ((loan, loan_schedule(loan)) for loan in plan.loans)
    ]
    financing = financing_plan(plan, wc.amount, wc.financed)
    c = appraisal.table.components
    table = appraisal.table
    columns = {
        "sales": c["sales"],
        "own_use": c["own_use"],
        "salvage": c["salvage"],
        "residual": c["residual"],
        "operating": table.operating,
        "general": c["general"],
        "maintenance": c["maintenance"],
        "replacements": c["replacements"],
        "investment": c["investment"],
        "net": table.net,
    }
    risk = None
    if appraisal.risk is not None:
        r = appraisal.risk
        risk = RiskFigures(
            draws=r.options.draws,
            seed=r.options.seed,
            price_sd=r.options.price_sd,
            yield_sd=r.options.yield_sd,
            npv_mean=cents(r.npv_mean),
            npv_sd=cents(r.npv_sd),
            npv_percentiles={k: cents(v) for k, v in r.npv_percentiles.items()},
            probability_negative_npv=r.probability_negative_npv,
        )
    annual_cost = float(table.operating[-1] + c["general"][-1])  # at full production
    return ProjectReport(
        info=_info(plan),
        name=plan.name,
        currency=plan.currency,
        years=table.horizon,
        discount_rate=appraisal.discount_rate,
        inflation=plan.inflation,
        increment=plan.without_project is not None,
        investment=investment_totals(plan),
        financing=financing,
        financing_schedule=financing_schedule(plan, wc.amount, wc.financed),
        cash_flow_table=[
            CashFlowYear(
                year=year + 1, **{name: cents(values[year]) for name, values in columns.items()}
            )
            for year in range(table.horizon)
        ],
        cash_flows=CashFlows(
            total=[cents(v) for v in appraisal.flows],
            applicant=[cents(v) for v in appraisal.applicant_flows],
        ),
        npv=appraisal.npv,
        irr=_rate(appraisal.irr),
        irr_detail=_irr_detail(appraisal.irr),
        applicant_npv=appraisal.applicant_npv,
        applicant_irr=_rate(appraisal.applicant_irr),
        applicant_irr_detail=_irr_detail(appraisal.applicant_irr),
        benefit_cost_ratio=appraisal.benefit_cost_ratio,
        residual_value=appraisal.residual_value,
        annual_net_income=appraisal.annual_net_income,
        payback_years=appraisal.payback_years,
        applicant_payback_years=appraisal.applicant_payback_years,
        working_capital=WorkingCapitalFigures(
            amount=wc.amount,
            period_months=wc.period_months,
            average_period_months=wc.average_period_months,
            grant=wc.grant,
            own=wc.own,
            financed=wc.financed,
            real_rate=wc.real_rate,
            interest=wc.interest,
        ),
        loans=loans,
        debt_service=debt_service(plan, loans),
        employment_person_years=round(appraisal.employment_person_years, 2),
        beneficiaries=beneficiaries_of(plan),
        investment_per_beneficiary=appraisal.investment_per_beneficiary,
        annual_cost_per_beneficiary=appraisal.annual_cost_per_beneficiary,
        per_beneficiary=per_beneficiary(
            plan, financing.investment, financing.grants, appraisal.annual_net_income, annual_cost
        ),
        sensitivity=[SensitivityRow(**vars(row)) for row in appraisal.sensitivity],
        switching_values=dict(appraisal.switching_values),
        risk=risk,
        warnings=list(appraisal.warnings),
    )


def profile_report(appraisal: ProfileAppraisal) -> ProfileReport:
    plan, investment = appraisal.plan, investment_totals(appraisal.plan)
    financing = financing_plan(plan)
    return ProfileReport(
        info=_info(plan),
        name=plan.name,
        currency=plan.currency,
        investment=investment.total,
        own_contribution=investment.own_contribution,
        own_in_kind=investment.own_in_kind,
        grants=investment.grants,
        grants_by_donor=investment.grants_by_donor,
        financing=financing,
        income=appraisal.income,
        operating_costs=appraisal.operating_costs,
        general_costs=appraisal.general_costs,
        maintenance=appraisal.maintenance,
        annual_reserve=appraisal.annual_reserve,
        net_after_reserve=appraisal.net_after_reserve,
        years_to_recover=appraisal.years_to_recover,
        employment_person_years=round(appraisal.employment_person_years, 2),
        beneficiaries=beneficiaries_of(plan),
        investment_per_beneficiary=appraisal.investment_per_beneficiary,
        annual_cost_per_beneficiary=appraisal.annual_cost_per_beneficiary,
        per_beneficiary=per_beneficiary(
            plan,
            investment.total,
            investment.grants,
            appraisal.net_after_reserve,
            appraisal.operating_costs + appraisal.general_costs,
        ),
        warnings=list(appraisal.warnings),
    )
