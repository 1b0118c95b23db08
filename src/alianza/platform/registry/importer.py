"""Importing farmers, organizations and memberships from CSV or XLSX (KoboToolbox/ODK exports).

All or nothing, in two phases, so that a large file is checked without holding the database's
write lock (SQLite's engine takes it at the first statement of every transaction):

1. ``check_*`` reads what it needs of the registry in four queries (places, organizations,
   farmers, memberships), then checks every row in memory: the file's encoding, headers and
   cells (:mod:`.files`), each row's values (all of a row's problems, with the file's row
   numbers), and duplicates through one :class:`.duplicates.DuplicateIndex` of the registry
   and the rows before. Any problem refuses the import (:class:`ImportRefused`, the report).
2. :func:`write_import`, in one short transaction, reads the registry again, re-checks what
   may have changed meanwhile (farmers registered with a row's national ID or phone, places,
   organizations, memberships) and writes everything in bulk, audit entries included.

``import_*`` does both on one actor. A row whose national ID or phone is a registered farmer's
is refused, or with ``update=True`` updates that farmer (blank optional cells keep what is
registered; memberships are added, never removed); a close name in the same village is a
warning (``report.duplicates``), or a refusal with ``refuse_duplicates=True``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from alianza.platform.access import Permission, ScopeKind, scoped
from alianza.platform.audit.models import AuditEntry
from alianza.platform.audit.service import jsonable, now
from alianza.platform.errors import Refused
from alianza.platform.registry.duplicates import DuplicateIndex, Person, close_names
from alianza.platform.registry.files import (
    DUPLICATE,
    HEADER_ALIASES,  # noqa: F401 - part of the importer's interface
    NOT_FOUND,
    FileRefused,
    RowProblem,
    Table,
    header_key,  # noqa: F401 - part of the importer's interface
    read_table,
    row_problem,
)
from alianza.platform.registry.models import Farmer, Membership, Organization, Place
from alianza.platform.registry.phones import country_region, normalise_phone, region_code
from alianza.platform.registry.schemas import (
    ORGANIZATION_KINDS,
    FarmerIn,
    MembershipIn,
    OrganizationIn,
    normalise_national_id,
)
from alianza.platform.registry.service import place_lineages
from alianza.platform.validation import problems_of
from alianza.problems import Message

if TYPE_CHECKING:
    from alianza.platform.access import Actor

TRUE_WORDS = {"yes", "y", "true", "1", "si", "sí", "x"}
FALSE_WORDS = {"no", "n", "false", "0", ""}
PLACE_LEVELS = ("village", "municipality", "district", "country")
FARMER_FIELDS = ("name", "sex", "birth_year", "household_size", "land_hectares", "phone",
                 "national_id", "latitude", "longitude")  # fmt: skip
FARMER_COLUMNS = frozenset({*FARMER_FIELDS, "minority", *PLACE_LEVELS, "organization"})
ORGANIZATION_COLUMNS = frozenset(
    {"name", "kind", "registration_number", "founded_year", *PLACE_LEVELS}
)
MEMBERSHIP_COLUMNS = frozenset({"national_id", "phone", "organization", "joined_on"})
# Optional values a blank cell leaves as registered when a row updates a farmer.
KEPT_WHEN_BLANK = ("phone", "national_id", "latitude", "longitude")
# Rows written per statement (and per progress report).
CHUNK = 2_000

Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    """A progress callback that says nothing."""


@dataclass
class ImportReport:
    """What an import found: problems (any one refuses the import), duplicates, what was written."""

    rows_read: int = 0
    encoding: str | None = None
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems] + [
            f"possible duplicate: {d}" for d in self.duplicates
        ]  # the CLI's lines (English)


class ImportRefused(Refused):
    def __init__(self, report: ImportReport) -> None:
        report.problems.sort(key=lambda p: -1 if p.row is None else p.row)
        super().__init__(
            Message(
                "import refused, nothing written: %(count)s problem(s) in %(rows)s rows; "
                "first: %(first)s",
                count=len(report.problems),
                rows=report.rows_read,
                first=report.problems[0].said() if report.problems else "-",
            ),
            rule="all-or-nothing import",
        )
        self.report = report

    @property
    def problems(self) -> list[RowProblem]:  # type: ignore[override]
        return self.report.problems


@dataclass
class CheckedImport:
    """A file checked by ``check_*``, ready for :func:`write_import`."""

    kind: str
    report: ImportReport
    rows: list[Any]
    update: bool = False
    country: str | None = None


# --- what the check reads of the registry --------------------------------------------------------


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ValueError(Message("give yes or no, not '%(text)s'", text=text))


class PlaceFinder:
    """Finds a place by the names of a row's village/municipality/district/country columns."""

    LEVELS = PLACE_LEVELS

    def __init__(self, lineages: dict[int, dict[str, Place]]) -> None:
        self.by_kind_name: dict[tuple[str, str], list[Place]] = {}
        self.lineages: dict[int, dict[str, str]] = {}
        for place_id, lineage in lineages.items():
            place = next(iter(lineage.values()))  # a lineage starts with the place itself
            self.by_kind_name.setdefault((place.kind, place.name.lower()), []).append(place)
            self.lineages[place_id] = {kind: p.name.lower() for kind, p in lineage.items()}

    def find(self, row: dict[str, str], most_specific: str = "village") -> Place:
        levels = self.LEVELS[self.LEVELS.index(most_specific) :]
        given = {level: row.get(level, "").strip().lower() for level in levels}
        kind = next((level for level in levels if given[level]), None)
        if kind is None:
            raise ValueError(GIVE_THE[most_specific])
        if kind != most_specific and most_specific == "village":
            raise ValueError(GIVE_THE["village"])
        candidates = [
            place
            for place in self.by_kind_name.get((kind, given[kind]), [])
            if all(
                not given[level] or self.lineages[place.id].get(level) == given[level]
                for level in levels
            )
        ]
        if not candidates:
            raise ValueError(NO_PLACE[kind](row.get(kind)))
        if len(candidates) > 1:
            raise ValueError(PLACES_CALLED[kind](len(candidates), row.get(kind)))
        return candidates[0]


