"""`provision lab fault`: failures to rehearse on the running lab, made for real.

Per device:
- `stop`: the device stops answering, as if powered off. A Debian host's runtime
  and every process in it end and its eth0 goes down; a simulated switch or a
  recorded device's eth0 goes down (its simulator keeps running for the others).
- `start`: undoes `stop` (a host boots again with its state and keys).
- `rekey`: the device gets a new SSH host key; the pinned known_hosts is NOT
  changed, so strict clients refuse it until it is trusted again (`provision trust`).
  Hosts: a new key file, then sshd is told to read it (SIGHUP). Simulated switches:
  a new key file, then the switch simulator reloads its keys (SIGHUP).
- `reboot`: the device's agents start afresh, so sysUpTime restarts. Hosts: the
  whole host restarts. Simulated switches and recorded devices: their sysUpTime
  counts from now (the `labuptime` variation); a switch keeps its running config.
- `hostile`: the device's address answers SNMP with a hostile responder
  (provisioner.lab.hostile: forged, unauthenticated, malformed and flooding replies,
  never a usable answer). It runs bound in the device's namespace and nf_tables there
  rewrites udp/161 to it (provisioner.lab.nft); the device's own agent keeps running,
  unreached. SSH is untouched.
- `restore`: undoes `hostile`: the rewrite goes, the responder stops, the device's own
  agent answers again.

WLAN controllers (`<school>-vc01`) and their Instant APs (`<school>-iap01`, ...):
- `stop`/`start` on a controller: it stops answering (its eth0 goes down) / answers again;
  on an AP: its controller sees it down (gone from its cluster) / up again.
- `reject-login`: the controller refuses every login (as with a wrong password).
- `unknown-ap`: an AP the inventory does not know joins the controller's cluster.
- `clear`: both of these end.

Per school: `cut` takes its uplink down (every veth host end of its devices: none
of them answers) and `restore` brings it back.

Faults in effect are kept in the lab's state file, so `lab status` shows them and
`lab down` removes a faulted lab like any other; `lab up` rebuilds a faulted lab.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from provisioner.devices.ssh import fetch_host_key, parse_host_key
from provisioner.errors import DeviceError, LabError, NotFoundError
from provisioner.lab import hosts, netns, nft, simulators, wlan_lab
from provisioner.lab.nodes import NODE_NETNS_PREFIX, school_nodes
from provisioner.lab.rootfs import BaseImage
from provisioner.lab.simconfig import read_snmp_config
from provisioner.lab.state import (
    LabState,
    ProcessRef,
    StateJournal,
    is_alive,
    load_state,
    process_ref,
)
from provisioner.lab.topology import DeviceKind, LabDevice

DEVICE_ACTIONS = ("stop", "start", "rekey", "reboot", "hostile", "restore", "reject-login",
                  "unknown-ap", "clear")
CONTROLLER_ACTIONS = ("reject-login", "unknown-ap", "clear")
SCHOOL_ACTIONS = ("cut", "restore")
STOPPED = "stopped"
CUT = "cut"
HOSTILE = "hostile"
LOCK_FILE = "faults.lock"
# How long a new host key may take to be presented (sshd re-executes itself on SIGHUP).
KEY_WAIT = 20.0
_POLL = 0.1


@dataclass(frozen=True)
class FaultOutcome:
    """What a fault did.

    Attributes:
        target: the device name, or `school <id>`.
        action: the action asked for.
        message: one line saying what happened.
        fault: the fault in effect on the target afterwards ("stopped", "cut"), or None.
    """

    target: str
    action: str
    message: str
    fault: str | None


def school_target(school_id: str) -> str:
    """The key of a school's faults in the lab state."""
    return f"school {school_id}"


