from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from alianza.cli import app
from alianza.platform.db import Database, make_engine, upgrade
from alianza.platform.programmes.service import create_programme, create_user
from alianza.platform.registry import service as registry


def test_registry_import_through_the_alianza_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = CliRunner().invoke(app, ["db", "upgrade", "--url", url])
    assert result.exit_code == 0, result.output
    database = Database(url)
    with database.session() as session:
        user = create_user(
            session, {"username": "ana", "display_name": "Ana", "password": "password1"}
        )
        actor = create_programme(
            session, {"code": "PA", "name": "PA", "reporting_currency": "USD"}, user
        )
        country = registry.add_place(actor, {"kind": "country", "name": "Malawi"})
        district = registry.add_place(
            actor, {"kind": "district", "name": "Dedza", "parent_id": country.id}
        )
        epa = registry.add_place(
            actor, {"kind": "municipality", "name": "Mayani", "parent_id": district.id}
        )
        registry.add_place(actor, {"kind": "village", "name": "Kachere", "parent_id": epa.id})
    database.dispose()
    farmers = tmp_path / "farmers.csv"
    farmers.write_text(
        "name,sex,birth_year,household_size,land_hectares,village,epa\n"
        "Chikondi Banda,F,1999,6,0.8,Kachere,Mayani\n"
        "Bad Row,F,1999,0,0.8,Kachere,Mayani\n",
        encoding="utf-8",
    )
    common = ["--programme", "PA", "--as", "ana", "--url", url]
    refused = CliRunner().invoke(app, ["registry", "import", "farmers", str(farmers), *common])
    assert refused.exit_code == 2
    assert "row 3: household_size" in refused.output
    farmers.write_text(
        "name,sex,birth_year,household_size,land_hectares,village,epa\n"
        "Chikondi Banda,F,1999,6,0.8,Kachere,Mayani\n",
        encoding="utf-8",
    )
    done = CliRunner().invoke(app, ["registry", "import", "farmers", str(farmers), *common])
    assert done.exit_code == 0, done.output
    assert "1 farmers" in done.output
    exported = tmp_path / "export.xlsx"
    out = CliRunner().invoke(app, ["registry", "export", "farmers", str(exported), *common])
    assert out.exit_code == 0, out.output
    assert "exported 1 farmers" in out.output
    from openpyxl import load_workbook

    row = [cell.value for cell in load_workbook(exported).active[2]]
    assert row[:3] == ["Chikondi Banda", "female", 1999] and "Kachere" in row
    engine = make_engine(url)
    upgrade(engine)  # idempotent
    engine.dispose()


def _cli_database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert CliRunner().invoke(app, ["db", "upgrade", "--url", url]).exit_code == 0
    database = Database(url)
    with database.session() as session:
        user = create_user(
            session, {"username": "ana", "display_name": "Ana", "password": "password1"}
        )
        actor = create_programme(
            session, {"code": "PA", "name": "PA", "reporting_currency": "USD"}, user
        )
        country = registry.add_place(actor, {"kind": "country", "name": "Malawi"})
        district = registry.add_place(
            actor, {"kind": "district", "name": "Dedza", "parent_id": country.id}
        )
        epa = registry.add_place(
            actor, {"kind": "municipality", "name": "Mayani", "parent_id": district.id}
        )
        registry.add_place(actor, {"kind": "village", "name": "Kachere", "parent_id": epa.id})
    database.dispose()
    return url


def test_registry_import_update_country_and_refusals(tmp_path: Path) -> None:
    url = _cli_database(tmp_path)
    common = ["--programme", "PA", "--as", "ana", "--url", url]
    farmers = tmp_path / "farmers.csv"
    farmers.write_bytes(
        "name,sex,birth_year,household_size,land_hectares,phone,village\n"
        "Chikondi Banda,F,1999,6,0.8,0999 123 456,Kachere\n".encode("cp1252")
    )
    done = CliRunner().invoke(app, ["registry", "import", "farmers", str(farmers), *common])
    assert done.exit_code == 0, done.output
    assert "imported 1 rows (UTF-8): 1 farmers, 0 memberships created" in done.output
    again = CliRunner().invoke(app, ["registry", "import", "farmers", str(farmers), *common])
    assert again.exit_code == 2
    assert (
        "row 2: phone: phone +265999123456 is farmer 1 (Chikondi Banda)'s already" in again.output
    )
    updated = CliRunner().invoke(
        app, ["registry", "import", "farmers", str(farmers), "--update", *common]
    )
    assert updated.exit_code == 0, updated.output
    assert "0 farmers updated, 1 unchanged" in updated.output
    kenyan = CliRunner().invoke(
        app, ["registry", "import", "farmers", str(farmers), "--country", "KE", *common]
    )
    assert kenyan.exit_code == 0, kenyan.output  # +254999123456: another phone
    wrong = CliRunner().invoke(
        app, ["registry", "import", "farmers", str(farmers), "--country", "Kenia", *common]
    )
    assert wrong.exit_code == 2 and "give a two-letter country code" in wrong.output
    farmers.write_text(
        "name,sex,birth_year,household_size,land_hectares,phone no,village\n", encoding="utf-8"
    )
    typo = CliRunner().invoke(app, ["registry", "import", "farmers", str(farmers), *common])
    assert typo.exit_code == 2
    assert "row 1: phone no: not a column of a farmers import; did you mean 'phone'?" in typo.output


def test_others_read_and_write_while_a_large_file_is_checked(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    import time

    url = _cli_database(tmp_path)
    farmers = tmp_path / "farmers.csv"
    with farmers.open("w", encoding="utf-8") as handle:
        handle.write("name,sex,birth_year,household_size,land_hectares,national_id,village\n")
        for i in range(5_000):  # look-alike names in one village: a long check
            handle.write(f"Farmer Number {i},F,1980,4,1,MW{i},Kachere\n")
    command = [
        sys.executable,
        "-c",
        "from alianza.cli import app; app()",
        "registry",
        "import",
        "farmers",
        str(farmers),
        "--programme",
        "PA",
        "--as",
        "ana",
        "--url",
        url,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("checking 2000/"):
            break
    started = time.perf_counter()
    listed = CliRunner().invoke(app, ["programme", "list", "--url", url])  # takes the write lock
    took = time.perf_counter() - started
    lines.extend(process.stdout)
    assert process.wait(timeout=120) == 0, "".join(lines)
    assert listed.exit_code == 0, listed.output
    assert took < 5, f"programme list waited {took:.1f} s for the import"
    assert any(line.startswith("imported 5000 rows") for line in lines), "".join(lines)