# Why a row's place is not found, a whole sentence for each level (see PlaceFinder.find).
GIVE_THE = {
    "village": Message("give the village"),
    "municipality": Message("give the municipality"),
    "district": Message("give the district"),
    "country": Message("give the country"),
}
NO_PLACE: dict[str, Callable[[object], Message]] = {
    "village": lambda name: Message(
        "no village '%(name)s' registered (with the places given)", name=name
    ),
    "municipality": lambda name: Message(
        "no municipality '%(name)s' registered (with the places given)", name=name
    ),
    "district": lambda name: Message(
        "no district '%(name)s' registered (with the places given)", name=name
    ),
    "country": lambda name: Message(
        "no country '%(name)s' registered (with the places given)", name=name
    ),
}
PLACES_CALLED: dict[str, Callable[[int, object], Message]] = {
    "village": lambda count, name: Message(
        "%(count)s villages are called '%(name)s': add the municipality or district column",
        count=count,
        name=name,
    ),
    "municipality": lambda count, name: Message(
        "%(count)s municipalities are called '%(name)s': add the municipality or district column",
        count=count,
        name=name,
    ),
    "district": lambda count, name: Message(
        "%(count)s districts are called '%(name)s': add the municipality or district column",
        count=count,
        name=name,
    ),
    "country": lambda count, name: Message(
        "%(count)s countries are called '%(name)s': add the municipality or district column",
        count=count,
        name=name,
    ),
}


@dataclass
class RegistryView:
    """The programme's registry as an import checks against it, read in four queries."""

    places: PlaceFinder
    regions: dict[int, str | None]
    organizations: dict[str, tuple[int, str, str]]  # lower-case name -> (id, kind, name)
    organization_ids: set[int]
    farmers: dict[int, dict[str, Any]]
    registered: list[Person]
    index: DuplicateIndex
    memberships: set[tuple[int, int]]
    reach: frozenset[int] | None = None  # the places a places-scoped importer may write in


def phone_key(phone: str | None, region: str | None) -> str | None:
    """A registered phone as the index compares it: E.164 where it was stored without "+"."""
    if phone and not phone.startswith("+") and region:
        try:
            return normalise_phone(phone, region)
        except ValueError:
            return phone
    return phone


def load_registry(actor: Actor, country: str | None = None) -> RegistryView:
    """What an import of ``actor``'s programme checks against; ``country`` overrides the
    region of every place's phones. Read programme-wide, whoever imports: a farmer registered
    in another district is still a duplicate."""
    reach = actor.scope.place_ids if actor.scope.kind is ScopeKind.PLACES else None
    actor = actor.widened()
    lineages = place_lineages(actor)
    regions: dict[int, str | None] = {}
    for place_id, lineage in lineages.items():
        where = lineage.get("country")
        regions[place_id] = country or (country_region(where.name, where.code) if where else None)
    organizations: dict[str, tuple[int, str, str]] = {}
    for organization_id, kind, name in actor.session.execute(
        scoped(actor, select(Organization.id, Organization.kind, Organization.name)).order_by(
            Organization.id
        )
    ):
        organizations.setdefault(name.lower(), (organization_id, kind, name))
    farmers = {
        row["id"]: dict(row)
        for row in actor.session.execute(scoped(actor, select(Farmer.__table__))).mappings()
    }
    registered = [
        Person(f["name"], f["village_id"], phone_key(f["phone"], regions.get(f["village_id"])),
               f["national_id"], farmer_id=f["id"])
        for f in farmers.values()
    ]  # fmt: skip
    memberships = {
        (farmer_id, organization_id)
        for farmer_id, organization_id in actor.session.execute(
            scoped(actor, select(Membership.farmer_id, Membership.organization_id))
        )
    }
    return RegistryView(
        places=PlaceFinder(lineages), regions=regions, organizations=organizations,
        organization_ids={o[0] for o in organizations.values()}, farmers=farmers,
        registered=registered, index=DuplicateIndex(registered), memberships=memberships,
        reach=reach,
    )  # fmt: skip