@contextlib.contextmanager
def _running_lab(lab_dir: Path) -> Iterator[StateJournal]:
    """The running lab's state, one fault at a time (faults read and write it)."""
    state = load_state(lab_dir)
    if state is None or not state.complete:
        raise LabError("no lab is running; start one with 'provision lab up'")
    fd = os.open(lab_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        fresh = load_state(lab_dir)  # another fault may have changed it meanwhile
        if fresh is None:
            raise LabError("the lab was removed meanwhile; start one with 'provision lab up'")
        yield StateJournal(lab_dir, fresh)
    finally:
        os.close(fd)


def _find_device(journal: StateJournal, name: str) -> LabDevice:
    devices = {d.name: d for d in journal.state.devices}
    if name in devices:
        return devices[name]
    close = difflib.get_close_matches(name, list(devices), n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise NotFoundError(f"no lab device {name!r}: {hint}"
                        "the lab's devices are listed by 'provision lab status'")


def _runtime(journal: StateJournal, device: LabDevice) -> ProcessRef | None:
    """The host's running runtime process, if any (the newest recorded one)."""
    refs = [p for p in journal.state.processes
            if p.device == device.name and p.role in hosts.RUNTIMES]
    return next((r for r in reversed(refs) if is_alive(r)), None)


def _stop_host(journal: StateJournal, device: LabDevice) -> None:
    ref = _runtime(journal, device)
    if ref is not None:
        hosts.stop_runtime(ref, journal.state.hosts[device.name].cgroup)


def _start_host(journal: StateJournal, device: LabDevice) -> None:
    if _runtime(journal, device) is not None:
        return
    state = journal.state
    record = state.hosts[device.name]
    image = BaseImage(key="", root=Path(state.base), repo=Path(state.repo), tarball=Path())
    paths = hosts.host_paths(journal.lab_dir, device)
    ref = hosts.start_runtime(record.runtime, device, paths, image,
                              hosts.make_cgroup(record.cgroup))
    journal.record(lambda s: s.processes.append(ref))  # recorded before waiting: down finds it
    try:
        hosts.wait_ready(ref)
    except LabError:
        hosts.stop_runtime(ref, record.cgroup)
        raise


def _set_fault(journal: StateJournal, target: str, fault: str | None) -> None:
    def change(state: LabState) -> None:
        faults = state.faults
        if fault is None:
            faults.pop(target, None)
        else:
            faults[target] = fault

    journal.record(change)


def _ap_of_controller(journal: StateJournal, device: LabDevice, down: bool) -> str:
    controller = wlan_lab.controller_of(device, journal.state.devices)
    if controller is None:
        raise LabError(f"{device.name} has no controller in this lab")
    wlan_lab.set_ap_down(journal.lab_dir, controller.name, device.name, down)
    _set_fault(journal, device.name, STOPPED if down else None)
    if down:
        return f"{device.name} stopped: its controller {controller.name} sees it down"
    return f"{device.name} started: its controller {controller.name} sees it up again"


def _mark(journal: StateJournal, name: str, fault: str, on: bool) -> None:
    """Add or drop one fault of a device whose faults combine ("stopped, reject-login")."""
    now = [f for f in (journal.state.faults.get(name) or "").split(", ") if f and f != fault]
    _set_fault(journal, name, ", ".join([*now, fault] if on else now) or None)


def _stop(journal: StateJournal, device: LabDevice) -> str:
    if device.kind is DeviceKind.CONTROLLED_AP:
        return _ap_of_controller(journal, device, down=True)
    if device.kind is DeviceKind.DEBIAN_HOST:
        _stop_host(journal, device)
    # Powered off: not even a refusal comes back (sockets of simulators stay bound).
    netns.set_device_link(device.netns, up=False)
    _mark(journal, device.name, STOPPED, True)
    return f"{device.name} stopped: nothing answers at {device.address}"


def _start(journal: StateJournal, device: LabDevice) -> str:
    if device.kind is DeviceKind.CONTROLLED_AP:
        return _ap_of_controller(journal, device, down=False)
    netns.set_device_link(device.netns, up=True)
    if device.kind is DeviceKind.DEBIAN_HOST:
        _start_host(journal, device)
    _mark(journal, device.name, STOPPED, False)
    cut = journal.state.faults.get(school_target(device.school_id))
    behind_node = school_nodes(journal.state.spec.school_ids, journal.state.spec.nodes)
    if not cut and device.school_id not in behind_node and _answers_ssh(device):
        # "Answering again" is checked from here: right after the link comes up, the
        # machine's stale neighbour entry can still refuse the address for a moment.
        _wait_answering(device.address)
    note = f" (its school is {cut}: 'provision lab fault --school "\
           f"{device.school_id} restore')" if cut else ""
    return f"{device.name} started: answering at {device.address} again{note}"


def _answers_ssh(device: LabDevice) -> bool:
    return device.kind is DeviceKind.DEBIAN_HOST or device.kind.simulated_switch


def _wait_answering(address: str, port: int = 22) -> None:
    """Wait until the device accepts a TCP connection on `port` from this machine."""
    deadline = time.monotonic() + KEY_WAIT
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=2.0):
                return
        except OSError as exc:
            last = exc.strerror or str(exc)
        time.sleep(_POLL)
    raise LabError(f"{address} port {port} still does not answer {KEY_WAIT:.0f} s after its "
                   f"start ({last}); see the lab's logs, or 'provision lab down' and "
                   "'provision lab up'")


def _wait_for_key(address: str, public: str) -> None:
    """Wait until the device presents `public` (fails naming what it presents)."""
    wanted = public.split()[:2]
    deadline = time.monotonic() + KEY_WAIT
    seen = "nothing"
    while time.monotonic() < deadline:
        try:
            key = fetch_host_key(address, timeout=5.0, key_types=[wanted[0]])
        except DeviceError as exc:
            seen = str(exc)
        else:
            if [key.key_type, key.base64] == wanted:
                return
            seen = key.fingerprint
        time.sleep(_POLL)
    raise LabError(f"{address} still presents {seen} {KEY_WAIT:.0f} s after its rekey; "
                   "see the lab's logs, or 'provision lab down' and 'provision lab up'")


def _hang_up(pids: list[int], what: str) -> None:
    if not pids:
        raise LabError(f"{what} is not running; 'provision lab fault DEVICE start' it, "
                       "or rebuild the lab with 'provision lab up'")
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGHUP)


