"""Who may do what, and see which rows: :class:`Actor`, :class:`Permission`, roles and scopes.

Every service takes an :class:`Actor` — a user acting in one programme under one role
assignment — and

- checks the permission its operation needs (``actor.require(Permission.CYCLE_DECIDE)``): a role
  is a named set of permissions (:data:`ROLE_PERMISSIONS`); lacking one is :class:`Forbidden`;
- builds every query through :func:`scoped`, which limits each table the query reads to the rows
  the actor's scope reaches (the programme, some places, one organization, buyer or lender, one
  alliance, or the subprojects assigned to an evaluator). A row outside the scope is never
  returned, listed or counted, and :func:`get` answers :class:`NotFound` for it, exactly as for
  a row that does not exist, so that existence itself does not leak.

A service's own bookkeeping (the PO's ledger account a buyer's payment lands in, the call whose
rules a profile is checked against) reads through :meth:`Actor.widened`: the same user and
programme, programme-wide, never used for what a service returns.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    bindparam,
    false,
    literal,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Join

from alianza.platform.agreements.models import Agreement, BuyerPayment, Delivery, ScheduledDelivery
from alianza.platform.audit.models import AuditEntry
from alianza.platform.calls.models import Call
from alianza.platform.db import Base
from alianza.platform.errors import Forbidden, NotFound, Refused
from alianza.platform.fieldrecords.models import (
    FieldSubmission,
    FieldVisit,
    Harvest,
    ProduceSale,
)
from alianza.platform.jobs.models import Job
from alianza.platform.kits.models import KitCatalogue, KitPrice, KitSale, SupplierStock
from alianza.platform.ledger.models import Account, BalanceSnapshot, Entry, Posting, SnapshotDate
from alianza.platform.payments.models import MobilePayment
from alianza.platform.programmes.models import (
    ExchangeRate,
    Programme,
    RoleAssignment,
    RolePlace,
    User,
)
from alianza.platform.registry.models import Farmer, Market, Membership, Organization, Place
from alianza.platform.rollout.models import (
    Agronomist,
    CaseloadPlace,
    LeadFarmer,
    Milestone,
    PhaseChange,
    RolloutArea,
)
from alianza.platform.subprojects.models import (
    CommitteeScore,
    CounterpartContribution,
    Decision,
    EvaluatorAssignment,
    PlanVersion,
    StateChange,
    Subproject,
    Tranche,
)
from alianza.problems import Message

RowT = TypeVar("RowT", bound=Base)


class Permission(enum.StrEnum):
    """One member per operation a role may be allowed."""

    REGISTRY_READ = "registry.read"  # places, organizations, farmers, memberships
    REGISTRY_EDIT = "registry.edit"  # register and import them
    CALLS_MANAGE = "calls.manage"  # open calls for proposals
    CYCLE_READ = "cycle.read"  # subprojects, plans, scores, decisions, tranches
    CYCLE_SUBMIT = "cycle.submit"  # a PO's profile and business plans
    CYCLE_REVIEW = "cycle.review"  # eligibility, evaluation, assigning evaluators, closing
    CYCLE_SCORE = "cycle.score"  # a committee member's scores
    CYCLE_DECIDE = "cycle.decide"  # the committee's decision
    COUNTERPART_RECORD = "counterpart.record"  # a PO's counterpart contributions
    TRANCHES_RELEASE = "tranches.release"  # schedule and pay the grant's tranches
    TRANCHES_JUSTIFY = "tranches.justify"  # evidence of how a tranche was used
    TRANCHES_VERIFY = "tranches.verify"  # verify a tranche's milestone
    AGREEMENTS_READ = "agreements.read"  # agreements, deliveries, payments, alerts
    AGREEMENTS_SIGN = "agreements.sign"
    DELIVERIES_RECORD = "deliveries.record"
    PAYMENTS_RECORD = "payments.record"  # a buyer's payments to a PO
    LEDGER_READ = "ledger.read"  # accounts, balances, postings
    LEDGER_POST = "ledger.post"  # open accounts, transfers, reversals
    RATES_SET = "rates.set"  # exchange rates
    PORTFOLIO_READ = "portfolio.read"  # the dashboard's aggregates
    AUDIT_READ = "audit.read"
    USERS_ADMIN = "users.admin"  # users, roles and scopes
    FIELD_RECORD = "field.record"  # visits, inspections, harvests
    SIMULATIONS_RUN = "simulations.run"
    # Micro Investing field operations
    ROLLOUT_READ = "rollout.read"  # areas, phases, milestones, adoption, agronomists
    ROLLOUT_MANAGE = "rollout.manage"  # open areas, move phases, milestones
    TEAM_MANAGE = "team.manage"  # agronomists, their caseloads, lead farmers
    KITS_MANAGE = "kits.manage"  # catalogue versions and prices per district
    STOCK_READ = "stock.read"  # suppliers' stock per district
    STOCK_MANAGE = "stock.manage"  # a supplier's deliveries into stock
    SALES_READ = "sales.read"  # kit sales, farmers' growth
    SALES_RECORD = "sales.record"  # sell a kit to a farmer
    FIELD_READ = "field.read"  # visits, inspections, harvests, produce sales
    PAYMENTS_RECEIVE = "payments.receive"  # the mobile-money intake (a service, not a person)
    PAYMENTS_REVIEW = "payments.review"  # the parked-payments queue, matching, reconciling
    GRADUATION_REGISTER = "graduation.register"  # a cluster of ready farmers as a PO


P = Permission


class Role(enum.StrEnum):
    """The roles of a programme; :data:`ROLE_PERMISSIONS` says what each may do."""

    ADMINISTRATOR = "administrator"
    PROGRAMME_MANAGER = "programme_manager"
    EVALUATOR = "evaluator"
    FIELD_OFFICER = "field_officer"
    PO_REPRESENTATIVE = "po_representative"
    BUYER = "buyer"
    LENDER = "lender"
    AUDITOR = "auditor"
    AGRONOMIST = "agronomist"
    SUPPLIER = "supplier"
    PAYMENT_INTAKE = "payment_intake"  # the mobile-money intake's service user; never a person


# Roles a person is never given (grant_role refuses them).
SERVICE_ROLES = frozenset({Role.PAYMENT_INTAKE})

READS = frozenset(
    {
        P.REGISTRY_READ,
        P.CYCLE_READ,
        P.AGREEMENTS_READ,
        P.LEDGER_READ,
        P.PORTFOLIO_READ,
        P.ROLLOUT_READ,
        P.STOCK_READ,
        P.SALES_READ,
        P.FIELD_READ,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMINISTRATOR: frozenset(Permission),
    Role.PROGRAMME_MANAGER: frozenset(Permission) - {P.USERS_ADMIN, P.PAYMENTS_RECEIVE},
    Role.EVALUATOR: frozenset({P.CYCLE_READ, P.CYCLE_SCORE, P.REGISTRY_READ}),
    Role.FIELD_OFFICER: READS
    | {
        P.REGISTRY_EDIT,
        P.CYCLE_SUBMIT,
        P.DELIVERIES_RECORD,
        P.TRANCHES_JUSTIFY,
        P.FIELD_RECORD,
        P.SIMULATIONS_RUN,
    },
    Role.PO_REPRESENTATIVE: frozenset(
        {
            P.REGISTRY_READ,
            P.CYCLE_READ,
            P.CYCLE_SUBMIT,
            P.AGREEMENTS_READ,
            P.DELIVERIES_RECORD,
            P.TRANCHES_JUSTIFY,
            P.LEDGER_READ,
        }
    ),
    Role.BUYER: frozenset({P.AGREEMENTS_READ, P.PAYMENTS_RECORD, P.LEDGER_READ}),
    Role.LENDER: frozenset({P.CYCLE_READ, P.AGREEMENTS_READ, P.LEDGER_READ, P.PORTFOLIO_READ}),
    Role.AUDITOR: READS | {P.AUDIT_READ},
    Role.AGRONOMIST: frozenset(
        {
            P.REGISTRY_READ,
            P.ROLLOUT_READ,
            P.STOCK_READ,
            P.SALES_READ,
            P.SALES_RECORD,
            P.FIELD_READ,
            P.FIELD_RECORD,
        }
    ),
    Role.SUPPLIER: frozenset({P.ROLLOUT_READ, P.STOCK_READ, P.STOCK_MANAGE, P.SALES_READ}),
    Role.PAYMENT_INTAKE: frozenset({P.PAYMENTS_RECEIVE}),
}


class ScopeKind(enum.StrEnum):
    """How far a role assignment reaches within its programme."""

    PROGRAMME = "programme"  # everything
    PLACES = "places"  # what lies in some places (countries, districts, ...)
    ORGANIZATION = "organization"  # one producer organization
    BUYER = "buyer"  # one buyer's agreements, deliveries and payments
    LENDER = "lender"  # the subprojects one financial institution lends to
    ALLIANCE = "alliance"  # one subproject and its agreement
    ASSIGNED = "assigned"  # the subprojects assigned to the user as an evaluator
    SUPPLIER = "supplier"  # one supplier's stock and the kit sales it supplied


# The scopes each role may be given (the first is its default).
ROLE_SCOPES: dict[Role, tuple[ScopeKind, ...]] = {
    Role.ADMINISTRATOR: (ScopeKind.PROGRAMME,),
    Role.PROGRAMME_MANAGER: (ScopeKind.PROGRAMME, ScopeKind.PLACES),
    Role.EVALUATOR: (ScopeKind.ASSIGNED, ScopeKind.PROGRAMME),
    Role.FIELD_OFFICER: (ScopeKind.PLACES, ScopeKind.PROGRAMME),
    Role.PO_REPRESENTATIVE: (ScopeKind.ORGANIZATION, ScopeKind.ALLIANCE),
    Role.BUYER: (ScopeKind.BUYER, ScopeKind.ALLIANCE),
    Role.LENDER: (ScopeKind.LENDER,),
    Role.AUDITOR: (ScopeKind.PROGRAMME,),
    Role.AGRONOMIST: (ScopeKind.PLACES,),
    Role.SUPPLIER: (ScopeKind.SUPPLIER,),
    Role.PAYMENT_INTAKE: (ScopeKind.PROGRAMME,),
}
# The organization kind an organization-bound scope names.
SCOPE_ORGANIZATION_KIND = {
    ScopeKind.ORGANIZATION: "producer_organization",
    ScopeKind.BUYER: "buyer",
    ScopeKind.LENDER: "financial_institution",
    ScopeKind.SUPPLIER: "supplier",
}


@dataclass(frozen=True)
class Scope:
    """What a role assignment reaches. ``place_ids`` holds the places named *and* every place
    they contain (expanded when the actor is made)."""

    kind: ScopeKind = ScopeKind.PROGRAMME
    place_ids: frozenset[int] = frozenset()
    organization_id: int | None = None
    subproject_id: int | None = None

    @property
    def whole_programme(self) -> bool:
        return self.kind is ScopeKind.PROGRAMME


@dataclass(frozen=True)
class Actor:
    """A user acting in one programme under one role and scope, on one database session."""

    session: Session
    user_id: int
    programme_id: int
    role: Role
    scope: Scope = field(default_factory=Scope)

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLE_PERMISSIONS[self.role]

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        """Refuse unless this actor's role grants ``permission``."""
        if permission not in self.permissions:
            raise Forbidden(
                Message(
                    "the role %(role)s may not do %(permission)s",
                    role=self.role.value,
                    permission=permission.value,
                ),
                rule="roles",
            )

    def widened(self) -> Actor:
        """The same user programme-wide: for a service's own checks and bookkeeping only."""
        return self if self.scope.whole_programme else replace(self, scope=Scope())

    def programme(self) -> Programme:
        # Read once per actor (one request): the session's identity map holds rows only weakly.
        programme = self.__dict__.get("_programme")
        if programme is None:
            programme = self.session.get(Programme, self.programme_id)
            assert programme is not None
            object.__setattr__(self, "_programme", programme)
        return programme

    def memo(self) -> dict[Any, Any]:
        """Figures a service may read once per actor (one request), e.g. exchange rates."""
        memo = self.__dict__.get("_memo")
        if memo is None:
            memo = {}
            object.__setattr__(self, "_memo", memo)
        return memo