def _country(country: str | None) -> str | None:
    if country is None:
        return None
    region = region_code(country)
    if region is None:
        raise Refused(
            Message(
                "country '%(country)s': give a two-letter country code (TZ, MW, HN…)",
                country=country,
            )
        )
    return region


def _read(path: Path, known: frozenset[str], what: str, required: dict[str, str]) -> Table:
    try:
        table = read_table(Path(path), known, what, required)
    except FileRefused as refused:
        raise ImportRefused(ImportReport(problems=[refused.problem])) from None
    if table.problems and not table.rows:
        raise ImportRefused(ImportReport(encoding=table.encoding, problems=table.problems))
    return table


def _validation_problems(number: int, error: ValidationError, skip: set[str]) -> list[RowProblem]:
    return [
        row_problem(number, problem.field or "row", _raised(item, problem.message), problem.code)
        for item, problem in zip(error.errors(), problems_of(error), strict=True)
        if problem.field not in skip
    ]


def _raised(item: Any, message: str) -> str:
    """A pydantic error's message: the :class:`Message` a validator raised (``must be female or
    male``, a phone's reason), said in the reader's language; else ``message``."""
    raised = (item.get("ctx") or {}).get("error")
    if isinstance(raised, ValueError) and raised.args and isinstance(raised.args[0], Message):
        return raised.args[0]
    return message


def _bad_cells(table: Table) -> dict[int, set[str]]:
    """Per row, the columns whose cells the reading refused (their values are not judged again)."""
    bad: dict[int, set[str]] = {}
    for problem in table.problems:
        if problem.row is not None:
            bad.setdefault(problem.row, set()).add(problem.field)
    return bad


def _refuse_if_any(report: ImportReport) -> None:
    if report.problems:
        raise ImportRefused(report)


# --- farmers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FarmerRow:
    number: int
    farmer: FarmerIn
    organization_ids: tuple[int, ...]


@dataclass
class FarmerPlan:
    creates: list[FarmerRow] = field(default_factory=list)
    updates: list[tuple[FarmerRow, int]] = field(default_factory=list)  # (row, farmer id)
    problems: list[RowProblem] = field(default_factory=list)
    same: set[tuple[int, int | None, int | None]] = field(default_factory=set)


def _farmer_row(
    view: RegistryView, number: int, row: dict[str, str], skip: set[str]
) -> tuple[FarmerRow | None, list[RowProblem]]:
    problems: list[RowProblem] = []
    fields: dict[str, Any] = {key: row.get(key) or None for key in FARMER_FIELDS}
    try:
        fields["minority"] = _bool(row.get("minority", ""))
    except ValueError as error:
        problems.append(row_problem(number, "minority", error.args[0]))
    village_id = None
    try:
        village_id = view.places.find(row).id
    except ValueError as error:
        problems.append(row_problem(number, "village", error.args[0], NOT_FOUND))
    else:
        if view.reach is not None and village_id not in view.reach:
            problems.append(
                row_problem(
                    number,
                    "village",
                    Message("the village lies outside the places you work in"),
                    NOT_FOUND,
                )
            )
            village_id = None
    region = view.regions.get(village_id) if village_id is not None else None
    phone = fields["phone"]
    if phone and village_id is not None and region is None and not phone.startswith("+"):
        problems.append(row_problem(number, "phone", Message(
            "'%(phone)s' has no +country code, and the country of village '%(village)s' is not "
            "one alianza knows: write +<code>… or give the country",
            phone=phone, village=row.get("village"),
        )))  # fmt: skip
        skip = skip | {"phone"}
    organization_ids = []
    for name in filter(None, (n.strip() for n in row.get("organization", "").split(";"))):
        if name.lower() in view.organizations:
            organization_ids.append(view.organizations[name.lower()][0])
        else:
            problems.append(
                row_problem(
                    number,
                    "organization",
                    Message("no organization '%(name)s'", name=name),
                    NOT_FOUND,
                )
            )
    try:
        farmer = FarmerIn.model_validate(
            {**fields, "village_id": village_id or 0}, context={"phone_region": region}
        )
    except ValidationError as error:
        problems.extend(_validation_problems(number, error, skip | {"village_id"}))
        return None, problems
    if problems:
        return None, problems
    return FarmerRow(number, farmer, tuple(dict.fromkeys(organization_ids))), problems


