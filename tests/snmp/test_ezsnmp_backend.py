"""The ezsnmp backend's failure kinds, decided by ezsnmp's own exception classes (pure).

The messages are those ezsnmp 2.5 raised against net-snmp's snmpd.
"""

from __future__ import annotations

import pytest
from ezsnmp.exceptions import ConnectionError as EzConnectionError
from ezsnmp.exceptions import GenericError, NoSuchNameError, PacketError, ParseError
from ezsnmp.exceptions import TimeoutError as EzTimeoutError

from provisioner.results import FailureKind
from provisioner.snmp.ezsnmp_backend import error_kind

WRONG_DIGEST = "snmpget: Authentication failure (incorrect password, community or key)"


@pytest.mark.parametrize(("exc", "v3", "kind"), [
    (EzTimeoutError("Timeout: No Response from 127.0.0.1:16161.\n"), True,
     FailureKind.TIMEOUT),
    (EzConnectionError("snmpget: Invalid address (no-such-host.invalid:16161) "
                       "(Resource temporarily unavailable)"), False, FailureKind.UNREACHABLE),
    (GenericError(WRONG_DIGEST), True, FailureKind.AUTH),
    (GenericError("snmpget: Unknown user name"), True, FailureKind.AUTH),
    # v2c has no credentials an agent rejects: a bare GenericError there is no AUTH
    (GenericError("snmpget: Failure in sendto (Network is unreachable)"), False,
     FailureKind.PROTOCOL),
    (PacketError("Error in packet.\nReason: authorizationError (access denied to that "
                 "object)\n"), True, FailureKind.PROTOCOL),
    (NoSuchNameError("Error in packet.\nReason: (noSuchName)"), False, FailureKind.PROTOCOL),
    (ParseError("NETSNMP_PARSE_ARGS_ERROR"), True, FailureKind.CONFIG),
])
def test_an_exception_gives_the_kind_of_its_class(exc: GenericError, v3: bool,
                                                  kind: FailureKind) -> None:
    assert error_kind(exc, v3) is kind


def test_the_text_does_not_decide() -> None:
    assert error_kind(EzTimeoutError(WRONG_DIGEST), True) is FailureKind.TIMEOUT
    assert error_kind(PacketError(WRONG_DIGEST), True) is FailureKind.PROTOCOL
    assert error_kind(GenericError("Timeout: No Response"), True) is FailureKind.AUTH