# --- scopes as SQL ---------------------------------------------------------------------------


def _ids(values: frozenset[int]) -> Any:
    # Rendered inline (integers only): a district can hold more villages than SQLite has
    # parameters, and the query cache keys on the statement's shape, not on these values.
    return bindparam(
        "scope_ids", sorted(values) or [-1], expanding=True, literal_execute=True, unique=True
    )


def visible_subprojects(actor: Actor) -> Select[Any] | None:
    """The ids of the subprojects the actor's scope reaches (None: all of the programme's)."""
    scope = actor.scope
    if scope.whole_programme:
        return None
    condition: ColumnElement[bool]
    match scope.kind:
        case ScopeKind.PLACES:
            condition = Subproject.organization_id.in_(
                select(Organization.id).where(Organization.place_id.in_(_ids(scope.place_ids)))
            )
        case ScopeKind.ORGANIZATION:
            condition = Subproject.organization_id == scope.organization_id
        case ScopeKind.BUYER:
            condition = Subproject.buyer_id == scope.organization_id
        case ScopeKind.LENDER:
            condition = Subproject.lender_id == scope.organization_id
        case ScopeKind.ALLIANCE:
            condition = Subproject.id == scope.subproject_id
        case ScopeKind.ASSIGNED:
            condition = Subproject.id.in_(
                select(EvaluatorAssignment.subproject_id).where(
                    EvaluatorAssignment.user_id == actor.user_id,
                    EvaluatorAssignment.programme_id == actor.programme_id,
                )
            )
        case ScopeKind.SUPPLIER:
            condition = false()  # a supplier's scope is kits, not alliances
    return select(Subproject.id).where(Subproject.programme_id == actor.programme_id, condition)


