"""Parsing what the Instant REST API's `show` commands return (CLI text in JSON)."""

from __future__ import annotations

from pathlib import Path

from provisioner.wlan.instant_cli import (
    command_text,
    parse_aps,
    parse_bss_table,
    parse_running_config,
)

# The CLI's text as the REST API returns it in `Command output` (Instant 8.10 layout).
DATA = Path(__file__).parent.parent / "data" / "wlan"
RUNNING = (DATA / "show_running_config.txt").read_text(encoding="utf-8")

APS = (DATA / "show_aps.txt").read_text(encoding="utf-8")

BSS = (DATA / "show_ap_bss_table.txt").read_text(encoding="utf-8")


def test_running_config_ssid_profiles_auth_servers_and_allowed_aps() -> None:
    config = parse_running_config(RUNNING)
    assert config.allowed_aps == ["20:4c:03:aa:bb:01", "20:4c:03:aa:bb:02"]
    assert config.auth_servers == {"radius1": {"ip": "10.0.0.18", "port": "1812",
                                               "acctport": "1813", "key": "set"}}
    teachers = config.ssid_profiles["Lehrer Netz"]
    assert teachers["essid"] == "Lehrer Netz" and teachers["vlan"] == "20"
    assert teachers["auth-server"] == "radius1,radius2"  # several lines, in order
    assert "enable" in teachers
    devices = config.ssid_profiles["Geraete"]
    assert devices["wpa-passphrase"] == "set"  # encrypted on the device: only "there is one"
    assert "disable" in devices and "enable" not in devices
    # Unbalanced quotes (a broken or forged answer) are read as plain words.
    assert '"kaputt' in config.ssid_profiles


def test_show_aps_by_its_columns_master_star_and_odd_values() -> None:
    aps = parse_aps(APS)
    assert [(a.name, a.address, a.serial, a.clients, a.master) for a in aps] == [
        ("Raum 101", "10.1.0.101", "CNL0000001", 12, True),
        ("flur-og", "10.1.0.102", "CNL0000002", None, False)]


def test_bss_table_ssids_bands_and_clients_per_ap() -> None:
    rows = parse_bss_table(BSS)
    assert [(r.ssid, r.band, r.clients, r.ap_name, r.ap_address) for r in rows] == [
        ("Lehrer Netz", "2.4 GHz", 3, "Raum 101", "10.1.0.101"),
        ("Lehrer Netz", "5 GHz", 9, "Raum 101", "10.1.0.101"),
        ("Geraete", "6 GHz", None, "Raum 101", "10.1.0.101")]


def test_garbage_gives_nothing_rather_than_an_error() -> None:
    for text in ("", "cli output:", "Name\n----\n", "\x00\x01 garbage\n--- ---\n"):
        assert parse_aps(text) == [] or all(a.name for a in parse_aps(text))
        assert parse_bss_table(text) == []
        assert parse_running_config(text).ssid_profiles == {}
    assert command_text("cli output: \n\nCOMMAND=show aps\nrest") == "rest"
