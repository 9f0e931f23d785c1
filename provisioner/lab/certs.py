"""The lab's certificate authority: a CA, the broker's server certificate, node certificates.

A provider makes these with its own PKI (docs/scale-out.md shows openssl commands);
the lab makes its own with `cryptography` so TLS between nodes and the broker is real
in every test. Private keys are written 0600 and never leave their folder.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provisioner.secrets import write_secret_file

_VALID_DAYS = 30


@dataclass(frozen=True)
class CertPair:
    """A certificate and its private key, as files (PEM)."""

    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "provisioner lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(pair: CertPair, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    write_secret_file(pair.key, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode())
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_ca(folder: Path) -> CertPair:
    """A new self-signed CA in `folder` (ca.pem, ca.key), valid 30 days."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name("provisioner lab CA"))
            .issuer_name(_name("provisioner lab CA")).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=_VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    pair = CertPair(folder / "ca.pem", folder / "ca.key")
    _write(pair, cert, key)
    return pair


def issue(ca: CertPair, name: str, addresses: tuple[str, ...], folder: Path,
          *, server: bool) -> CertPair:
    """A certificate signed by `ca` for `name` (its file stem too).

    Args:
        ca: the signing CA's files.
        name: the common name; also a DNS name of the certificate.
        addresses: IP addresses the certificate is valid for (a server's listen
            addresses; empty for a client).
        folder: where `<name>.pem` and `<name>.key` are written.
        server: a TLS server certificate (else a client one).
    """
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{ca.key} is not the lab CA's EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    alt = [x509.DNSName(name), *(x509.IPAddress(ipaddress.ip_address(a)) for a in addresses)]
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    cert = (x509.CertificateBuilder().subject_name(_name(name))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=_VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pair = CertPair(folder / f"{name}.pem", folder / f"{name}.key")
    _write(pair, cert, key)
    return pair
