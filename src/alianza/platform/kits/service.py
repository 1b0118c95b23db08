"""Kit catalogue versions and prices, suppliers' stock, and kit sales posted to the ledger.

A sale is refused (nothing written) when the kit is not in the catalogue or not priced in the
farmer's district, when the farmer lacks one of its prerequisites (kits they must already own),
when it would pass the kit's ``max_per_farmer``, or when the supplier has too few units in
stock. A paid sale posts ``amount = units × unit_price`` into the kit-sales account (from the
kit buyers' account for cash, the off-taker's for a prepayment, the provider's for mobile
money) and then the agronomist's commission out of it:

    commission = amount × commission_rate     (rounded half-even to cents)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from alianza.ladder.catalogue import (
    Catalogue,
    CatalogueError,
    Kit,
    topological_kit_order,
    validate_catalogue,
)
from alianza.platform.access import (
    Actor,
    Page,
    Permission,
    ScopeKind,
    get,
    paged,
    require_place,
    scoped,
)
from alianza.platform.audit.service import (
    audit_row,
    jsonable,
    now,
    record_for,
    snapshot,
    write_audit_rows,
)
from alianza.platform.db import bulk_insert, new_ids
from alianza.platform.errors import Forbidden, Invalid, Refused
from alianza.platform.fieldrecords.models import ProduceSale
from alianza.platform.kits.models import KitCatalogue, KitPrice, KitSale, SupplierStock
from alianza.platform.kits.schemas import CatalogueVersionIn, PricesIn, SaleIn, StockIn
from alianza.platform.ledger import service as ledger
from alianza.platform.ledger.models import Account, Posting
from alianza.platform.ledger.schemas import AccountIn
from alianza.platform.registry.models import Farmer, Organization, Place
from alianza.platform.registry.service import ancestors
from alianza.platform.rollout.models import Agronomist
from alianza.platform.validation import validated
from alianza.problems import Message

CENT = Decimal("0.01")


# --- catalogue versions and prices -----------------------------------------------------------


def add_catalogue_version(actor: Actor, data: CatalogueVersionIn | dict[str, Any]) -> KitCatalogue:
    """Store a new version of the catalogue (validated by ``alianza.ladder``; every problem is
    reported with its field path under ``document``)."""
    actor.require(Permission.KITS_MANAGE)
    version_in = validated(CatalogueVersionIn, data)
    try:
        catalogue = validate_catalogue(version_in.document)
    except CatalogueError as error:
        raise Invalid(
            "catalogue",
            [
                type(problem)(f"document.{problem.field}", problem.message, problem.code)
                for problem in error.problems
            ],
        ) from None
    latest = actor.session.scalar(scoped(actor, select(func.max(KitCatalogue.version))))
    row = KitCatalogue(
        programme_id=actor.programme_id,
        version=int(latest or 0) + 1,
        name=catalogue.name,
        document=catalogue.model_dump(mode="json"),
        created_by=actor.user_id,
        created_at=now(),
    )
    actor.session.add(row)
    record_for(actor, "create", row)
    return row


def catalogue_versions(actor: Actor) -> list[KitCatalogue]:
    return list(
        actor.session.scalars(scoped(actor, select(KitCatalogue)).order_by(KitCatalogue.version))
    )


def current_catalogue(actor: Actor) -> KitCatalogue:
    """The latest catalogue version; refused when the programme has none."""
    row = actor.session.scalar(
        scoped(actor, select(KitCatalogue)).order_by(KitCatalogue.version.desc()).limit(1)
    )
    if row is None:
        raise Refused(Message("the programme has no kit catalogue yet"), rule="kit catalogue")
    return row


def catalogue_of(row: KitCatalogue) -> Catalogue:
    """The stored document as a :class:`Catalogue` (it was validated when stored)."""
    return Catalogue.model_validate(row.document)


def set_prices(actor: Actor, catalogue_id: int, data: PricesIn | dict[str, Any]) -> list[KitPrice]:
    """Set kits' prices in a district under a catalogue version (replacing earlier ones)."""
    actor.require(Permission.KITS_MANAGE)
    prices_in = validated(PricesIn, data)
    row = get(actor, KitCatalogue, catalogue_id)
    catalogue = catalogue_of(row)
    district = get(actor, Place, prices_in.district_id)
    if district.kind != "district":
        raise Refused(
            Message("kits are priced per district"),
            rule="prices per district",
            field="district_id",
        )
    known = {kit.id for kit in catalogue.kits}
    written = []
    for position, price_in in enumerate(prices_in.prices):
        if price_in.kit_code not in known:
            raise Refused(
                Message(
                    "kit '%(kit)s' is not in catalogue version %(version)s",
                    kit=price_in.kit_code,
                    version=row.version,
                ),
                rule="kit in the catalogue",
                field=f"prices[{position}].kit_code",
            )
        price = actor.session.scalar(
            scoped(actor, select(KitPrice)).where(
                KitPrice.catalogue_id == row.id,
                KitPrice.district_id == district.id,
                KitPrice.kit_code == price_in.kit_code,
            )
        )
        before = snapshot(price) if price is not None else None
        if price is None:
            price = KitPrice(
                programme_id=actor.programme_id,
                catalogue_id=row.id,
                district_id=district.id,
                kit_code=price_in.kit_code,
            )
            actor.session.add(price)
        price.currency, price.price = prices_in.currency, price_in.price
        record_for(actor, "update" if before else "create", price, before=before)
        written.append(price)
    return written


