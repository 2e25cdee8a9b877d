"""TLS to the broker: what every client connects with, and a local certificate
authority for a private broker of `make run`.

An `amqps://` URI makes every connection (services, gateway, operator, outside
systems) TLS: the broker's certificate must chain to the configured CA
(JINWEI_AMQP_CA_FILE; else the system's trusted CAs) and name the URI's host, and
TLS 1.2 is the least accepted. A client certificate (JINWEI_AMQP_CERT_FILE and
_KEY_FILE) is sent where the broker asks for one.

For a private node (`AMQP_URI=amqps://… make run` where nothing answers), `make run`
makes a CA and a server certificate for 127.0.0.1 and localhost under var/tls/
(`LocalAuthority`), configures the node's TLS listener with them, and points the
services at the CA. Production brokers use certificates from the province's own CA
(docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def is_tls(amqp_uri: str) -> bool:
    return urlsplit(amqp_uri).scheme == "amqps"


def client_options(amqp_uri: str, *, ca_file: str | Path | None = None,
                   cert_file: Path | None = None, key_file: Path | None = None) -> dict | None:
    """py-amqp's `ssl` option (kombu and nameko pass it through) for this URI; None
    for plain amqp://. py-amqp checks the host name only when given server_hostname."""
    if not is_tls(amqp_uri):
        return None
    options = {
        "server_hostname": urlsplit(amqp_uri).hostname or "127.0.0.1",
        "cert_reqs": ssl.CERT_REQUIRED,
        "tls_minimum_version": ssl.TLSVersion.TLSv1_2,
    }
    if ca_file:
        options["ca_certs"] = str(ca_file)
    if cert_file:
        options["certfile"] = str(cert_file)
        if key_file:
            options["keyfile"] = str(key_file)
    return options


@dataclass(frozen=True)
class LocalAuthority:
    """A CA and one server certificate in `directory` (var/tls): made once, kept."""

    directory: Path

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key_file(self) -> Path:
        return self.directory / "ca.key"

    @property
    def server_cert_file(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key_file(self) -> Path:
        return self.directory / "server.key"

    def ensure(self) -> LocalAuthority:
        """Make what is missing; a server certificate within 30 days of its end is
        made again."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        if not (self.ca_file.exists() and self.ca_key_file.exists()):
            self._make_ca()
        if not self._server_cert_valid():
            self._make_server_cert()
        return self

    def _server_cert_valid(self) -> bool:
        if not (self.server_cert_file.exists() and self.server_key_file.exists()):
            return False
        cert = x509.load_pem_x509_certificate(self.server_cert_file.read_bytes())
        left = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
        return left > dt.timedelta(days=30)

    def _make_ca(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Jinwei local"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "Jinwei local broker CA")])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder()
                .subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, key_cert_sign=True,
                                             crl_sign=True, encipher_only=False,
                                             decipher_only=False), critical=True)
                .sign(key, hashes.SHA256()))
        _write(self.ca_key_file, _key_pem(key), 0o600)
        _write(self.ca_file, cert.public_bytes(serialization.Encoding.PEM), 0o644)

    def _make_server_cert(self) -> None:
        ca_key = serialization.load_pem_private_key(self.ca_key_file.read_bytes(), None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):  # what _make_ca wrote
            raise TypeError(f"{self.ca_key_file} is not the CA's elliptic-curve key")
        ca = x509.load_pem_x509_certificate(self.ca_file.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                 x509.IPAddress(ipaddress.ip_address("::1"))]
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
                .issuer_name(ca.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=825))
                .add_extension(x509.SubjectAlternativeName(names), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        _write(self.server_key_file, _key_pem(key), 0o600)
        _write(self.server_cert_file, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)
