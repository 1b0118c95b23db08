"""The layout of an appraisal report: its sections, rows and labels, in the report's language.

One layout, three renderings: the CLI's table (`alianza.cli.plan`), the workbook
(`alianza.appraisal.export`) and the PDF (`alianza.appraisal.pdf`) each turn these
sections into their medium, so that they show the same figures under the same labels.
A section "by year" has the years of operation across its columns (RuralInvest's way);
the terminal turns it so that the years run down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from alianza.appraisal.report import UNNAMED_DONOR, ProfileReport, ProjectReport
from alianza.appraisal.translations import N_, Texts

Kind = Literal["money", "percent", "decimal", "integer", "ratio", "text", "years"]
Value = float | int | str | None


@dataclass(frozen=True)
class Row:
    label: str
    values: Sequence[Value]
    kind: Kind = "money"
    total: bool = False  # a total or result line, shown in bold
    level: int = 0  # indentation: a part of the line above
    summable: bool = True  # a by-year line whose years add up to a meaningful total


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    columns: list[str]  # headers of the value columns
    rows: list[Row]
    by_year: bool = False
    note: str | None = None
    notes: list[str] = field(default_factory=list)  # free text lines (warnings)
    # A column's own kind, over its rows' (a column of shares beside amounts).
    column_kinds: list[Kind | None] | None = None

    def kind(self, row: Row, column: int) -> Kind:
        if self.column_kinds is not None and self.column_kinds[column] is not None:
            return self.column_kinds[column]  # type: ignore[return-value]
        return row.kind

    def cells(self, texts: Texts, row: Row) -> list[str]:
        return [format_value(texts, v, self.kind(row, i)) for i, v in enumerate(row.values)]


DRIVERS = {
    "price": N_("Price"),
    "yield": N_("Yield"),
    "cost": N_("Costs"),
    "investment": N_("Investment"),
}


def format_value(texts: Texts, value: Value, kind: Kind) -> str:
    """A value as text in the report's language."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if kind == "money":
        return texts.money(value)
    if kind == "percent":
        return texts.percent(value)
    if kind in ("decimal", "ratio", "years"):
        return texts.decimal(value)
    if kind == "integer":
        return texts.integer(value)
    return str(value)


def donor_name(texts: Texts, donor: str) -> str:
    return texts(N_("Grant (donor not named)")) if donor == UNNAMED_DONOR else donor


def _irr(texts: Texts, value: float | None, status: str) -> tuple[Value, Kind]:
    if status == "unique":
        return value, "percent"
    if status == "multiple":
        return texts(N_("several rates make the NPV zero")), "text"
    return texts(N_("none: no rate makes the NPV zero")), "text"


def _years(texts: Texts, value: float | None) -> tuple[Value, Kind]:
    return (value, "years") if value is not None else (texts(N_("not within the horizon")), "text")


def title_lines(report: ProjectReport | ProfileReport, texts: Texts) -> list[tuple[str, str]]:
    """The title block: (label, text) pairs."""
    info = report.info
    lines = [(texts(N_("Plan")), info.plan)]
    if info.organization:
        lines.append((texts(N_("Organization")), info.organization))
    lines.append((texts(N_("Currency")), info.currency))
    if isinstance(report, ProjectReport):
        lines += [
            (
                texts(N_("Stage")),
                texts(N_("Project over %(years)s years"), years=report.years),
            ),
            (texts(N_("Discount rate")), texts.percent(report.discount_rate)),
        ]
        if report.inflation:
            lines.append((texts(N_("Inflation")), texts.percent(report.inflation)))
    else:
        lines.append((texts(N_("Stage")), texts(N_("Profile: one typical year"))))
    lines += [
        (texts(N_("Date")), texts.date(info.produced_on)),
        (texts(N_("Prepared with")), f"alianza {info.alianza_version}"),
    ]
    return lines