def prices(actor: Actor, catalogue_id: int, district_id: int) -> dict[str, KitPrice]:
    return {
        price.kit_code: price
        for price in actor.session.scalars(
            scoped(actor, select(KitPrice)).where(
                KitPrice.catalogue_id == catalogue_id, KitPrice.district_id == district_id
            )
        )
    }


# --- stock -----------------------------------------------------------------------------------


def _supplier(actor: Actor, supplier_id: int) -> Organization:
    supplier = get(actor.widened(), Organization, supplier_id)
    if supplier.kind != "supplier":
        raise Refused(
            Message("%(name)s is not a supplier", name=supplier.name),
            rule="suppliers",
            field="supplier_id",
        )
    return supplier


def receive_stock(actor: Actor, data: StockIn | dict[str, Any]) -> SupplierStock:
    """A supplier's delivery of kits into a district's stock (a supplier records its own)."""
    actor.require(Permission.STOCK_MANAGE)
    stock_in = validated(StockIn, data)
    supplier = _supplier(actor, stock_in.supplier_id)
    if actor.scope.kind is ScopeKind.SUPPLIER and actor.scope.organization_id != supplier.id:
        raise Forbidden(Message("a supplier records its own stock only"), rule="scopes")
    district = get(actor, Place, stock_in.district_id)
    if district.kind != "district":
        raise Refused(
            Message("stock is held per district"), rule="stock per district", field="district_id"
        )
    row = _locked_stock(actor, supplier.id, district.id, stock_in.kit_code)
    before = snapshot(row) if row is not None else None
    if row is None:
        row = SupplierStock(
            programme_id=actor.programme_id,
            supplier_id=supplier.id,
            district_id=district.id,
            kit_code=stock_in.kit_code,
            quantity=0,
        )
        actor.session.add(row)
    row.quantity += stock_in.quantity
    row.updated_at = now()
    record_for(actor, "update" if before else "create", row, before=before)
    return row


