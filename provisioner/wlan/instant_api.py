"""The Aruba Instant virtual controller's REST API: login, show commands, configuration.

Follows the Aruba Instant 8.x REST API Guide (HPE, e.g. the 8.11.1.x edition, 2023):
HTTPS on port 4343 of the virtual controller (or any Instant AP of the cluster), REST
enabled with `allow-rest-api`.

- Login: `POST /rest/login` with `{"user": ..., "passwd": ...}`; the answer
  `{"Status": "Success", "sid": ...}` carries the session id every later call passes
  as the `sid` query parameter (sessions end after 15 minutes without a call).
- Monitoring: `GET /rest/show-cmd?iap_ip_addr=IP&cmd=show%20...&sid=SID`; the
  answer's `Command output` is the CLI text (parsed in `instant_cli`).
- Configuration: `POST /rest/<object>?sid=SID` with `{"<object>": {"action":
  "create"|"delete", ...}}` (e.g. `ssid` with an `ssid-profile` body); the answer's
  `Status`/`Status-code` (0 success, 1 invalid session, 2 invalid API, 3 invalid
  JSON, 4 invalid or 5 missing parameters, 6 configuration module error) says how
  it went.
- Logout: `POST /rest/logout` with `{"sid": SID}`.

Field names were checked against public clients of the same API where the guide's
text was not at hand: aruba-ansible-modules' `arubaiap_config`, PowerArubaIAP and
NetXMS's Instant bridge (login, show-cmd, logout, status codes, `Command output`).

Why REST and not the SSH CLI: the REST API answers in JSON with a status per call,
takes a whole SSID profile in one POST, needs no prompt or pager handling and is what
HPE documents for automation; the CLI would need its own terminal handling for
`configure`/`commit apply` and its errors are free text. The CLI's `show` output is
read anyway (the monitoring API returns it), so nothing is lost.

TLS is always verified, against the certificate pinned for the controller
(`controller_cert_file`: Instant ships a self-signed one, so the office stores it the
way it pins SSH host keys), with the controller's address as the name checked.
Secrets go only into request bodies, never into URLs (which end up in access logs).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import socket
import ssl
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from provisioner.errors import (
    AuthenticationFailedError,
    CommandFailedError,
    ConnectionFailedError,
    DeviceError,
    DeviceTimeoutError,
)
from provisioner.results import FailureKind
from provisioner.secrets import read_secret

DEFAULT_PORT = 4343
DEFAULT_TIMEOUT = 10.0
_MAX_ANSWER = 16 * 1024 * 1024  # a show command of a big cluster is a few hundred KB
STATUS_INVALID_SESSION = 1


class ControllerCertificateError(DeviceError):
    """The controller's TLS certificate is not the pinned one (or none is pinned): as
    with a changed SSH host key, nothing is sent to it until an admin pins anew."""

    kind = FailureKind.HOST_KEY_CHANGED


@dataclass(frozen=True)
class ControllerAccess:
    """How to reach one controller; secrets by file.

    Attributes:
        name: its inventory name (every message names it).
        address: its address (the virtual controller IP).
        user: the management user.
        password_file: the file holding that user's password.
        cert_file: the pinned TLS certificate (PEM) it must present.
        port: the HTTPS port (4343 on Instant).
        timeout: seconds per request.
    """

    name: str
    address: str
    user: str
    password_file: Path
    cert_file: Path
    port: int = DEFAULT_PORT
    timeout: float = DEFAULT_TIMEOUT


def certificate_fingerprint(pem: str) -> str:
    """SHA-256 fingerprint of a PEM certificate, as `SHA256:aa:bb:...`."""
    der = ssl.PEM_cert_to_DER_cert(pem)
    digest = hashlib.sha256(der).hexdigest()
    return "SHA256:" + ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _context(access: ControllerAccess) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=str(access.cert_file))
    except (OSError, ssl.SSLError) as exc:
        raise ControllerCertificateError(
            access.name, f"its pinned certificate {access.cert_file} cannot be read ({exc}); "
            "store the controller's certificate there (controller_cert_file)") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def handshake(access: ControllerAccess) -> str:
    """Connect and finish a TLS handshake against the pinned certificate; no login.

    Returns:
        The fingerprint of the certificate the controller presented (the pinned one).

    Raises:
        ControllerCertificateError, ConnectionFailedError, DeviceTimeoutError.
    """
    context = _context(access)
    where = f"{access.address} port {access.port}"
    try:
        with socket.create_connection((access.address, access.port), timeout=access.timeout) \
                as raw, context.wrap_socket(raw, server_hostname=access.address) as tls:
            der = tls.getpeercert(binary_form=True) or b""
    except ssl.SSLCertVerificationError as exc:
        raise ControllerCertificateError(access.name, (
            f"the TLS certificate at {where} is not the one pinned in {access.cert_file} "
            f"({exc.verify_message}); if the controller's certificate was replaced, check "
            "the new one and pin it")) from exc
    except TimeoutError as exc:
        raise DeviceTimeoutError(access.name, f"{where} did not answer within "
                                 f"{access.timeout:.0f} s; check the controller is up") from exc
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or exc.__class__.__name__
        raise ConnectionFailedError(access.name, f"{where} does not answer ({reason}): check "
                                    "the controller is up and reachable") from exc
    return certificate_fingerprint(ssl.DER_cert_to_PEM_cert(der))


class InstantSession:
    """One REST session with a virtual controller: `with InstantSession(access) as s:`.

    Entering logs in (and fails with `AuthenticationFailedError` when the controller
    refuses the credentials); leaving logs out. One HTTPS connection is kept for the
    session's calls.
    """

    def __init__(self, access: ControllerAccess) -> None:
        self.access = access
        self.sid = ""
        self._connection: http.client.HTTPSConnection | None = None

    def __enter__(self) -> InstantSession:
        try:
            self.login()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _where(self) -> str:
        return f"{self.access.address} port {self.access.port}"

    def _open(self) -> http.client.HTTPSConnection:
        if self._connection is None:
            self._connection = http.client.HTTPSConnection(
                self.access.address, self.access.port, timeout=self.access.timeout,
                context=_context(self.access))
        return self._connection

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """One call; its JSON answer. Transport problems become `DeviceError`s."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        try:
            connection = self._open()
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read(_MAX_ANSWER + 1)
        except ssl.SSLCertVerificationError as exc:
            self._drop()
            raise ControllerCertificateError(self.access.name, (
                f"the TLS certificate at {self._where()} is not the one pinned in "
                f"{self.access.cert_file} ({exc.verify_message}); if the controller's "
                "certificate was replaced, check the new one and pin it")) from exc
        except TimeoutError as exc:
            self._drop()
            raise DeviceTimeoutError(self.access.name, (
                f"{self._where()} did not answer within {self.access.timeout:.0f} s; "
                "check the controller is up")) from exc
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            reason = getattr(exc, "strerror", None) or exc.__class__.__name__
            raise ConnectionFailedError(self.access.name, (
                f"{self._where()} does not answer ({reason}): check the controller is up, "
                "reachable and has its REST API enabled (allow-rest-api)")) from exc
        return self._answer(method, path, response.status, raw)

    def _answer(self, method: str, path: str, status: int, raw: bytes) -> dict[str, Any]:
        what = f"{method} {path.split('?', 1)[0]}"
        if status != 200:
            raise CommandFailedError(self.access.name, f"{what} answered HTTP {status}")
        if len(raw) > _MAX_ANSWER:
            raise CommandFailedError(self.access.name, f"{what} answered more than "
                                     f"{_MAX_ANSWER // 1024 // 1024} MB")
        try:
            answer = json.loads(raw.decode("utf-8", "replace"))
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise CommandFailedError(self.access.name, f"{what} answered something that is "
                                     "not the REST API's JSON object")
        return answer

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def login(self) -> None:
        """Log in with the access's user and password file.

        Raises:
            AuthenticationFailedError: the controller refused the credentials.
            ConfigError: the password file cannot be read.
            DeviceError: it cannot be reached, its certificate is not the pinned one, or
                it answers what the API does not.
        """
        password = read_secret(self.access.password_file, f"{self.access.name} password")
        answer = self._request("POST", "/rest/login",
                               {"user": self.access.user, "passwd": password})
        sid = answer.get("sid")
        if str(answer.get("Status", "")).lower() != "success" or not isinstance(sid, str) \
                or not sid:
            self._drop()
            raise AuthenticationFailedError(self.access.name, (
                f"the controller refused the login of user {self.access.user!r} "
                f"({_message(answer) or 'no reason given'}); check controller_user and "
                "the password in controller_password_file"))
        self.sid = sid

    def _checked(self, what: str, answer: dict[str, Any]) -> dict[str, Any]:
        code = answer.get("Status-code")
        if str(answer.get("Status", "")).lower() == "success" and code in (0, "0", None):
            return answer
        reason = _message(answer) or f"status code {code}"
        if code in (STATUS_INVALID_SESSION, str(STATUS_INVALID_SESSION)):
            reason = f"the session ended ({reason}); run again"
        raise CommandFailedError(self.access.name, f"{what} was refused: {reason}")

    def show(self, command: str) -> str:
        """The CLI text of a `show` command run on the controller itself.

        Raises:
            DeviceError: not reachable, refused, or not the API's answer.
        """
        query = urllib.parse.urlencode(
            {"iap_ip_addr": self.access.address, "cmd": command, "sid": self.sid},
            quote_via=urllib.parse.quote)  # %20 for spaces, as the guide writes them
        answer = self._checked(command, self._request("GET", f"/rest/show-cmd?{query}", None))
        output = answer.get("Command output")
        if not isinstance(output, str):
            raise CommandFailedError(self.access.name, f"{command!r} answered no command output")
        return output

    def configure(self, api: str, body: dict[str, Any]) -> str:
        """Send one Configuration API call; the controller's message.

        Args:
            api: the object, e.g. `ssid` or `auth-server` (the URL's last part).
            body: the JSON body (it may hold secrets: it travels only in the body).

        Raises:
            DeviceError: not reachable, or the controller refused it (its reason named).
        """
        query = urllib.parse.urlencode({"sid": self.sid})
        answer = self._checked(f"{api} configuration",
                               self._request("POST", f"/rest/{api}?{query}", body))
        return _message(answer)

    def close(self) -> None:
        """Log out (best effort: the session times out anyway) and close the connection."""
        if self.sid and self._connection is not None:
            with contextlib.suppress(DeviceError):
                self._request("POST", "/rest/logout", {"sid": self.sid})
        self.sid = ""
        self._drop()


def _message(answer: dict[str, Any]) -> str:
    for key in ("Error message", "Error Message", "Errormessage", "message", "Message"):
        value = answer.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().splitlines()[0][:200]
    return ""
