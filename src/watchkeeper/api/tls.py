"""HTTPS for ``wk serve --tls``: a self-signed CA and a server certificate, generated once under
``<data dir>/tls/`` and reused.

Azure SDK clients refuse bearer tokens over plain http (``clients.md``, cross-cutting rule 1), so
"unchanged client" use needs https; trusting ``ca.pem`` (``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE`` or
the client's ``connection_verify``) is enough. The server certificate names ``localhost``,
``127.0.0.1``, ``::1``, this machine's host name and the configured bind address; it is reissued
when a name is missing or it is within 30 days of expiry. Private keys are written owner-only.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TlsFiles", "ensure_certificates"]

_CA_YEARS = 10
_SERVER_DAYS = 397  # the longest lifetime browsers accept for a server certificate
_RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Paths of the CA certificate (to trust), and the server's certificate and key (to serve)."""

    ca_cert: Path
    cert: Path
    key: Path


def ensure_certificates(data_dir: Path, *, host: str = "127.0.0.1") -> TlsFiles:
    """The TLS files under ``data_dir/tls``, created or renewed as needed."""
    folder = data_dir / "tls"
    folder.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server-key.pem")
    ca_key_path = folder / "ca-key.pem"
    if not (files.ca_cert.is_file() and ca_key_path.is_file()):
        _write_ca(files.ca_cert, ca_key_path)
    names = _server_names(host)
    if _needs_server_cert(files.cert, names):
        _write_server(files, ca_key_path, names)
    return files


def _write_ca(cert_path: Path, key_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "watchkeeper local CA"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "watchkeeper")])  # fmt: skip
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=365 * _CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    _write_private(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _write_server(files: TlsFiles, ca_key_path: Path, names: list[x509.GeneralName]) -> None:
    ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "watchkeeper")]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=_SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    _write_private(files.key, key)
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())  # fmt: skip
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)


def _server_names(host: str) -> list[x509.GeneralName]:
    dns = {"localhost", socket.gethostname()}
    ips = {"127.0.0.1", "::1"}
    for name in (host,):
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            dns.add(name)
        else:
            if not address.is_unspecified:
                ips.add(str(address))
    return [x509.DNSName(n) for n in sorted(dns) if n] + [
        x509.IPAddress(ipaddress.ip_address(a)) for a in sorted(ips)
    ]


def _needs_server_cert(path: Path, names: list[x509.GeneralName]) -> bool:
    if not path.is_file():
        return True
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    if cert.not_valid_after_utc - datetime.now(UTC) < _RENEW_BEFORE:
        return True
    present = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return any(name not in present for name in names)