def _resolve_farmers(view: RegistryView, rows: list[FarmerRow], update: bool) -> FarmerPlan:
    """Which rows create a farmer and which update one, by the duplicate rule; what is refused."""
    plan = FarmerPlan()
    claimed: dict[int, int] = {}
    for parsed in rows:
        farmer, number = parsed.farmer, parsed.number
        person = Person(
            farmer.name, farmer.village_id, farmer.phone, farmer.national_id, row=number
        )
        found = view.index.same(person)
        view.index.add(person)
        problems: list[RowProblem] = []
        registered: dict[int, tuple[Person, str]] = {}
        for other, key in found:
            plan.same.add((number, other.farmer_id, other.row))
            if other.farmer_id is None:
                same = (
                    Message(
                        "same national ID as %(other)s: one person, two rows", other=other.said()
                    )
                    if key == "national_id"
                    else Message(
                        "same phone as %(other)s: one person, two rows", other=other.said()
                    )
                )
                problems.append(row_problem(number, key, same, DUPLICATE))
            else:
                registered.setdefault(other.farmer_id, (other, key))
        target = None
        if len(registered) > 1:
            problems.append(
                row_problem(
                    number,
                    "farmer",
                    Message("matches %(farmers)s: which one?", farmers=_matches(registered)),
                    DUPLICATE,
                )
            )
        elif registered:
            ((farmer_id, (other, key)),) = registered.items()
            existing = view.farmers[farmer_id]
            value = getattr(farmer, key)
            if not update:
                taken = (
                    Message(
                        "national ID %(value)s is %(other)s's already: refused, not added twice "
                        "(an import with update updates that farmer from the row)",
                        value=value,
                        other=other.said(),
                    )
                    if key == "national_id"
                    else Message(
                        "phone %(value)s is %(other)s's already: refused, not added twice "
                        "(an import with update updates that farmer from the row)",
                        value=value,
                        other=other.said(),
                    )
                )
                problems.append(row_problem(number, key, taken, DUPLICATE))
            elif (
                key == "phone"
                and farmer.national_id
                and existing["national_id"] not in (None, farmer.national_id)
            ):
                problems.append(row_problem(number, "national_id", Message(
                    "the phone is %(other)s's, whose national ID is %(registered)s, not "
                    "%(given)s: not updated", other=other.said(),
                    registered=existing["national_id"], given=farmer.national_id,
                ), DUPLICATE))  # fmt: skip
            elif farmer_id in claimed:
                problems.append(row_problem(number, key, Message(
                    "%(other)s is updated by row %(row)s already",
                    other=other.said(), row=claimed[farmer_id],
                ), DUPLICATE))  # fmt: skip
            else:
                target = claimed[farmer_id] = farmer_id
        plan.problems.extend(problems)
        if problems:
            continue
        if target is None:
            plan.creates.append(parsed)
        else:
            plan.updates.append((parsed, target))
    return plan


def _matches(registered: dict[int, tuple[Person, str]]) -> Message:
    """The registered farmers a row matches, each by what (``farmer 3 (Ana) by phone and farmer
    7 (Ana) by national ID``), said whole in the reader's language."""
    found: Message | None = None
    for other, key in registered.values():
        one = (
            Message("%(farmer)s by national ID", farmer=other.said())
            if key == "national_id"
            else Message("%(farmer)s by phone", farmer=other.said())
        )
        found = one if found is None else Message("%(first)s and %(next)s", first=found, next=one)
    assert found is not None
    return found


def _changes(
    view: RegistryView, parsed: FarmerRow, farmer_id: int
) -> tuple[dict[str, Any], list[int]]:
    """The columns a row changes of a registered farmer, and the memberships it adds."""
    existing = view.farmers[farmer_id]
    values = parsed.farmer.model_dump()
    for key in KEPT_WHEN_BLANK:
        if values[key] is None:
            values[key] = existing[key]
    changed = {key: value for key, value in values.items() if existing[key] != value}
    joins = [o for o in parsed.organization_ids if (farmer_id, o) not in view.memberships]
    return changed, joins


