"""The demo Micro Investing programme DEMO-MI: Malawi, in MWK.

Two districts in different rollout phases (Dedza in growth, Ntcheu in launch), two extension
planning areas each, 100 villages, 200 groups (savings groups and clubs), 12 agronomists, about
5,000 farmers and two years (eight seasons) of kit purchases, harvests, produce sales and
mobile-money payments **drawn from the kit-ladder simulator** (``alianza.ladder``) on the
example catalogue: farmers start with different cash (a few well off, who climb fast; most
with just enough for a first drip kit, who climb slowly), and a share stop buying after a
season or two (they drop out: their later purchases are not recorded), as real programmes see.
A few payments nobody can attribute are parked for review; the demo users ``agronomo`` (an
agronomist of Dedza) and ``proveedor`` (the Dedza input supplier) see their own part.

The set-up (programme, geography, catalogue, prices, agronomists, rollout, users, the parked
payments) goes through the services; the bulk of two years of field records is written in
batches (farmers, sales with their balanced postings, payments, visits, harvests, produce
sales): through the services it would take minutes, and ``make run`` seeds once, quickly.
Every balance still comes from balanced postings. Deterministic for a seed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np
import yaml
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from alianza.ladder.catalogue import EXAMPLE_CATALOGUE, validate_catalogue
from alianza.ladder.kits import KitTable
from alianza.ladder.population import Farmers
from alianza.ladder.records import TraceRecorder
from alianza.ladder.scenario import Policy, Population, Scenario
from alianza.ladder.seasons import season_end, season_of, season_start
from alianza.ladder.simulation import simulate_chunk
from alianza.platform.access import Actor, act_as
from alianza.platform.audit.service import now
from alianza.platform.fieldrecords.models import FieldVisit, Harvest, ProduceSale
from alianza.platform.kits import service as kits
from alianza.platform.kits.models import KitSale, SupplierStock
from alianza.platform.ledger.models import Entry, Posting
from alianza.platform.payments import service as payments
from alianza.platform.payments.models import MobilePayment
from alianza.platform.programmes.service import (
    create_programme,
    create_user,
    grant_role,
    set_exchange_rate,
)
from alianza.platform.registry import service as registry
from alianza.platform.registry.models import Farmer, Membership, Organization, Place
from alianza.platform.rollout import service as rollout
from alianza.platform.rollout import team

PROGRAMME_CODE = "DEMO-MI"
MANAGER_USERNAME = "coordinadora"
CURRENCY = "MWK"
CATALOGUE = EXAMPLE_CATALOGUE  # package data: an installed wheel seeds the demo too
START = date(2023, 7, 1)
SEASONS = 8  # two years of four seasons (calendar quarters: alianza.ladder.seasons)
SEASONS_PER_YEAR = 4
FIRST_SEASON = season_of(START, SEASONS_PER_YEAR)
LATE_LAUNCH = 4  # Ntcheu launched a year after Dedza
TODAY = season_end(FIRST_SEASON + SEASONS - 1, SEASONS_PER_YEAR)
# MWK per USD of the catalogue's prices, per district (inputs cost more away from Lilongwe).
PRICE_RATE = {"Dedza": Decimal("1750"), "Ntcheu": Decimal("1820")}
DISTRICTS = {
    "Dedza": ("growth", ["Linthipe EPA", "Mayani EPA"]),
    "Ntcheu": ("launch", ["Bilira EPA", "Kandeu EPA"]),
}
VILLAGES_PER_EPA = 25
GROUPS_PER_VILLAGE = 2
AGRONOMISTS_PER_DISTRICT = 6
COMMISSION = Decimal("0.05")
FIRST = ["Chikondi", "Grace", "Mphatso", "Tamanda", "Chisomo", "Thoko", "Kondwani", "Limbani",
         "Yamikani", "Madalitso", "Pemphero", "Tiyamike", "Alinafe", "Chimwemwe", "Esther",
         "John", "Peter", "Mercy", "Joseph", "Agnes"]  # fmt: skip
LAST = ["Banda", "Phiri", "Mwale", "Chirwa", "Nyirenda", "Kachingwe", "Gondwe", "Tembo",
        "Mbewe", "Zulu", "Kumwenda", "Msiska", "Chilima", "Mvula", "Chimwaza"]  # fmt: skip
VILLAGE_ROOTS = ["Chimbiya", "Kanyama", "Mtakataka", "Chiwamba", "Mkwinda", "Nsipe", "Kalembo",
                 "Chigodi", "Mlanda", "Kasina", "Golomoti", "Mua", "Bembeke", "Chilanga",
                 "Thete", "Masasa", "Kampanje", "Lizulu", "Tsangano", "Sharpe", "Phalula",
                 "Manjawira", "Chikande", "Mlangeni", "Biriwiri"]  # fmt: skip


@dataclass
class MiSummary:
    programme_id: int
    counts: dict[str, int]


# The kinds of farmer the demo draws: (share, starting cash in USD, policy). Fast climbers
# start with more and reinvest most of their margin; slow ones consume most of it; the third
# kind would climb slowly too, but stops buying after one to three seasons.
KINDS = (
    (0.08, (150.0, 400.0), Policy(consumption_share=0.1, max_purchases_per_season=3)),
    (0.62, (10.0, 14.0), Policy(consumption_share=0.9, max_purchases_per_season=1)),
    (0.30, (10.0, 12.0), Policy(consumption_share=0.9, max_purchases_per_season=1)),
)
STOPPING = 2


@dataclass
class Drawn:
    """Per farmer, from the simulator's field records (`alianza.ladder.records.TraceRecorder`):
    kits bought [season, kit, farmer] (at the season's end), units harvesting likewise, the
    harvest and what it sold for (USD), the season their district's drawing starts, and the
    season they stop buying."""

    bought: np.ndarray
    productive: np.ndarray
    harvest: np.ndarray
    value_usd: np.ndarray
    first_season: np.ndarray
    stop_after: np.ndarray
    female: np.ndarray


def _simulate_kind(
    catalogue: Any, policy: Policy, cash_usd: np.ndarray, seasons: int, seed: int, rng: Any
) -> TraceRecorder:
    n = cash_usd.size
    farmers = Farmers(
        farmer_id=np.arange(n, dtype=np.int64),
        market=np.zeros(n, dtype=np.int64),
        district=np.zeros(n, dtype=np.int64),
        cash_cents=np.rint(cash_usd * 100).astype(np.int64),
        land_m2=rng.uniform(800, 4000, n),
        household_size=rng.integers(3, 9, n).astype(np.int64),
        other_income_cents=np.zeros(n, dtype=np.int64),  # the demo draws kit incomes only
        female=np.zeros(n, dtype=bool),
        youth=np.zeros(n, dtype=bool),
        minority=np.zeros(n, dtype=bool),
    )
    scenario = Scenario(
        name="demo MI", catalogue=catalogue, seed=seed, seasons=seasons,
        population=Population(farmers=n, starting_kits={}), policy=policy,
    )  # fmt: skip
    table = KitTable.from_scenario(scenario)
    recorder = TraceRecorder(table, farmers, catalogue.days_per_season, seasons, 1)
    simulate_chunk(scenario, farmers, 0, 1, recorder, compiled=False, kits=table)
    return recorder


def demo_catalogue() -> Any:
    """The packaged example catalogue, each kit sold to one farmer (no savings-group shares)."""
    document = yaml.safe_load(CATALOGUE.read_text())
    for kit in document["kits"]:
        kit.pop("savings_group", None)
    return validate_catalogue(document)


def simulate(district_of_farmer: np.ndarray, first_seasons: list[int], seed: int) -> Drawn:
    """The ladder simulated for each district's farmers of each kind, from the season their
    district launched (see :data:`KINDS`)."""
    catalogue = demo_catalogue()
    streams = np.random.SeedSequence(seed).spawn(1 + len(first_seasons) * len(KINDS))
    rng = np.random.default_rng(streams[0])
    n = district_of_farmer.size
    k = len(catalogue.kits)
    grid = (SEASONS, k, n)
    drawn = Drawn(
        bought=np.zeros(grid, dtype=np.int64),
        productive=np.zeros(grid, dtype=np.int64),
        harvest=np.zeros(grid),
        value_usd=np.zeros(grid),
        first_season=np.zeros(n, dtype=np.int64),
        stop_after=np.full(n, SEASONS, dtype=np.int64),
        female=rng.random(n) < 0.55,
    )
    kind = rng.choice(len(KINDS), size=n, p=[share for share, _, _ in KINDS])
    stream = 1
    for d, first in enumerate(first_seasons):
        for kind_index, (_share, (low, high), policy) in enumerate(KINDS):
            members = np.nonzero((district_of_farmer == d) & (kind == kind_index))[0]
            own_rng = np.random.default_rng(streams[stream])
            stream += 1
            if members.size == 0:
                continue
            seasons = SEASONS - first
            trace = _simulate_kind(
                catalogue,
                policy,
                own_rng.uniform(low, high, members.size),
                seasons,
                seed + stream,
                own_rng,
            )
            for part in trace.rows:
                at = (first + part["season"], part["kit_index"], members[part["farmer_index"]])
                drawn.bought[at] = part["units_bought"]
                drawn.productive[at] = part["productive_units"]
                drawn.harvest[at] = part["harvest_quantity"]
                drawn.value_usd[at] = part["sale_value_usd"]
            drawn.first_season[members] = first
            if kind_index == STOPPING:
                drawn.stop_after[members] = first + own_rng.integers(1, 4, members.size)
    return drawn


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def seed_micro_investing(session: Session, seed: int = 1, farmers: int = 5000) -> MiSummary:
    """Add the DEMO-MI programme (see the module's docstring). Its coordinator ``coordinadora``
    administers it (a programme of its own: the DEMO-PA users keep theirs as their first)."""
    coordinator = create_user(
        session,
        {"username": MANAGER_USERNAME, "display_name": "Coordinadora Micro Investing",
         "password": "alianza-demo"},
    )  # fmt: skip
    admin = create_programme(
        session,
        {
            "code": PROGRAMME_CODE,
            "name": "Micro Investing Malawi (demo)",
            "reporting_currency": "USD",
        },
        coordinator,
    )
    # One dated MWK rate (Dedza's price rate) for the USD roll-ups: dashboard and results.
    set_exchange_rate(
        admin,
        {"currency": CURRENCY, "rate_date": START, "units_per_reporting_unit": PRICE_RATE["Dedza"]},
    )
    country = registry.add_place(admin, {"kind": "country", "name": "Malawi", "code": "MW"})
    villages: list[Place] = []
    district_of_village: dict[int, Place] = {}
    districts: dict[str, Place] = {}
    epas: list[tuple[Place, Place]] = []
    for district_name, (_phase, epa_names) in DISTRICTS.items():
        district = registry.add_place(
            admin, {"kind": "district", "name": district_name, "parent_id": country.id}
        )
        districts[district_name] = district
        for e, epa_name in enumerate(epa_names):
            epa = registry.add_place(
                admin, {"kind": "municipality", "name": epa_name, "parent_id": district.id}
            )
            epas.append((district, epa))
            for v in range(VILLAGES_PER_EPA):
                root = VILLAGE_ROOTS[(v + e * 7) % len(VILLAGE_ROOTS)]
                village = registry.add_place(
                    admin,
                    {
                        "kind": "village",
                        "name": f"{root} {v // len(VILLAGE_ROOTS) + 1}"
                        if v >= len(VILLAGE_ROOTS)
                        else root,
                        "parent_id": epa.id,
                    },
                )
                villages.append(village)
                district_of_village[village.id] = district
    groups: list[Organization] = []
    for n, village in enumerate(villages):
        for g in range(GROUPS_PER_VILLAGE):
            kind = "savings_group" if g == 0 else "club"
            label = "VSLA" if g == 0 else "Farmers' Club"
            groups.append(
                registry.add_organization(
                    admin,
                    {"kind": kind, "name": f"{village.name} {label} {n}", "place_id": village.id},
                )
            )
    suppliers = {
        name: registry.add_organization(
            admin, {"kind": "supplier", "name": f"Agro-Dealers {name}", "place_id": d.id}
        )
        for name, d in districts.items()
    }
    offtaker = registry.add_organization(
        admin, {"kind": "offtaker", "name": "Lilongwe Fresh Produce"}
    )
    # catalogue and prices per district
    version = kits.add_catalogue_version(admin, {"document": yaml.safe_load(CATALOGUE.read_text())})
    catalogue = kits.catalogue_of(version)
    price: dict[tuple[int, str], Decimal] = {}
    for name, district in districts.items():
        rows = []
        for kit in catalogue.kits:
            value = _money(Decimal(str(kit.price_usd)) * PRICE_RATE[name])
            price[(district.id, kit.id)] = value
            rows.append({"kit_code": kit.id, "price": value})
        kits.set_prices(
            admin, version.id, {"district_id": district.id, "currency": CURRENCY, "prices": rows}
        )
    # agronomists: each district's villages split among its six
    agronomists: list[Any] = []
    agronomist_of_village: dict[int, int] = {}
    for name, district in districts.items():
        own = [v for v in villages if district_of_village[v.id] is district]
        for a in range(AGRONOMISTS_PER_DISTRICT):
            caseload = own[a::AGRONOMISTS_PER_DISTRICT]
            person = team.add_agronomist(
                admin,
                {"name": f"{FIRST[(a * 3 + len(name)) % len(FIRST)]} {LAST[(a * 5 + len(name)) % len(LAST)]} ({name})",
                 "district_id": district.id, "village_ids": [v.id for v in caseload],
                 "commission_rate": COMMISSION, "phone": f"+26588{len(agronomists):07d}"},
            )  # fmt: skip
            agronomists.append(person)
            for village in caseload:
                agronomist_of_village[village.id] = person.id
    # rollout: Dedza set up, launched, growing; Ntcheu launched; EPAs as sub-areas
    for name, district in districts.items():
        phase = DISTRICTS[name][0]
        area = rollout.open_area(
            admin,
            {"place_id": district.id, "phase_since": START - timedelta(days=120),
             "target_farmers": 3000, "exit_adoption_share": "0.60"},
        )  # fmt: skip
        for title, due, done in (
            (
                "Lead farmers found in every EPA",
                START - timedelta(days=90),
                START - timedelta(days=95),
            ),
            (
                "Agronomists recruited and trained",
                START - timedelta(days=60),
                START - timedelta(days=58),
            ),
            ("Demo beds set up", START - timedelta(days=30), START - timedelta(days=20)),
            (
                "Exit and logistics partners mapped",
                START,
                None if phase == "launch" else START + timedelta(days=40),
            ),
        ):
            milestone = rollout.add_milestone(
                admin, area.id, {"phase": "setup", "title": title, "due_on": due}
            )
            if done is not None:
                rollout.complete_milestone(admin, milestone.id, done)
        rollout.move_phase(
            admin, area.id, {"to_phase": "launch", "changed_on": START, "note": "first kits sold"}
        )
        if phase == "growth":
            rollout.move_phase(
                admin,
                area.id,
                {
                    "to_phase": "growth",
                    "changed_on": START + timedelta(days=365),
                    "note": "sales on market terms",
                },
            )
        rollout.add_milestone(
            admin,
            area.id,
            {
                "phase": "exit",
                "title": "Adoption above 60% of buying farmers",
                "due_on": TODAY + timedelta(days=365),
            },
        )
        for sub_district, epa in epas:
            if sub_district is district:
                rollout.open_area(
                    admin, {"place_id": epa.id, "phase_since": START, "phase": "launch"}
                )
    session.flush()

    # --- farmers and their two years, from the simulator (in batches) -----------------------
    rng = np.random.default_rng(np.random.SeedSequence(seed + 1000).spawn(1)[0])
    village_of_farmer = np.sort(rng.integers(0, len(villages), farmers))
    names = list(districts)
    district_index = np.array(
        [names.index(district_of_village[villages[v].id].name) for v in village_of_farmer]
    )
    first_seasons = [0 if DISTRICTS[name][0] == "growth" else LATE_LAUNCH for name in names]
    drawn = simulate(district_index, first_seasons, seed)
    created = now()
    farmer_rows: list[dict[str, Any]] = []
    for i in range(farmers):
        village = villages[int(village_of_farmer[i])]
        female = bool(drawn.female[i])
        farmer_rows.append({
            "programme_id": admin.programme_id, "name": f"{FIRST[int(rng.integers(len(FIRST)))]} {LAST[int(rng.integers(len(LAST)))]}",
            "sex": "female" if female else "male", "birth_year": int(rng.integers(1960, 2004)), "minority": False,
            "household_size": int(rng.integers(3, 9)), "land_hectares": Decimal(str(round(float(rng.uniform(0.1, 0.6)), 3))),
            "phone": f"+26599{i:07d}", "national_id": None, "village_id": village.id,
            "latitude": round(-14.3 + float(rng.normal(0, 0.1)), 5), "longitude": round(34.3 + float(rng.normal(0, 0.1)), 5),
            "created_at": created,
        })  # fmt: skip
    farmer_ids = list(
        session.scalars(
            insert(Farmer).returning(Farmer.id, sort_by_parameter_order=True), farmer_rows
        )
    )
    groups_of_village: dict[int, list[Organization]] = defaultdict(list)
    for group in groups:
        groups_of_village[group.place_id].append(group)  # type: ignore[index]
    session.execute(
        insert(Membership),
        [{"programme_id": admin.programme_id, "farmer_id": fid,
          "organization_id": groups_of_village[int(farmer_rows[i]["village_id"])][i % GROUPS_PER_VILLAGE].id,
          "joined_on": START} for i, fid in enumerate(farmer_ids)],
    )  # fmt: skip
    accounts = {
        "buyers": kits.programme_account(admin, "kit_buyers", "Kit buyers", CURRENCY),
        "sales": kits.programme_account(admin, "kit_sales", "Kit sales", CURRENCY),
        "airtel": payments.provider_account(admin, "airtel", CURRENCY),
        "offtaker": kits.ledger.organization_account(admin, "offtaker", CURRENCY, offtaker.id),
    }
    agronomist_accounts = {
        a.id: kits.agronomist_account(admin, a, CURRENCY).id for a in agronomists
    }
    kit_ids = [kit.id for kit in catalogue.kits]
    product_of = {kit.id: catalogue.product(kit.product) for kit in catalogue.kits}
    sales: list[dict[str, Any]] = []
    sold_units: dict[tuple[int, int, str], int] = defaultdict(int)
    for season in range(SEASONS):
        bought = drawn.bought[season]
        opens = season_start(FIRST_SEASON + season, SEASONS_PER_YEAR)
        for k, i in zip(*np.nonzero(bought), strict=True):
            if season >= drawn.stop_after[i]:
                continue  # this farmer dropped out
            village_id = farmer_rows[i]["village_id"]
            district = district_of_village[village_id]
            kit_code = kit_ids[int(k)]
            units = int(bought[k, i])
            amount = price[(district.id, kit_code)] * units
            method = (
                str(rng.choice(["cash", "mobile_money", "prepayment"], p=[0.35, 0.6, 0.05]))
                if season
                else str(rng.choice(["cash", "mobile_money"], p=[0.5, 0.5]))
            )
            agronomist_id = agronomist_of_village[village_id]
            sales.append({
                "farmer": i, "farmer_id": farmer_ids[i], "village_id": village_id, "district_id": district.id,
                "kit_code": kit_code, "units": units, "unit_price": price[(district.id, kit_code)],
                "amount": amount, "method": method, "agronomist_id": agronomist_id,
                "commission": _money(amount * COMMISSION),
                # bought at the season's end (owned from the next season's harvest)
                "sold_on": opens + timedelta(days=int(rng.integers(60, 88))),
                "supplier_id": suppliers[district.name].id,
            })  # fmt: skip
            sold_units[(suppliers[district.name].id, district.id, kit_code)] += units
    # one balanced posting per sale: the price split between kit sales and the commission
    source = {
        "cash": accounts["buyers"].id,
        "mobile_money": accounts["airtel"].id,
        "prepayment": accounts["offtaker"].id,
    }
    posting_ids = list(session.scalars(
        insert(Posting).returning(Posting.id, sort_by_parameter_order=True),
        [{"programme_id": admin.programme_id, "kind": "kit_sale", "posted_on": s["sold_on"],
          "memo": f"kit sale: {s['units']} x {s['kit_code']} to farmer {s['farmer_id']}",
          "reverses_posting_id": None, "created_by": admin.user_id, "created_at": created} for s in sales],
    ))  # fmt: skip
    entries = []
    for s, posting_id in zip(sales, posting_ids, strict=True):
        entries.append(
            {
                "posting_id": posting_id,
                "account_id": source[s["method"]],
                "posted_on": s["sold_on"],
                "amount": -s["amount"],
            }
        )
        entries.append(
            {
                "posting_id": posting_id,
                "account_id": accounts["sales"].id,
                "posted_on": s["sold_on"],
                "amount": s["amount"] - s["commission"],
            }
        )
        entries.append(
            {
                "posting_id": posting_id,
                "account_id": agronomist_accounts[s["agronomist_id"]],
                "posted_on": s["sold_on"],
                "amount": s["commission"],
            }
        )
    session.execute(insert(Entry), entries)
    sale_ids = list(session.scalars(
        insert(KitSale).returning(KitSale.id, sort_by_parameter_order=True),
        [{"programme_id": admin.programme_id, "reference": f"~demo{n}", "farmer_id": s["farmer_id"],
          "village_id": s["village_id"], "district_id": s["district_id"], "catalogue_id": version.id,
          "kit_code": s["kit_code"], "units": s["units"], "unit_price": s["unit_price"], "amount": s["amount"],
          "currency": CURRENCY, "method": s["method"], "status": "paid", "agronomist_id": s["agronomist_id"],
          "commission": s["commission"], "supplier_id": s["supplier_id"],
          "offtaker_id": offtaker.id if s["method"] == "prepayment" else None, "sold_on": s["sold_on"],
          "paid_on": s["sold_on"], "sale_posting_id": p, "recorded_by": admin.user_id, "created_at": created}
         for n, (s, p) in enumerate(zip(sales, posting_ids, strict=True))],
    ))  # fmt: skip
    from sqlalchemy import update

    session.execute(
        update(KitSale),
        [{"id": sid, "reference": kits.sale_reference(sid)} for sid in sale_ids],
    )
    session.execute(
        insert(MobilePayment),
        [{"programme_id": admin.programme_id, "provider": "airtel", "transaction_id": f"AM{sid:08d}",
          "phone": farmer_rows[s["farmer"]]["phone"], "amount": s["amount"], "currency": CURRENCY,
          "reference": kits.sale_reference(sid),
          "paid_at": datetime.combine(s["sold_on"], datetime.min.time(), UTC) + timedelta(hours=int(rng.integers(7, 18))),
          "received_at": created, "status": "matched", "park_reason": None, "park_detail": None,
          "farmer_id": s["farmer_id"], "sale_id": sid, "posting_id": p, "resolution_posting_id": None,
          "matched_by": None, "matched_at": None, "raw": {"demo": True}}
         for s, sid, p in zip(sales, sale_ids, posting_ids, strict=True) if s["method"] == "mobile_money"],
    )  # fmt: skip
    # supplier stock: what was sold came out of it; what is left is on the shelves
    for supplier_id, district_id, kit_code in sold_units:
        left = 40 if kit_code.startswith("drip") else 8
        session.add(SupplierStock(programme_id=admin.programme_id, supplier_id=supplier_id, district_id=district_id,
                                  kit_code=kit_code, quantity=left, updated_at=created))  # fmt: skip
    for name, district in districts.items():
        if (suppliers[name].id, district.id, "drip_bed") not in sold_units:
            session.add(SupplierStock(programme_id=admin.programme_id, supplier_id=suppliers[name].id,
                                      district_id=district.id, kit_code="drip_bed", quantity=40, updated_at=created))  # fmt: skip
    # harvests and produce sales: each kit's simulated harvest, all of it sold at the price it
    # fetched (in MWK at the programme's rate), while the farmer is still in the programme
    harvests, produce = [], []
    rate = PRICE_RATE["Dedza"]
    for season in range(SEASONS):
        opens = season_start(FIRST_SEASON + season, SEASONS_PER_YEAR)
        day = opens + timedelta(days=75)
        for k, i in zip(*np.nonzero(drawn.productive[season]), strict=True):
            if season > drawn.stop_after[i]:
                continue
            kit_code = kit_ids[int(k)]
            product = product_of[kit_code]
            quantity = Decimal(str(round(float(drawn.harvest[season, k, i]), 3)))
            grade = (
                "A" if product.channel == "offtaker" else str(rng.choice(["A", "B"], p=[0.4, 0.6]))
            )
            common = {"programme_id": admin.programme_id, "farmer_id": farmer_ids[i], "village_id": farmer_rows[i]["village_id"],
                      "kit_code": kit_code, "quantity": quantity, "unit": product.unit, "grade": grade,
                      "recorded_by": admin.user_id, "recorded_at": created}  # fmt: skip
            harvests.append(common | {"harvested_on": day - timedelta(days=5)})
            if quantity <= 0:
                continue
            price_usd = float(drawn.value_usd[season, k, i]) / float(drawn.harvest[season, k, i])
            unit_price = _money(Decimal(str(price_usd)) * rate)
            produce.append(common | {"sold_on": day, "unit_price": unit_price, "amount": _money(quantity * unit_price),
                                     "currency": CURRENCY, "offtaker_id": offtaker.id if product.channel == "offtaker" else None,
                                     "buyer": offtaker.name if product.channel == "offtaker" else "village market"})  # fmt: skip
    if harvests:
        session.execute(insert(Harvest), harvests)
        session.execute(insert(ProduceSale), produce)
    # group visits: every group about twice a month, a few weeks missed near the end
    visits = []
    for group in groups:
        agronomist_id = agronomist_of_village[group.place_id]  # type: ignore[index]
        day = START + timedelta(days=int(rng.integers(0, 14)))
        last = TODAY - timedelta(days=int(rng.integers(0, 21)))
        while day <= last:
            visits.append({"programme_id": admin.programme_id, "kind": "visit", "village_id": group.place_id,
                           "farmer_id": None, "organization_id": group.id, "agronomist_id": agronomist_id,
                           "visited_on": day, "notes": "group meeting: beds, watering, sales", "photo_ref": None,
                           "latitude": None, "longitude": None, "qr_code": None, "qr_matches": None,
                           "recorded_by": admin.user_id, "recorded_at": created})  # fmt: skip
            day += timedelta(days=int(rng.integers(10, 20)))
    session.execute(insert(FieldVisit), visits)
    session.flush()

    # --- users, and a few payments parked for review (through the services) -----------------
    agronomo = create_user(
        session,
        {"username": "agronomo", "display_name": "Agrónomo de Dedza", "password": "alianza-demo"},
    )
    first = agronomists[0]
    grant_role(
        admin,
        agronomo.id,
        {"role": "agronomist", "place_ids": team.caseload_villages(admin, first.id)},
    )
    first.user_id = agronomo.id
    proveedor = create_user(
        session,
        {"username": "proveedor", "display_name": "Agro-Dealers Dedza", "password": "alianza-demo"},
    )
    grant_role(admin, proveedor.id, {"role": "supplier", "organization_id": suppliers["Dedza"].id})
    session.flush()
    seller = act_as(session, agronomo.id, admin.programme_id)
    own_villages = set(team.caseload_villages(admin, first.id))
    pending: list[KitSale] = []
    for i, row in enumerate(farmer_rows):
        if row["village_id"] in own_villages and len(pending) < 3:
            kits.receive_stock(
                admin,
                {
                    "supplier_id": suppliers["Dedza"].id,
                    "district_id": districts["Dedza"].id,
                    "kit_code": "drip_bed",
                    "quantity": 5,
                },
            )
            owned_now = kits.owned_kits(admin, farmer_ids[i])
            if owned_now.get("drip_bed", 0) >= 13:
                continue
            pending.append(kits.record_sale(seller, {"farmer_id": farmer_ids[i], "kit_code": "drip_bed", "method": "mobile_money",
                                                     "sold_on": TODAY - timedelta(days=2), "supplier_id": suppliers["Dedza"].id}))  # fmt: skip
    intake = payments.intake_actor(session, PROGRAMME_CODE)
    at = datetime.combine(TODAY, datetime.min.time(), UTC) + timedelta(hours=9)
    parked = [
        {
            "transaction_id": "AMX0001",
            "amount": "17500.00",
            "phone": "+265991234567",
        },  # nobody's phone
        {
            "transaction_id": "AMX0002",
            "amount": "17000.00",
            "reference": pending[0].reference,
        },  # short
        {
            "transaction_id": "AMX0003",
            "amount": "47250.00",
            "reference": "K12345",
        },  # a mistyped reference
        {
            "transaction_id": "AMX0004",
            "amount": str(pending[1].amount),
            "phone": "0881112233",
        },  # a relative's phone
    ]
    for body in parked:
        payments.receive(
            intake, {"provider": "airtel", "currency": CURRENCY, "paid_at": at} | body, region="MW"
        )
    counts = {
        "districts": len(districts),
        "villages": len(villages),
        "groups": len(groups),
        "agronomists": len(agronomists),
        "farmers": farmers,
        "kit sales": len(sales) + len(pending),
        "mobile-money payments": sum(1 for s in sales if s["method"] == "mobile_money")
        + len(parked),
        "parked payments": len(parked),
        "produce sales": len(produce),
        "visits": len(visits),
    }
    return MiSummary(admin.programme_id, counts)


def _village_lookup(actor: Actor) -> dict[int, Place]:
    return {
        p.id: p
        for p in actor.session.scalars(
            select(Place).where(Place.programme_id == actor.programme_id)
        )
    }
