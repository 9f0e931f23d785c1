"""Health storage on a real SQLite: runs, samples, previous samples, retention, history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioner.db import Store
from provisioner.db.health import SampleRow, keep_since


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "state.db")


def sample(device: str, state: str, uptime: int | None = 100, rtt: float | None = 5.0,
           errors: dict[str, int] | None = None) -> SampleRow:
    return SampleRow(device, "100001", "switch", state, f"{device} is {state}",
                     "" if uptime is not None else "timeout", uptime, rtt,
                     {"vendor": "Cisco", "port_errors": errors or {}})


def run(store: Store, at: str, samples: list[SampleRow], retention_days: int = 30) -> int:
    run_id = store.health.begin_run(at, "anna", "all", 300.0)
    store.health.finish_run(run_id, finished_at=at, duration_s=1.5, samples=samples,
                            dead_sites=[], exit_status=0, retention_days=retention_days)
    return run_id


def test_a_run_is_stored_with_its_samples(store: Store) -> None:
    run_id = run(store, "2026-11-01T02:00:00+00:00",
                 [sample("sw1", "ok"), sample("sw2", "unreachable", uptime=None)])
    [stored] = store.health.runs()
    assert (stored.run_id, stored.status, stored.devices, stored.exit_status) == (run_id, "done",
                                                                                   2, 0)
    assert stored.states == {"ok": 1, "warning": 0, "critical": 0, "unreachable": 1,
                             "stale": 0, "unknown": 0}
    latest = {h.device: h.state for h in store.latest_health("100001")}
    assert latest == {"sw1": "ok", "sw2": "unreachable"}


def test_previous_is_the_newest_answered_sample(store: Store) -> None:
    run(store, "2026-11-01T02:00:00+00:00", [sample("sw1", "ok", 500, errors={"Gi1/0/1": 3})])
    run(store, "2026-11-02T02:00:00+00:00", [sample("sw1", "unreachable", uptime=None)])
    previous = store.health.previous(["sw1", "nope"])
    assert previous == {"sw1": ("2026-11-01T02:00:00+00:00", 500,
                                {"vendor": "Cisco", "port_errors": {"Gi1/0/1": 3}})}


def test_previous_is_the_last_stored_not_the_latest_stamped(store: Store) -> None:
    # The controller's clock was a week ahead at the first run: the run after it, with
    # the clock right again, is the previous sample for the next one.
    run(store, "2026-11-08T02:00:00+00:00", [sample("sw1", "ok", 500)])
    run(store, "2026-11-01T02:00:00+00:00", [sample("sw1", "ok", 86_900)])
    assert store.health.previous(["sw1"])["sw1"][:2] == ("2026-11-01T02:00:00+00:00", 86_900)


def test_old_samples_fold_into_daily_summaries(store: Store) -> None:
    run(store, "2026-10-01T01:00:00+00:00", [sample("sw1", "ok", 50, 4.0)], 30)
    run(store, "2026-10-01T13:00:00+00:00", [sample("sw1", "critical", 30, 6.0)], 30)
    run(store, "2026-10-02T01:00:00+00:00", [sample("sw1", "warning")], 30)
    # A month later: the three older samples are past 30 days and get folded.
    run(store, "2026-11-05T01:00:00+00:00", [sample("sw1", "ok")], 30)
    db = store._db
    raw = db.execute("SELECT sampled_at FROM health_samples ORDER BY sampled_at").fetchall()
    assert raw == [("2026-11-05T01:00:00+00:00",)]
    daily = db.execute("SELECT day, samples, ok, warning, critical, worst, min_uptime_s, "
                       "rtt_ms_sum, rtt_count FROM health_daily ORDER BY day").fetchall()
    assert daily == [("2026-10-01", 2, 1, 0, 1, "critical", 30, 10.0, 2),
                     ("2026-10-02", 1, 0, 1, 0, "warning", 100, 5.0, 1)]


def test_a_later_prune_of_the_same_day_adds_up(store: Store) -> None:
    run(store, "2026-10-01T01:00:00+00:00", [sample("sw1", "warning")], 365)
    run(store, "2026-10-01T23:00:00+00:00", [sample("sw1", "ok")], 365)
    run(store, "2026-10-02T02:00:00+00:00", [sample("sw1", "ok")], 1)  # folds 01:00 only
    run(store, "2026-10-03T00:30:00+00:00", [sample("sw1", "ok")], 1)  # folds 23:00 too
    row = store._db.execute("SELECT samples, ok, warning, worst FROM health_daily "
                            "WHERE day = '2026-10-01'").fetchone()
    assert row == (2, 1, 1, "warning")


def test_history_shows_samples_and_summaries_since_a_date(store: Store) -> None:
    run(store, "2026-10-01T01:00:00+00:00", [sample("sw1", "critical")], 30)
    run(store, "2026-11-05T01:00:00+00:00", [sample("sw1", "ok")], 30)
    rows = store.health.history("100001", "2026-09-30T00:00:00+00:00")
    assert [(r.at, r.state, r.detail) for r in rows] == [
        ("2026-10-01", "critical", "1 samples (daily summary)"),
        ("2026-11-05T01:00:00+00:00", "ok", "sw1 is ok")]
    assert rows[0].summary is not None and rows[0].summary["critical"] == 1
    assert store.health.history("100002", "2026-01-01") == []
    assert [r.at for r in store.health.history(None, "2026-11-01")] == [
        "2026-11-05T01:00:00+00:00"]


def test_an_interrupted_run_is_closed_as_such(store: Store) -> None:
    run_id = store.health.begin_run("2026-11-01T02:00:00+00:00", "anna", "100001", 60.0)
    store.health.fail_run(run_id, "2026-11-01T02:00:09+00:00", "interrupted")
    [stored] = store.health.runs()
    assert (stored.status, stored.finished_at) == ("interrupted", "2026-11-01T02:00:09+00:00")


def test_facts_are_stored_as_json(store: Store) -> None:
    run(store, "2026-11-01T02:00:00+00:00", [sample("sw1", "ok", errors={"Gi1/0/2": 9})])
    text = store._db.execute("SELECT facts FROM health_samples").fetchone()[0]
    assert json.loads(text) == {"vendor": "Cisco", "port_errors": {"Gi1/0/2": 9}}


def test_keep_since() -> None:
    assert keep_since("2026-11-30T02:00:00+00:00", 30) == "2026-10-31T02:00:00+00:00"


def test_runs_left_running_by_a_killed_process_are_closed(store: Store) -> None:
    store.health.begin_run("2026-11-01T02:00:00+00:00", "cron", "all", 300.0)
    assert store.health.close_dead_runs("2026-11-02T02:00:00+00:00") == 1
    [stored] = store.health.runs()
    assert (stored.status, stored.finished_at) == ("interrupted", "2026-11-02T02:00:00+00:00")
    assert store.health.close_dead_runs("2026-11-03T02:00:00+00:00") == 0
