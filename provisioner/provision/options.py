"""How a school is provisioned (the command line's options) and how a wave is sliced
into playbook runs that go side by side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provisioner.models import Device, Role
from provisioner.wlan.readback import controller_name

STRATEGIES = ("linear", "free", "mitogen_linear", "mitogen_free")
# mitogen runs a school's Linux hosts' tasks in persistent interpreters: 1.9x plain
# Ansible, no host lost (docs/benchmarks.md); `--strategy linear` is Ansible's own.
STRATEGY = "mitogen_linear"
# Roles whose plays run beside the others' (see `slices`), and the slices' folder names.
_BESIDE = frozenset({Role.SWITCH, Role.WLAN_CONTROLLER})
SLICE_NAMES = ("hosts", "network")
# How the progress counts a slice's devices: kind -> (one, several); an AP that names
# its WLAN controller is a kind of its own (no play connects to it).
_THROUGH_CONTROLLER = "through_controller"
_KIND_WORDS: dict[Role | str, tuple[str, str]] = {
    Role.SERVER: ("server", "servers"), Role.ACCESS_POINT: ("AP", "APs"),
    Role.SWITCH: ("switch", "switches"),
    Role.WLAN_CONTROLLER: ("WLAN controller", "WLAN controllers"),
    _THROUGH_CONTROLLER: ("AP through its WLAN controller", "APs through their WLAN controller")}


@dataclass(frozen=True)
class Options:
    """How to provision (the command line's options).

    Attributes:
        check: Ansible check mode with diff: report, change nothing, verify nothing.
        limit: host names or inventory groups; empty means the whole school.
        tags: only tasks with these tags.
        resume: only the hosts that failed or did not finish in the school's last run.
        batch: switches and access points go in waves of this many (servers first,
            all at once); None runs every host in one play.
        max_fail_percent: stop starting waves when more than this share of the hosts
            so far failed; None never stops early.
        forks: hosts Ansible works on in parallel.
        strategy: an Ansible strategy plugin, or None for the default.
        plays_in_order: one ansible-playbook per wave, its plays one after another (as
            plain Ansible runs site.yml); by default the switches' and WLAN
            controllers' plays run beside the servers' and APs' (see `slices`).
    """

    check: bool = False
    limit: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    resume: bool = False
    batch: int | None = None
    max_fail_percent: int | None = None
    forks: int = 25
    strategy: str = STRATEGY
    plays_in_order: bool = False

    def as_arguments(self) -> dict[str, object]:
        """The options as recorded with the run."""
        return {"check": self.check, "limit": list(self.limit), "tags": list(self.tags),
                "resume": self.resume, "batch": self.batch,
                "max_fail_percent": self.max_fail_percent, "forks": self.forks,
                "strategy": self.strategy, "plays_in_order": self.plays_in_order}

    def as_flags(self) -> list[str]:
        """The options that differ from the defaults, as command-line flags (the audit)."""
        flags = ["--check"] if self.check else []
        flags += [f"--limit {x}" for x in self.limit] + [f"--tags {x}" for x in self.tags]
        flags += ["--resume"] if self.resume else []
        flags += ["--plays-in-order"] if self.plays_in_order else []
        default = Options()
        for name in ("batch", "max_fail_percent", "forks", "strategy"):
            if getattr(self, name) != getattr(default, name):
                flags.append(f"--{name.replace('_', '-')} {getattr(self, name)}")
        return flags


def _through_controller(device: Device) -> bool:
    """An AP that names its WLAN controller: configured and read back through it."""
    return device.role is Role.ACCESS_POINT and bool(controller_name(device))


def _kind(device: Device) -> Role | str:
    return _THROUGH_CONTROLLER if _through_controller(device) else device.role


def slice_title(part: Sequence[Device]) -> str:
    """What a slice holds, counted by kind in the roles' order: "2 servers and 12 APs",
    "1 switch, 1 WLAN controller and 4 APs through their WLAN controller"; only the
    kinds it has."""
    kinds = [_kind(d) for d in part]
    counts = [(kinds.count(kind), words) for kind, words in _KIND_WORDS.items()]
    said = [f"{n} {words[n != 1]}" for n, words in counts if n]
    return " and ".join(said) if len(said) < 3 else ", ".join(said[:-1]) + " and " + said[-1]


def slices(wave: Sequence[Device], in_order: bool = False) -> list[list[Device]]:
    """A wave's hosts as the playbook runs that go side by side (as AWX slices a job).

    The switches' and WLAN controllers' plays run on this machine (network_cli, the
    controller's REST API) and need nothing the other plays do, so they go beside
    the servers' and access points' (which stay together: the servers' DHCP
    reservations take the APs' MAC addresses, read in the same run). The run then
    takes as long as the longer of the two, not their sum. APs that name their WLAN
    controller go with the switches and controllers: no play connects to them, and
    they are read back through their controller once its slice has ended.

    Returns:
        [servers and APs, switches, controllers and the APs through them]; one list when
        `in_order` or when the wave holds only one of the two; [] for an empty wave.
    """
    network = [d for d in wave if d.role in _BESIDE]
    if network:  # never a playbook run only to sort the APs through a controller
        network = [d for d in wave if d.role in _BESIDE or _through_controller(d)]
    hosts = [d for d in wave if d not in network]
    if in_order or not network or not hosts:
        return [list(wave)] if wave else []
    return [hosts, network]
