"""No traceback, for any input: every command, given bad arguments, ends with a message and a
non-zero exit code; each option's bound is refused in one line naming the option, exit code 2.

The generated test walks the command tree itself, so a new command or option is covered
without a line here. Each run is in-process (CliRunner) and fails early (a bad file, value or
database), so a few hundred runs take seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from alianza.cli import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCENARIO = EXAMPLES / "scenarios" / "reference.yaml"
CATALOGUE = EXAMPLES / "kits" / "catalogue.yaml"
PLAN = EXAMPLES / "plans" / "orchard-with-without.plan.yaml"
# Nothing listens on port 1: the connection is refused at once.
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/alianza"


def commands(
    command: Any = None, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every leaf command of the app with its path (("plan", "evaluate"), command)."""
    command = command or typer.main.get_command(app)
    children = getattr(command, "commands", None)
    if children is None:
        yield path, command
        return
    for name, child in children.items():
        yield from commands(child, (*path, name))


COMMANDS = dict(commands())


@pytest.fixture(scope="module")
def junk(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Files a bad argument may name: garbage, a folder, a file that is no database."""
    folder = tmp_path_factory.mktemp("junk")
    garbage = folder / "garbage.yaml"
    garbage.write_bytes(b"\x00\xff{[: not: yaml: or json\n\t- ]")
    csv = folder / "garbage.csv"
    csv.write_text("date,amount\nyesterday,lots\n")
    not_a_database = folder / "not-a-database.db"
    not_a_database.write_bytes(b"this is not SQLite" * 100)
    return {
        "garbage": str(garbage),
        "csv": str(csv),
        "folder": str(folder),
        "not_a_database": str(not_a_database),
        "missing": str(folder / "no" / "such" / "file"),
    }


def values(junk: dict[str, str]) -> st.SearchStrategy[str]:
    """Values for any option or argument: numbers out of every bound, words, paths, URLs."""
    printable = st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
    )
    return st.one_of(
        st.sampled_from(
            [
                "0",
                "-5",
                "-1",
                "1",
                "2",
                "-0.5",
                "0.5",
                "1e400",
                "-1e400",
                "nan",
                "inf",
                "-inf",
                "99999999999999999999999999",
                "",
                " ",
                "abc",
                "[red]markup[/red]",
                "=",
                "--",
                "-x",
                "sqlite:////proc/no/such/alianza.db",
                f"sqlite:///{junk['not_a_database']}",
                UNREACHABLE,
                "mysql://u@h/d",
                "postgresql+asyncpg://h/d",
                "://",
                "nonsense",
                "tcp://",
                "tcp://host:99999999",
                "x.png",
                "x.jpg",
                *junk.values(),
            ]
        ),
        st.integers().map(str),
        st.floats().map(str),
        printable,
    )


def bad_database(junk: dict[str, str]) -> st.SearchStrategy[str]:
    """Database URLs no command can use (so that no generated run touches a real database)."""
    return st.sampled_from(
        [
            "nonsense",
            "://",
            "mysql://u@h/d",
            "postgresql+asyncpg://h/d",
            UNREACHABLE,
            "sqlite:////proc/no/such/alianza.db",
            f"sqlite:///{junk['not_a_database']}",
        ]
    )


def bad_file(junk: dict[str, str]) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [junk["garbage"], junk["csv"], junk["folder"], junk["missing"], junk["not_a_database"]]
    )


@st.composite
def invocation(draw: st.DrawFn, junk: dict[str, str]) -> list[str]:
    """A command with some of its options set to generated values, and at least one argument
    that must fail: its positional files are bad, its database cannot be used, or (for the
    commands that need neither) a word that is no option."""
    path = draw(st.sampled_from(sorted(COMMANDS)))
    command = COMMANDS[path]
    arguments: list[str] = []
    sure_to_fail = False
    for param in command.params:
        if param.param_type_name == "argument":
            if param.name in ("kind", "role"):
                arguments.append(
                    draw(st.sampled_from(["farmers", "organizations", "admin"]) | values(junk))
                )
            elif param.name in ("username", "code"):
                arguments.append(draw(values(junk)))
            else:
                arguments.append(draw(bad_file(junk)))
                sure_to_fail = True
            continue
        option = param.opts[0]
        if option == "--url":
            continue  # appended below
        if not draw(st.booleans()):
            continue
        if getattr(param, "is_flag", False):
            arguments.append(option)
        else:
            arguments.extend([option, draw(values(junk))])
    if any(param.opts[0] == "--url" for param in command.params):
        arguments.extend(["--url", draw(bad_database(junk))])
        sure_to_fail = True
    if not sure_to_fail:
        arguments.append(draw(st.sampled_from(["--no-such-option", "unexpected"])))
    return [*path, *arguments]


def run(*args: str, **options: Any) -> Any:
    return CliRunner().invoke(app, list(args), **options)


def assert_no_traceback(result: Any) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{result.output}"
    )
    assert "Traceback" not in result.output
    assert "alianza failed" not in result.output, result.output  # an error nobody foresaw


def test_every_command_is_covered() -> None:
    assert {" ".join(path) for path in COMMANDS} >= {
        "simulate",
        "plan evaluate",
        "plan check",
        "plan schema",
        "plan compare",
        "plan xirr",
        "kits schema",
        "kits validate",
        "kits plan",
        "db upgrade",
        "db current",
        "db dump",
        "db restore",
        "demo seed",
        "registry import",
        "registry export",
        "user add",
        "programme add",
        "programme grant",
        "programme list",
    }


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Runs in an empty folder, with a default database that cannot be used."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ALIANZA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ALIANZA_DATABASE_URL", "sqlite:////proc/no/such/alianza.db")
    return tmp_path


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_bad_arguments_never_end_in_a_traceback(
    data: st.DataObject, junk: dict[str, str], isolated: Path
) -> None:
    args = data.draw(invocation(junk))
    result = run(*args, input="")
    assert_no_traceback(result)
    assert result.exit_code != 0, (args, result.output)


# --- each option, one by one ------------------------------------------------------------------


def one_error_line(result: Any) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["simulate", str(SCENARIO), "--farmers", "0"], "--farmers"),
        (["simulate", str(SCENARIO), "--farmers", "-5"], "--farmers"),
        (["simulate", str(SCENARIO), "--farmers", "10000000000"], "--farmers"),
        (["simulate", str(SCENARIO), "--seasons", "0"], "--seasons"),
        (["simulate", str(SCENARIO), "--seasons", "401"], "--seasons"),
        (["simulate", str(SCENARIO), "--seed", "-1"], "--seed"),
        (["simulate", str(SCENARIO), "--chunk", "0"], "--chunk"),
        (["simulate", str(SCENARIO), "--workers", "0"], "--workers"),
        (["simulate", str(SCENARIO), "--workers", "100000"], "--workers"),
        (["simulate", str(SCENARIO), "--workers", "2", "--scheduler", "tcp://h:8786"], "--workers"),
        (["simulate", str(SCENARIO), "--scheduler", "not an address"], "--scheduler"),
        (["simulate", str(SCENARIO), "--out", "no/such/folder"], "--out"),
        (["simulate", str(SCENARIO), "--out", str(SCENARIO)], "--out"),
        (["kits", "plan", str(CATALOGUE), "--cash", "-1"], "--cash"),
        (["kits", "plan", str(CATALOGUE), "--cash", "inf"], "--cash"),
        (["kits", "plan", str(CATALOGUE), "--land", "-1"], "--land"),
        (["kits", "plan", str(CATALOGUE), "--household", "0"], "--household"),
        (["kits", "plan", str(CATALOGUE), "--seasons", "0"], "--seasons"),
        (["kits", "plan", str(CATALOGUE), "--seed", "-3"], "--seed"),
        (["kits", "plan", str(CATALOGUE), "--draws", "-1"], "--draws"),
        (["kits", "plan", str(CATALOGUE), "--draws", "1000000"], "--draws"),
        (["kits", "plan", str(CATALOGUE), "--consumption-share", "1.5"], "--consumption-share"),
        (["kits", "plan", str(CATALOGUE), "--max-purchases", "-1"], "--max-purchases"),
        (["kits", "plan", str(CATALOGUE), "--commercial", "0"], "--commercial"),
        (["kits", "plan", str(CATALOGUE), "--chart", "no/such/folder/x.png"], "--chart"),
        (["kits", "plan", str(CATALOGUE), "--chart", "chart.jpg"], "--chart"),
        (["plan", "evaluate", str(PLAN), "--risk-draws", "-1"], "--risk-draws"),
        (["plan", "evaluate", str(PLAN), "--risk-draws", "100000000"], "--risk-draws"),
        (["plan", "evaluate", str(PLAN), "--price-sd", "-0.1"], "--price-sd"),
        (["plan", "evaluate", str(PLAN), "--yield-sd", "nan"], "--yield-sd"),
        (["plan", "evaluate", str(PLAN), "--discount-rate", "-1"], "--discount-rate"),
        (["plan", "evaluate", str(PLAN), "--discount-rate", "nan"], "--discount-rate"),
        (["plan", "evaluate", str(PLAN), "--seed", "-1"], "--seed"),
        (["plan", "evaluate", str(PLAN), "-f", "json", "-o", "no/such/folder/x.json"], "--output"),
        (["plan", "evaluate", str(PLAN), "--chart", "no/such/folder/x.png"], "--chart"),
        (["plan", "compare", str(PLAN), "--discount-rate", "inf"], "--discount-rate"),
        (["plan", "evaluate", str(PLAN), "--format", "docx"], "--format"),
        (["demo", "seed", "--seed", "-1"], "--seed"),
        (["programme", "list", "--url", "nonsense"], "--url"),
        (["programme", "list", "--url", "mysql://u@h/d"], "--url"),
        (["db", "current", "--url", "://"], None),
        (
            ["user", "add", "ana", "--name", "Ana", "--password", "long-enough", "--url", "x"],
            "--url",
        ),
    ],
)
def test_each_bad_option_is_one_line_naming_it(
    args: list[str], option: str | None, isolated: Path
) -> None:
    result = run(*args)
    assert_no_traceback(result)
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    if option is not None:
        assert option in line


def test_a_database_that_does_not_answer_is_one_line(isolated: Path) -> None:
    for args in (
        ["programme", "list"],
        ["db", "upgrade"],
        ["db", "current"],
        ["demo", "seed"],
        ["registry", "export", "farmers", "f.csv", "--programme", "P", "--as", "ana"],
    ):
        result = run(*args, "--url", UNREACHABLE)
        assert_no_traceback(result)
        assert result.exit_code == 2, result.output
        assert "cannot be used" in one_error_line(result) and "Connection refused" in result.output


def test_a_file_that_is_no_database_is_one_line(isolated: Path, junk: dict[str, str]) -> None:
    result = run("programme", "list", "--url", f"sqlite:///{junk['not_a_database']}")
    assert result.exit_code == 2
    assert "not a database" in one_error_line(result)


def test_an_unmigrated_database_is_one_line(isolated: Path) -> None:
    result = run("programme", "list", "--url", f"sqlite:///{isolated / 'new.db'}")
    assert result.exit_code == 2
    assert "alianza db upgrade" in one_error_line(result)


def test_the_default_database_url_is_checked_too(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIANZA_DATABASE_URL", "mysql://u@h/d")
    result = run("programme", "list")
    assert result.exit_code == 2
    assert "ALIANZA_DATABASE_URL" in one_error_line(result)


def test_postgresql_urls_mean_psycopg() -> None:
    from alianza.cli._options import checked_database_url

    assert checked_database_url("postgresql://u@h/d").startswith("postgresql+psycopg://u@h/d")
    assert "connect_timeout=10" in checked_database_url("postgresql://u@h/d")
    assert checked_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_refusals_exit_2_in_the_users_terms(isolated: Path) -> None:
    url = ["--url", f"sqlite:///{isolated / 'p.db'}"]
    assert run("db", "upgrade", *url).exit_code == 0
    short = run("user", "add", "ana", "--name", "", "--password", "short", *url)
    assert short.exit_code == 2
    line = one_error_line(short)
    assert "--password" in line and "--name" in line
    assert not re.search(r"UserIn|display_name|Invalid\b", line)
    assert (
        run("user", "add", "ana", "--name", "Ana", "--password", "long-enough", *url).exit_code == 0
    )
    taken = run("user", "add", "ana", "--name", "Ana", "--password", "long-enough", *url)
    assert taken.exit_code == 2 and "taken" in one_error_line(taken)
    currency = run(
        "programme", "add", "P1", "--name", "P", "--currency", "dollars", "--admin", "ana", *url
    )
    assert currency.exit_code == 2 and "--currency" in one_error_line(currency)
    nobody = run(
        "programme", "add", "P1", "--name", "P", "--currency", "USD", "--admin", "nobody", *url
    )
    assert nobody.exit_code == 2 and "nobody" in one_error_line(nobody)
    role = run("programme", "grant", "P1", "ana", "king", "--as", "ana", *url)
    assert role.exit_code == 2
    one_error_line(role)


def test_a_bug_is_one_line_exit_1_and_debug_shows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import alianza.cli.plan as plan_cli

    def broken() -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(plan_cli, "plan_json_schema", broken)
    result = run("plan", "schema")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "alianza failed (RuntimeError: boom)" in one_error_line(result)
    debugged = run("--debug", "plan", "schema")
    assert isinstance(debugged.exception, RuntimeError)


def test_version() -> None:
    from importlib.metadata import version

    result = run("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"alianza {version('alianza')}"


def test_usage_errors_are_one_line(isolated: Path) -> None:
    for args in (
        ["nosuch"],
        ["plan", "evaluate"],
        ["simulate", str(SCENARIO), "--bogus"],
        ["plan", "compare"],
    ):
        result = run(*args)
        assert result.exit_code == 2
        assert "--help" in one_error_line(result)
    missing = run("kits", "plan", str(CATALOGUE), "--cash")
    assert missing.exit_code == 2 and "--cash" in one_error_line(missing)
    assert "PLAN" in run("plan", "evaluate").stderr


# --- generated files ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database with a user 'ana' administering programme 'P1'."""
    url = f"sqlite:///{tmp_path_factory.mktemp('registry') / 'r.db'}"
    for args in (
        ["db", "upgrade"],
        ["user", "add", "ana", "--name", "Ana", "--password", "long-enough"],
        ["programme", "add", "P1", "--name", "P", "--currency", "USD", "--admin", "ana"],
    ):
        assert run(*args, "--url", url).exit_code == 0
    return url


def contents() -> st.SearchStrategy[bytes]:
    """What a file given to alianza may hold: bytes, text, CSV-ish rows, YAML-ish mappings."""
    cell = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
    rows = st.lists(st.lists(cell, min_size=1, max_size=4), min_size=1, max_size=4)
    csv_text = rows.map(lambda table: "\n".join(",".join(row) for row in table))
    header = st.sampled_from(
        [
            "date,amount",
            "name,sex,birth_year,village",
            "name,kind,place",
            "farmer,organization",
            "name: x\nstage: project",
            "kits: []",
        ]
    )
    return st.one_of(
        st.binary(max_size=64),
        csv_text.map(str.encode),
        st.tuples(header, csv_text).map(lambda parts: f"{parts[0]}\n{parts[1]}".encode()),
    )


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    content=contents(),
    suffix=st.sampled_from([".csv", ".xlsx", ".yaml", ".json", ".gz"]),
    command=st.sampled_from(
        [
            ["plan", "check"],
            ["plan", "xirr"],
            ["kits", "validate"],
            ["kits", "plan"],
            ["simulate"],
            ["plan", "compare"],
            ["registry", "import", "farmers"],
            ["registry", "import", "organizations"],
            ["registry", "import", "memberships"],
            ["db", "restore"],
        ]
    ),
)
def test_bad_files_never_end_in_a_traceback(
    content: bytes, suffix: str, command: list[str], registry_url: str, isolated: Path
) -> None:
    file = isolated / f"input{suffix}"
    file.write_bytes(content)
    args = [*command, str(file)]
    if command[0] == "registry":
        args += ["--programme", "P1", "--as", "ana", "--url", registry_url]
    elif command[0] == "db":
        args += ["--url", registry_url]  # not empty: a restore is refused before it reads much
    assert_no_traceback(run(*args))