def _holders(actor: Actor) -> Select[Any] | None:
    """Organizations the scope *is* (whose accounts and records are the actor's own)."""
    scope = actor.scope
    match scope.kind:
        case ScopeKind.PROGRAMME:
            return None
        case ScopeKind.PLACES:
            return select(Organization.id).where(Organization.place_id.in_(_ids(scope.place_ids)))
        case ScopeKind.ORGANIZATION | ScopeKind.BUYER | ScopeKind.LENDER | ScopeKind.SUPPLIER:
            return select(literal(scope.organization_id))
        case ScopeKind.ALLIANCE:
            return select(Subproject.organization_id).where(Subproject.id == scope.subproject_id)
        case ScopeKind.ASSIGNED:
            return select(literal(-1)).where(false())


def visible_organizations(actor: Actor) -> Select[Any] | None:
    """The scope's own organizations and the parties of the subprojects it reaches."""
    holders = _holders(actor)
    subprojects = visible_subprojects(actor)
    if holders is None or subprojects is None:
        return None
    parties = [
        select(column).where(Subproject.id.in_(subprojects))
        for column in (Subproject.organization_id, Subproject.buyer_id, Subproject.lender_id)
    ]
    return union(holders, *parties)


def visible_farmers(actor: Actor) -> Select[Any] | None:
    """Farmers living in the scope's places, or members of the POs of its subprojects; a
    buyer's or a lender's scope reaches no farmer (their data is the POs' members' own)."""
    scope = actor.scope
    match scope.kind:
        case ScopeKind.PROGRAMME:
            return None
        case ScopeKind.PLACES:
            return select(Farmer.id).where(Farmer.village_id.in_(_ids(scope.place_ids)))
        case ScopeKind.BUYER | ScopeKind.LENDER | ScopeKind.SUPPLIER:
            return select(literal(-1)).where(false())
        case ScopeKind.ORGANIZATION:
            # an equality, not IN (SELECT :id): the planner then knows how few members it is
            return select(Membership.farmer_id).where(
                Membership.organization_id == scope.organization_id
            )
    subprojects = visible_subprojects(actor)
    pos = select(Subproject.organization_id).where(Subproject.id.in_(subprojects))
    return select(Membership.farmer_id).where(Membership.organization_id.in_(pos))


