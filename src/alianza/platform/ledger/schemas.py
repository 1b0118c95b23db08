"""Account kinds, posting kinds and the rules between them; validated posting input."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field, field_validator

from alianza.platform.programmes.schemas import currency_code
from alianza.problems import Message

# Internal funds may never go below zero; counterparties' accounts are memoranda of what they
# put in (negative) or took out (positive), so they may.
ACCOUNT_KINDS: dict[str, bool] = {  # kind -> allows overdraft
    "funder": True,
    "project_funds": False,
    "po": False,
    "po_revolving_fund": False,
    "po_in_kind": False,
    "member": True,
    "buyer": True,
    "financial_institution": True,
    # Micro Investing: farmers' and off-takers' payments for kits land in kit_sales less the
    # agronomist's commission; mobile money nobody could attribute waits in
    # payments_suspense until a person matches it.
    "kit_buyers": True,
    "offtaker": True,
    "mobile_money": True,
    "kit_sales": False,
    "agronomist": True,
    "payments_suspense": False,
}

# posting kind -> (kinds the money may come from, kinds it may go to)
POSTING_RULES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "funding": (frozenset({"funder"}), frozenset({"project_funds"})),
    "grant_tranche": (frozenset({"project_funds"}), frozenset({"po"})),
    "counterpart_cash": (frozenset({"member"}), frozenset({"po"})),
    "counterpart_in_kind": (frozenset({"member"}), frozenset({"po_in_kind"})),
    "bank_loan": (frozenset({"financial_institution"}), frozenset({"po", "member"})),
    "loan_repayment": (frozenset({"po", "member"}), frozenset({"financial_institution"})),
    "member_repayment": (frozenset({"member"}), frozenset({"po_revolving_fund"})),
    "revolving_fund_loan": (frozenset({"po_revolving_fund"}), frozenset({"member"})),
    "buyer_payment": (frozenset({"buyer"}), frozenset({"po"})),
    "payment_to_member": (frozenset({"po"}), frozenset({"member"})),
    # a kit's price, split between kit sales and the selling agronomist's commission
    "kit_sale": (
        frozenset({"kit_buyers", "offtaker", "mobile_money", "payments_suspense"}),
        frozenset({"kit_sales", "agronomist"}),
    ),
    "payment_parked": (frozenset({"mobile_money"}), frozenset({"payments_suspense"})),
}
REVERSAL = "reversal"


class AccountIn(BaseModel):
    kind: str
    name: str = Field(min_length=1, max_length=200)
    currency: str
    organization_id: int | None = None
    farmer_id: int | None = None

    _currency = field_validator("currency")(currency_code)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in ACCOUNT_KINDS:
            raise ValueError(Message("must be one of %(kinds)s", kinds=str(sorted(ACCOUNT_KINDS))))
        return kind


class TransferIn(BaseModel):
    """Money moving from one account to another: a two-entry posting."""

    kind: str
    from_account_id: int
    to_account_id: int
    amount: Decimal = Field(gt=0, max_digits=18, decimal_places=2)
    posted_on: date
    memo: str = Field(default="", max_length=500)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in POSTING_RULES:
            raise ValueError(Message("must be one of %(kinds)s", kinds=str(sorted(POSTING_RULES))))
        return kind

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError(Message("give money as a Decimal or a string, never a float"))
        return value
