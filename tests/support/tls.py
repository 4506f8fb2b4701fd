"""Certificates made at test time, and stunnel terminating TLS in front of a broker.

The certificates come from the `cryptography` package rather than the openssl
command: the subject alternative names, key usages and validity are plain
Python here, with no config files to write and no command output to parse,
and a few EC keys take milliseconds.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from streams.subprocesses import stop_process

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Identity:
    """A certificate and its private key, as PEM files."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class Certificates:
    """A CA with a server, a client and a wrong-host certificate, and an unrelated CA."""

    ca: Path
    other_ca: Path
    server: Identity
    """For 127.0.0.1 and localhost, signed by `ca`."""
    wrong_host: Identity
    """Signed by `ca`, but for a host name the tests never connect to."""
    client: Identity
    """A client certificate signed by `ca`."""
    stranger: Identity
    """A client certificate signed by `other_ca`."""

    @classmethod
    def create(cls, directory: Path) -> Certificates:
        directory.mkdir(parents=True, exist_ok=True)
        ca_key, ca_cert = _authority("Sentinel Test CA")
        other_key, other_cert = _authority("Unrelated Test CA")
        loopback = [x509.IPAddress(ipaddress.ip_address(LOOPBACK)), x509.DNSName("localhost")]
        return cls(
            ca=_write_cert(directory / "ca.pem", ca_cert),
            other_ca=_write_cert(directory / "other-ca.pem", other_cert),
            server=_issue(directory, "server", ca_key, ca_cert, loopback, ExtendedKeyUsageOID.SERVER_AUTH),
            wrong_host=_issue(
                directory,
                "wrong-host",
                ca_key,
                ca_cert,
                [x509.DNSName("kafka.example.invalid")],
                ExtendedKeyUsageOID.SERVER_AUTH,
            ),
            client=_issue(directory, "client", ca_key, ca_cert, [], ExtendedKeyUsageOID.CLIENT_AUTH),
            stranger=_issue(
                directory, "stranger", other_key, other_cert, [], ExtendedKeyUsageOID.CLIENT_AUTH
            ),
        )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _validity(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return builder.not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(
        now + datetime.timedelta(days=2)
    )


def _authority(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _validity(x509.CertificateBuilder())
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return key, builder.sign(key, hashes.SHA256())


def _issue(
    directory: Path,
    name: str,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    alternative_names: list[x509.GeneralName],
    usage: x509.ObjectIdentifier,
) -> Identity:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _validity(x509.CertificateBuilder())
        .subject_name(_name(f"sentinel-test-{name}"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if alternative_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
    key_path = directory / f"{name}.key"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return Identity(_write_cert(directory / f"{name}.pem", builder.sign(ca_key, hashes.SHA256())), key_path)


def _write_cert(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@dataclass(frozen=True)
class TlsService:
    """One stunnel service: TLS on `accept`, plaintext to `connect`."""

    name: str
    accept: int
    connect: int
    identity: Identity
    client_ca: Path | None = None
    """When set, a client must present a certificate signed by this CA."""

    def section(self) -> str:
        lines = [
            f"[{self.name}]",
            f"accept = {LOOPBACK}:{self.accept}",
            f"connect = {LOOPBACK}:{self.connect}",
            f"cert = {self.identity.cert}",
            f"key = {self.identity.key}",
        ]
        if self.client_ca is not None:
            lines += [f"CAfile = {self.client_ca}", "requireCert = yes", "verifyChain = yes"]
        return "\n".join(lines) + "\n"


class Stunnel:
    """Debian's stunnel4 in the foreground with the given services; stopped with SIGTERM."""

    def __init__(self, services: list[TlsService], directory: Path) -> None:
        self.services = services
        self.directory = directory
        self.log_path = directory / "stunnel.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> Self:
        binary = shutil.which("stunnel4") or shutil.which("stunnel")
        assert binary is not None, "stunnel missing: `make tools` installs Debian's stunnel4"
        config = self.directory / "stunnel.conf"
        config.write_text(
            "foreground = yes\npid =\ndebug = notice\n\n" + "".join(s.section() for s in self.services)
        )
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [binary, str(config)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        waiting = {service.accept for service in self.services}
        while waiting and time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            waiting = {port for port in waiting if not _listening(port)}
            time.sleep(0.02)
        if waiting:
            self.stop()
            raise AssertionError(f"stunnel did not listen on {sorted(waiting)}:\n{self.log_path.read_text()}")
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        stop_process(process, 5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((LOOPBACK, port)) == 0