def check_farmers(
    actor: Actor,
    path: Path,
    *,
    update: bool = False,
    refuse_duplicates: bool = False,
    country: str | None = None,
    progress: Progress = _no_progress,
) -> CheckedImport:
    """Check a farmers file (and its ``organization`` column, ``;``-separated memberships)."""
    actor.require(Permission.REGISTRY_EDIT)
    region = _country(country)
    table = _read(path, FARMER_COLUMNS, "farmers", {
        "name": Message("a farmer's name"), "sex": Message("female or male"),
        "birth_year": Message("the year of birth"),
        "household_size": Message("people in the household"),
        "land_hectares": Message("land in hectares"),
        "village": Message("the village the farmer lives in"),
    })  # fmt: skip
    report = ImportReport(rows_read=table.rows_read, encoding=table.encoding)
    report.problems.extend(table.problems)
    view = load_registry(actor, region)
    bad = _bad_cells(table)
    parsed: list[FarmerRow] = []
    for index, (number, row) in enumerate(table.rows):
        if index % CHUNK == 0:
            progress("checking", index, len(table.rows))
        good, problems = _farmer_row(view, number, row, bad.get(number, set()))
        report.problems.extend(problems)
        if good is not None:
            parsed.append(good)
    progress("checking", len(table.rows), len(table.rows))
    plan = _resolve_farmers(view, parsed, update)
    report.problems.extend(plan.problems)
    targets = {parsed.number: farmer_id for parsed, farmer_id in plan.updates}
    people = [Person(p.farmer.name, p.farmer.village_id, p.farmer.phone, p.farmer.national_id,
                     row=p.number) for p in parsed]  # fmt: skip

    def known(row: Person, other: Person) -> bool:
        """The farmer a row updates, or a match by national ID or phone, is no possible duplicate."""
        updated = targets.get(row.row or 0)
        return (updated is not None and other.farmer_id == updated) or (
            row.row,
            other.farmer_id,
            other.row,
        ) in plan.same

    close = list(close_names(view.registered, people, ignore=known))
    close.sort(
        key=lambda pair: (pair[0].row, pair[1].farmer_id is None, pair[1].farmer_id or pair[1].row)
    )
    report.duplicates = [_close_name(row, other) for row, other in close]
    if refuse_duplicates:
        report.problems.extend(
            row_problem(row.row, "duplicate", _close_name(row, other), DUPLICATE)
            for row, other in close
        )
    _refuse_if_any(report)
    return CheckedImport("farmers", report, parsed, update=update, country=region)


def _close_name(row: Person, other: Person) -> Message:
    return Message(
        "%(row)s and %(other)s: close name in the same village",
        row=row.said(),
        other=other.said(),
    )


def _write_farmers(actor: Actor, checked: CheckedImport, progress: Progress) -> None:
    view = load_registry(actor, checked.country)
    report = checked.report
    gone = [
        row_problem(p.number, "village" if p.farmer.village_id not in view.regions else "organization",
                    Message("removed from the registry while the file was checked"), NOT_FOUND)
        for p in checked.rows
        if p.farmer.village_id not in view.regions
        or not view.organization_ids.issuperset(p.organization_ids)
    ]  # fmt: skip
    plan = _resolve_farmers(view, checked.rows, checked.update)
    problems = gone + [
        row_problem(
            p.row,
            p.field,
            Message("%(problem)s (registered while the file was checked)", problem=p.message),
            p.code,
        )
        for p in plan.problems
    ]
    if problems:
        report.problems = problems
        raise ImportRefused(report)
    at = now()
    total = len(plan.creates) + len(plan.updates)
    values = [
        {"programme_id": actor.programme_id, "created_at": at, **p.farmer.model_dump()}
        for p in plan.creates
    ]
    ids: list[int] = []
    for chunk in _chunks(values):
        ids += actor.session.scalars(
            insert(Farmer).returning(Farmer.id, sort_by_parameter_order=True), chunk
        ).all()
        progress("writing", len(ids), total)
    audit = [
        _audit(actor, at, "create", "farmers", farmer_id, after={"id": farmer_id, **row})
        for farmer_id, row in zip(ids, values, strict=True)
    ]
    joins = [(farmer_id, o) for p, farmer_id in zip(plan.creates, ids, strict=True)
             for o in p.organization_ids]  # fmt: skip
    updated = 0
    changes = []
    for parsed, farmer_id in plan.updates:
        changed, added = _changes(view, parsed, farmer_id)
        joins += [(farmer_id, o) for o in added]
        if changed:
            before = view.farmers[farmer_id]
            changes.append({"id": farmer_id, **changed})
            audit.append(_audit(actor, at, "update", "farmers", farmer_id, before=before,
                                after={**before, **changed}))  # fmt: skip
        if changed or added:
            updated += 1
    for chunk in _chunks(changes):
        actor.session.execute(update(Farmer), chunk)
    _forget(actor.session, Farmer, [c["id"] for c in changes])
    progress("writing", total, total)
    memberships = _write_memberships(actor, at, joins, audit)
    for chunk in _chunks(audit):
        actor.session.execute(insert(AuditEntry), chunk)
    report.created = {"farmers": len(ids), "memberships": memberships}
    if checked.update:
        report.updated = {"farmers": updated}
        report.unchanged = len(plan.updates) - updated


