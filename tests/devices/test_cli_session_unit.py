"""Pure tests of the switch CLI parsing and checks (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.devices.cli_session import IOS_ERROR, check_vlan, parse_vlan_brief
from provisioner.errors import ExitStatus, InvalidVlanError

DATA = Path(__file__).parent.parent / "data" / "devices"


def test_parse_vlan_brief_of_an_ios_2960() -> None:
    vlans = parse_vlan_brief((DATA / "show_vlan_brief_2960.txt").read_text())
    assert vlans == {
        1: "default",
        10: "Management",
        110: "Verwaltung",
        120: "Lehrer",
        130: "Schueler",
        140: "Gaeste-BYOD",
        150: "VLAN0150",
        1002: "fddi-default",
        1003: "token-ring-default",
        1004: "fddinet-default",
        1005: "trnet-default",
    }


def test_parse_vlan_brief_as_recorded_from_the_lab_simulator() -> None:
    vlans = parse_vlan_brief((DATA / "show_vlan_brief_fake_switches.txt").read_text())
    assert vlans == {1: "default", 120: "Lehrer", 130: "VLAN130"}


def test_parse_full_show_vlan_skips_the_type_and_span_tables() -> None:
    vlans = parse_vlan_brief((DATA / "show_vlan_2960.txt").read_text())
    assert vlans == {
        1: "default",
        110: "Verwaltung",
        1002: "fddi-default",
        1003: "token-ring-default",
    }


def test_parse_vlan_brief_ignores_noise() -> None:
    text = "sw01#show vlan brief\n% Invalid input detected at '^' marker.\n\nsw01#"
    assert parse_vlan_brief(text) == {}


@pytest.mark.parametrize("vid", [1, 110, 1001, 1006, 4094])
def test_check_vlan_accepts_configurable_ids(vid: int) -> None:
    check_vlan(vid, "Verwaltung")


@pytest.mark.parametrize("vid", [0, 1002, 1005, 4095])
def test_check_vlan_rejects_reserved_and_out_of_range_ids(vid: int) -> None:
    with pytest.raises(InvalidVlanError, match=f"VLAN id {vid} is not configurable") as info:
        check_vlan(vid, "Verwaltung")
    assert (info.value.vid, info.value.name) == (vid, "Verwaltung")
    assert info.value.exit_status is ExitStatus.INVALID_INPUT
    assert "use 1-1001 or 1006-4094" in str(info.value)


@pytest.mark.parametrize("name", ["", "Schüler", "two words", "x" * 33])
def test_check_vlan_rejects_names_ios_would_refuse(name: str) -> None:
    with pytest.raises(InvalidVlanError, match=r"VLAN name .* is not 1-32 printable ASCII"):
        check_vlan(110, name)


def test_check_vlan_error_is_not_a_bare_value_error() -> None:
    # Third-party-style ValueErrors must not escape: callers catch ProvisionerError.
    with pytest.raises(InvalidVlanError) as info:
        check_vlan(110, "Schüler")
    assert not isinstance(info.value, ValueError)
    assert "Schueler" in str(info.value)


def test_ios_error_matches_refusals_only() -> None:
    assert IOS_ERROR.search("sw01#bogus\n% Invalid input detected at '^' marker.\n")
    assert IOS_ERROR.search("% Incomplete command.\n")
    assert not IOS_ERROR.search("110  Verwaltung   active\nBuilding configuration...\n[OK]")
