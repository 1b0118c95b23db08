"""Registry imports: never doubling the registry, files as people have them, linear cost, no
write lock while checking, nothing left by a killed import; exports safe in a spreadsheet."""

from __future__ import annotations

import csv
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from alianza.platform.audit.models import AuditEntry
from alianza.platform.db import Database
from alianza.platform.programmes.service import Actor, act_as, create_programme, create_user
from alianza.platform.registry import service as registry
from alianza.platform.registry.exporter import FARMER_COLUMNS, export_farmers
from alianza.platform.registry.files import read_table, write_table
from alianza.platform.registry.importer import (
    FARMER_COLUMNS as KNOWN_FARMER_COLUMNS,
)
from alianza.platform.registry.importer import (
    ImportRefused,
    check_farmers,
    checking_session,
    import_farmers,
    import_memberships,
    write_import,
)
from alianza.platform.registry.models import Farmer, Membership, Place
from alianza.problems import Message

HEADER = "name,sex,birth_year,household_size,land_hectares,phone,national_id,village,organization\n"
FIRST = "Ana María José Juan Pedro Rosa Lucía Carlos Marta Luis Elena Jorge Sofía Miguel".split()
LAST = "López Pérez Gómez Díaz Martínez Hernández Rodríguez Sánchez Ramírez Flores Torres".split()


def tanzania(actor: Actor, villages: int = 2) -> list[Place]:
    country = registry.add_place(actor, {"kind": "country", "name": "Tanzania"})
    district = registry.add_place(
        actor, {"kind": "district", "name": "Arusha", "parent_id": country.id}
    )
    ward = registry.add_place(
        actor, {"kind": "municipality", "name": "Meru", "parent_id": district.id}
    )
    made = [registry.add_place(actor, {"kind": "village", "name": f"Kijiji {i}", "parent_id": ward.id})
            for i in range(villages)]  # fmt: skip
    registry.add_organization(actor, {"kind": "producer_organization", "name": "Coop Meru"})
    actor.session.commit()
    return made


def count(actor: Actor, model: type) -> int:
    return actor.session.scalar(select(func.count()).select_from(model).where(
        model.programme_id == actor.programme_id))  # fmt: skip


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def big_file(path: Path, rows: int, villages: int, seed: int = 1) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER)
        for i in range(rows):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {rng.choice(LAST)}"
            handle.write(f"{name},F,{rng.randint(1950, 2005)},{rng.randint(1, 9)},"
                         f"{rng.randint(1, 500) / 100},07{i:08d},ID{i:08d},"
                         f"Kijiji {rng.randrange(villages)},Coop Meru\n")  # fmt: skip
    return path


# --- never doubling the registry ----------------------------------------------------------------


def test_reimporting_the_export_is_refused_and_update_updates(admin: Actor, tmp_path: Path) -> None:
    tanzania(admin)
    first = write(tmp_path / "first.csv", HEADER
                  + "Neema Mollel,F,1990,4,1.5,0712 345 678,TZ-1,Kijiji 0,Coop Meru\n"
                  + "Baraka Laizer,M,1985,6,2,,TZ-2,Kijiji 1,\n")  # fmt: skip
    assert import_farmers(admin, first).created == {"farmers": 2, "memberships": 1}
    export = tmp_path / "export.csv"
    export_farmers(admin, export)
    for again in (first, export):
        with pytest.raises(ImportRefused) as refused:
            import_farmers(admin, again)
        problems = refused.value.report.problems
        assert [(p.row, p.code) for p in problems] == [(2, "duplicate"), (3, "duplicate")]
        assert "national ID TZ-1 is farmer 1 (Neema Mollel)'s already" in str(problems[0])
    assert count(admin, Farmer) == 2
    report = import_farmers(admin, export, update=True)
    assert (report.created, report.updated, report.unchanged) == (
        {"farmers": 0, "memberships": 0}, {"farmers": 0}, 2)  # fmt: skip
    rows = list(csv.reader(export.open(encoding="utf-8")))
    rows[2][rows[0].index("household_size")] = "7"
    rows[2][rows[0].index("organization")] = "Coop Meru"
    rows[1][rows[0].index("phone")] = ""  # a blank optional cell keeps the registered phone
    with export.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    report = import_farmers(admin, export, update=True)
    assert (report.updated, report.unchanged) == ({"farmers": 1}, 1)
    assert report.created == {"farmers": 0, "memberships": 1}
    baraka = admin.session.scalar(select(Farmer).where(Farmer.national_id == "TZ-2"))
    neema = admin.session.scalar(select(Farmer).where(Farmer.national_id == "TZ-1"))
    assert baraka is not None and baraka.household_size == 7
    assert neema is not None and neema.phone == "+255712345678"
    assert count(admin, Farmer) == 2 and count(admin, Membership) == 2
    audit = admin.session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).all()
    assert [(a.entity_id, a.before["household_size"], a.after["household_size"]) for a in audit] == [
        (baraka.id, 6, 7)]  # fmt: skip


