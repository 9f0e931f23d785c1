"""The reboot rule after a rollout: an agent restart inside a provisioning run that
reached the device is an ok note naming the run; any other restart still warns."""

from __future__ import annotations

import datetime as dt

from provisioner.health.judge import judge_answered
from provisioner.health.model import HealthState
from provisioner.health.rules import (
    RUN_SLACK_S,
    Previous,
    RuleInput,
    RunWindow,
    evaluate,
    reboot,
    restarted_during,
)
from provisioner.models import Role
from tests.health.factories import facts, planned

DEVICE = "100001-srv01"
T0 = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
BEFORE = Previous(86_400.0, 3600.0)  # up a day at the previous run, an hour ago


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


# Run 7 reached the server and ran from T0 to T0 + 300 s.
RUN_7 = RunWindow(7, T0, at(300), frozenset({DEVICE, "100001-sw01"}))


def item(uptime_s: float, runs: tuple[RunWindow, ...] = (RUN_7,),
         polled: tuple[dt.datetime, dt.datetime] | None = (at(600), at(610)),
         device: str = DEVICE) -> RuleInput:
    return RuleInput(device, Role.SERVER, facts(uptime_s=uptime_s), previous=BEFORE,
                     runs=runs, polled=polled)


def states(found: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(f.state.value, f.reason) for f in found]


def test_a_restart_inside_the_run_is_an_ok_note_naming_it() -> None:
    # Polled 600-610 s after T0 with 400 s uptime: restarted 200-210 s into run 7.
    assert states(reboot(item(400.0))) == [
        ("ok", "agent restarted during provisioning run 7: uptime 6 min 40 s, 1 d at the "
               "check 1 h ago")]


def test_a_restart_after_the_run_ended_warns() -> None:
    # 200 s uptime: restarted 400-410 s after T0, 100 s after run 7 ended.
    assert states(reboot(item(200.0))) == [
        ("warning", "rebooted: uptime 3 min 20 s, 1 d at the check 1 h ago")]


def test_a_restart_before_the_run_started_warns() -> None:
    assert states(reboot(item(700.0)))[0][0] == "warning"


def test_the_window_allows_the_seconds_the_records_round_to() -> None:
    exact = (at(600), at(600))
    # Restarted 2 s after the recorded end: within the slack; 4 s after: not.
    assert reboot(item(300.0 - RUN_SLACK_S, polled=exact))[0].state is HealthState.OK
    assert reboot(item(296.0, polled=exact))[0].state is HealthState.WARNING


def test_a_run_still_open_reaches_to_the_poll() -> None:
    running = RunWindow(8, at(500), None, frozenset({DEVICE}))
    # 50 s uptime: restarted 550-560 s after T0, while run 8 still runs.
    assert states(reboot(item(50.0, runs=(RUN_7, running)))) == [
        ("ok", "agent restarted during provisioning run 8 (still running): uptime 50 s, "
               "1 d at the check 1 h ago")]


def test_a_device_the_run_did_not_reach_warns() -> None:
    other = RunWindow(9, T0, at(300), frozenset({"100001-ap01"}))
    assert reboot(item(400.0, runs=(other,)))[0].state is HealthState.WARNING
    assert restarted_during(item(400.0, runs=(other,)), 400.0) is None


def test_without_the_poll_moment_no_restart_is_placed_in_a_run() -> None:
    assert reboot(item(400.0, polled=None))[0].state is HealthState.WARNING


def test_the_newest_run_holding_the_restart_is_named() -> None:
    overlapping = RunWindow(11, at(100), at(400), frozenset({DEVICE}))
    assert restarted_during(item(400.0, runs=(RUN_7, overlapping)), 400.0) is overlapping


def test_the_device_is_ok_with_the_note_as_its_reason() -> None:
    found = evaluate(item(400.0))
    assert [f.state for f in found] == [HealthState.OK]
    health = judge_answered(planned(DEVICE, Role.SERVER), facts(uptime_s=400.0), 3.0,
                            ("2026-11-30T02:10:10+00:00", 86_400, {}),
                            at(610).isoformat(), runs=(RUN_7,),
                            polled_from=at(600).isoformat())
    assert health.state is HealthState.OK
    assert health.reason.startswith("agent restarted during provisioning run 7: uptime 6 min 40 s")
    assert judge_answered(planned(DEVICE, Role.SERVER), facts(uptime_s=400.0), 3.0,
                          ("2026-11-30T02:10:10+00:00", 86_400, {}),
                          at(610).isoformat()).state is HealthState.WARNING
