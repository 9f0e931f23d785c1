from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from provisioner.cli import cli
from provisioner.errors import ExitStatus
from provisioner.inventory import network_profile, write_school_inventory
from provisioner.models import Device, Role
from tests.conftest import DATA, Invoke

PLAN_V1 = DATA / "cli" / "plan-v1.csv"
PLAN_V2 = DATA / "cli" / "plan-v2.csv"
BROKEN = DATA / "cli" / "plan-broken.csv"


def all_commands(group: click.Group = cli, prefix: str = "") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        found[path] = command
        if isinstance(command, click.Group):
            found.update(all_commands(command, path + " "))
    return found


@pytest.mark.parametrize("path", sorted(all_commands()))
def test_every_command_has_help_with_an_example(path: str) -> None:
    command = all_commands()[path]
    assert command.help and command.help.strip(), f"'provision {path}' has no help text"
    if not isinstance(command, click.Group):
        assert "Example: provision " in command.help, f"'provision {path}' has no example"
    result = CliRunner().invoke(cli, [*path.split(), "--help"])
    assert result.exit_code == 0


def test_plan_import_then_show(invoke: Invoke) -> None:
    result = invoke("plan", "import", str(PLAN_V1))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "plan-v1.csv: 5 plan items of 2 schools"
    assert result.output.splitlines()[1] == "first plan: 5 items"
    assert result.output.splitlines()[-1] == "imported as plan version 1"
    shown = invoke("plan", "show", "--school", "100001")
    assert shown.exit_code == 0
    assert "total 2020: 90.900,00 € budget, 88.342,55 € spent, 2 items" in shown.output
    assert "total: 114.500,00 € budget, 88.342,55 € spent, 4 items" in shown.output


def test_reimport_of_an_updated_plan_keeps_history_and_diffs(invoke: Invoke) -> None:
    invoke("plan", "import", str(PLAN_V1))
    result = invoke("plan", "import", str(PLAN_V2))
    assert "0 added, 1 removed, 1 changed, 3 unchanged" in result.output
    diff = invoke("plan", "diff")
    assert "plan version 2 (plan-v2.csv" in diff.output
    assert "against version 1:" in diff.output
    assert "9.600,00 € -> 10.200,00 €" in diff.output
    versions = json.loads(invoke("--json", "plan", "versions").output)
    assert [v["source"] for v in versions] == ["plan-v1.csv", "plan-v2.csv"]


def test_same_file_twice_is_not_a_new_version(invoke: Invoke) -> None:
    invoke("plan", "import", str(PLAN_V1))
    again = invoke("plan", "import", str(PLAN_V1))
    assert "nothing written" in again.output
    assert len(json.loads(invoke("plan", "versions", "--json").output)) == 1


def test_dry_run_writes_nothing(invoke: Invoke, cli_env: Path) -> None:
    result = invoke("plan", "import", str(PLAN_V1), "--dry-run")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "dry run: nothing written"
    assert json.loads(invoke("--json", "plan", "versions").output) == []


def test_broken_plan_lists_all_problems_and_writes_nothing(invoke: Invoke,
                                                          cli_env: Path) -> None:
    invoke("plan", "import", str(PLAN_V1))
    result = invoke("plan", "import", str(BROKEN))
    assert result.exit_code == ExitStatus.INVALID_INPUT
    assert "nothing was written" in result.output
    assert "row 2" in result.output and "row 3" in result.output
    assert len(json.loads(invoke("--json", "plan", "versions").output)) == 1
    audit = json.loads(invoke("--json", "audit").output)
    assert (audit[0]["command"], audit[0]["outcome"], audit[0]["user"]) == (
        "plan import plan-broken.csv", "failed", "anna")
    # What went wrong, in the tool's own words (its first line), not just a class name.
    assert audit[0]["detail"].startswith("InvalidInputError: ")
    assert "problems found, nothing was written" in audit[0]["detail"]


def test_missing_plan_file(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("plan", "import", str(tmp_path / "nope.csv"))
    assert result.exit_code == ExitStatus.NOT_FOUND
    assert "nope.csv" in result.output


def test_unknown_school_is_one_clear_line(invoke: Invoke) -> None:
    invoke("plan", "import", str(PLAN_V1))
    result = invoke("school", "show", "999999")
    assert result.exit_code == ExitStatus.NOT_FOUND
    assert result.output == (
        "Error: unknown school '999999': list the known ones with 'provision schools' "
        "or import a plan that contains it with 'provision plan import FILE'\n")


def test_newer_database_is_refused_with_exit_status(invoke: Invoke, cli_env: Path) -> None:
    invoke("plan", "import", str(PLAN_V1))
    conn = sqlite3.connect(cli_env / "state.db")
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                 "VALUES ('provisioner', 'm999_future', 'x')")
    conn.commit()
    conn.close()
    result = invoke("schools")
    assert result.exit_code == ExitStatus.DATABASE
    assert "newer provisioner" in result.output


def _inventories(root: Path) -> Path:
    write_school_inventory(root, "100001", [
        Device("100001", "100001-srv01", Role.SERVER, "debian", "10.1.0.10", room="Serverraum",
               uplink_host="100001-sw01", uplink_port="Gi0/1"),
        Device("100001", "100001-sw01", Role.SWITCH, "cisco_ios", "10.1.0.20"),
    ], {"all": network_profile(1)})
    return root


