"""The plan workbook (Excel template), both ways: plan -> workbook -> plan gives the same model
and the same appraisal, in every language; a filled-in workbook's problems all point at their
sheet and cell, in one pass."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from alianza.appraisal import evaluate, load_plan, parse_plan
from alianza.appraisal.plan import PlanError, plan_document
from alianza.appraisal.translations import LANGUAGES, WORKBOOK_DOMAIN, gettext
from alianza.appraisal.workbook import (
    CHOICES,
    SHEETS,
    imprecise_numbers,
    plan_workbook,
    read_plan_workbook,
)

from .conftest import CASES, EXAMPLES, SHARED_REFERENCE

PLANS = sorted(
    [*EXAMPLES.glob("*.yaml"), *CASES.glob("*.plan.yaml"), *CASES.glob("*.profile.yaml")]
    + [
        path
        for path in (SHARED_REFERENCE.glob("*.yaml") if SHARED_REFERENCE.is_dir() else [])
        if not path.name.endswith(".expected.yaml")
    ]
)
ORCHARD = EXAMPLES / "orchard-with-without.plan.yaml"


def through_a_file(book: Workbook) -> Workbook:
    """The workbook as a user's file holds it: saved and opened again."""
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return load_workbook(buffer)


def round_trip(plan, lang: str = "en"):
    return read_plan_workbook(through_a_file(plan_workbook(plan, lang=lang)), "plan.xlsx")


def test_every_example_and_reference_plan_is_covered() -> None:
    names = {path.name for path in PLANS}
    assert {"fruit-veg-processing.plan.yaml", "orchard-with-without.plan.yaml"} <= names
    assert "honey-production.profile.yaml" in names


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("path", PLANS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_plan_to_workbook_to_plan_is_the_same_plan(path: Path, lang: str) -> None:
    plan = load_plan(path)
    back = round_trip(plan, lang)
    assert back == plan
    assert evaluate(back).to_dict() == evaluate(plan).to_dict()
    assert imprecise_numbers(plan) == []


# --- generated plans ------------------------------------------------------------------------

names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
    lambda text: text.strip() != ""
)
# A cell keeps 15 significant digits (Excel's precision): values of plans have fewer.
amounts = st.decimals(0, 10**7, places=4, allow_nan=False).map(float)
small = st.decimals(0, 100, places=3, allow_nan=False).map(float)
by_year = st.one_of(small, st.lists(small, min_size=1, max_size=6))
entries = st.lists(
    st.tuples(st.integers(1, 12), st.sampled_from(["", "a", "b", "ab"])),
    min_size=1,
    max_size=5,
    unique_by=lambda pair: pair[0],
)


@st.composite
def calendar_months(draw: st.DrawFn):
    if draw(st.booleans()):
        return "none"
    months: list[int | str] = []
    for month, halves in draw(entries):
        months += [f"{month}{h}" for h in halves] if halves else [month]
    return months


@st.composite
def investment(draw: st.DrawFn, years: int, donors: list[str]):
    kind = draw(st.sampled_from(["asset", "labour", "service"]))
    cost = draw(amounts)
    item = {
        "item": draw(names),
        "kind": kind,
        "unit": draw(st.sampled_from(["", "each", "day", "=odd unit"])),
        "quantity": draw(small),
        "unit_cost": cost,
        "begin": draw(st.integers(1, years)),
        "replace": draw(st.booleans()),
    }
    if kind == "asset":
        item |= {
            "life_years": draw(st.integers(1, 30)),
            "maintenance": draw(small),
            "salvage": float(int(cost * draw(st.floats(0, 1)))),
        }
    funded = item["quantity"] * cost / 4
    item["own_contribution"] = float(int(funded * draw(st.floats(0, 1))))
    item["own_in_kind"] = float(int(item["own_contribution"] * draw(st.floats(0, 1))))
    item["grant"] = float(int(funded * draw(st.floats(0, 1))))
    chosen = draw(st.lists(st.sampled_from(donors), unique=True)) if donors else []
    item["grants"] = {donor: float(int(funded * draw(st.floats(0, 1)))) for donor in chosen}
    return item