def visible_accounts(actor: Actor) -> Select[Any] | None:
    """Accounts held by the scope's own organizations or by farmers it reaches."""
    holders = _holders(actor)
    if holders is None:
        return None
    farmers = visible_farmers(actor)
    return select(Account.id).where(
        Account.programme_id == actor.programme_id,
        or_(Account.organization_id.in_(holders), Account.farmer_id.in_(farmers)),
    )


def _within(column: Any, ids: Select[Any] | None) -> ColumnElement[bool] | None:
    return None if ids is None else column.in_(ids)


def _agreements(actor: Actor) -> Select[Any] | None:
    subprojects = visible_subprojects(actor)
    return (
        None
        if subprojects is None
        else select(Agreement.id).where(Agreement.subproject_id.in_(subprojects))
    )


def _no_narrow_scope(actor: Actor) -> ColumnElement[bool] | None:
    """Rows only a programme-wide role sees (the audit log)."""
    return None if actor.scope.whole_programme else false()


# table -> the condition, beyond its programme, that a scope puts on its rows (None: none).
ScopeRule = Callable[[Actor], "ColumnElement[bool] | None"]
RULES: dict[Table, ScopeRule] = {}


def _rule(model: type[Base], rule: ScopeRule) -> None:
    RULES[model.__table__] = rule  # type: ignore[index]


