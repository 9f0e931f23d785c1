"""`provision runs` and `provision run show` tell check-mode and partial runs apart
(real SQLite, runs recorded as the engine records them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioner.db import Store
from provisioner.db.runs import run_mode
from provisioner.models import HostRun
from provisioner.outcome import HostStatus, Phase, RunStatus
from provisioner.provision.locks import KIND
from tests.conftest import Invoke


def _record(store: Store, school: str, **arguments: object) -> int:
    recorded = {"check": False, "limit": [], "tags": [], "resume": False, "batch": None,
                "max_fail_percent": None, "forks": 25, "strategy": "linear", **arguments}
    run_id = store.runs.start(kind=KIND, school_id=school, user="anna", arguments=recorded,
                              playbook_commit="abc123", pid=1, pid_started=None, artifacts="")
    store.runs.save_hosts(run_id, [HostRun(f"{school}-srv01", "server", HostStatus.VERIFIED,
                                           Phase.DONE)])
    store.runs.finish(run_id, RunStatus.OK, "1 of 1 hosts verified or skipped")
    return run_id


@pytest.fixture
def runs(cli_env: Path) -> list[int]:
    store = Store.open(cli_env / "state.db")
    ids = [_record(store, "100001"),
           _record(store, "100001", check=True),
           _record(store, "100001", limit=["100001-srv01", "switches"], tags=["snmp"]),
           _record(store, "100002", check=True, resume=True)]
    store.close()
    return ids


def test_run_mode_from_the_recorded_arguments() -> None:
    assert run_mode({"check": False, "limit": [], "tags": []}) == ("apply", False, "")
    assert run_mode({"check": True, "limit": ["servers"]}) == ("check", True, "limit servers")
    assert run_mode({"tags": ["snmp", "ntp"], "resume": True}) == (
        "apply", True, "tags snmp,ntp; resume")
    assert run_mode({}) == ("apply", False, "")  # a run recorded before arguments were kept


def test_the_listing_shows_mode_and_scope(invoke: Invoke, runs: list[int]) -> None:
    result = invoke("runs")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["run", "school", "mode", "scope", "started", "finished",
                                "status", "by"]
    rows = {int(line.split()[0]): line for line in lines[1:] if line.strip()[:1].isdigit()}
    full, check, limited, resumed = runs
    assert rows[full].split()[1:4] == ["100001", "apply", "all"]
    assert rows[check].split()[1:4] == ["100001", "check", "all"]
    assert " apply  partial (limit 100001-srv01,switches; tags snmp) " in rows[limited]
    assert rows[resumed].split()[1:5] == ["100002", "check", "partial", "(resume)"]


def test_the_json_listing_carries_the_same_fields(invoke: Invoke, runs: list[int]) -> None:
    result = invoke("--json", "runs", "--school", "100001")
    assert result.exit_code == 0, result.output
    listed = {r["run_id"]: (r["mode"], r["partial"], r["scope"])
              for r in json.loads(result.output)}
    full, check, limited, _resumed = runs
    assert listed == {full: ("apply", False, ""), check: ("check", False, ""),
                      limited: ("apply", True, "limit 100001-srv01,switches; tags snmp")}


def test_run_show_names_mode_and_scope(invoke: Invoke, runs: list[int]) -> None:
    shown = invoke("run", "show", str(runs[2]))
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[1] == (
        "mode: apply, scope: partial (limit 100001-srv01,switches; tags snmp)")
    shown = invoke("run", "show", str(runs[1]))
    assert shown.output.splitlines()[1] == "mode: check, scope: all"
    as_json = json.loads(invoke("--json", "run", "show", str(runs[3])).output)
    assert (as_json["summary"]["mode"], as_json["summary"]["partial"],
            as_json["summary"]["scope"]) == ("check", True, "resume")