def _value(label: str, value: Value, kind: Kind = "money", **options: object) -> Row:
    return Row(label, [value], kind, **options)  # type: ignore[arg-type]


def financing_section(report: ProjectReport | ProfileReport, texts: Texts) -> Section:
    f = report.financing
    total = f.total or None

    def row(label: str, amount: float, **options: object) -> Row:
        share = None if total is None else amount / total
        return Row(label, [amount, share], "money", **options)  # type: ignore[arg-type]

    rows = [row(texts(N_("Investment")), f.investment)]
    if isinstance(report, ProjectReport):
        rows.append(row(texts(N_("Working capital")), f.working_capital))
    rows.append(row(texts(N_("Total to finance")), f.total, total=True))
    rows.append(row(texts(N_("Grants")), f.grants))
    rows += [
        row(donor_name(texts, donor), amount, level=1)
        for donor, amount in f.grants_by_donor.items()
    ]
    rows += [
        row(texts(N_("Own contribution in cash")), f.counterpart_cash),
        row(texts(N_("Own contribution in kind")), f.counterpart_in_kind),
    ]
    if isinstance(report, ProjectReport):
        rows += [
            row(texts(N_("Loans")), f.loans),
            row(texts(N_("Short-term credit for working capital")), f.working_capital_credit),
        ]
    rows.append(row(texts(N_("Not financed")), f.unfinanced, total=True))
    return Section(
        "financing",
        texts(N_("Financing plan")),
        [texts(N_("Amount")), texts(N_("Share"))],
        rows,
        column_kinds=[None, "percent"],
    )


def per_beneficiary_section(report: ProjectReport | ProfileReport, texts: Texts) -> Section:
    p = report.per_beneficiary
    rows = [
        _value(texts(N_("Direct beneficiaries")), p.beneficiaries, "integer"),
        _value(texts(N_("Investment per beneficiary")), p.investment),
        _value(texts(N_("Grant per beneficiary")), p.grant),
        _value(texts(N_("Incremental income per beneficiary (a year)")), p.incremental_income),
        _value(texts(N_("Annual cost per beneficiary")), p.annual_cost),
    ]
    labels = {"women": N_("Women"), "men": N_("Men")}
    for share in p.by_sex:
        rows += [
            _value(
                texts(N_("%(who)s: people"), who=texts(labels[share.sex])),
                share.people,
                "integer",
                total=True,
            ),
            _value(texts(N_("share of the beneficiaries")), share.share, "percent", level=1),
            _value(texts(N_("investment reaching them")), share.investment, level=1),
            _value(texts(N_("grant reaching them")), share.grant, level=1),
            _value(texts(N_("incremental income (a year)")), share.incremental_income, level=1),
        ]
    note = (
        texts(N_("Women's and men's figures are attributed in proportion to their number."))
        if p.by_sex
        else None
    )
    return Section(
        "beneficiaries",
        texts(N_("Per beneficiary")),
        [texts(N_("Value"))],
        rows,
        note=note,
    )