for _model in (Place, Market, Call, ExchangeRate, SnapshotDate, BalanceSnapshot, RoleAssignment):
    _rule(_model, lambda actor: None)  # the programme's shared records: geography, calls, rates
_rule(Organization, lambda a: _within(Organization.id, visible_organizations(a)))
_rule(
    Farmer,
    # a places scope on the farmers' own village (not farmers.id IN (farmers of the villages)),
    # so that a field officer's lists use the village and name indexes
    lambda a: (
        Farmer.village_id.in_(_ids(a.scope.place_ids))
        if a.scope.kind is ScopeKind.PLACES
        else _within(Farmer.id, visible_farmers(a))
    ),
)
_rule(Membership, lambda a: _within(Membership.farmer_id, visible_farmers(a)))
_rule(Subproject, lambda a: _within(Subproject.id, visible_subprojects(a)))
for _model in (
    StateChange,
    PlanVersion,
    CommitteeScore,
    Decision,
    CounterpartContribution,
    Tranche,
    Agreement,
    EvaluatorAssignment,
):
    _rule(_model, lambda a, m=_model: _within(m.subproject_id, visible_subprojects(a)))
for _model in (ScheduledDelivery, Delivery, BuyerPayment):
    _rule(_model, lambda a, m=_model: _within(m.agreement_id, _agreements(a)))
_rule(Account, lambda a: _within(Account.id, visible_accounts(a)))
_rule(Entry, lambda a: _within(Entry.account_id, visible_accounts(a)))
_rule(
    Posting,
    lambda a: (
        None
        if (accounts := visible_accounts(a)) is None
        else Posting.id.in_(select(Entry.posting_id).where(Entry.account_id.in_(accounts)))
    ),
)
_rule(AuditEntry, _no_narrow_scope)
_rule(RolePlace, lambda a: None)
_rule(Job, lambda a: None)  # a programme's jobs: every user of the programme sees them

# --- Micro Investing -------------------------------------------------------------------------
# The rollout and the kit catalogue are the programme's shared plan: every role sees them.
for _shared in (RolloutArea, PhaseChange, Milestone, KitCatalogue, KitPrice):
    _rule(_shared, lambda actor: None)


def _field_rows(village: Any, farmer: Any) -> ScopeRule:
    """Rows about a farmer in a village: a places scope sees its villages' rows, a supplier
    none, other scopes the rows of the farmers they reach."""

    def rule(actor: Actor) -> ColumnElement[bool] | None:
        match actor.scope.kind:
            case ScopeKind.PROGRAMME:
                return None
            case ScopeKind.PLACES:
                return village.in_(_ids(actor.scope.place_ids))
            case ScopeKind.SUPPLIER:
                return false()
            case _:
                return farmer.in_(visible_farmers(actor))

    return rule


