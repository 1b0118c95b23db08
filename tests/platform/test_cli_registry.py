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
        user = create_user(session, {"username": "ana", "display_name": "Ana", "password": "password1"})
        actor = create_programme(session, {"code": "PA", "name": "PA", "reporting_currency": "USD"}, user)
        country = registry.add_place(actor, {"kind": "country", "name": "Malawi"})
        district = registry.add_place(actor, {"kind": "district", "name": "Dedza", "parent_id": country.id})
        epa = registry.add_place(actor, {"kind": "municipality", "name": "Mayani", "parent_id": district.id})
        registry.add_place(actor, {"kind": "village", "name": "Kachere", "parent_id": epa.id})
    database.dispose()
    farmers = tmp_path / "farmers.csv"
    farmers.write_text("name,sex,birth_year,household_size,land_hectares,village,epa\n"
                       "Chikondi Banda,F,1999,6,0.8,Kachere,Mayani\n"
                       "Bad Row,F,1999,0,0.8,Kachere,Mayani\n", encoding="utf-8")
    common = ["--programme", "PA", "--as", "ana", "--url", url]
    refused = CliRunner().invoke(app, ["registry", "import", "farmers", str(farmers), *common])
    assert refused.exit_code == 2
    assert "row 3: household_size" in refused.output
    farmers.write_text("name,sex,birth_year,household_size,land_hectares,village,epa\n"
                       "Chikondi Banda,F,1999,6,0.8,Kachere,Mayani\n", encoding="utf-8")
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