def project_sections(report: ProjectReport, texts: Texts) -> list[Section]:
    years = [str(row.year) for row in report.cash_flow_table]
    irr, irr_kind = _irr(texts, report.irr, report.irr_detail.status)
    applicant_irr, applicant_kind = _irr(
        texts, report.applicant_irr, report.applicant_irr_detail.status
    )
    ds = report.debt_service
    indicators = Section(
        "indicators",
        texts(N_("Indicators")),
        [texts(N_("Value"))],
        [
            _value(texts(N_("Net present value (NPV)")), report.npv, total=True),
            _value(texts(N_("Internal rate of return (IRR)")), irr, irr_kind, total=True),
            _value(texts(N_("Benefit/cost ratio")), report.benefit_cost_ratio, "ratio"),
            _value(texts(N_("Payback (years)")), *_years(texts, report.payback_years)),
            _value(texts(N_("Applicant's NPV (grants given back)")), report.applicant_npv),
            _value(texts(N_("Applicant's IRR")), applicant_irr, applicant_kind),
            _value(
                texts(N_("Applicant's payback (years)")),
                *_years(texts, report.applicant_payback_years),
            ),
            _value(
                texts(N_("Annual net income (last year, less the residual value)")),
                report.annual_net_income,
            ),
            _value(texts(N_("Residual value")), report.residual_value),
            _value(
                texts(N_("Minimum debt-service coverage ratio")),
                ds.minimum_dscr,
                "ratio",
            ),
            _value(
                texts(N_("Employment (person-years)")), report.employment_person_years, "decimal"
            ),
            _value(texts(N_("Direct beneficiaries")), report.beneficiaries.direct, "integer"),
            _value(texts(N_("Indirect beneficiaries")), report.beneficiaries.indirect, "integer"),
        ],
    )
    schedule = report.financing_schedule
    donors = list(report.financing.grants_by_donor)
    financing_years = Section(
        "financing_schedule",
        texts(N_("Investment and financing by year")),
        years,
        [
            Row(texts(N_("Investment")), [r.investment for r in schedule]),
            Row(texts(N_("Working capital")), [r.working_capital for r in schedule]),
            Row(
                texts(N_("Total to finance")),
                [r.investment + r.working_capital for r in schedule],
                total=True,
            ),
            Row(texts(N_("Grants")), [r.grants for r in schedule]),
            *(
                Row(
                    donor_name(texts, donor),
                    [r.grants_by_donor.get(donor, 0.0) for r in schedule],
                    level=1,
                )
                for donor in donors
            ),
            Row(texts(N_("Own contribution in cash")), [r.own_cash for r in schedule]),
            Row(texts(N_("Own contribution in kind")), [r.own_in_kind for r in schedule]),
            Row(texts(N_("Loans")), [r.loans for r in schedule]),
            Row(
                texts(N_("Short-term credit for working capital")),
                [r.working_capital_credit for r in schedule],
            ),
            Row(texts(N_("Not financed")), [r.unfinanced for r in schedule], total=True),
            Row(
                texts(N_("Replacements (paid from the flows)")),
                [r.replacements for r in schedule],
            ),
        ],
        by_year=True,
    )
    t = report.cash_flow_table
    benefits = [r.sales + r.own_use + r.salvage + r.residual for r in t]
    costs = [r.operating + r.general + r.maintenance + r.replacements + r.investment for r in t]
    cash_flow = Section(
        "cash_flow",
        texts(N_("Cash flow before financing")),
        years,
        [
            Row(texts(N_("Sales")), [r.sales for r in t], level=1),
            Row(texts(N_("Own use")), [r.own_use for r in t], level=1),
            Row(texts(N_("Salvage")), [r.salvage for r in t], level=1),
            Row(texts(N_("Residual value")), [r.residual for r in t], level=1),
            Row(texts(N_("Benefits")), benefits, total=True),
            Row(texts(N_("Operating costs")), [r.operating for r in t], level=1),
            Row(texts(N_("General costs")), [r.general for r in t], level=1),
            Row(texts(N_("Maintenance")), [r.maintenance for r in t], level=1),
            Row(texts(N_("Replacements")), [r.replacements for r in t], level=1),
            Row(texts(N_("Investment")), [r.investment for r in t], level=1),
            Row(texts(N_("Costs")), costs, total=True),
            Row(texts(N_("Net flow")), [r.net for r in t], total=True),
        ],
        by_year=True,
        note=texts(N_("The increment over the situation without the project."))
        if report.increment
        else None,
    )
    flows = report.cash_flows
    grants_back = [round(a - b, 2) for a, b in zip(flows.applicant, flows.total, strict=True)]
    t_flows = Section(
        "flows",
        texts(N_("Flows for the indicators (year-1 investment at t = 0)")),
        [str(i) for i in range(len(flows.total))],
        [
            Row(texts(N_("Total flow")), flows.total, total=True, summable=False),
            Row(texts(N_("Grants given back")), grants_back, level=1),
            Row(texts(N_("Applicant's flow")), flows.applicant, total=True, summable=False),
        ],
        by_year=True,
    )
    d = ds.years
    lender = Section(
        "debt_service",
        texts(N_("Cash after financing and debt service")),
        years,
        [
            Row(texts(N_("Cash from operations")), [r.cash_from_operations for r in d]),
            Row(texts(N_("Salvage")), [r.salvage for r in d], level=1),
            Row(texts(N_("Replacements")), [r.replacements for r in d], level=1),
            Row(texts(N_("Investment paid in cash")), [r.investment for r in d], level=1),
            Row(
                texts(N_("Cash before financing")), [r.cash_before_financing for r in d], total=True
            ),
            Row(texts(N_("Grants")), [r.grants for r in d], level=1),
            Row(texts(N_("Own contribution in cash")), [r.own_contribution for r in d], level=1),
            Row(texts(N_("Loan disbursements")), [r.loan_disbursements for r in d], level=1),
            Row(texts(N_("Interest")), [r.interest for r in d], level=1),
            Row(texts(N_("Principal")), [r.principal for r in d], level=1),
            Row(texts(N_("Debt service")), [r.debt_service for r in d]),
            Row(texts(N_("Cash after financing")), [r.cash_after_financing for r in d], total=True),
            Row(
                texts(N_("Cumulative cash position")),
                [r.cumulative_cash for r in d],
                total=True,
                summable=False,
            ),
            Row(
                texts(N_("Debt-service coverage ratio (DSCR)")),
                [r.dscr for r in d],
                "ratio",
                summable=False,
            ),
        ],
        by_year=True,
        note=(
            texts(
                N_("Minimum DSCR %(ratio)s in year %(year)s. "),
                ratio=texts.decimal(ds.minimum_dscr),
                year=ds.minimum_dscr_year,
            )
            if ds.minimum_dscr is not None
            else texts(N_("No debt service. "))
        )
        + texts(
            N_(
                "The cash of the situation with the project; working capital and its "
                "short-term credit are in their own table."
            )
        ),
    )
    wc = report.working_capital
    working_capital = Section(
        "working_capital",
        texts(N_("Working capital")),
        [texts(N_("Value"))],
        [
            _value(texts(N_("Working capital needed")), wc.amount, total=True),
            _value(texts(N_("Months to finance")), wc.period_months, "integer"),
            _value(
                texts(N_("Average financing period (months)")), wc.average_period_months, "decimal"
            ),
            _value(texts(N_("Grant")), wc.grant),
            _value(texts(N_("Own contribution")), wc.own),
            _value(texts(N_("To finance (short-term credit)")), wc.financed),
            _value(texts(N_("Real interest rate")), wc.real_rate, "percent"),
            _value(texts(N_("Interest (average period)")), wc.interest),
        ],
    )
    sections = [indicators, financing_section(report, texts), financing_years, cash_flow, t_flows]
    sections += [lender, working_capital]
    for loan in report.loans:
        s = loan.schedule
        sections.append(
            Section(
                f"loan:{loan.name}",
                texts(N_("Loan: %(name)s"), name=loan.name),
                [str(r.year) for r in s],
                [
                    Row(texts(N_("Opening balance")), [r.opening for r in s], summable=False),
                    Row(texts(N_("Interest")), [r.interest for r in s]),
                    Row(texts(N_("Principal")), [r.principal for r in s]),
                    Row(texts(N_("Payment")), [r.payment for r in s], total=True),
                    Row(texts(N_("Closing balance")), [r.closing for r in s], summable=False),
                ],
                by_year=True,
                note=texts(
                    N_("%(amount)s at %(rate)s over %(years)s years from year %(first)s."),
                    amount=texts.money(loan.amount),
                    rate=texts.percent(loan.interest_rate),
                    years=loan.years,
                    first=loan.first_year,
                ),
            )
        )
    changes, grid = report.sensitivity_grid()
    change_columns = [texts.signed_percent(c) for c in changes]
    sections.append(
        Section(
            "sensitivity",
            texts(N_("Sensitivity: NPV when a driver changes")),
            change_columns,
            [
                Row(texts(DRIVERS.get(driver, driver)), [r.npv for r in rows], summable=False)
                for driver, rows in grid.items()
            ],
            note=texts(
                N_(
                    "The NPV with one driver moved, the others as planned; the switching "
                    "value is the change that brings the NPV to zero."
                )
            ),
        )
    )
    sections.append(
        Section(
            "sensitivity_irr",
            texts(N_("Sensitivity: IRR when a driver changes")),
            change_columns,
            [
                Row(
                    texts(DRIVERS.get(driver, driver)),
                    [r.irr for r in rows],
                    "percent",
                    summable=False,
                )
                for driver, rows in grid.items()
            ],
        )
    )
    sections.append(
        Section(
            "switching_values",
            texts(N_("Switching values")),
            [texts(N_("Change that brings the NPV to zero"))],
            [
                _value(texts(DRIVERS.get(driver, driver)), value, "percent")
                for driver, value in report.switching_values.items()
            ],
        )
    )
    sections.append(per_beneficiary_section(report, texts))
    if report.risk is not None:
        r = report.risk
        sections.append(
            Section(
                "risk",
                texts(N_("Risk of a negative NPV")),
                [texts(N_("Value"))],
                [
                    _value(
                        texts(N_("Probability of a negative NPV")),
                        r.probability_negative_npv,
                        "percent",
                        total=True,
                    ),
                    _value(texts(N_("NPV mean")), r.npv_mean),
                    _value(texts(N_("NPV standard deviation")), r.npv_sd),
                    *(_value(f"NPV {k}", v) for k, v in r.npv_percentiles.items()),
                    _value(texts(N_("Draws")), r.draws, "integer"),
                    _value(texts(N_("Seed")), r.seed, "integer"),
                    _value(
                        texts(N_("Standard deviation of the price factor")), r.price_sd, "percent"
                    ),
                    _value(
                        texts(N_("Standard deviation of the yield factor")), r.yield_sd, "percent"
                    ),
                ],
            )
        )
    return sections