def _switch_simulator_pids(journal: StateJournal) -> list[int]:
    refs = [p for p in journal.state.processes if p.role == "simulator" and is_alive(p)]
    return [r.pid for r in refs if simulators.runs_module(r.pid, simulators.SWITCH_MODULE)]


def _rekey(journal: StateJournal, device: LabDevice) -> str:
    if device.kind in (DeviceKind.WLAN_CONTROLLER, DeviceKind.CONTROLLED_AP):
        raise LabError(f"{device.name} is reached through its controller's REST API: it has "
                       "no SSH host key to change")
    if not device.has_ssh:
        raise LabError(f"{device.name} answers SNMP only: it has no SSH host key to change")
    stopped = journal.state.faults.get(device.name) == STOPPED
    if device.kind is DeviceKind.DEBIAN_HOST:
        record = journal.state.hosts[device.name]
        public = hosts.write_host_key(Path(record.root), device.name)
        if not stopped:
            _hang_up(hosts.sshd_listeners(record.cgroup), f"sshd of {device.name}")
    else:
        public = simulators.rekey_switch(journal.lab_dir, device)
        _hang_up(_switch_simulator_pids(journal), "the switch simulator")

    def change(state: LabState) -> None:
        state.host_keys[device.address] = public
        if device.name in state.hosts:
            state.hosts[device.name].host_key = public

    journal.record(change)
    cut = school_target(device.school_id) in journal.state.faults
    if not (stopped or cut):
        _wait_for_key(device.address, public)
    fingerprint = parse_host_key(public).fingerprint
    return (f"{device.name} has a new host key {fingerprint}; the pinned known_hosts still "
            f"holds the old one: strict clients refuse it until 'provision trust "
            f"{device.name} --fingerprint {fingerprint}'")