def test_inventory_sync_then_schools_and_school_show(invoke: Invoke, cli_env: Path) -> None:
    invoke("plan", "import", str(PLAN_V1))
    inv = _inventories(cli_env / "inv")
    sync = invoke("--inventories", str(inv), "inventory", "sync")
    assert sync.exit_code == 0, sync.output
    assert sync.output.splitlines()[-1] == "2 devices synced, 0 problems, 0 warnings"
    schools = invoke("schools").output.splitlines()
    assert schools[0].split() == ["school", "name", "type", "items", "budget", "spent",
                                  "servers", "switches", "APs"]
    assert schools[1].split()[-3:] == ["1", "1", "0"]
    show = invoke("school", "show", "100001").output
    assert ["100001-sw01", "switch", "cisco_ios", "10.1.0.20", "planned"] in [
        line.split() for line in show.splitlines()]
    assert "latest run: none" in show
    data = json.loads(invoke("--json", "school", "show", "100001").output)
    assert data["school"]["name"] == "Grundschule Am Park"
    assert [d["name"] for d in data["devices"]] == ["100001-srv01", "100001-sw01"]


def test_inventory_check_warns_of_a_school_not_in_the_plan(invoke: Invoke,
                                                           cli_env: Path) -> None:
    # Offices replace hardware before the plan is updated: such a school is kept (and
    # reported under "not in the plan"), with a warning that says so.
    inv = _inventories(cli_env / "inv")
    result = invoke("--inventories", str(inv), "inventory", "check")
    assert result.exit_code == ExitStatus.OK, result.output
    assert ("school 100001 is not in the plan in force; its devices are kept and reported "
            "under 'not in the plan'") in result.output


def test_a_school_not_in_the_plan_is_shown_and_said_so(invoke: Invoke, cli_env: Path) -> None:
    invoke("plan", "import", str(PLAN_V1))  # schools 100001 and 100002
    inv = _inventories(cli_env / "inv")
    write_school_inventory(inv, "100003", [
        Device("100003", "100003-sw01", Role.SWITCH, "cisco_ios", "10.3.0.20")],
        {"all": network_profile(3)})
    sync = invoke("--inventories", str(inv), "inventory", "sync")
    assert sync.exit_code == 0, sync.output
    assert "warning: " in sync.output and "school 100003 is not in the plan in force" in \
        sync.output
    show = invoke("school", "show", "100003")
    assert show.exit_code == 0, show.output
    assert show.output.splitlines()[:2] == [
        "100003 (no name) (type unknown)",
        "not in the plan in force: its devices are kept and the committee report lists them "
        "under 'not in the plan'; import a plan that contains it"]
    assert ["100003-sw01", "switch", "cisco_ios", "10.3.0.20", "planned"] in [
        line.split() for line in show.output.splitlines()]
    data = json.loads(invoke("--json", "school", "show", "100003").output)
    assert (data["in_plan"], [d["name"] for d in data["devices"]]) == (False, ["100003-sw01"])
    listed = {line.split()[0]: line for line in invoke("schools").output.splitlines()[1:]}
    assert "(not in the plan)" in listed["100003"] and "(not in" not in listed["100001"]
    unknown = invoke("school", "show", "100009")  # no plan, no device, no run
    assert unknown.exit_code == ExitStatus.NOT_FOUND


def test_with_json_every_error_has_one_shape(invoke: Invoke) -> None:
    shapes = []
    for args, status in ((["--json", "school", "show", "100009"], ExitStatus.NOT_FOUND),
                         (["school", "show", "100009", "--json"], ExitStatus.NOT_FOUND),
                         (["--json", "school"], ExitStatus.USAGE),
                         (["--json", "run", "show", "7"], ExitStatus.NOT_FOUND),
                         # a bad value before the command's own --json
                         (["runs", "--limit", "0", "--json"], ExitStatus.USAGE)):
        result = invoke(*args)
        assert result.exit_code == status, (args, result.output)
        error = json.loads(result.stdout)
        assert sorted(error) == ["error", "exit_status", "problems"], args
        assert error["exit_status"] == status and error["error"], args
        shapes.append(error["error"])
    assert shapes[0].startswith("unknown school '100009'")
    assert shapes[2].startswith("give --id SCHOOL to provision")


def test_inventory_sync_writes_nothing_on_problems(invoke: Invoke, cli_env: Path) -> None:
    invoke("plan", "import", str(PLAN_V1))
    inv = _inventories(cli_env / "inv")
    (inv / "100002").mkdir()
    (inv / "100002" / "hosts.yml").write_text(
        "all:\n  children:\n    switches:\n      hosts:\n"
        "        dup: {ansible_host: 10.1.0.20, platform: cisco_ios}\n")
    result = invoke("--inventories", str(inv), "inventory", "sync")
    assert result.exit_code == ExitStatus.INVALID_INPUT
    assert "already used by host '100001-sw01'" in result.output
    assert json.loads(invoke("--json", "school", "show", "100001").output)["devices"] == []


def test_plain_table_keeps_every_column_when_a_cell_is_long() -> None:
    from provisioner.terminal import render_table

    long_error = "10.213.1.18: no answer " + "x" * 300
    text = render_table(["device", "ssh", "snmp"],
                        [["100001-sw02", long_error, "no answer within 2 s"]])
    row = text.splitlines()[1]
    assert row.startswith("100001-sw02 ") and long_error in row
    assert row.endswith("no answer within 2 s")


def test_db_in_a_missing_folder_is_refused_not_created(invoke: Invoke, cli_env: Path) -> None:
    db = cli_env / "nodir" / "sub" / "x.db"
    result = invoke("schools", db=db)
    assert result.exit_code == 4
    assert f"its folder {db.parent} does not exist" in result.output
    assert not db.parent.exists()