def _write_memberships(
    actor: Actor, at: Any, joins: list[tuple[int, int]], audit: list[dict[str, Any]],
    joined_on: list[Any] | None = None,
) -> int:  # fmt: skip
    values = [
        {"programme_id": actor.programme_id, "farmer_id": farmer_id, "organization_id": o,
         "joined_on": joined_on[i] if joined_on else None}
        for i, (farmer_id, o) in enumerate(joins)
    ]  # fmt: skip
    ids: list[int] = []
    for chunk in _chunks(values):
        ids += actor.session.scalars(
            insert(Membership).returning(Membership.id, sort_by_parameter_order=True), chunk
        ).all()
    audit.extend(
        _audit(
            actor, at, "create", "memberships", membership_id, after={"id": membership_id, **row}
        )
        for membership_id, row in zip(ids, values, strict=True)
    )
    return len(ids)


def _audit(
    actor: Actor, at: Any, action: str, entity: str, entity_id: int, *,
    after: dict[str, Any], before: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """An audit entry as :func:`alianza.platform.audit.service.record` writes it, for a bulk insert."""
    return {
        "programme_id": actor.programme_id, "user_id": actor.user_id, "at": at, "action": action,
        "entity": entity, "entity_id": entity_id,
        "before": jsonable(before) if before is not None else None, "after": jsonable(after),
    }  # fmt: skip


def _chunks(rows: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _forget(session: Session, model: type[Any], ids: list[int]) -> None:
    """Expire loaded objects whose rows a bulk UPDATE changed (the identity map is not told)."""
    for row_id in ids:
        loaded = session.identity_map.get(identity_key(model, row_id))
        if loaded is not None:
            session.expire(loaded)


# --- organizations -------------------------------------------------------------------------------


def check_organizations(
    actor: Actor, path: Path, *, progress: Progress = _no_progress, **_: Any
) -> CheckedImport:
    """Check an organizations file: name, kind (default producer_organization), place columns."""
    actor.require(Permission.REGISTRY_EDIT)
    table = _read(
        path, ORGANIZATION_COLUMNS, "organizations", {"name": Message("the organization's name")}
    )
    report = ImportReport(rows_read=table.rows_read, encoding=table.encoding)
    report.problems.extend(table.problems)
    view = load_registry(actor)
    bad = _bad_cells(table)
    existing = {(kind, name.lower()) for _id, kind, name in view.organizations.values()}
    seen: dict[tuple[str, str], int] = {}
    accepted: list[tuple[int, OrganizationIn]] = []
    progress("checking", 0, len(table.rows))
    for number, row in table.rows:
        kind = (row.get("kind") or "producer_organization").strip().lower().replace(" ", "_")
        fields: dict[str, Any] = {
            "name": row.get("name") or None, "kind": kind,
            "registration_number": row.get("registration_number") or None,
            "founded_year": row.get("founded_year") or None,
        }  # fmt: skip
        problems: list[RowProblem] = []
        if any(row.get(level) for level in PLACE_LEVELS):
            level = next(lv for lv in PLACE_LEVELS if row.get(lv))
            try:
                fields["place_id"] = view.places.find(row, most_specific=level).id
            except ValueError as error:
                problems.append(row_problem(number, level, error.args[0], NOT_FOUND))
        if kind not in ORGANIZATION_KINDS:
            problems.append(
                row_problem(
                    number,
                    "kind",
                    Message("must be one of %(kinds)s", kinds=str(list(ORGANIZATION_KINDS))),
                )
            )
            fields["kind"] = ORGANIZATION_KINDS[0]
        try:
            organization = OrganizationIn.model_validate(fields)
        except ValidationError as error:
            problems.extend(_validation_problems(number, error, bad.get(number, set()) | {"kind"}))
        else:
            key = (organization.kind, organization.name.lower())
            if key in existing:
                problems.append(row_problem(number, "name", Message(
                    "'%(name)s' is registered already", name=organization.name
                ), DUPLICATE))  # fmt: skip
            elif key in seen:
                problems.append(row_problem(number, "name", Message(
                    "'%(name)s' is row %(row)s already", name=organization.name, row=seen[key]
                ), DUPLICATE))  # fmt: skip
            seen.setdefault(key, number)
            if not problems:
                accepted.append((number, organization))
        report.problems.extend(problems)
    _refuse_if_any(report)
    return CheckedImport("organizations", report, accepted)


def _write_organizations(actor: Actor, checked: CheckedImport, progress: Progress) -> None:
    view = load_registry(actor)
    existing = {(kind, name.lower()) for _id, kind, name in view.organizations.values()}
    problems = [
        row_problem(
            number,
            "name",
            Message("'%(name)s' was registered while the file was checked", name=o.name),
            DUPLICATE,
        )
        for number, o in checked.rows
        if (o.kind, o.name.lower()) in existing
    ] + [
        row_problem(
            number,
            "place",
            Message("removed from the registry while the file was checked"),
            NOT_FOUND,
        )
        for number, o in checked.rows
        if o.place_id is not None and o.place_id not in view.regions
    ]
    if problems:
        checked.report.problems = problems
        raise ImportRefused(checked.report)
    at = now()
    values = [
        {"programme_id": actor.programme_id, "created_at": at, **o.model_dump()}
        for _number, o in checked.rows
    ]
    ids: list[int] = []
    for chunk in _chunks(values):
        ids += actor.session.scalars(
            insert(Organization).returning(Organization.id, sort_by_parameter_order=True), chunk
        ).all()
        progress("writing", len(ids), len(values))
    audit = [
        _audit(
            actor,
            at,
            "create",
            "organizations",
            organization_id,
            after={"id": organization_id, **row},
        )
        for organization_id, row in zip(ids, values, strict=True)
    ]
    for chunk in _chunks(audit):
        actor.session.execute(insert(AuditEntry), chunk)
    checked.report.created = {"organizations": len(ids)}


# --- memberships ---------------------------------------------------------------------------------


def check_memberships(
    actor: Actor, path: Path, *, country: str | None = None, progress: Progress = _no_progress,
    **_: Any,
) -> CheckedImport:  # fmt: skip
    """Check a memberships file: the farmer by national_id or phone, the organization by name."""
    actor.require(Permission.REGISTRY_EDIT)
    region = _country(country)
    table = _read(
        path,
        MEMBERSHIP_COLUMNS,
        "memberships",
        {"organization": Message("the organization's name")},
    )
    if not {"national_id", "phone"} & set(table.columns):
        raise ImportRefused(ImportReport(problems=[row_problem(
            1, "national_id", Message("missing column: national_id or phone finds the farmer"),
            "missing_column",
        )]))  # fmt: skip
    report = ImportReport(rows_read=table.rows_read, encoding=table.encoding)
    report.problems.extend(table.problems)
    view = load_registry(actor, region)
    if region is None:
        regions = set(view.regions.values())
        region = next(iter(regions)) if len(regions) == 1 else None  # the programme's one country
    seen: dict[tuple[int, int], int] = {}
    accepted: list[tuple[int, int, int, Any]] = []
    progress("checking", 0, len(table.rows))
    for number, row in table.rows:
        problems: list[RowProblem] = []
        farmer_id = _find_farmer(view, number, row, region, problems)
        organization = view.organizations.get(row.get("organization", "").strip().lower())
        if organization is None:
            problems.append(row_problem(number, "organization", Message(
                "no organization '%(name)s'", name=row.get("organization")
            ), NOT_FOUND))  # fmt: skip
        try:
            membership = MembershipIn.model_validate(
                {"farmer_id": farmer_id or 0, "organization_id": organization[0] if organization else 0,
                 "joined_on": row.get("joined_on") or None}
            )  # fmt: skip
        except ValidationError as error:
            problems.extend(_validation_problems(number, error, set()))
        else:
            if farmer_id is not None and organization is not None:
                key = (farmer_id, organization[0])
                if key in view.memberships:
                    problems.append(row_problem(number, "organization", Message(
                        "farmer %(farmer)s is a member of '%(organization)s' already",
                        farmer=farmer_id, organization=organization[2],
                    ), DUPLICATE))  # fmt: skip
                elif key in seen:
                    problems.append(row_problem(number, "organization", Message(
                        "the same membership as row %(row)s", row=seen[key]
                    ), DUPLICATE))  # fmt: skip
                seen.setdefault(key, number)
                if not problems:
                    accepted.append((number, farmer_id, organization[0], membership.joined_on))
        report.problems.extend(problems)
    _refuse_if_any(report)
    return CheckedImport("memberships", report, accepted, country=region)


def _find_farmer(
    view: RegistryView, number: int, row: dict[str, str], region: str | None,
    problems: list[RowProblem],
) -> int | None:  # fmt: skip
    for column in ("national_id", "phone"):
        value = row.get(column)
        if not value:
            continue
        try:
            key = (
                normalise_national_id(value)
                if column == "national_id"
                else normalise_phone(value, region)
            )
        except ValueError as error:
            problems.append(row_problem(number, column, error.args[0]))
            return None
        index = view.index.by_national_id if column == "national_id" else view.index.by_phone
        ids = {p.farmer_id for p in index.get(key, [])}
        if len(ids) == 1:
            return ids.pop()
        if len(ids) > 1:
            problems.append(
                row_problem(
                    number,
                    column,
                    Message("%(count)s farmers have %(key)s", count=len(ids), key=key),
                    DUPLICATE,
                )
            )
            return None
    problems.append(
        row_problem(
            number, "farmer", Message("no farmer with that national_id or phone"), NOT_FOUND
        )
    )
    return None


def _write_memberships_import(actor: Actor, checked: CheckedImport, progress: Progress) -> None:
    view = load_registry(actor, checked.country)
    problems = [
        row_problem(number, "farmer", Message("removed from the registry while the file was "
                                              "checked"), NOT_FOUND)
        for number, farmer_id, organization_id, _joined in checked.rows
        if farmer_id not in view.farmers or organization_id not in view.organization_ids
    ] + [
        row_problem(number, "organization", Message("the membership was registered while the "
                                                    "file was checked"), DUPLICATE)
        for number, farmer_id, organization_id, _joined in checked.rows
        if (farmer_id, organization_id) in view.memberships
    ]  # fmt: skip
    if problems:
        checked.report.problems = problems
        raise ImportRefused(checked.report)
    audit: list[dict[str, Any]] = []
    count = _write_memberships(
        actor, now(), [(f, o) for _n, f, o, _j in checked.rows], audit,
        joined_on=[j for _n, _f, _o, j in checked.rows],
    )  # fmt: skip
    progress("writing", count, count)
    for chunk in _chunks(audit):
        actor.session.execute(insert(AuditEntry), chunk)
    checked.report.created = {"memberships": count}


# --- the two phases together -----------------------------------------------------------------------

CHECKS = {"farmers": check_farmers, "organizations": check_organizations,
          "memberships": check_memberships}  # fmt: skip
_WRITES = {"farmers": _write_farmers, "organizations": _write_organizations,
           "memberships": _write_memberships_import}  # fmt: skip


def write_import(
    actor: Actor, checked: CheckedImport, progress: Progress = _no_progress
) -> ImportReport:
    """Write a checked import in one transaction (a savepoint of the actor's), re-checking
    against the registry as it is now; ImportRefused if it changed in a way that matters."""
    actor.require(Permission.REGISTRY_EDIT)
    with actor.session.begin_nested():
        if actor.session.get_bind().dialect.name == "postgresql":
            # one import writes to a programme at a time (SQLite's BEGIN IMMEDIATE does this
            # there): two imports re-checking at once could otherwise both add the same farmer
            actor.session.execute(
                text("SELECT pg_advisory_xact_lock(9, :programme)"),
                {"programme": actor.programme_id},
            )
        _WRITES[checked.kind](actor, checked, progress)
    return checked.report


def import_farmers(
    actor: Actor, path: Path, *, update: bool = False, refuse_duplicates: bool = False,
    country: str | None = None,
) -> ImportReport:  # fmt: skip
    """Import farmers (and their memberships from an ``organization`` column, ``;``-separated)."""
    checked = check_farmers(actor, path, update=update, refuse_duplicates=refuse_duplicates,
                            country=country)  # fmt: skip
    return write_import(actor, checked)


def import_organizations(actor: Actor, path: Path) -> ImportReport:
    """Import organizations: name, kind (default producer_organization), place columns."""
    return write_import(actor, check_organizations(actor, path))


def import_memberships(actor: Actor, path: Path, *, country: str | None = None) -> ImportReport:
    """Import memberships: the farmer by national_id or phone, the organization by name."""
    return write_import(actor, check_memberships(actor, path, country=country))


@contextmanager
def checking_session(url: str | None = None) -> Iterator[Session]:
    """A session for the check phase that takes no write lock.

    The platform's SQLite engine begins every transaction with BEGIN IMMEDIATE (the write lock);
    this one is a plain engine, whose driver begins no transaction for a SELECT, so each query
    holds SQLite's shared lock only while it runs and other users go on reading and writing. On
    PostgreSQL it reads in one read-only REPEATABLE READ transaction (one snapshot)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from alianza.platform.db import check_migrated, database_url

    url = url or database_url()
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30})
    else:
        engine = create_engine(url, execution_options={
            "isolation_level": "REPEATABLE READ", "postgresql_readonly": True,
        })  # fmt: skip
    try:
        check_migrated(engine)
        with Session(engine) as session:
            yield session
            session.rollback()
    finally:
        engine.dispose()
