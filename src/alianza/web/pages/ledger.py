"""The ledger page (``ledger``): balances by account, with kind and currency, and the postings
of one account (paged), for ledger.read; a narrow role sees only the accounts its scope holds."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from alianza.platform.ledger import service as ledger
from alianza.web.api.ledger import posting_out
from alianza.web.auth import CurrentActor
from alianza.web.i18n import N_
from alianza.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50

ACCOUNT_KINDS = {
    "funder": N_("Funder"),
    "project_funds": N_("Project funds"),
    "po": N_("Producer organization"),
    "po_revolving_fund": N_("PO revolving fund"),
    "po_in_kind": N_("PO in-kind contributions"),
    "member": N_("Member"),
    "buyer": N_("Buyer"),
    "financial_institution": N_("Financial institution"),
    "kit_buyers": N_("Kit buyers"),
    "offtaker": N_("Off-taker"),
    "mobile_money": N_("Mobile money"),
    "kit_sales": N_("Kit sales"),
    "agronomist": N_("Agronomist"),
    "payments_suspense": N_("Payments suspense"),
}
POSTING_KINDS = {
    "funding": N_("Funding"),
    "grant_tranche": N_("Grant tranche"),
    "counterpart_cash": N_("Counterpart in cash"),
    "counterpart_in_kind": N_("Counterpart in kind"),
    "bank_loan": N_("Bank loan"),
    "loan_repayment": N_("Loan repayment"),
    "member_repayment": N_("Member's repayment"),
    "revolving_fund_loan": N_("Revolving fund loan"),
    "buyer_payment": N_("Buyer's payment"),
    "payment_to_member": N_("Payment to a member"),
    "kit_sale": N_("Kit sale"),
    "payment_parked": N_("Payment parked for review"),
    "reversal": N_("Reversal"),
}


@router.get("/ledger", response_class=HTMLResponse, name="ledger")
def ledger_page(request: Request, actor: CurrentActor, offset: int = 0) -> HTMLResponse:
    rows = ledger.balances(actor)
    offset = max(offset, 0)
    return render(
        request,
        "ledger/accounts.html",
        {
            "accounts": rows[offset : offset + PAGE_SIZE],
            "total": len(rows),
            "offset": offset,
            "limit": PAGE_SIZE,
            "kinds": ACCOUNT_KINDS,
        },
    )


@router.get("/ledger/accounts/{account_id}", response_class=HTMLResponse, name="ledger_account")
def account_page(
    request: Request, actor: CurrentActor, account_id: int, offset: int = 0
) -> HTMLResponse:
    offset = max(offset, 0)
    page = ledger.postings(actor, account_id, PAGE_SIZE, offset)
    account = ledger.get_account(actor, account_id)
    return render(
        request,
        "ledger/account.html",
        {
            "account": account,
            "balance": ledger.balance(actor, account_id),
            "postings": [posting_out(p, account_id) for p in page.items],
            "total": page.total,
            "offset": offset,
            "limit": PAGE_SIZE,
            "kinds": ACCOUNT_KINDS,
            "posting_kinds": POSTING_KINDS,
        },
    )