def test_a_phone_is_one_phone_however_it_is_written(admin: Actor, tmp_path: Path) -> None:
    villages = tanzania(admin)
    registered = registry.add_farmer(admin, {
        "name": "Neema Mollel", "sex": "F", "birth_year": 1990, "household_size": 4,
        "land_hectares": "1", "phone": "0712-345-678", "village_id": villages[0].id})  # fmt: skip
    assert registered.phone == "+255712345678"  # read in the village's country
    admin.session.commit()
    path = write(
        tmp_path / "f.csv", HEADER + "Other Person,F,1990,4,1,+255 712 345 678,,Kijiji 1,\n"
    )
    with pytest.raises(ImportRefused, match=r"row 2: phone: phone \+255712345678 is farmer"):
        import_farmers(admin, path)
    path = write(tmp_path / "f.csv", HEADER + "Other Person,F,1990,4,1,0712345678,,Kijiji 1,\n")
    with pytest.raises(ImportRefused, match=r"row 2: phone: phone \+255712345678 is farmer"):
        import_farmers(admin, path)
    # --country reads the number as a Kenyan one: another phone
    assert import_farmers(admin, path, country="KE").created["farmers"] == 1
    assert (
        admin.session.scalar(select(Farmer.phone).where(Farmer.name == "Other Person"))
        == "+254712345678"
    )
    with pytest.raises(ImportRefused, match="not a possible phone number in TZ"):
        import_farmers(
            admin, write(tmp_path / "g.csv", HEADER + "Third One,F,1990,4,1,0712,,Kijiji 1,\n")
        )


def test_phones_registered_before_e164_are_still_matched(admin: Actor, tmp_path: Path) -> None:
    from decimal import Decimal

    from alianza.platform.audit.service import now

    villages = tanzania(admin)
    admin.session.add(Farmer(
        programme_id=admin.programme_id, name="Neema Mollel", sex="female", birth_year=1990,
        minority=False, household_size=4, land_hectares=Decimal(1), phone="0712345678",
        national_id=None, village_id=villages[0].id, created_at=now(),
    ))  # fmt: skip
    admin.session.commit()
    path = write(tmp_path / "f.csv", HEADER + "Neema Mollel,F,1990,4,1,+255712345678,,Kijiji 0,\n")
    with pytest.raises(ImportRefused, match="phone \\+255712345678 is farmer 1"):
        import_farmers(admin, path)
    assert import_farmers(admin, path, update=True).updated == {"farmers": 1}
    assert admin.session.scalar(select(Farmer.phone)) == "+255712345678"


def test_a_phone_without_country_code_needs_a_known_country(admin: Actor, tmp_path: Path) -> None:
    country = registry.add_place(admin, {"kind": "country", "name": "Atlantis"})
    district = registry.add_place(admin, {"kind": "district", "name": "D", "parent_id": country.id})
    ward = registry.add_place(
        admin, {"kind": "municipality", "name": "M", "parent_id": district.id}
    )
    registry.add_place(admin, {"kind": "village", "name": "Kijiji 0", "parent_id": ward.id})
    admin.session.commit()
    path = write(tmp_path / "f.csv", HEADER.replace(",organization", "")
                 + "Neema Mollel,F,1990,4,1,0712345678,,Kijiji 0\n")  # fmt: skip
    with pytest.raises(ImportRefused, match="has no \\+country code, and the country of village"):
        import_farmers(admin, path)
    assert import_farmers(admin, path, country="TZ").created == {"farmers": 1, "memberships": 0}