@st.composite
def activity(draw: st.DrawFn, name: str):
    line = {"item": draw(names), "unit": draw(st.sampled_from(["", "kg", "box"]))}
    quantity = draw(small)
    calendar = {
        flow: draw(calendar_months())
        for flow in ("inputs", "transport", "sales")
        if draw(st.booleans())
    }
    return {
        "name": name,
        "unit": draw(st.sampled_from(["", "ha", "case of 12"])),
        "cycles_per_year": draw(st.sampled_from([1, 2, 0.5, 3])),
        "production": draw(st.lists(small, min_size=1, max_size=6)),
        "calendar": calendar,
        "income": [line | {"quantity": quantity, "price": draw(small), "own_use": quantity / 2}]
        * draw(st.integers(0, 2)),
        "inputs": [line | {"quantity": quantity, "price": draw(small), "in_kind": quantity}]
        * draw(st.integers(0, 2)),
        "labour": [line | {"unit": "day", "quantity": quantity, "wage": draw(small)}]
        * draw(st.integers(0, 1)),
    }


@st.composite
def situation(draw: st.DrawFn, years: int, donors: list[str]):
    activity_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    costs = []
    for _ in range(draw(st.integers(0, 2))):
        quantity = draw(by_year)
        costs.append(
            {
                "item": draw(names),
                "unit": draw(st.sampled_from(["", "month"])),
                "quantity": quantity,
                "unit_cost": draw(small),
                "staff": draw(st.booleans()),
                "in_kind_amount": draw(st.sampled_from([0.0, [0.0], [0.0, 0.0]])),
            }
        )
    return {
        "investments": [draw(investment(years, donors)) for _ in range(draw(st.integers(0, 3)))],
        "general_costs": costs,
        "activities": [draw(activity(name)) for name in activity_names],
    }


@st.composite
def plans(draw: st.DrawFn):
    years = draw(st.integers(1, 15))
    donors = draw(st.lists(names, max_size=3, unique_by=str.casefold))
    data = {
        "plan": 1,
        "name": draw(names),
        "organization": draw(st.none() | names),
        "currency": draw(st.sampled_from(["USD", "HNL", "XOF", "MWK"])),
        "years": years,
        "discount_rate": draw(st.sampled_from([0.0, 0.03, 0.12, -0.02])),
        "inflation": draw(st.sampled_from([0.0, 0.045])),
        **draw(situation(years, donors)),
        "working_capital": {"grant": draw(small), "own": draw(small), "interest_rate": 0.16},
        "loans": [
            {
                "name": draw(names),
                "amount": draw(amounts.filter(lambda a: a > 0)),
                "interest_rate": 0.12,
                "years": 5,
                "grace_principal_years": draw(st.integers(0, 2)),
                "first_year": draw(st.integers(1, 3)),
            }
            for _ in range(draw(st.integers(0, 2)))
        ],
    }
    if draw(st.booleans()):
        data["beneficiaries"] = draw(
            st.sampled_from(
                [
                    {"total": 245},
                    {"direct": {"men": 3, "women": 4, "youth": 2}},
                    {"direct": {}, "indirect": {"children": 7}},
                ]
            )
        )
    if draw(st.booleans()):
        without = draw(situation(years, donors))
        data["without_project"] = without | {"working_capital": {"grant": draw(small)}}
    if draw(st.integers(0, 3)) == 0:  # a profile: one typical year, no financing
        data |= {"stage": "profile", "loans": [], "without_project": None}
        if draw(st.booleans()):
            del data["years"], data["discount_rate"], data["working_capital"]
    return parse_plan(data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans(), lang=st.sampled_from(LANGUAGES))
def test_any_plan_survives_the_workbook(plan, lang: str) -> None:
    assert round_trip(plan, lang) == plan


@settings(max_examples=40, deadline=None)
@given(plan=plans())
def test_any_plan_survives_yaml_and_json(plan) -> None:
    import json

    import yaml

    from alianza.cli.plan import plan_yaml

    document = plan_document(plan)
    assert parse_plan(yaml.safe_load(plan_yaml(document))) == plan
    assert parse_plan(json.loads(json.dumps(document))) == plan


def test_numbers_beyond_excel_precision_are_named() -> None:
    plan = load_plan(ORCHARD)
    plan.investments[0].unit_cost = 0.1 + 0.2
    assert imprecise_numbers(plan) == [
        "investments[0].unit_cost: 0.30000000000000004 is written as 0.3 (15 digits)"
    ]


def test_names_that_look_like_formulas_stay_names() -> None:
    plan = load_plan(ORCHARD)
    plan.investments[0].item = "=SUM(A1:A3)"
    plan.investments[0].grants = {"=Donor": 1000.0}
    assert round_trip(plan) == plan


def test_a_plan_the_workbook_cannot_name_apart_is_refused() -> None:
    plan = load_plan(ORCHARD)
    twin = plan.activities[0].model_copy()
    plan.activities.append(twin)
    with pytest.raises(PlanError) as caught:
        plan_workbook(plan)
    assert caught.value.errors[0][0] == "activities[1].name"
    assert "refers to activities by name" in caught.value.errors[0][1]


