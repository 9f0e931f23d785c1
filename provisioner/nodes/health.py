"""The nightly health check across execution nodes: nodes poll, the controller judges.

Like LibreNMS's poller groups and Zabbix's proxies, a node only polls its schools'
devices (the same fast poller and profile requests as the controller) and sends the
raw answers back; the controller judges, applies dependencies and stores, as for the
devices it polls itself. The SNMP secrets stay on the nodes: a job names the
inventory variables (paths), the node reads its own files.

Delivery is at-least-once: a poll job is acknowledged after it ran, so a broker restart
or a lost connection re-queues it and the node polls again; results are kept per
device, first one wins, so each device of a run is stored once. A node that does not
answer by the run's deadline leaves its devices `stale` with "node N down", never ok
and never missing.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from provisioner.errors import ConfigError, ProvisionerError
from provisioner.health.targets import PlannedDevice, snmp_target
from provisioner.models import Device, Role
from provisioner.nodes import broker
from provisioner.nodes.config import BrokerConfig
from provisioner.nodes.node import POLL_TASK
from provisioner.nodes.topology import ReplyKind
from provisioner.results import DeviceResult, FailureKind
from provisioner.snmp import IDENTITY_REQUEST, Marker, SnmpData, SnmpTarget

_BATCH = 50
# The controller waits this long past the run's deadline for a node's last results.
_GRACE_S = 10.0


def encode_result(result: DeviceResult[SnmpData]) -> dict[str, Any]:
    """A poll result as JSON-ready data (what travels from a node)."""
    return {"device": result.device, "failure": result.failure.value if result.failure else None,
            "message": result.message, "elapsed_ms": result.elapsed_ms,
            "data": dataclasses.asdict(result.data) if result.data is not None else None}


def decode_result(raw: Mapping[str, Any]) -> DeviceResult[SnmpData]:
    """A poll result from a node's reply; odd fields make it a protocol failure of that
    device only.

    Raises:
        ValueError: the reply names no device (then nothing can be attributed).
    """
    device = raw.get("device")
    if not isinstance(device, str) or not device:
        raise ValueError("a node's result names no device")
    try:
        data = raw.get("data")
        snmp = None if data is None else SnmpData(
            scalars=dict(data["scalars"]), tables={k: dict(v) for k, v in data["tables"].items()},
            markers={k: Marker(v) for k, v in data["markers"].items()},
            truncated={k: int(v) for k, v in data["truncated"].items()})
        failure = FailureKind(raw["failure"]) if raw.get("failure") else None
        return DeviceResult(device, snmp, failure, str(raw.get("message", "")),
                            float(raw.get("elapsed_ms") or 0.0))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return DeviceResult(device, None, FailureKind.PROTOCOL,
                            f"{device}: the node's answer could not be read ({exc})")


def _targets(devices: Sequence[Mapping[str, Any]]) -> tuple[list[SnmpTarget],
                                                          list[DeviceResult[SnmpData]]]:
    targets: list[SnmpTarget] = []
    refused: list[DeviceResult[SnmpData]] = []
    for item in devices:
        device = Device(str(item["school_id"]), str(item["name"]), Role(item["role"]), "",
                        str(item["address"]))
        try:
            targets.append(snmp_target(device, item.get("vars") or {}))
        except ConfigError as exc:  # e.g. the secret file is missing on this node
            refused.append(DeviceResult(device.name, None, FailureKind.CONFIG, str(exc)))
    return targets, refused


def poll_on_node(payload: Mapping[str, Any]) -> list[DeviceResult[SnmpData]]:
    """Poll the job's devices from this node: identity, then each one's profile request."""
    from provisioner.health.collect import ProfileParser
    from provisioner.snmp import make_backend

    devices = list(payload["devices"])
    targets, refused = _targets(devices)
    parser = ProfileParser({str(d["name"]): Role(d["role"]) for d in devices})
    backend = make_backend(None)
    try:
        results = backend.poll(targets, IDENTITY_REQUEST, then=parser.follow_up,
                               timeout=float(payload["timeout_s"]),
                               retries=int(payload["retries"]),
                               concurrency=int(payload["concurrency"]),
                               deadline=float(payload["deadline_s"])) if targets else []
    finally:
        backend.close()
    return [*results, *refused]


def poll_handler(config: BrokerConfig) -> Callable[[dict[str, Any]], None]:
    """The node's handler of poll jobs (acknowledged after it ran: at-least-once)."""
    def handle(payload: dict[str, Any]) -> None:
        job = str(payload["job"])
        writer = broker.ReplyWriter(config, config.user, job)
        try:
            window = float(payload["not_after"]) - time.time()
            if window <= 0:
                writer.publish({"job": job, "kind": ReplyKind.REFUSED, "reason": "expired",
                                "detail": f"poll {job} came after the run's deadline"}, 10)
                return
            writer.publish({"job": job, "kind": ReplyKind.ACCEPTED}, window)
            results = poll_on_node(payload)
            for start in range(0, len(results), _BATCH):
                batch = [encode_result(r) for r in results[start:start + _BATCH]]
                if not writer.publish({"job": job, "kind": ReplyKind.RESULTS, "results": batch},
                                      max(1.0, float(payload["not_after"]) - time.time())):
                    # Unacknowledged, the job comes back when the broker does.
                    raise broker.BrokerError(f"poll {job}: results not delivered in time")
            writer.publish({"job": job, "kind": ReplyKind.DONE, "count": len(results)}, 10)
        finally:
            writer.close()

    return handle