def _locked_stock(
    actor: Actor, supplier_id: int, district_id: int, kit_code: str
) -> SupplierStock | None:
    return actor.session.scalar(
        scoped(actor.widened(), select(SupplierStock))
        .where(
            SupplierStock.supplier_id == supplier_id,
            SupplierStock.district_id == district_id,
            SupplierStock.kit_code == kit_code,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def stock(actor: Actor, district_id: int | None = None) -> list[SupplierStock]:
    actor.require(Permission.STOCK_READ)
    query = scoped(actor, select(SupplierStock))
    if district_id is not None:
        query = query.where(SupplierStock.district_id == district_id)
    return list(
        actor.session.scalars(
            query.order_by(
                SupplierStock.district_id, SupplierStock.supplier_id, SupplierStock.kit_code
            )
        )
    )


# --- ledger accounts -------------------------------------------------------------------------


def programme_account(actor: Actor, kind: str, name: str, currency: str) -> Account:
    """The programme's account named ``name (currency)``, opened on first use (bookkeeping:
    programme-wide, whoever acts)."""
    widened = actor.widened()
    full = f"{name} ({currency})"
    query = scoped(widened, select(Account)).where(Account.name == full)
    account = actor.session.scalar(query)
    if account is None:
        try:
            # in a savepoint: two first payments opening it at once must not both fail
            with actor.session.begin_nested():
                account = ledger._open_account(
                    widened, AccountIn(kind=kind, name=full, currency=currency)
                )
                actor.session.flush()
        except IntegrityError:  # opened meanwhile by a concurrent transaction: use that one
            account = actor.session.scalar(query)
            if account is None:
                raise
    return account


def agronomist_account(actor: Actor, agronomist: Agronomist, currency: str) -> Account:
    return programme_account(
        actor, "agronomist", f"Agronomist {agronomist.name} #{agronomist.id}", currency
    )


# --- sales -----------------------------------------------------------------------------------


def owned_kits(actor: Actor, farmer_id: int) -> dict[str, int]:
    """Units of each kit the farmer has bought (paid or pending sales)."""
    columns = cast("Select[Any]", select(KitSale.kit_code, func.sum(KitSale.units)))
    rows = actor.session.execute(
        scoped(actor.widened(), columns)
        .where(KitSale.farmer_id == farmer_id)
        .group_by(KitSale.kit_code)
    )
    return {kit_code: int(units) for kit_code, units in rows}


def district_of(actor: Actor, village_id: int) -> Place:
    district = ancestors(actor.widened(), village_id).get("district")
    if district is None:
        raise Refused(Message("the farmer's village lies in no district"), rule="geography levels")
    return district


def sale_rules(
    catalogue: Catalogue,
    version: KitCatalogue,
    farmer: Farmer,
    district: Place,
    kit_code: str,
    units: int,
    district_prices: dict[str, KitPrice],
    owned: dict[str, int],
) -> tuple[Kit, KitPrice]:
    """The kit and its price, if a sale of ``units`` of it to ``farmer`` keeps the rules of
    every sale (one place for :func:`record_sale` and :class:`SalesBatch`): the kit is in the
    catalogue version, priced in the farmer's district, its prerequisites among the kits the
    farmer ``owned``, and no more than ``max_per_farmer`` of it; else Refused with the rule."""
    try:
        kit = catalogue.kit(kit_code)
    except KeyError:
        raise Refused(
            Message(
                "kit '%(kit)s' is not in catalogue version %(version)s",
                kit=kit_code,
                version=version.version,
            ),
            rule="kit in the catalogue",
            field="kit_code",
        ) from None
    price = district_prices.get(kit.id)
    if price is None:
        raise Refused(
            Message(
                "kit '%(kit)s' has no price in %(district)s under catalogue version %(version)s",
                kit=kit.id,
                district=district.name,
                version=version.version,
            ),
            rule="kit priced in the district",
            field="kit_code",
        )
    missing = [need for need in kit.prerequisites if owned.get(need, 0) < 1]
    if missing:
        raise Refused(
            Message(
                "%(farmer)s lacks the prerequisites of %(kit)s: %(missing)s",
                farmer=farmer.name,
                kit=kit.id,
                missing=", ".join(missing),
            ),
            rule="kit prerequisites",
            field="kit_code",
        )
    if owned.get(kit.id, 0) + units > kit.max_per_farmer:
        raise Refused(
            Message(
                "a farmer owns at most %(most)s of %(kit)s; %(farmer)s has %(owned)s",
                most=kit.max_per_farmer,
                kit=kit.id,
                farmer=farmer.name,
                owned=owned.get(kit.id, 0),
            ),
            rule="units per farmer",
            field="units",
        )
    return kit, price


def record_sale(actor: Actor, data: SaleIn | dict[str, Any]) -> KitSale:
    """Sell a kit to a farmer at the current catalogue version's price in their district.

    Cash and prepayment sales are paid at once (posted, commission included); a mobile-money
    sale waits, pending, for its payment (see ``alianza.platform.payments``)."""
    actor.require(Permission.SALES_RECORD)
    sale_in = validated(SaleIn, data)
    farmer = get(actor, Farmer, sale_in.farmer_id)
    require_place(actor, farmer.village_id)
    district = district_of(actor, farmer.village_id)
    version = current_catalogue(actor)
    catalogue = catalogue_of(version)
    kit, price = sale_rules(
        catalogue,
        version,
        farmer,
        district,
        sale_in.kit_code,
        sale_in.units,
        prices(actor, version.id, district.id),
        owned_kits(actor, farmer.id),
    )
    agronomist = _selling_agronomist(actor, sale_in.agronomist_id)
    offtaker = None
    if sale_in.method == "prepayment":
        if sale_in.offtaker_id is None:
            raise Refused(
                Message("a prepaid sale names its off-taker"),
                rule="prepayment",
                field="offtaker_id",
            )
        offtaker = get(actor.widened(), Organization, sale_in.offtaker_id)
        if offtaker.kind != "offtaker":
            raise Refused(
                Message("%(name)s is not an off-taker", name=offtaker.name),
                rule="prepayment",
                field="offtaker_id",
            )
    supplier = _supplier(actor, sale_in.supplier_id)
    held = _locked_stock(actor, supplier.id, district.id, kit.id)
    if held is None or held.quantity < sale_in.units:
        raise Refused(
            Message(
                "%(supplier)s holds %(held)s of %(kit)s in %(district)s; %(needed)s needed",
                supplier=supplier.name,
                held=0 if held is None else held.quantity,
                kit=kit.id,
                district=district.name,
                needed=sale_in.units,
            ),
            rule="supplier stock",
            field="units",
        )
    amount = (Decimal(price.price) * sale_in.units).quantize(CENT)
    rate = Decimal(agronomist.commission_rate) if agronomist is not None else Decimal(0)
    # Commission rounded half-even to cents: amount (cents) x rate (8 decimals).
    commission = (amount * rate).quantize(CENT, rounding=ROUND_HALF_EVEN)
    stock_before = snapshot(held)
    held.quantity -= sale_in.units
    held.updated_at = now()
    record_for(actor, "update", held, before=stock_before)
    sale = KitSale(
        programme_id=actor.programme_id,
        reference=f"~{uuid.uuid4().hex[:18]}",  # replaced by the id-based one once flushed
        farmer_id=farmer.id,
        village_id=farmer.village_id,
        district_id=district.id,
        catalogue_id=version.id,
        kit_code=kit.id,
        units=sale_in.units,
        unit_price=Decimal(price.price),
        amount=amount,
        currency=price.currency,
        method=sale_in.method,
        status="pending",
        agronomist_id=agronomist.id if agronomist is not None else None,
        commission=commission,
        supplier_id=supplier.id,
        offtaker_id=offtaker.id if offtaker is not None else None,
        sold_on=sale_in.sold_on,
        recorded_by=actor.user_id,
        created_at=now(),
    )
    actor.session.add(sale)
    actor.session.flush()
    sale.reference = sale_reference(sale.id)
    if sale.method == "cash":
        buyers = programme_account(actor, "kit_buyers", "Kit buyers", sale.currency)
        settle(actor, sale, buyers, sale.sold_on, audit=False)
    elif offtaker is not None:
        account = ledger.organization_account(actor, "offtaker", sale.currency, offtaker.id)
        settle(actor, sale, account, sale.sold_on, audit=False)
    record_for(actor, "create", sale)
    return sale


@dataclass
class SaleDraft:
    """A sale for :class:`SalesBatch`: the farmer (already found and checked to be in the
    actor's places), the kit, how it is paid, and the supplier whose stock it takes;
    ``amount_given`` is what the seller wrote down (checked against the price)."""

    farmer: Farmer
    district: Place
    kit_code: str
    units: int
    method: str
    sold_on: date
    supplier: Organization
    offtaker: Organization | None = None
    amount_given: Decimal | None = None


@dataclass
class _PlannedSale:
    draft: SaleDraft
    unit_price: Decimal
    amount: Decimal
    currency: str
    commission: Decimal
    stock_key: tuple[int, int, str]
    stock_before: int


class SalesBatch:
    """Many kit sales (a field export's) under :func:`record_sale`'s rules — the current
    catalogue version, the price in the farmer's district, prerequisites, ``max_per_farmer``,
    the supplier's stock, the selling agronomist's commission — each checked against what the
    earlier sales of the batch took, and written together by :meth:`write` in a few
    statements. What the checks read is read once: the catalogue, the districts' prices, the
    farmers' kits and the districts' stock (locked FOR UPDATE until the transaction ends)."""

    def __init__(self, actor: Actor, farmer_ids: list[int], district_ids: list[int]) -> None:
        actor.require(Permission.SALES_RECORD)
        self.actor = actor
        self.version = current_catalogue(actor)
        self.catalogue = catalogue_of(self.version)
        self.prices = {
            district_id: prices(actor, self.version.id, district_id) for district_id in district_ids
        }
        self.owned: dict[int, dict[str, int]] = {farmer_id: {} for farmer_id in farmer_ids}
        for start in range(0, len(farmer_ids), 5000):
            columns = cast(
                "Select[Any]", select(KitSale.farmer_id, KitSale.kit_code, func.sum(KitSale.units))
            )
            for farmer_id, kit_code, units in actor.session.execute(
                scoped(actor.widened(), columns)
                .where(KitSale.farmer_id.in_(farmer_ids[start : start + 5000]))
                .group_by(KitSale.farmer_id, KitSale.kit_code)
            ):
                self.owned[farmer_id][kit_code] = int(units)
        self.stock: dict[tuple[int, int, str], SupplierStock] = {
            (row.supplier_id, row.district_id, row.kit_code): row
            for row in actor.session.scalars(
                scoped(actor.widened(), select(SupplierStock))
                .where(SupplierStock.district_id.in_(district_ids or [-1]))
                .order_by(SupplierStock.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        }
        self.taken: dict[tuple[int, int, str], int] = {}
        self.agronomist = _selling_agronomist(actor, None)
        self.planned: list[_PlannedSale] = []

    def suppliers_of(self, district_id: int) -> set[int]:
        """The suppliers holding stock (of any kit) in the district."""
        return {supplier for supplier, district, _kit in self.stock if district == district_id}

    def add(self, draft: SaleDraft) -> None:
        """Check one sale (Refused with the rule and field, as :func:`record_sale` refuses it,
        and nothing of it kept) and keep it for :meth:`write`."""
        farmer, district, version = draft.farmer, draft.district, self.version
        owned = self.owned.setdefault(farmer.id, {})
        kit, price = sale_rules(
            self.catalogue,
            version,
            farmer,
            district,
            draft.kit_code,
            draft.units,
            self.prices.get(district.id, {}),
            owned,
        )
        if draft.method == "prepayment" and draft.offtaker is None:
            raise Refused(
                Message("a prepaid sale names its off-taker"),
                rule="prepayment",
                field="offtaker_id",
            )
        key = (draft.supplier.id, district.id, kit.id)
        held = self.stock.get(key)
        left = (0 if held is None else held.quantity) - self.taken.get(key, 0)
        if left < draft.units:
            raise Refused(
                Message(
                    "%(supplier)s holds %(held)s of %(kit)s in %(district)s; %(needed)s needed",
                    supplier=draft.supplier.name,
                    held=left,
                    kit=kit.id,
                    district=district.name,
                    needed=draft.units,
                ),
                rule="supplier stock",
                field="units",
            )
        amount = (Decimal(price.price) * draft.units).quantize(CENT)
        if draft.amount_given is not None and draft.amount_given != amount:
            raise Refused(
                Message(
                    "%(given)s %(currency)s written down; %(units)s x %(kit)s cost %(amount)s "
                    "%(currency)s in %(district)s",
                    given=draft.amount_given,
                    currency=price.currency,
                    units=draft.units,
                    kit=kit.id,
                    amount=amount,
                    district=district.name,
                ),
                rule="kit price",
                field="amount",
            )
        agronomist = self.agronomist
        rate = Decimal(agronomist.commission_rate) if agronomist is not None else Decimal(0)
        # Commission rounded half-even to cents: amount (cents) x rate (8 decimals).
        commission = (amount * rate).quantize(CENT, rounding=ROUND_HALF_EVEN)
        assert held is not None
        self.planned.append(
            _PlannedSale(
                draft, Decimal(price.price), amount, price.currency, commission, key,
                held.quantity - self.taken.get(key, 0),
            )
        )  # fmt: skip
        self.taken[key] = self.taken.get(key, 0) + draft.units
        owned[kit.id] = owned.get(kit.id, 0) + draft.units

    def write(self) -> list[int]:
        """Write the kept sales: the sales (references from their ids), the postings of the
        paid ones (:func:`ledger.post_many`), the stock taken, and their audit entries."""
        if not self.planned:
            return []
        actor, session = self.actor, self.actor.session
        created_at = now()
        agronomist = self.agronomist
        rows: list[dict[str, Any]] = [
            {
                "programme_id": actor.programme_id,
                "reference": "",  # from the id, below
                "farmer_id": p.draft.farmer.id,
                "village_id": p.draft.farmer.village_id,
                "district_id": p.draft.district.id,
                "catalogue_id": self.version.id,
                "kit_code": p.draft.kit_code,
                "units": p.draft.units,
                "unit_price": p.unit_price,
                "amount": p.amount,
                "currency": p.currency,
                "method": p.draft.method,
                "status": "pending",
                "agronomist_id": agronomist.id if agronomist is not None else None,
                "commission": p.commission,
                "supplier_id": p.draft.supplier.id,
                "offtaker_id": p.draft.offtaker.id if p.draft.offtaker is not None else None,
                "sold_on": p.draft.sold_on,
                "paid_on": None,
                "sale_posting_id": None,
                "recorded_by": actor.user_id,
                "created_at": created_at,
            }
            for p in self.planned
        ]
        table = cast(Table, KitSale.__table__)
        ids = new_ids(session, table, len(rows))
        for row, sale_id in zip(rows, ids, strict=True):
            row["id"], row["reference"] = sale_id, sale_reference(sale_id)
        paid = [
            (row, p)
            for row, p in zip(rows, self.planned, strict=True)
            if row["method"] != "mobile_money"
        ]
        postings = []
        accounts: dict[int, ledger.AccountRef] = {}
        opened: dict[tuple[str, int | None, str], Account] = {}

        def ref(kind: str, holder: int | None, currency: str) -> int:
            """The account's id, looked up (or opened) once per batch."""
            key = (kind, holder, currency)
            account = opened.get(key)
            if account is None:
                if kind == "offtaker":
                    assert holder is not None
                    account = ledger.organization_account(actor, kind, currency, holder)
                elif kind == "agronomist":
                    assert agronomist is not None
                    account = agronomist_account(actor, agronomist, currency)
                else:
                    name = {"kit_buyers": "Kit buyers", "kit_sales": "Kit sales"}[kind]
                    account = programme_account(actor, kind, name, currency)
                opened[key] = account
                accounts[account.id] = ledger.AccountRef(
                    account.id, account.kind, account.currency, account.allows_overdraft
                )
            return account.id

        for row, planned in paid:
            currency = row["currency"]
            offtaker = planned.draft.offtaker
            if offtaker is not None:
                source = ref("offtaker", offtaker.id, currency)
            else:
                source = ref("kit_buyers", None, currency)
            commission = Decimal(row["commission"])
            legs = [(ref("kit_sales", None, currency), Decimal(row["amount"]) - commission)]
            if agronomist is not None and commission > 0:
                legs.append((ref("agronomist", agronomist.id, currency), commission))
            legs = [(account_id, amount) for account_id, amount in legs if amount > 0]
            total = sum((amount for _, amount in legs), Decimal("0.00"))
            postings.append(
                ledger.NewPosting(
                    "kit_sale", row["sold_on"],
                    sale_memo(row["reference"], row["units"], row["kit_code"], row["farmer_id"]),
                    ((source, -total), *legs),
                )
            )  # fmt: skip
        audit: list[dict[str, Any]] = []
        posting_ids = ledger.post_many(actor, postings, accounts, audit)
        for (row, _planned), posting_id in zip(paid, posting_ids, strict=True):
            row.update(status="paid", paid_on=row["sold_on"], sale_posting_id=posting_id)
        bulk_insert(session, table, rows)
        stock_table = cast(Table, SupplierStock.__table__)
        session.connection().execute(
            stock_table.update()
            .where(stock_table.c.id == bindparam("key"))
            .values(quantity=stock_table.c.quantity - bindparam("taken"), updated_at=created_at),
            [{"key": self.stock[key].id, "taken": taken} for key, taken in self.taken.items()],
        )
        for row, planned in zip(rows, self.planned, strict=True):
            held = self.stock[planned.stock_key]
            before = snapshot(held) | {"quantity": planned.stock_before}
            after = before | {"quantity": planned.stock_before - row["units"],
                              "updated_at": created_at.isoformat()}  # fmt: skip
            audit.append(
                audit_row(actor, "update", "supplier_stock", held.id, before=before, after=after)
            )
            audit.append(audit_row(actor, "create", "kit_sales", row["id"], after=jsonable(row)))
        write_audit_rows(session, audit)
        for held in self.stock.values():
            session.expire(held)  # its quantity was written by statement
        return ids


def sale_reference(sale_id: int) -> str:
    """The account number a farmer types to pay a sale by mobile money: ``K`` + the sale id +
    a check digit (Luhn, so one mistyped digit or a swap of neighbours is caught)."""
    digits = str(sale_id)
    return f"K{digits}{luhn_digit(digits)}"


def luhn_digit(digits: str) -> int:
    """The Luhn check digit of a string of digits (ISO/IEC 7812-1)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def reference_text(reference: str) -> str | None:
    """A typed account number as stored (case and spaces ignored), or None when it cannot be a
    sale's (not ``K`` + digits, or a wrong check digit)."""
    text = "".join(reference.split()).upper()
    if len(text) < 3 or not text.startswith("K") or not text[1:].isdigit():
        return None
    digits, check = text[1:-1], int(text[-1])
    if luhn_digit(digits) != check:
        return None
    return text


def sale_by_reference(actor: Actor, reference: str) -> KitSale | None:
    """The sale a typed account number names (case and spaces ignored; a wrong check digit
    names none)."""
    text = reference_text(reference)
    if text is None:
        return None
    return actor.session.scalar(scoped(actor, select(KitSale)).where(KitSale.reference == text))


def _selling_agronomist(actor: Actor, agronomist_id: int | None) -> Agronomist | None:
    from alianza.platform.rollout.team import agronomist_of

    own = agronomist_of(actor)
    if own is not None:
        return own
    if agronomist_id is None:
        return None
    return get(actor.widened(), Agronomist, agronomist_id)


def sale_memo(reference: str, units: int, kit_code: str, farmer_id: int) -> str:
    """The memo of a kit sale's posting."""
    return f"kit sale {reference}: {units} x {kit_code} to farmer {farmer_id}"


def settle(
    actor: Actor, sale: KitSale, source: Account, paid_on: date, audit: bool = True
) -> Posting:
    """Mark a sale paid: one posting from ``source`` of the sale's amount, split between kit
    sales and the agronomist's commission."""
    sales_account = programme_account(actor, "kit_sales", "Kit sales", sale.currency)
    before = snapshot(sale)
    commission = Decimal(sale.commission)
    targets = [(sales_account.id, Decimal(sale.amount) - commission)]
    if sale.agronomist_id is not None and commission > 0:
        agronomist = get(actor.widened(), Agronomist, sale.agronomist_id)
        targets.append((agronomist_account(actor, agronomist, sale.currency).id, commission))
    targets = [(account_id, amount) for account_id, amount in targets if amount > 0]
    posting = ledger.post_split(
        actor,
        "kit_sale",
        source.id,
        targets,
        paid_on,
        sale_memo(sale.reference, sale.units, sale.kit_code, sale.farmer_id),
    )
    sale.sale_posting_id = posting.id
    sale.status, sale.paid_on = "paid", paid_on
    if audit:
        record_for(actor, "update", sale, before=before)
    return posting


def get_sale(actor: Actor, sale_id: int) -> KitSale:
    actor.require(Permission.SALES_READ)
    return get(actor, KitSale, sale_id)


def sales(
    actor: Actor,
    *,
    farmer_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Kit sales the actor's scope reaches, newest first, paged."""
    actor.require(Permission.SALES_READ)
    query = select(KitSale)
    if farmer_id is not None:
        query = query.where(KitSale.farmer_id == farmer_id)
    if status is not None:
        query = query.where(KitSale.status == status)
    return paged(actor, query.order_by(KitSale.sold_on.desc(), KitSale.id.desc()), limit, offset)


# --- a farmer's growth -----------------------------------------------------------------------


@dataclass
class Growth:
    """A farmer's growth: purchases over time (the growth measure), kits owned, income from
    produce, and where they stand on the upgrade path.

    ``income_per_day`` = produce sales over the days from the first kit purchase to ``as_of``;
    ``rung`` = 1 + position, in the catalogue's prerequisite order, of the furthest kit owned
    (0: none); ``next_kits`` the kits whose prerequisites are now all owned."""

    farmer: Farmer
    currency: str | None
    purchases: list[tuple[date, str, int, Decimal]]  # (sold_on, kit, units, amount)
    cumulative: list[tuple[date, Decimal]]
    income: list[tuple[date, Decimal]]  # cumulative produce sales by date
    owned: dict[str, int]
    spent: Decimal
    earned: Decimal
    income_per_day: Decimal
    rung: int
    path: list[str]
    next_kits: list[str] = field(default_factory=list)
    kit_names: dict[str, str] = field(default_factory=dict)  # id -> the catalogue's short name

    def kit_name(self, kit_id: str) -> str:
        return self.kit_names.get(kit_id, kit_id)


def growth(actor: Actor, farmer_id: int, as_of: date) -> Growth:
    actor.require(Permission.SALES_READ)
    farmer = get(actor, Farmer, farmer_id)
    rows = list(
        actor.session.scalars(
            scoped(actor, select(KitSale))
            .where(KitSale.farmer_id == farmer.id, KitSale.sold_on <= as_of)
            .order_by(KitSale.sold_on, KitSale.id)
        )
    )
    purchases = [(s.sold_on, s.kit_code, s.units, Decimal(s.amount)) for s in rows]
    cumulative: list[tuple[date, Decimal]] = []
    running = Decimal("0.00")
    for sold_on, _kit, _units, amount in purchases:
        running += amount
        cumulative.append((sold_on, running))
    sold = actor.session.execute(
        scoped(actor, select(ProduceSale.sold_on, ProduceSale.amount))
        .where(ProduceSale.farmer_id == farmer.id, ProduceSale.sold_on <= as_of)
        .order_by(ProduceSale.sold_on, ProduceSale.id)
    ).all()
    income: list[tuple[date, Decimal]] = []
    earned = Decimal("0.00")
    for sold_on, amount in sold:
        earned += Decimal(amount)
        income.append((sold_on, earned))
    owned: dict[str, int] = {}
    for s in rows:
        owned[s.kit_code] = owned.get(s.kit_code, 0) + s.units
    path: list[str] = []
    next_kits: list[str] = []
    kit_names: dict[str, str] = {}
    rung = 0
    try:
        catalogue = catalogue_of(current_catalogue(actor))
    except Refused:
        catalogue = None
    if catalogue is not None:
        path = topological_kit_order(catalogue)
        kit_names = {kit.id: kit.short_name for kit in catalogue.kits}
        rung = max((path.index(k) + 1 for k in owned if k in path), default=0)
        next_kits = [
            kit.id
            for kit in catalogue.kits
            if owned.get(kit.id, 0) < kit.max_per_farmer
            and all(owned.get(n, 0) >= 1 for n in kit.prerequisites)
        ]
    days = (as_of - purchases[0][0]).days if purchases else 0
    # Income per day rounded half-even to cents.
    per_day = (
        (earned / days).quantize(CENT, rounding=ROUND_HALF_EVEN) if days > 0 else Decimal("0.00")
    )
    return Growth(
        farmer=farmer,
        currency=rows[0].currency if rows else None,
        purchases=purchases,
        cumulative=cumulative,
        income=income,
        owned=owned,
        spent=running,
        earned=earned,
        income_per_day=per_day,
        rung=rung,
        path=path,
        next_kits=next_kits,
        kit_names=kit_names,
    )