# --- the template ---------------------------------------------------------------------------


def titles(lang: str) -> dict[str, str]:
    return {key: gettext(lang, title, WORKBOOK_DOMAIN) for key, title in SHEETS.items()}


def test_a_new_template_has_every_form_with_lists_and_checks() -> None:
    book = through_a_file(plan_workbook())
    t = titles("en")
    assert book.sheetnames == [t[key] for key in SHEETS]
    assert book[t["lists"]].sheet_state == "hidden"
    investments = book[t["investments"]]
    assert investments.row_dimensions[3].hidden  # the field names' row
    assert [c.value for c in investments[4]][:5] == [
        "Item",
        "Kind",
        "Unit",
        "Quantity",
        "Unit cost",
    ]
    assert investments.freeze_panes == "B5"
    checks = {str(v.sqref): v for v in investments.data_validations.dataValidation}
    assert checks["B5:B504"].type == "list" and "Lists" in checks["B5:B504"].formula1
    assert checks["G5:G504"].type == "whole" and checks["G5:G504"].formula1 == "1"
    assert checks["C5:C504"].showErrorMessage is False  # units: suggestions, any may be typed
    general = {str(v.sqref): v for v in book[t["general"]].data_validations.dataValidation}
    currency = book["Lists"]
    codes = [currency.cell(row, 8).value for row in range(2, 200)]
    assert currency.cell(1, 8).value == "currency" and "HNL" in codes
    assert general["C8"].type == "list"
    calendar = book[t["calendar"]]
    assert [c.value for c in calendar[4]][3:15] == [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
    ]  # fmt: skip
    assert "alianza plan check" in " ".join(
        str(c.value) for c in book[t["instructions"]]["A"] if c.value
    )


def test_a_profile_template_leaves_out_what_a_profile_does_not_use() -> None:
    book = plan_workbook(profile=True)
    t = titles("en")
    assert t["loans"] not in book.sheetnames and t["calendar"] not in book.sheetnames
    assert t["working_capital"] not in book.sheetnames
    assert book[t["general"]]["C7"].value == "profile"


def test_a_blank_template_asks_for_what_a_plan_needs() -> None:
    with pytest.raises(PlanError) as caught:
        read_plan_workbook(through_a_file(plan_workbook()), "plan.xlsx")
    assert caught.value.errors == [
        ("General!C6", "name: Field required"),
        ("General!C8", "currency: Field required"),
        ("General!C9", "years: a project needs its horizon (years of operation)"),
        ("Activities", "activities: a plan needs at least one activity to appraise"),
    ]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_titles_and_choices_mean_one_thing_in_every_language(lang: str) -> None:
    """The reader finds sheets by title and choices by label in any language: no label
    may stand for two things."""
    seen: dict[str, str] = {}
    for other in LANGUAGES:
        for key, title in titles(other).items():
            assert seen.setdefault(title.casefold(), key) == key, (other, title)
            assert len(title) <= 31 and not set(title) & set("[]:*?/\\")
    for choices in CHOICES.values():
        labels: dict[str, object] = {}
        for other in LANGUAGES:
            for value, label in choices:
                text = gettext(other, label, WORKBOOK_DOMAIN).casefold()
                assert labels.setdefault(text, value) == value, (other, text)
    translated = plan_workbook(lang=lang)
    assert translated.sheetnames[3] == titles(lang)["investments"]


# --- a filled-in workbook with mistakes -----------------------------------------------------


def spanish_orchard_with_mistakes() -> Workbook:
    book = through_a_file(plan_workbook(load_plan(ORCHARD), lang="es"))
    investments = book["Inversiones"]
    investments["G5"] = 0  # life_years
    investments["D6"] = "mucho"  # quantity
    investments["B7"] = "máquina"  # kind
    activities = book["Actividades"]
    activities["E5"] = None  # a blank year before later ones
    income = book["Ingresos"]
    income["A6"] = "Mangos"  # no such activity
    income["E5"] = -3  # price
    calendar = book["Calendario"]
    calendar["K5"] = "c"  # not a mark
    book["Datos generales"]["C8"] = "XYZ"
    book["Préstamos"]["E5"] = 9  # grace on principal past the term
    return book


