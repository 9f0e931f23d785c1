"""Which hosts a playbook that Ansible ended early left unfinished (pure logic)."""

from __future__ import annotations

from pathlib import Path

from provisioner.ansible import PlaybookOutcome, _ended, play_host_groups

PLAYBOOK = """
- name: Sort
  hosts: all
- name: MACs
  hosts: access_points:&managed:!through_controller
- name: Servers
  hosts: servers:&managed
- name: Access points
  hosts: access_points,lonely-host
- name: Controllers
  hosts: wlan_controllers
"""


def _outcome(tmp_path: Path, started: list[str]) -> PlaybookOutcome:
    playbook = tmp_path / "site.yml"
    playbook.write_text(PLAYBOOK)
    early, left = _ended("failed", playbook, started)
    return PlaybookOutcome("failed", 2, {}, tmp_path, early, groups_left=left)


def test_a_host_no_later_play_selects_had_all_its_plays(tmp_path: Path) -> None:
    ended = _outcome(tmp_path, ["Sort", "MACs", "Servers", "Access points"])
    assert ended.ended_early and ended.ended_early_in == "Access points"
    assert not ended.cut_short("srv01", "servers")
    assert ended.cut_short("vc01", "wlan_controllers")


def test_an_early_end_cuts_short_every_host_of_the_later_plays(tmp_path: Path) -> None:
    ended = _outcome(tmp_path, ["Sort", "MACs"])
    assert ended.cut_short("srv01", "servers") and ended.cut_short("ap01", "access_points")
    assert ended.cut_short("lonely-host", "ungrouped")  # named in a pattern
    assert not ended.cut_short("sw01", "switches")


def test_a_run_that_started_every_play_did_not_end_early(tmp_path: Path) -> None:
    ended = _outcome(tmp_path, ["Sort", "MACs", "Servers", "Access points", "Controllers"])
    assert not ended.ended_early and not ended.cut_short("vc01", "wlan_controllers")


def test_patterns_it_cannot_read_stand_for_every_host(tmp_path: Path) -> None:
    playbook = tmp_path / "odd.yml"
    playbook.write_text("- hosts: 'web*'\n- hosts: '{{ target }}'\n- hosts: [a, b]\n"
                        "- import_playbook: other.yml\n")
    assert play_host_groups(playbook) == [frozenset({"all"})] * 4
    assert PlaybookOutcome("failed", 2, {}, tmp_path, "x").cut_short("h", "g")  # unknown: all
