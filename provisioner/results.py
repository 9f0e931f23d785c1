"""One result shape per device, for every way we talk to devices (SNMP, SSH, Ansible, lab).

Modelled on nornir's `Result` / `AggregatedResult`: a device that fails is data, not an
exception. The caller looks at `failed_devices` and decides (`raise_on_error` when it
cannot go on).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from provisioner.errors import DeviceError, ExitStatus
from provisioner.outcome import FailureKind

T = TypeVar("T")

__all__ = ["AggregatedResult", "DeviceResult", "DevicesFailedError", "FailureKind"]


@dataclass(frozen=True)
class DeviceResult(Generic[T]):
    """What one device gave, or why it gave nothing usable.

    Attributes:
        device: the inventory host name.
        data: the payload (parsed SNMP facts, a play recap, ...); may be partial on failure.
        failure: None when it worked; else why not.
        message: one line for people: what happened and, on failure, what to do.
        elapsed_ms: wall time spent on this device, milliseconds.
    """

    device: str
    data: T | None = None
    failure: FailureKind | None = None
    message: str = ""
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        """The device answered as asked."""
        return self.failure is None

    @property
    def failed(self) -> bool:
        """The device did not answer as asked (skipped devices count as not failed)."""
        return self.failure is not None and self.failure is not FailureKind.SKIPPED

    @classmethod
    def from_error(cls, error: DeviceError, elapsed_ms: float = 0.0) -> DeviceResult[T]:
        """A failed result carrying a library `DeviceError`'s kind and message."""
        return cls(error.host, None, error.kind, str(error), elapsed_ms)


@dataclass
class AggregatedResult(Generic[T]):
    """The results of one operation over many devices, by device name (insertion order)."""

    name: str
    results: dict[str, DeviceResult[T]] = field(default_factory=dict)

    @classmethod
    def of(cls, name: str, results: Iterable[DeviceResult[T]]) -> AggregatedResult[T]:
        """Collect results (a later one for the same device replaces the earlier)."""
        return cls(name, {r.device: r for r in results})

    def add(self, result: DeviceResult[T]) -> None:
        """Record (or replace) one device's result."""
        self.results[result.device] = result

    def __iter__(self) -> Iterator[DeviceResult[T]]:
        return iter(self.results.values())

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, device: str) -> DeviceResult[T]:
        return self.results[device]

    @property
    def failed(self) -> bool:
        """Any device failed."""
        return any(r.failed for r in self.results.values())

    @property
    def failed_devices(self) -> Mapping[str, DeviceResult[T]]:
        """The failed devices' results, by name."""
        return {name: r for name, r in self.results.items() if r.failed}

    def raise_on_error(self) -> None:
        """Raise `DevicesFailedError` naming the failed devices, if any."""
        failed = self.failed_devices
        if failed:
            raise DevicesFailedError(self.name, {n: r.message for n, r in failed.items()})


class DevicesFailedError(DeviceError):
    """One or more devices of an operation failed (raised only by `raise_on_error`)."""

    exit_status = ExitStatus.DEVICES_FAILED

    def __init__(self, operation: str, messages: Mapping[str, str]) -> None:
        self.messages = dict(messages)
        names = ", ".join(sorted(messages)[:5]) + (" ..." if len(messages) > 5 else "")
        super().__init__(operation, f"{len(messages)} device(s) failed: {names}")