def profile_sections(report: ProfileReport, texts: Texts) -> list[Section]:
    recover: tuple[Value, Kind] = (
        (report.years_to_recover, "decimal")
        if report.years_to_recover is not None
        else (texts(N_("never")), "text")
    )
    typical = Section(
        "typical_year",
        texts(N_("The typical year at full production")),
        [texts(N_("Value"))],
        [
            _value(texts(N_("Income")), report.income),
            _value(texts(N_("Operating costs")), report.operating_costs, level=1),
            _value(texts(N_("General costs")), report.general_costs, level=1),
            _value(texts(N_("Maintenance")), report.maintenance, level=1),
            _value(texts(N_("Annual reserve for replacements")), report.annual_reserve, level=1),
            _value(texts(N_("Net income after the reserve")), report.net_after_reserve, total=True),
            _value(texts(N_("Years to recover the investment")), *recover),
            _value(
                texts(N_("Employment (person-years)")), report.employment_person_years, "decimal"
            ),
        ],
    )
    return [typical, financing_section(report, texts), per_beneficiary_section(report, texts)]


def sections_of(report: ProjectReport | ProfileReport, texts: Texts) -> list[Section]:
    """Every section of the report, with its warnings last."""
    sections = (
        project_sections(report, texts)
        if isinstance(report, ProjectReport)
        else profile_sections(report, texts)
    )
    if report.warnings:
        sections.append(Section("warnings", texts(N_("Notes")), [], [], notes=report.warnings))
    return sections