_field_record: type[FieldVisit] | type[Harvest] | type[ProduceSale] | type[FieldSubmission]
for _field_record in (FieldVisit, Harvest, ProduceSale, FieldSubmission):
    _rule(_field_record, _field_rows(_field_record.village_id, _field_record.farmer_id))
_rule(LeadFarmer, lambda a: _within(LeadFarmer.farmer_id, visible_farmers(a)))


def _agronomist_rows(actor: Actor) -> ColumnElement[bool] | None:
    """Agronomists whose caseload lies in the scope's places (and the actor's own record)."""
    match actor.scope.kind:
        case ScopeKind.PROGRAMME:
            return None
        case ScopeKind.PLACES:
            return or_(
                Agronomist.user_id == actor.user_id,
                Agronomist.id.in_(
                    select(CaseloadPlace.agronomist_id).where(
                        CaseloadPlace.place_id.in_(_ids(actor.scope.place_ids))
                    )
                ),
            )
        case _:
            return false()


_rule(Agronomist, _agronomist_rows)
_rule(
    CaseloadPlace,
    lambda a: (
        None
        if a.scope.whole_programme
        else CaseloadPlace.place_id.in_(_ids(a.scope.place_ids))
        if a.scope.kind is ScopeKind.PLACES
        else false()
    ),
)


def _stock_rows(actor: Actor) -> ColumnElement[bool] | None:
    match actor.scope.kind:
        case ScopeKind.PROGRAMME:
            return None
        case ScopeKind.SUPPLIER:
            return SupplierStock.supplier_id == actor.scope.organization_id
        case ScopeKind.PLACES:
            return SupplierStock.district_id.in_(_ids(actor.scope.place_ids))
        case _:
            return false()


_rule(SupplierStock, _stock_rows)


def _sale_rows(actor: Actor) -> ColumnElement[bool] | None:
    if actor.scope.kind is ScopeKind.SUPPLIER:
        return KitSale.supplier_id == actor.scope.organization_id
    return _field_rows(KitSale.village_id, KitSale.farmer_id)(actor)


_rule(KitSale, _sale_rows)


def _payment_rows(actor: Actor) -> ColumnElement[bool] | None:
    """Payments of the farmers (or, for a supplier, the sales) the scope reaches; a parked
    payment nobody could attribute is seen programme-wide only."""
    match actor.scope.kind:
        case ScopeKind.PROGRAMME:
            return None
        case ScopeKind.SUPPLIER:
            return MobilePayment.sale_id.in_(
                select(KitSale.id).where(KitSale.supplier_id == actor.scope.organization_id)
            )
        case _:
            return MobilePayment.farmer_id.in_(visible_farmers(actor))  # type: ignore[arg-type]


_rule(MobilePayment, _payment_rows)


def _tables(from_clause: Any) -> list[Table]:
    if isinstance(from_clause, Join):
        return _tables(from_clause.left) + _tables(from_clause.right)
    if isinstance(from_clause, Table):
        return [from_clause]
    return []  # a subquery: scoped where it was built


def condition_for(actor: Actor, table: Table) -> ColumnElement[bool]:
    """The condition limiting ``table`` to the actor's programme and scope."""
    if table is User.__table__:  # the users who hold a role in the programme
        return User.id.in_(
            select(RoleAssignment.user_id).where(RoleAssignment.programme_id == actor.programme_id)
        )
    if table is Programme.__table__:
        return Programme.id == actor.programme_id
    if table is RolePlace.__table__:
        return RolePlace.role_id.in_(
            select(RoleAssignment.id).where(RoleAssignment.programme_id == actor.programme_id)
        )
    rule = RULES.get(table)
    if rule is None:
        raise LookupError(f"no scope rule for table {table.name}: add one in platform/access.py")
    programme = table.c.programme_id == actor.programme_id if "programme_id" in table.c else true()
    extra = rule(actor)
    return programme if extra is None else programme & extra


# The tables a statement reads, by the statement's shape (its SQL cache key, which leaves out
# bound values): finding them compiles the statement, which costs more than running most queries.
_READ_TABLES: dict[Any, tuple[Table, ...]] = {}
_READ_TABLES_LIMIT = 10_000