def test_every_problem_of_a_workbook_points_at_its_cell_in_one_pass() -> None:
    with pytest.raises(PlanError) as caught:
        read_plan_workbook(spanish_orchard_with_mistakes(), "plan.xlsx")
    errors = caught.value.errors
    found = dict(errors)
    assert found["'Datos generales'!C8"] == (
        "currency: 'XYZ' is not an ISO 4217 currency code (USD, HNL, MWK …)"
    )
    assert found["Inversiones!G5"] == "life_years must be > 0"
    assert found["Inversiones!D6"] == "quantity: 'mucho' is not a number"
    assert found["Inversiones!B7"].startswith(
        "kind: 'máquina' is not one of: activo, mano de obra, servicio"
    )
    assert "year 2 is blank but a later year is given" in found["Actividades!E5"]
    assert "no activity 'Mangos'" in found["Ingresos!A6"]
    assert found["Ingresos!E5"] == "price: Input should be greater than or equal to 0"
    assert "'c' is not a mark" in found["Calendario!K5"]
    assert found["Préstamos!A5:G5"] == "grace periods must end before the loan's last year"
    # one line a problem, in the workbook's order (sheet, row, column)
    assert len(errors) == len(found) == 9
    assert [ref.split("!")[0] for ref, _ in errors][:2] == ["'Datos generales'", "Inversiones"]


def test_a_row_left_blank_is_skipped_and_rows_may_be_added() -> None:
    book = through_a_file(plan_workbook(load_plan(CASES / "honey-production.profile.yaml")))
    investments = book["Investments"]
    investments.insert_rows(6)  # a blank row between two items
    investments["A20"], investments["D20"], investments["E20"] = "Smoker", 2, 15
    investments["G20"] = 5
    plan = read_plan_workbook(book)
    assert [item.item for item in plan.investments][-1] == "Smoker"
    assert len(plan.investments) == 8


def test_the_without_project_flag_agrees_with_the_lines() -> None:
    book = through_a_file(plan_workbook(load_plan(ORCHARD)))
    book["General"]["C12"] = "no"
    with pytest.raises(PlanError) as caught:
        read_plan_workbook(book)
    assert caught.value.errors[0][0] == "General!C12"
    assert "without the project" in caught.value.errors[0][1]


def test_a_donor_column_needs_its_donor() -> None:
    book = through_a_file(plan_workbook(load_plan(ORCHARD)))
    book["Investments"]["O4"] = None
    with pytest.raises(PlanError) as caught:
        read_plan_workbook(book)
    assert caught.value.errors == [
        ("Investments!O4", "grants: this column has amounts: type its donor's name in the heading")
    ]


def test_a_value_in_a_column_alianza_cannot_read_is_an_error() -> None:
    book = through_a_file(plan_workbook(load_plan(ORCHARD)))
    book["Income"]["Z6"] = 12  # no field in row 3
    with pytest.raises(PlanError) as caught:
        read_plan_workbook(book)
    assert caught.value.errors[0][0] == "Income!Z6"
    assert "no plan field in row 3" in caught.value.errors[0][1]


def test_a_column_added_to_investments_with_a_heading_is_a_donor() -> None:
    book = through_a_file(plan_workbook(load_plan(CASES / "honey-production.profile.yaml")))
    investments = book["Investments"]
    investments["P4"], investments["P7"] = "Municipality", 400  # beehives
    investments["Q7"] = "25%"  # a rate would be read from text too; here: no field, no heading
    with pytest.raises(PlanError) as caught:
        read_plan_workbook(book)
    assert (
        caught.value.errors == [("Investments!Q7", caught.value.errors[0][1])]
        and "no plan field" in caught.value.errors[0][1]
    )
    investments["Q7"] = None
    plan = read_plan_workbook(book)
    assert plan.investments[2].grants == {"Municipality": 400.0}


def test_a_rate_typed_as_text_with_a_percent_sign() -> None:
    book = through_a_file(plan_workbook(load_plan(ORCHARD)))
    book["General"]["C10"] = "12%"
    assert read_plan_workbook(book).discount_rate == pytest.approx(0.12)


def test_a_template_for_a_horizon_has_its_year_columns() -> None:
    book = plan_workbook(years=15)
    assert book["General"]["C9"].value == 15
    keys = [c.value for c in book["Activities"][3]]
    assert "production.15" in keys and "production.16" not in keys


def test_a_renamed_or_doubled_sheet_is_an_error_not_a_loss() -> None:
    book = through_a_file(plan_workbook(load_plan(ORCHARD)))
    book["Investments"].title = "My investments"
    book.copy_worksheet(book["Loans"]).title = "Préstamos"
    with pytest.raises(PlanError) as caught:
        read_plan_workbook(book)
    found = dict(caught.value.errors)
    assert "its name is none of the plan's sheets" in found["'My investments'"]
    assert found["Préstamos"] == "a second Loans sheet: keep one"
