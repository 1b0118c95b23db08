"""Micro Investing in the field: `alianza farmers card ID`, `alianza sales record`,
`alianza payments post`, `alianza payments reconcile STATEMENT.csv`."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from alianza.cli._options import AS_USER, PROGRAMME, URL_OPTION
from alianza.cli.programme import acting

farmers_app = typer.Typer(help="Farmers: their printable QR cards.", no_args_is_help=True)
sales_app = typer.Typer(help="Kit sales to farmers.", no_args_is_help=True)
payments_app = typer.Typer(help="Mobile-money payments.", no_args_is_help=True)
console = Console(soft_wrap=True)


@farmers_app.command("card")
def card(
    farmer_id: int = typer.Argument(..., min=1, help="The farmer's ID."),
    programme: str = PROGRAMME,
    username: str = AS_USER,
    out: Path = typer.Option(  # noqa: B008
        None, "--out", help="Where to write it (.pdf or .png); default: farmer-ID.pdf here."
    ),
    url: str | None = URL_OPTION,
) -> None:
    """Write a farmer's QR card: a PDF the size of a bank card, or the QR code alone as PNG."""
    from alianza.cli._session import fail
    from alianza.platform.registry.cards import farmer_card

    target = out or Path(f"farmer-{farmer_id}.pdf")
    if target.suffix.lower() not in (".pdf", ".png"):
        raise fail(f"--out: give a .pdf or .png file, not {target.name}")
    with acting(url, programme, username) as actor:
        found = farmer_card(actor, farmer_id)
    target.write_bytes(found.pdf() if target.suffix.lower() == ".pdf" else found.png())
    console.print(f"{found.name}: card {found.code} written to {target}")


@sales_app.command("record")
def record(
    farmer_id: int = typer.Option(..., "--farmer", min=1, help="The farmer's ID."),
    kit: str = typer.Option(..., "--kit", help="The kit's id in the catalogue (drip_bed)."),
    method: str = typer.Option(
        ..., "--method", help="cash, mobile_money (pending until paid) or prepayment."
    ),
    supplier_id: int = typer.Option(..., "--supplier", min=1, help="The supplier's ID."),
    units: int = typer.Option(1, "--units", min=1),
    sold_on: str = typer.Option(None, "--on", help="Date of the sale (YYYY-MM-DD); today."),
    offtaker_id: int | None = typer.Option(None, "--offtaker", help="Who prepays (prepayment)."),
    agronomist_id: int | None = typer.Option(None, "--agronomist", help="Who sold it."),
    programme: str = PROGRAMME,
    username: str = AS_USER,
    url: str | None = URL_OPTION,
) -> None:
    """Sell a kit to a farmer at the current catalogue price in their district; refused with
    the rule broken (prerequisites, stock, units per farmer) and nothing written."""
    from alianza.platform.kits.service import record_sale

    fields = {
        "farmer_id": "--farmer",
        "kit_code": "--kit",
        "supplier_id": "--supplier",
        "offtaker_id": "--offtaker",
        "sold_on": "--on",
    }
    with acting(url, programme, username, fields) as actor:
        sale = record_sale(
            actor,
            {
                "farmer_id": farmer_id,
                "kit_code": kit,
                "method": method,
                "supplier_id": supplier_id,
                "units": units,
                "sold_on": sold_on or date.today(),
                "offtaker_id": offtaker_id,
                "agronomist_id": agronomist_id,
            },
        )
        summary = (
            f"sale {sale.id} ({sale.reference}): {sale.units} x {sale.kit_code} for "
            f"{sale.amount} {sale.currency}, {sale.status}"
        )
        if sale.status == "pending":
            summary += f"; the farmer pays by mobile money with account number {sale.reference}"
    console.print(summary)


@payments_app.command("post")
def post(programme: str = PROGRAMME, url: str | None = URL_OPTION) -> None:
    """Match or park the payments the HTTP intake stored and has not posted yet (a running
    `alianza serve` does this by itself within a second), in batches, as the intake."""
    from alianza.cli._session import session as _session
    from alianza.platform.payments import service as payments

    matched = parked = 0
    while True:
        with _session(url) as session:
            run = payments.post_received(payments.intake_actor(session, programme))
        if run.busy:  # a server is posting this programme right now: let it, and look again
            time.sleep(0.1)
            continue
        matched, parked = matched + run.matched, parked + run.parked
        if run.posted < payments.POSTING_BATCH:
            break
    console.print(f"{programme}: {matched} payment(s) matched, {parked} parked")


@payments_app.command("reconcile")
def reconcile(
    statement: Path = typer.Argument(..., exists=True, dir_okay=False, help="The provider's CSV."),  # noqa: B008
    provider: str = typer.Option(..., "--provider", help="The provider, as the intake names it."),
    country: str | None = typer.Option(None, "--country", help="Phones' country (MW, TZ)."),
    programme: str = PROGRAMME,
    username: str = AS_USER,
    url: str | None = URL_OPTION,
) -> None:
    """Check a provider's statement against the payments received: missing (on the statement,
    never received), extra (received, not on it) and mismatched transactions. Exit code 1
    when it does not reconcile."""
    from alianza.platform.payments.service import read_statement
    from alianza.platform.payments.service import reconcile as check

    with acting(url, programme, username) as actor:
        lines = read_statement(statement.read_text(encoding="utf-8-sig"), country)
        result = check(actor, provider, lines)
        table = Table(title=f"{provider}: {len(lines)} statement lines, {result.matched} agree")
        for column in ("transaction", "what", "detail"):
            table.add_column(column)
        for line in result.missing:
            table.add_row(
                line.transaction_id, "missing", f"{line.amount} (statement row {line.row})"
            )
        for payment in result.extra:
            table.add_row(
                payment.transaction_id,
                "extra",
                f"{payment.amount} received {payment.paid_at:%Y-%m-%d}",
            )
        for line, _payment, why in result.mismatched:
            table.add_row(line.transaction_id, "mismatched", why)
    console.print(table)
    if not result.clean:
        raise typer.Exit(code=1)