def test_rows_of_one_file_share_the_rule(admin: Actor, tmp_path: Path) -> None:
    tanzania(admin)
    path = write(tmp_path / "f.csv", HEADER
                 + "Neema Mollel,F,1990,4,1,0712345678,TZ-1,Kijiji 0,\n"
                 + "Neema Molel,F,1990,4,1,,TZ-2,Kijiji 0,\n"
                 + "Baraka Laizer,M,1985,6,2,+255712345678,TZ-3,Kijiji 1,\n"
                 + "Rehema Kaaya,F,1985,6,2,,tz -1,Kijiji 1,\n")  # fmt: skip
    with pytest.raises(ImportRefused) as refused:
        import_farmers(admin, path)
    assert refused.value.report.lines() == [
        "row 4: phone: same phone as row 2 (Neema Mollel): one person, two rows",
        "row 5: national_id: same national ID as row 2 (Neema Mollel): one person, two rows",
        "possible duplicate: row 3 (Neema Molel) and row 2 (Neema Mollel): close name in the same village",
    ]


def test_a_row_matching_two_farmers_or_another_national_id_is_refused(
    admin: Actor, tmp_path: Path
) -> None:
    tanzania(admin)
    import_farmers(admin, write(tmp_path / "a.csv", HEADER
                                + "Neema Mollel,F,1990,4,1,0712345678,TZ-1,Kijiji 0,\n"
                                + "Baraka Laizer,M,1985,6,2,0713000000,TZ-2,Kijiji 1,\n"))  # fmt: skip
    path = write(tmp_path / "b.csv", HEADER
                 + "Neema Mollel,F,1990,4,1,0713000000,TZ-1,Kijiji 0,\n"
                 + "Rehema Kaaya,F,1985,6,2,0712345678,TZ-9,Kijiji 1,\n")  # fmt: skip
    with pytest.raises(ImportRefused) as refused:
        import_farmers(admin, path, update=True)
    lines = refused.value.report.lines()
    assert lines[0] == ("row 2: farmer: matches farmer 1 (Neema Mollel) by national ID and farmer 2 "
                        "(Baraka Laizer) by phone: which one?")  # fmt: skip
    assert lines[1].startswith("row 3: national_id: the phone is farmer 1 (Neema Mollel)'s, whose "
                               "national ID is TZ-1, not TZ-9")  # fmt: skip


# --- files as people have them -----------------------------------------------------------------


@pytest.mark.parametrize(("encoding", "named"), [
    ("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 with BOM"), ("cp1252", "Windows-1252 (or Latin-1)"),
    ("latin-1", "Windows-1252 (or Latin-1)"), ("utf-16", "UTF-16"),
    ("utf-16-le", "UTF-16 (little-endian, no BOM)"),
])  # fmt: skip
def test_files_in_the_encodings_people_save(
    admin: Actor, tmp_path: Path, encoding: str, named: str
) -> None:
    tanzania(admin)
    path = write(tmp_path / "f.csv", HEADER + "José Pérez Ñúñez,M,1990,4,1,,,Kijiji 0,\n", encoding)
    report = import_farmers(admin, path)
    assert report.encoding == named
    assert admin.session.scalar(select(Farmer.name)) == "José Pérez Ñúñez"


def test_unreadable_files_are_refused_with_a_reason(admin: Actor, tmp_path: Path) -> None:
    tanzania(admin)
    garbage = tmp_path / "g.csv"
    garbage.write_bytes(HEADER.encode() + b"Jos\x81 P\x8drez,M,1990,4,1,,,Kijiji 0,\n")
    with pytest.raises(ImportRefused, match="line 2: byte 0x81 is not Windows-1252"):
        import_farmers(admin, garbage)
    workbook = tmp_path / "book.csv"
    workbook.write_bytes(b"PK\x03\x04\x14\x00\x00\x00" * 20)
    with pytest.raises(ImportRefused, match="an XLSX workbook \\(a zip file\\) named .csv"):
        import_farmers(admin, workbook)
    with pytest.raises(ImportRefused, match="not a readable XLSX workbook"):
        import_farmers(admin, write(tmp_path / "f.xlsx", HEADER))
    with pytest.raises(ImportRefused, match="is empty"):
        import_farmers(admin, write(tmp_path / "e.csv", ""))