def read_tables(statement: Select[Any]) -> tuple[Table, ...]:
    """The tables ``statement``'s FROM clause reads, joins included (not its subqueries')."""
    key = statement._generate_cache_key()
    found = _READ_TABLES.get(key.key) if key is not None else None
    if found is None:
        found = tuple(table for clause in statement.get_final_froms() for table in _tables(clause))
        if key is not None and len(_READ_TABLES) < _READ_TABLES_LIMIT:
            _READ_TABLES[key.key] = found
    return found


def scoped(actor: Actor, statement: Select[Any]) -> Select[Any]:
    """``statement`` limited, for every table it reads (joins included), to the rows of the
    actor's programme that the actor's scope reaches. Every service query goes through here."""
    for table in read_tables(statement):
        statement = statement.where(condition_for(actor, table))
    return statement


# A row that is not there (or out of the actor's scope), as a person says it, by table (the
# rest are named by their table: "no api token 3").
NOT_FOUND: dict[str, Callable[[int], Message]] = {
    "accounts": lambda id: Message("no account %(id)s", id=id),
    "agreements": lambda id: Message("no agreement %(id)s", id=id),
    "agronomists": lambda id: Message("no agronomist %(id)s", id=id),
    "api_tokens": lambda id: Message("no token %(id)s", id=id),
    "buyer_payments": lambda id: Message("no buyer payment %(id)s", id=id),
    "calls": lambda id: Message("no call %(id)s", id=id),
    "deliveries": lambda id: Message("no delivery %(id)s", id=id),
    "entries": lambda id: Message("no ledger entry %(id)s", id=id),
    "farmers": lambda id: Message("no farmer %(id)s", id=id),
    "field_submissions": lambda id: Message("no field submission %(id)s", id=id),
    "field_visits": lambda id: Message("no field visit %(id)s", id=id),
    "harvests": lambda id: Message("no harvest %(id)s", id=id),
    "jobs": lambda id: Message("no job %(id)s", id=id),
    "kit_catalogues": lambda id: Message("no kit catalogue %(id)s", id=id),
    "kit_sales": lambda id: Message("no kit sale %(id)s", id=id),
    "lead_farmers": lambda id: Message("no lead farmer %(id)s", id=id),
    "markets": lambda id: Message("no market %(id)s", id=id),
    "mobile_payments": lambda id: Message("no mobile payment %(id)s", id=id),
    "organizations": lambda id: Message("no organization %(id)s", id=id),
    "places": lambda id: Message("no place %(id)s", id=id),
    "plan_versions": lambda id: Message("no business plan version %(id)s", id=id),
    "produce_sales": lambda id: Message("no produce sale %(id)s", id=id),
    "programmes": lambda id: Message("no programme %(id)s", id=id),
    "roles": lambda id: Message("no role %(id)s", id=id),
    "rollout_areas": lambda id: Message("no rollout area %(id)s", id=id),
    "subprojects": lambda id: Message("no subproject %(id)s", id=id),
    "tranches": lambda id: Message("no tranche %(id)s", id=id),
    "users": lambda id: Message("no user %(id)s", id=id),
}


def not_found(model: type[Any], row_id: int) -> NotFound:
    """The refusal for a row of ``model`` the actor cannot see: 'no farmer 5'."""
    table = str(model.__tablename__)
    if table in NOT_FOUND:
        return NotFound(NOT_FOUND[table](row_id))
    words = table.replace("_", " ")
    thing = words[:-3] + "y" if words.endswith("ies") else words.removesuffix("s")
    return NotFound(Message("no %(thing)s %(id)s", thing=thing, id=row_id))


def get(actor: Actor, model: type[RowT], row_id: int) -> RowT:
    """The row, if the actor's scope reaches it; else :class:`NotFound` — the same answer as for
    a row that does not exist, so that existence does not leak."""
    row = actor.session.get(model, row_id)  # identity map first: no query for loaded rows
    visible = (
        row is not None and getattr(row, "programme_id", actor.programme_id) == actor.programme_id
    )
    if visible and not actor.scope.whole_programme:
        probe = scoped(actor, select(model.id).where(model.id == row_id))  # type: ignore[attr-defined]
        visible = actor.session.scalar(probe) is not None
    if not visible:
        raise not_found(model, row_id)
    assert row is not None
    return row