def _reboot(journal: StateJournal, device: LabDevice) -> str:
    if journal.state.faults.get(device.name) == STOPPED:
        raise LabError(f"{device.name} is stopped: start it with "
                       f"'provision lab fault {device.name} start'")
    if device.kind is DeviceKind.DEBIAN_HOST:
        _stop_host(journal, device)
        _start_host(journal, device)
        return f"{device.name} rebooted: its host and agents restarted, sysUpTime counts anew"
    if device.kind in (DeviceKind.WLAN_CONTROLLER, DeviceKind.CONTROLLED_AP):
        raise LabError(f"{device.name} has no SNMP agent in the lab: nothing to reboot; "
                       "'stop' and 'start' it instead")
    config = read_snmp_config(journal.lab_dir / "simulators" / "snmpsim.json")
    if not config.boots_file:
        raise LabError("this lab's SNMP responder predates reboots; rebuild it with "
                       "'provision lab down' and 'provision lab up'")
    now = time.time()
    journal.record(lambda s: s.boots.__setitem__(device.address, now))
    simulators.write_boots(Path(config.boots_file), journal.state.boots)
    if not _records_uptime(Path(config.data_dir), device):
        return (f"{device.name} rebooted, but its recording {device.recording} has no "
                "sysUpTime to restart (it answers noSuchObject for it, as recorded)")
    kept = " (its running configuration is kept)" if device.has_ssh else ""
    return f"{device.name} rebooted: its sysUpTime counts from now{kept}"


def _records_uptime(data_dir: Path, device: LabDevice) -> bool:
    """Whether the device's unpacked recording answers sysUpTime (some recordings lack it)."""
    try:
        text = (data_dir / f"{device.recording}.snmprec").read_text(encoding="utf-8")
    except OSError:
        return True  # unknown: say nothing rather than something wrong
    return "\n1.3.6.1.2.1.1.3.0|" in text


def _impersonated(journal: StateJournal, device: LabDevice) -> str:
    """Whose identity the hostile device claims: another device of its school."""
    others = [d.name for d in journal.state.devices
              if d.school_id == device.school_id and d.name != device.name]
    return others[0] if others else f"{device.school_id}-sw01"


def _hostile(journal: StateJournal, device: LabDevice) -> str:
    fault = journal.state.faults.get(device.name)
    if fault == STOPPED:
        raise LabError(f"{device.name} is stopped: start it with "
                       f"'provision lab fault {device.name} start' first")
    if fault == HOSTILE:
        return f"{device.name} is hostile already; undo it with " \
               f"'provision lab fault {device.name} restore'"
    pid = simulators.start_hostile(journal.lab_dir, device, _impersonated(journal, device))
    ref = process_ref(pid, "simulator", device.name)
    journal.record(lambda s: s.processes.append(ref))  # recorded first: down finds it
    try:
        nft.redirect_udp(device.netns, simulators.HOSTILE_PORT)
    except LabError:
        _stop_hostile(journal, device)
        raise
    _set_fault(journal, device.name, HOSTILE)
    return (f"{device.name} is hostile: SNMP at {device.address} now answers with forged, "
            "unauthenticated, malformed and flooding replies (its own agent is unreached "
            f"until 'provision lab fault {device.name} restore')")


def _stop_hostile(journal: StateJournal, device: LabDevice) -> None:
    """Stop the device's hostile responder and forget it in the lab state."""
    # The lab's shared simulators are recorded without a device; its hostile ones with.
    refs = [p for p in journal.state.processes if p.device == device.name
            and p.role == "simulator"]
    simulators.stop_simulators([r.pid for r in refs if is_alive(r)])

    def forget(state: LabState) -> None:
        state.processes[:] = [p for p in state.processes if p not in refs]

    journal.record(forget)


def _restore(journal: StateJournal, device: LabDevice) -> str:
    if journal.state.faults.get(device.name) != HOSTILE:
        raise LabError(f"{device.name} is not hostile: 'restore' undoes 'hostile' (a "
                       f"stopped device comes back with 'provision lab fault {device.name} "
                       "start', a cut school with '--school ID restore')")
    nft.remove_redirect(device.netns)
    _stop_hostile(journal, device)
    _set_fault(journal, device.name, None)
    return f"{device.name} restored: its own SNMP agent answers at {device.address} again"


