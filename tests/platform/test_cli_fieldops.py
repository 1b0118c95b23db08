"""`alianza farmers card`, `alianza sales record`, `alianza payments post` and `reconcile`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from alianza.cli import app
from alianza.platform.access import act_as
from alianza.platform.db import Database
from alianza.platform.payments import service as payments
from alianza.platform.programmes.service import create_programme, create_user
from tests.platform.mi_fixtures import build_mi_world


def test_cards_sales_and_reconciliation_through_the_alianza_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert CliRunner().invoke(app, ["db", "upgrade", "--url", url]).exit_code == 0
    database = Database(url)
    with database.session() as session:
        user = create_user(
            session, {"username": "ana", "display_name": "Ana", "password": "password1"}
        )
        admin = create_programme(
            session, {"code": "PA-HN", "name": "MI", "reporting_currency": "USD"}, user
        )
        session.commit()
        mi = build_mi_world(session, admin)
        farmer_id, other_id, supplier_id = mi.farmers[0].id, mi.other_farmers[0].id, mi.supplier.id
    database.dispose()
    common = ["--programme", "PA-HN", "--url", url]
    pdf = tmp_path / "card.pdf"
    made = CliRunner().invoke(
        app, ["farmers", "card", str(farmer_id), "--as", "agro", "--out", str(pdf), *common]
    )
    assert made.exit_code == 0, made.output
    assert pdf.read_bytes().startswith(b"%PDF-") and f"PA-HN-F{farmer_id}-" in made.output
    hidden = CliRunner().invoke(app, ["farmers", "card", str(other_id), "--as", "agro", *common])
    assert hidden.exit_code == 2 and "no farmer" in hidden.output
    sell = [
        "sales",
        "record",
        "--farmer",
        str(farmer_id),
        "--supplier",
        str(supplier_id),
        "--as",
        "agro",
        *common,
    ]
    refused = CliRunner().invoke(app, [*sell, "--kit", "poultry_unit", "--method", "cash"])
    assert refused.exit_code == 2 and "prerequisites" in refused.output
    sold = CliRunner().invoke(
        app, [*sell, "--kit", "drip_bed", "--method", "mobile_money", "--on", "2025-03-01"]
    )
    assert sold.exit_code == 0, sold.output
    assert "pending" in sold.output and "account number K" in sold.output
    database = Database(url)
    with database.session() as session:
        intake = payments.intake_actor(session, "PA-HN")
        for n in (1, 2):  # stored by the intake (as the HTTP endpoint does), not posted yet
            payments.accept(
                intake,
                {"provider": "airtel", "transaction_id": f"T{n}", "amount": "500.00", "currency": "MWK",
                 "phone": "+265999000111", "paid_at": "2025-03-02T10:00:00+00:00"},
            )  # fmt: skip
    database.dispose()
    posted = CliRunner().invoke(app, ["payments", "post", *common])
    assert posted.exit_code == 0, posted.output
    assert "0 payment(s) matched, 2 parked" in posted.output
    database = Database(url)
    with database.session() as session:
        reviewer = act_as(session, mi.admin.user_id, mi.admin.programme_id)
        assert payments.parked(reviewer).total == 2
    database.dispose()
    again = CliRunner().invoke(app, ["payments", "post", *common])
    assert "0 payment(s) matched, 0 parked" in again.output
    statement = tmp_path / "statement.csv"
    statement.write_text("transaction_id,amount,phone\nT1,500.00,+265999000111\nT3,20.00,\n")
    result = CliRunner().invoke(
        app,
        ["payments", "reconcile", str(statement), "--provider", "airtel", "--as", "ana", *common],
    )
    assert result.exit_code == 1, result.output
    assert "T3" in result.output and "missing" in result.output
    assert "T2" in result.output and "extra" in result.output