def test_unknown_repeated_and_missing_columns_are_refused(admin: Actor, tmp_path: Path) -> None:
    tanzania(admin)
    path = write(tmp_path / "f.csv", "name,sex,birth_yr,household_size,land_hectares,phone no,"
                 "mobile,village,_uuid,start\nNeema,F,1990,4,1,1,2,Kijiji 0,u,s\n")  # fmt: skip
    with pytest.raises(ImportRefused) as refused:
        import_farmers(admin, path)
    assert refused.value.report.lines() == [
        "row 1: birth_yr: not a column of a farmers import; did you mean 'birth_year'?",
        "row 1: phone no: not a column of a farmers import; did you mean 'phone'?",
        "row 1: birth_year: missing column: the year of birth",
    ]
    path = write(tmp_path / "f.csv", "name,sex,birth_year,household_size,land_hectares,phone,"
                 "Mobile,village\nNeema,F,1990,4,1,1,2,Kijiji 0\n")  # fmt: skip
    with pytest.raises(ImportRefused, match="row 1: Mobile: column 7 is 'phone' again "
                       r"\(column 6 is 'phone'\): keep one"):  # fmt: skip
        import_farmers(admin, path)


def test_oversized_and_control_characters_are_refused(admin: Actor, tmp_path: Path) -> None:
    tanzania(admin)
    path = write(tmp_path / "f.csv", HEADER
                 + "Neema\x00 Mollel,F,1990,4,1,,,Kijiji 0,\n"
                 + f"{'N' * 1200},F,1990,4,1,,,Kijiji 0,\n"
                 + "Baraka Laizer,M,1985,6,2,,,Kijiji 1,,extra\n"
                 + "Rehema Kaaya,F,1985,6,2,,,Kijiji 1,\x1b[31m\n"
                 + f"{('x' * 900 + ',') * 12}\n")  # fmt: skip
    with pytest.raises(ImportRefused) as refused:
        import_farmers(admin, path)
    assert [(p.row, p.field, p.code) for p in refused.value.report.problems] == [
        (2, "name", "control_character"),
        (3, "name", "too_long"),
        (4, "", "invalid"),
        (5, "organization", "control_character"),
        (6, "", "too_long"),
    ]
    assert count(admin, Farmer) == 0
    unclosed = write(tmp_path / "q.csv", HEADER + 'Neema "Mollel,F,1990,4,1,,,Kijiji 0,\n'
                     + '"Baraka' + "x" * 140_000 + "\n")  # fmt: skip
    with pytest.raises(ImportRefused, match="row 3: cannot be read .*is a quote left open"):
        import_farmers(admin, unclosed)


def test_all_of_a_rows_problems_are_reported_together(admin: Actor, tmp_path: Path) -> None:
    tanzania(admin)
    path = write(tmp_path / "f.csv", HEADER + "Neema Mollel,q,2200,0,1,,,Nowhere,Ghost\n")
    with pytest.raises(ImportRefused) as refused:
        import_farmers(admin, path)
    assert {p.field for p in refused.value.report.problems} == {
        "village", "organization", "sex", "birth_year", "household_size"}  # fmt: skip
    assert {p.row for p in refused.value.report.problems} == {2}


def test_a_refused_imports_reasons_are_said_in_the_readers_language(
    admin: Actor, tmp_path: Path
) -> None:
    """Each row's reason, and the refusal that leads with the first, is a Message (a msgid and
    its values): the web says it in the reader's language, the CLI prints it in English."""
    tanzania(admin)
    path = write(tmp_path / "f.csv", HEADER + "Neema Mollel,q,1990,4,1,,,Nowhere,\n")
    with pytest.raises(ImportRefused) as refused:
        import_farmers(admin, path)
    reasons = {p.field: p.message for p in refused.value.report.problems}
    assert reasons == {
        "sex": "must be female or male",
        "village": "no village 'Nowhere' registered (with the places given)",
    }
    assert all(isinstance(reason, Message) for reason in reasons.values())
    spanish = {
        "no village '%(name)s' registered (with the places given)": "ninguna aldea '%(name)s'",
        "row %(row)s: %(field)s: %(message)s": "fila %(row)s: %(field)s: %(message)s",
        "import refused, nothing written: %(count)s problem(s) in %(rows)s rows; first: "
        "%(first)s": "importación rechazada: %(count)s problemas en %(rows)s filas; el primero: "
        "%(first)s",
    }
    said = refused.value.reason.say("es", lambda template: spanish.get(template, template))
    assert said == (
        "importación rechazada: 2 problemas en 1 filas; el primero: fila 2: village: ninguna "
        "aldea 'Nowhere'"
    )