def require_place(actor: Actor, place_id: int) -> None:
    """Refuse to record anything in a place outside a places-scoped actor's places."""
    if actor.scope.kind is ScopeKind.PLACES and place_id not in actor.scope.place_ids:
        raise Forbidden(
            Message("place %(place)s lies outside the places you work in", place=place_id),
            rule="scopes",
        )


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows and how many there are in all."""

    items: list[Any]
    total: int


def paged(actor: Actor, statement: Select[Any], limit: int, offset: int) -> Page:
    """A page of ``statement``'s rows (scoped) and the scoped total, for lists of any size."""
    from sqlalchemy import func

    if not 1 <= limit <= 1000 or offset < 0:
        raise Refused(
            Message("limit lies between 1 and 1000 and offset is not negative"), field="limit"
        )
    statement = scoped(actor, statement)
    total = actor.session.scalar(
        select(func.count()).select_from(statement.order_by(None).subquery())
    )
    items = list(actor.session.scalars(statement.limit(limit).offset(offset)))
    return Page(items, int(total or 0))


# --- acting ----------------------------------------------------------------------------------


def _descendants(session: Session, programme_id: int, roots: set[int]) -> frozenset[int]:
    """The places ``roots`` and all they contain (the programme's places walked in memory)."""
    children: dict[int, list[int]] = {}
    for place_id, parent_id in session.execute(
        select(Place.id, Place.parent_id).where(Place.programme_id == programme_id)
    ):
        if parent_id is not None:
            children.setdefault(parent_id, []).append(place_id)
    found: set[int] = set()
    stack = list(roots)
    while stack:
        place_id = stack.pop()
        if place_id not in found:
            found.add(place_id)
            stack.extend(children.get(place_id, ()))
    return frozenset(found)


def scope_of(session: Session, assignment: RoleAssignment) -> Scope:
    """The :class:`Scope` a role assignment gives, places expanded."""
    kind = ScopeKind(assignment.scope)
    if kind is ScopeKind.PLACES:
        roots = set(
            session.scalars(select(RolePlace.place_id).where(RolePlace.role_id == assignment.id))
        )
        return Scope(kind, place_ids=_descendants(session, assignment.programme_id, roots))
    return Scope(
        kind, organization_id=assignment.organization_id, subproject_id=assignment.subproject_id
    )


# Built once (every request acts as someone): the user's role in a programme, or in their
# first programme by code.
_ROLE = (
    select(RoleAssignment, User.disabled_at)
    .join(User, User.id == RoleAssignment.user_id)
    .where(RoleAssignment.user_id == bindparam("user_id"))
)
_FIRST_ROLE = (
    _ROLE.join(Programme, Programme.id == RoleAssignment.programme_id)
    .order_by(Programme.code)
    .limit(1)
)
_ROLE_IN = _ROLE.where(RoleAssignment.programme_id == bindparam("programme_id"))


def act_as(session: Session, user_id: int, programme_id: int | None = None) -> Actor:
    """The Actor for a user in a programme (None: the first, by code, they hold a role in);
    refused when the user holds no role there or is disabled. One query, and one or two more
    for a scope of places."""
    if programme_id is None:
        row = session.execute(_FIRST_ROLE, {"user_id": user_id}).first()
    else:
        row = session.execute(_ROLE_IN, {"user_id": user_id, "programme_id": programme_id}).first()
    if row is None:
        if programme_id is None:
            raise Forbidden(
                Message("you hold no role in any programme yet: ask an administrator"),
                rule="roles",
            )
        raise Forbidden(Message("the user has no role in this programme"), rule="roles")
    assignment, disabled_at = row
    if disabled_at is not None:
        raise Forbidden(Message("the user is disabled"), rule="disabled users")
    programme_id = assignment.programme_id
    return Actor(
        session, user_id, programme_id, Role(assignment.role), scope_of(session, assignment)
    )