def _snmp_vars(hostvars: Mapping[str, object]) -> dict[str, object]:
    return {k: v for k, v in hostvars.items() if k.startswith("snmp_")
            and isinstance(v, str | int | float)}


class NodePoller:
    """The controller's side: which devices nodes poll, and their results.

    Args:
        config: the controller's broker settings.
        nodes: school id -> the execution node that polls its devices.
    """

    def __init__(self, config: BrokerConfig, nodes: Mapping[str, str]) -> None:
        self.config = config
        self.nodes = dict(nodes)  # school id -> node

    def remote(self, device: Device) -> str | None:
        """The node that polls `device`, or None (the controller does)."""
        return self.nodes.get(device.school_id)

    def poll(self, planned: Sequence[PlannedDevice], run_id: int, *, deadline_s: float,
             timeout_s: float, retries: int, concurrency: int,
             hostvars: Mapping[str, Mapping[str, object]],
             ) -> dict[str, DeviceResult[SnmpData]]:
        """Poll the devices on their nodes, all nodes at once; one result per device.

        `hostvars` (the devices' inventory variables, read once by the caller: Ansible's
        inventory loader is not made for threads) give the SNMP settings sent as paths.
        """
        by_node: dict[str, list[PlannedDevice]] = {}
        for item in planned:
            node = self.remote(item.device)
            if node is not None and not item.problem:
                by_node.setdefault(node, []).append(item)
        settings = {"deadline_s": deadline_s, "timeout_s": timeout_s, "retries": retries,
                    "concurrency": concurrency}
        found: dict[str, DeviceResult[SnmpData]] = {}
        lock = threading.Lock()

        def one(node: str) -> None:
            results = self._poll_node(node, by_node[node], run_id, settings, hostvars)
            with lock:
                found.update(results)

        if by_node:
            with ThreadPoolExecutor(max_workers=len(by_node)) as pool:
                list(pool.map(one, sorted(by_node)))
        return found

    def _payload(self, node: str, items: Sequence[PlannedDevice], job: str,
                 settings: Mapping[str, float],
                 hostvars: Mapping[str, Mapping[str, object]]) -> dict[str, Any]:
        return {"job": job, "node": node, "not_after": time.time() + settings["deadline_s"],
                **settings,
                "devices": [{"name": p.device.name, "school_id": p.device.school_id,
                             "role": p.device.role.value, "address": p.device.address,
                             "vars": _snmp_vars(hostvars.get(p.device.name, {}))}
                            for p in items]}

    def _poll_node(self, node: str, items: Sequence[PlannedDevice], run_id: int,
                   settings: Mapping[str, float], hostvars: Mapping[str, Mapping[str, object]],
                   ) -> dict[str, DeviceResult[SnmpData]]:
        job = f"health-{run_id}-{node}"
        names = {p.device.name for p in items}
        try:
            broker.declare_node(self.config, node, job)
            broker.send_job(self.config, node, POLL_TASK, job,
                            self._payload(node, items, job, settings, hostvars))
        except ProvisionerError as exc:
            return _stale(names, f"node {node} not asked: {exc}")
        got = self._collect(node, job, names, settings["deadline_s"] + _GRACE_S)
        broker.delete_replies(self.config, node, job)
        heard = got.pop("", None)
        why = (f"node {node} down: no answer from it by the deadline" if heard is None
               else f"node {node} answered, but not for this device by the deadline")
        missing = _stale(names - set(got), why)
        return {**got, **missing}

    def _collect(self, node: str, job: str, names: set[str], wait_s: float,
                 ) -> dict[str, Any]:
        """Results per device (first wins) until all came or `wait_s` passed; key ""
        holds a marker once the node said anything."""
        reader = broker.ReplyReader(self.config, node, job)
        got: dict[str, Any] = {}
        end = time.monotonic() + wait_s
        try:
            while names - set(got) and time.monotonic() < end:
                reply = reader.get(timeout=min(1.0, max(0.05, end - time.monotonic())))
                if reply is None:
                    continue
                got.setdefault("", True)
                for raw in reply.get("results") or []:
                    try:
                        result = decode_result(raw)
                    except ValueError:
                        continue
                    if result.device in names:
                        got.setdefault(result.device, result)  # a repeat is dropped
        finally:
            reader.close()
        return got


def _stale(names: set[str], why: str) -> dict[str, DeviceResult[SnmpData]]:
    return {name: DeviceResult(name, None, FailureKind.STALE, why) for name in names}

