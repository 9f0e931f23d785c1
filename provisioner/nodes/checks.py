"""Preflight and verification of a school's devices, on its execution node.

Only the node reaches the school, so the checks a local run makes from the controller
before and after the play (host keys, SNMP, read-back of the switches' and servers'
configuration) run on the node, with the same code; the results come back as data
and the controller records them as for a local run. They change nothing, so a job
repeated after a lost connection is harmless (acknowledged after it ran).
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from provisioner.models import Device, Role
from provisioner.nodes import broker
from provisioner.nodes.config import BrokerConfig
from provisioner.nodes.topology import ReplyKind
from provisioner.provision import preflight as pf
from provisioner.provision.verify import verify_devices
from provisioner.results import AggregatedResult, DeviceResult, FailureKind

CHECK_TASK = "provisioner.check"
PREFLIGHT, VERIFY = "preflight", "verify"
# Checks wait on SSH and SNMP timeouts: give a node this long for a school's answers.
_CHECK_WAIT_S = 180.0


def encode_device(device: Device) -> dict[str, Any]:
    """A device as JSON-ready data (its inventory vars name secrets by path only)."""
    return {**dataclasses.asdict(device), "role": device.role.value}


def decode_device(raw: Mapping[str, Any]) -> Device:
    """A device from `encode_device`'s data."""
    return Device(**{**raw, "role": Role(raw["role"])})


def _encode(result: DeviceResult[Any]) -> dict[str, Any]:
    data = result.data
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        data = dataclasses.asdict(data)
    return {"device": result.device, "data": data, "message": result.message,
            "failure": result.failure.value if result.failure else None,
            "elapsed_ms": result.elapsed_ms}


def _decode(kind: str, raw: Mapping[str, Any]) -> DeviceResult[Any]:
    data = raw.get("data")
    if kind == PREFLIGHT and isinstance(data, dict):
        data = pf.HostCheck(str(data.get("address", "")), str(data.get("fingerprint", "")),
                            tuple(str(w) for w in data.get("warnings") or ()))
    elif kind == VERIFY:
        data = [str(x) for x in data] if isinstance(data, list) else None
    failure = FailureKind(raw["failure"]) if raw.get("failure") else None
    return DeviceResult(str(raw["device"]), data, failure, str(raw.get("message", "")),
                        float(raw.get("elapsed_ms") or 0.0))


def run_checks(kind: str, devices: Sequence[Device]) -> list[DeviceResult[Any]]:
    """Run preflight or verification here (on the node), as a local run would."""
    from provisioner.snmp import make_backend

    known_hosts = pf.school_known_hosts(devices)
    backend = make_backend(None)
    try:
        done = (pf.run_preflight(devices, backend, known_hosts=known_hosts) if kind == PREFLIGHT
                else verify_devices(devices, backend, known_hosts))
    finally:
        backend.close()
    return list(done)


def check_handler(config: BrokerConfig) -> Callable[[dict[str, Any]], None]:
    """The node's handler of check jobs."""
    def handle(payload: dict[str, Any]) -> None:
        job = str(payload["job"])
        writer = broker.ReplyWriter(config, config.user, job)
        try:
            if time.time() > float(payload["not_after"]):
                writer.publish({"job": job, "kind": ReplyKind.REFUSED, "reason": "expired",
                                "detail": f"check {job} came after its deadline"}, 10)
                return
            results = run_checks(str(payload["check"]),
                                 [decode_device(d) for d in payload["devices"]])
            writer.publish({"job": job, "kind": ReplyKind.RESULTS,
                            "results": [_encode(r) for r in results]}, config.lease_s)
        finally:
            writer.close()

    return handle


def check_on_node(config: BrokerConfig, node: str, kind: str,
                  devices: Sequence[Device]) -> AggregatedResult[Any]:
    """Preflight or verify `devices` on `node`; a device without an answer in time is
    FAILED with a message naming the node.

    Raises:
        BrokerError: the job could not be sent.
    """
    job = f"{kind}-{devices[0].school_id}-{uuid.uuid4().hex[:12]}" if devices else kind
    outcome: AggregatedResult[Any] = AggregatedResult(kind)
    if not devices:
        return outcome
    broker.declare_node(config, node, job)
    broker.send_job(config, node, CHECK_TASK, job, {
        "job": job, "check": kind, "not_after": time.time() + _CHECK_WAIT_S,
        "devices": [encode_device(d) for d in devices]})
    reader = broker.ReplyReader(config, node, job)
    end = time.monotonic() + _CHECK_WAIT_S
    try:
        while len(outcome) < len(devices) and time.monotonic() < end:
            reply = reader.get(timeout=1.0)
            for raw in (reply or {}).get("results") or []:
                if raw.get("device") not in outcome.results:
                    outcome.add(_decode(kind, raw))
    finally:
        reader.close()
        broker.delete_replies(config, node, job)
    for device in devices:
        if device.name not in outcome.results:
            outcome.add(DeviceResult(device.name, None, FailureKind.FAILED,
                                     f"{device.name}: execution node {node} gave no {kind} "
                                     f"answer in {_CHECK_WAIT_S:.0f} s; check the node"))
    return outcome