def _controller_fault(journal: StateJournal, device: LabDevice, action: str) -> str:
    if device.kind is not DeviceKind.WLAN_CONTROLLER:
        raise LabError(f"{action} applies to WLAN controllers; {device.name} is none")
    if action == "clear":
        wlan_lab.clear_controller(journal.lab_dir, device.name)
        for fault in ("reject-login", "unknown-ap"):
            _mark(journal, device.name, fault, False)
        return f"{device.name}: logins accepted again, no unknown AP in its cluster"
    wlan_lab.set_controller_fault(journal.lab_dir, device.name, action.replace("-", "_"), True)
    _mark(journal, device.name, action, True)
    if action == "reject-login":
        return f"{device.name} refuses every login now (as with a wrong password)"
    return f"{device.name}: an AP the inventory does not know joined its cluster"


_ACTIONS: dict[str, Callable[[StateJournal, LabDevice], str]] = {
    "stop": _stop, "start": _start, "rekey": _rekey, "reboot": _reboot,
    "hostile": _hostile, "restore": _restore,
    **{action: partial(_controller_fault, action=action) for action in CONTROLLER_ACTIONS}}


def device_fault(lab_dir: Path, name: str, action: str) -> FaultOutcome:
    """Apply a fault to one device of the running lab (see the module doc for each).

    Args:
        lab_dir: the lab's folder.
        name: the device's inventory name, e.g. `100001-srv01`.
        action: stop, start, rekey, reboot, hostile, restore, or for a WLAN
            controller reject-login, unknown-ap or clear.

    Returns:
        What happened and the fault now in effect on the device.

    Raises:
        LabError: no lab runs, the action is unknown or does not apply to the device,
            or the lab could not do it.
        NotFoundError: the lab has no such device.
    """
    if action not in _ACTIONS:
        raise LabError(f"unknown fault {action!r}; use one of {', '.join(DEVICE_ACTIONS)}")
    with _running_lab(lab_dir) as journal:
        device = _find_device(journal, name)
        message = _ACTIONS[action](journal, device)
        return FaultOutcome(device.name, action, message, journal.state.faults.get(device.name))


def school_fault(lab_dir: Path, school_id: str, action: str) -> FaultOutcome:
    """Cut a lab school's uplink, or restore it.

    `cut` sets the machine's end of every veth of the school's devices down: none of
    them answers, from anywhere; `restore` sets them up again (devices stopped on
    their own stay stopped).

    Raises:
        LabError: no lab runs or the action is unknown.
        NotFoundError: the lab has no such school.
    """
    if action not in SCHOOL_ACTIONS:
        raise LabError(f"unknown school fault {action!r}; use one of {', '.join(SCHOOL_ACTIONS)}")
    with _running_lab(lab_dir) as journal:
        devices = [d for d in journal.state.devices if d.school_id == school_id]
        if not devices:
            schools = ", ".join(journal.state.spec.school_ids)
            raise NotFoundError(f"no lab school {school_id!r}: the lab's schools are {schools}")
        node = school_nodes(journal.state.spec.school_ids, journal.state.spec.nodes)
        netns.set_links([d.veth_host for d in devices if d.has_netns],
                        up=action == "restore",
                        namespace=f"{NODE_NETNS_PREFIX}{node[school_id]}" if node else "")
        target = school_target(school_id)
        _set_fault(journal, target, CUT if action == "cut" else None)
        if action == "cut":
            message = f"school {school_id} cut off: none of its {len(devices)} devices answers"
        else:
            message = f"school {school_id} restored: its {len(devices)} devices are reachable"
        return FaultOutcome(target, action, message, journal.state.faults.get(target))


def active_faults(lab_dir: Path) -> dict[str, str]:
    """The faults in effect, by device name or `school <id>` (empty without a lab).

    Raises:
        LabError: the state file is damaged.
    """
    state = load_state(lab_dir)
    return dict(state.faults) if state else {}


def fault_of(faults: dict[str, str], device: LabDevice) -> str | None:
    """The fault a device suffers: its own, or its school's cut."""
    return faults.get(device.name) or faults.get(school_target(device.school_id))