def test_membership_problems_carry_the_files_row_numbers(admin: Actor, tmp_path: Path) -> None:
    tanzania(admin)
    import_farmers(admin, write(tmp_path / "a.csv", HEADER
                                + "Neema Mollel,F,1990,4,1,0712345678,TZ-1,Kijiji 0,Coop Meru\n"))  # fmt: skip
    links = write(tmp_path / "l.csv", "phone,organization,joined_on\n"
                  "0712 345 678,Coop Meru,2024-01-01\n"
                  "\n"
                  "+255712345678,Ghost,someday\n")  # fmt: skip
    with pytest.raises(ImportRefused) as refused:
        import_memberships(admin, links)
    assert [str(p) for p in refused.value.report.problems] == [
        "row 2: organization: farmer 1 is a member of 'Coop Meru' already",
        "row 4: organization: no organization 'Ghost'",
        "row 4: joined_on: Input should be a valid date or datetime, input is too short",
    ]


# --- exports safe to open in a spreadsheet ----------------------------------------------------------

CELL_TEXT = st.builds(
    lambda start, rest: (start + rest).strip(),
    st.sampled_from(["", "=", "+", "-", "@", "'", "'=", "\t", "\r", "=HYPERLINK(", "''"]),
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Cn")), max_size=30),
)


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(st.lists(CELL_TEXT, min_size=3, max_size=3), min_size=1, max_size=5))
def test_exported_text_is_inert_and_reads_back_the_same(
    cells: list[list[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    columns = ("name", "phone", "village")
    folder = tmp_path_factory.mktemp("inert")
    cells = [row for row in cells if any(row)]  # an empty row is no row
    for suffix in (".csv", ".xlsx"):
        path = folder / f"t{suffix}"
        write_table(path, columns, cells)
        if suffix == ".csv":
            written = list(csv.reader(path.open(newline="", encoding="utf-8")))[1:]
        else:
            sheet = load_workbook(path).active
            written = [[c.value or "" for c in row] for row in sheet.iter_rows(min_row=2)]
            assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
        for row in written:
            for text in row:
                assert not text.startswith(("=", "+", "-", "@", "\t", "\r"))
        table = read_table(path, KNOWN_FARMER_COLUMNS, "farmers")
        assert table.problems == []
        assert [[row.get(c, "") for c in columns] for _n, row in table.rows] == cells


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_formula_like_names_survive_export_and_import(
    admin: Actor, tmp_path: Path, suffix: str
) -> None:
    villages = tanzania(admin)
    registry.add_organization(
        admin, {"kind": "producer_organization", "name": "=cmd|' /C calc'!A0"}
    )
    farmer = registry.add_farmer(admin, {
        "name": "@SUM(1+1)*cmd", "sex": "F", "birth_year": 1990, "household_size": 4,
        "land_hectares": "1", "phone": "+255712345678", "village_id": villages[0].id})  # fmt: skip
    registry.add_membership(admin, {"farmer_id": farmer.id, "organization_id": 2})
    admin.session.commit()
    path = tmp_path / f"farmers{suffix}"
    export_farmers(admin, path)
    if suffix == ".csv":
        assert "'@SUM(1+1)*cmd,female" in path.read_text(encoding="utf-8")
    user = create_user(
        admin.session, {"username": "beto", "display_name": "B", "password": "password1"}
    )
    other = create_programme(
        admin.session, {"code": "PA-2", "name": "2", "reporting_currency": "USD"}, user
    )
    tanzania(other)
    registry.add_organization(
        other, {"kind": "producer_organization", "name": "=cmd|' /C calc'!A0"}
    )
    assert import_farmers(other, path).created == {"farmers": 1, "memberships": 1}
    again = other.session.scalar(select(Farmer).where(Farmer.programme_id == other.programme_id))
    assert again is not None and (again.name, again.phone) == ("@SUM(1+1)*cmd", "+255712345678")
    assert FARMER_COLUMNS[0] == "name"


# --- linear cost, no write lock while checking, nothing left by a kill ------------------------------


def test_20000_rows_import_in_well_under_a_minute(admin: Actor, tmp_path: Path) -> None:
    tanzania(admin, villages=100)
    path = big_file(tmp_path / "big.csv", 20_000, villages=100)
    started = time.perf_counter()
    report = import_farmers(admin, path)
    admin.session.commit()
    elapsed = time.perf_counter() - started
    assert report.created == {"farmers": 20_000, "memberships": 20_000}
    assert len(report.duplicates) > 0  # generated names repeat: close names are found
    assert elapsed < 60, f"20,000 rows took {elapsed:.1f} s"
    assert count(admin, Farmer) == 20_000
    assert admin.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.entity == "farmers")) == 20_000  # fmt: skip
    started = time.perf_counter()
    with pytest.raises(ImportRefused) as refused:
        import_farmers(admin, path)  # again: every row is a registered farmer
    assert len(refused.value.report.problems) == 20_000
    assert time.perf_counter() - started < 60


def test_checking_takes_no_write_lock_and_writing_rechecks(
    admin: Actor, database: Database, tmp_path: Path, backend: str
) -> None:
    tanzania(admin, villages=10)
    path = big_file(tmp_path / "f.csv", 5_000, villages=10)
    url = database.engine.url.render_as_string(hide_password=False)
    seen: list[int] = []

    def meanwhile(stage: str, done: int, total: int) -> None:
        if stage != "checking" or done != 2_000:
            return
        seen.append(done)
        if backend == "sqlite":  # another user takes the write lock at once: nobody holds it
            other = sqlite3.connect(make_url(url).database, timeout=0.5, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            other.close()
        with database.session() as session:  # and registers a farmer of the file's last row
            actor = act_as(session, admin.user_id, admin.programme_id)
            village = session.scalar(select(Place).where(Place.name == "Kijiji 0"))
            assert village is not None
            registry.add_farmer(actor, {"name": "Late Comer", "sex": "M", "birth_year": 1980,
                                        "household_size": 2, "land_hectares": "1",
                                        "national_id": "ID00004999", "village_id": village.id})  # fmt: skip

    with checking_session(url) as session:
        checked = check_farmers(act_as(session, admin.user_id, admin.programme_id), path,
                                progress=meanwhile)  # fmt: skip
    assert seen == [2_000]
    with database.session() as session, pytest.raises(ImportRefused) as refused:
        write_import(act_as(session, admin.user_id, admin.programme_id), checked)
    assert [str(p) for p in refused.value.report.problems] == [
        "row 5001: national_id: national ID ID00004999 is farmer 1 (Late Comer)'s already: "
        "refused, not added twice (an import with update updates that farmer from the row) "
        "(registered while the file was checked)"
    ]
    assert count(admin, Farmer) == 1


def test_an_import_killed_midway_leaves_the_database_as_it_was(
    admin: Actor, database: Database, tmp_path: Path
) -> None:
    tanzania(admin, villages=100)
    path = big_file(tmp_path / "big.csv", 20_000, villages=100)
    url = database.engine.url.render_as_string(hide_password=False)
    audit_before = admin.session.scalar(select(func.count()).select_from(AuditEntry))
    admin.session.commit()
    command = [sys.executable, "-c", "from alianza.cli import app; app()", "registry", "import",
               "farmers", str(path), "--programme", "PA-HN", "--as", "ana", "--url", url]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"})  # fmt: skip
    assert process.stdout is not None
    output = []
    for line in process.stdout:
        output.append(line)
        if line.startswith("writing 2000/"):  # the first farmers are inserted, not committed
            process.send_signal(signal.SIGKILL)
            break
    assert process.wait(timeout=60) == -signal.SIGKILL, "".join(output)
    admin.session.rollback()
    assert count(admin, Farmer) == 0
    assert admin.session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
    small = write(tmp_path / "f.csv", HEADER + "Neema Mollel,F,1990,4,1,,,Kijiji 0,\n")
    assert import_farmers(admin, small).created["farmers"] == 1  # the database works on
    admin.session.commit()
