"""The platform registry: names, what platforms declare exists, the role follows it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from provisioner.errors import NotFoundError
from provisioner.models import Device, Role
from provisioner.platforms import (
    Capability,
    Platform,
    PlatformKind,
    find_platform,
    get_platform,
    matrix,
    platform_for,
    platforms,
)
from provisioner.platforms.base import PLAYBOOKS
from provisioner.provision.preflight import check_host, platform_problem

SWITCH_VARS = PLAYBOOKS / "roles" / "switch" / "vars" / "main.yml"


def test_every_name_and_alias_finds_its_platform_once() -> None:
    seen: dict[str, str] = {}
    for platform in platforms():
        for name in (platform.name, *platform.aliases):
            assert name not in seen, f"{name} claimed by {seen.get(name)} and {platform.name}"
            seen[name] = platform.name
            assert find_platform(name) is platform
            assert find_platform(name.upper()) is platform  # inventories vary in case
    assert get_platform("hp_procurve").name == "aruba_aoss"


def test_an_unknown_platform_is_named_with_the_known_ones() -> None:
    with pytest.raises(NotFoundError) as caught:
        get_platform("lancom_lcos_sx")
    assert "'lancom_lcos_sx'" in str(caught.value) and "cisco_ios" in str(caught.value)


@pytest.mark.parametrize("platform", platforms(), ids=lambda p: p.name)
def test_what_a_platform_declares_exists(platform: Platform) -> None:
    assert platform.title and platform.kind in PlatformKind
    if platform.ansible is not None:
        assert platform.ansible.tasks_file().is_file(), platform.ansible.tasks_file()
        for kind, folder in platform.ansible.plugins.items():
            assert (folder / f"{platform.ansible.network_os}.py").is_file(), (kind, folder)
    if platform.read_back is not None and platform.read_back.transport == "ssh-cli":
        assert platform.read_back.dialect is not None
    if platform.lab is not None and platform.lab.kind.endswith("_switch"):
        assert platform.lab.access_ports and platform.lab.uplink_ports
    assert (Capability.HEALTH in platform.capabilities()) == bool(platform.health)


def test_the_switch_role_picks_each_switch_platforms_tasks() -> None:
    wanted: dict[str, str] = {}
    for platform in platforms():
        access = platform.ansible
        if access is not None and access.role == "switch":
            wanted[access.network_os] = access.tasks
            # A short network OS name (`ios`) written by hand means the same platform.
            short = access.network_os.rsplit(".", 1)[-1]
            wanted.setdefault(short, access.tasks)
    role = yaml.safe_load(SWITCH_VARS.read_text(encoding="utf-8"))
    assert role["switch_platform_tasks"] == wanted


def _device(platform: str, **extra: object) -> Device:
    return Device("100001", "100001-x01", Role.SWITCH, platform, "127.0.0.1", "", "",
                  vars=dict(extra))


def test_platform_of_a_device_by_its_inventory_name() -> None:
    assert platform_for(_device("ios")) is get_platform("cisco_ios")
    assert platform_for(_device("zyxel_gs1920")) is None


def test_preflight_blocks_what_the_tool_cannot_provision(tmp_path: Path) -> None:
    unknown = check_host(_device("zyxel_gs1920"), tmp_path / "known_hosts", 1.0)
    assert unknown.failure is not None and unknown.failure.value == "config"
    assert "'zyxel_gs1920' is not one the tool knows" in unknown.message
    assert "managed: false" in unknown.message
    health_only = platform_problem(_device("unifi"))
    assert "ubiquiti_unifi cannot be provisioned by the tool (only: health)" in health_only
    assert platform_problem(_device("cisco_ios")) == ""


def test_the_matrix_says_which_lab_devices_answer_snmp_only() -> None:
    # A recording answers a controller's SNMP; nothing in the lab can be provisioned as one.
    lab = {row.platform: (row.capabilities["lab simulator"], row.lab) for row in matrix()}
    assert lab["aruba_os"] == lab["ubiquiti_airos"] == (True, "SNMP only")
    assert lab["aruba_aoss"] == lab["debian"] == (True, "simulated")
    assert lab["cisco_wlc"] == (False, "")
