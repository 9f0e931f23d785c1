"""The pysnmp backend's failure kinds, decided by pysnmp's own error classes (pure)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import UdpTransportTarget
from pysnmp.proto import errind
from pysnmp.proto.api import v2c

from provisioner.results import FailureKind
from provisioner.snmp.pysnmp_backend import (
    _checked,
    _SnmpFailure,
    exception_kind,
    indication_kind,
)

SYS_NAME = "1.3.6.1.2.1.1.5.0"


@pytest.mark.parametrize(("indication", "kind"), [
    # the objects pysnmp 7.1 itself hands out as errorIndication
    (errind.requestTimedOut, FailureKind.TIMEOUT),
    (errind.wrongDigest, FailureKind.AUTH),
    (errind.unknownUserName, FailureKind.AUTH),
    (errind.unsupportedSecurityLevel, FailureKind.AUTH),
    (errind.decryptionError, FailureKind.AUTH),
    (errind.notInTimeWindow, FailureKind.PROTOCOL),
    (errind.unknownEngineID, FailureKind.PROTOCOL),
    (errind.authenticationFailure, FailureKind.PROTOCOL),
    (errind.parseError, FailureKind.PROTOCOL),
    (errind.ReportPduReceived("1.3.6.1.6.3.15.1.1.9.0"), FailureKind.PROTOCOL),
])
def test_an_error_indication_gives_the_kind_of_its_class(
        indication: errind.ErrorIndication, kind: FailureKind) -> None:
    with pytest.raises(_SnmpFailure) as caught:
        _checked((indication, 0, 0, []), [SYS_NAME])
    assert caught.value.kind is kind
    assert str(caught.value) == str(indication)


def test_only_the_usm_reports_of_foreign_credentials_are_auth() -> None:
    # The same four Reports the fast backend takes as rejected credentials.
    classes = [c for c in vars(errind).values()
               if isinstance(c, type) and issubclass(c, errind.ErrorIndication)]
    auth = {c for c in classes if indication_kind(c()) is FailureKind.AUTH}
    assert auth == {errind.WrongDigest, errind.UnknownUserName,
                    errind.UnsupportedSecurityLevel, errind.DecryptionError}
    timeout = {c for c in classes if indication_kind(c()) is FailureKind.TIMEOUT}
    assert timeout == {errind.RequestTimedOut}


def test_an_error_status_is_protocol_whatever_its_name() -> None:
    pdu = v2c.GetResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_varbinds(pdu, [(v2c.ObjectIdentifier(SYS_NAME), v2c.null)])
    v2c.apiPDU.set_error_status(pdu, 16)  # authorizationError (RFC 3416 section 3)
    v2c.apiPDU.set_error_index(pdu, 1)
    status = v2c.apiPDU.get_error_status(pdu)
    with pytest.raises(_SnmpFailure) as caught:
        _checked((None, status, v2c.apiPDU.get_error_index(pdu), []), [SYS_NAME])
    assert caught.value.kind is FailureKind.PROTOCOL
    assert str(caught.value) == f"the agent answered authorizationError at {SYS_NAME}"


class _NoNames(asyncio.SelectorEventLoop):
    """An event loop whose name lookups fail as a resolver's does for an unknown name
    (no query leaves the machine)."""

    async def getaddrinfo(self, *args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def test_a_name_that_does_not_resolve_is_unreachable() -> None:
    loop = _NoNames()
    try:
        with pytest.raises(PySnmpError) as caught:
            loop.run_until_complete(UdpTransportTarget.create(("no-such-host.invalid", 161)))
    finally:
        loop.close()
    assert exception_kind(caught.value) is FailureKind.UNREACHABLE


@pytest.mark.parametrize(("exc", "kind"), [
    (ConnectionRefusedError(111, "Connection refused"), FailureKind.UNREACHABLE),
    (PySnmpError("Transport is not compatible with dispatcher"), FailureKind.PROTOCOL),
    (ValueError("cannot resolve this, unreachable, timed out"), FailureKind.PROTOCOL),
])
def test_other_exceptions_give_the_kind_of_their_type(exc: Exception,
                                                      kind: FailureKind) -> None:
    assert exception_kind(exc) is kind
