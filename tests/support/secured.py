"""Embedded brokers behind real TLS and SASL front-ends, each advertising its front-end's port.

A Kafka client learns where to connect from the broker's Metadata answers, so
every broker here listens on a private port and advertises the port of the
front-end before it: after the first connection, every one goes through the
front-end too, and a client that skipped the security could not reach it.

    SASL_SSL:        client -> stunnel (TLS, CA) -> SASL front -> broker
    SASL_PLAINTEXT:  client -> SASL front -> broker
    SSL with a client certificate:  client -> stunnel (requires one from the CA) -> broker
    wrong host:      stunnel with a certificate for another host name
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from streams.broker import EmbeddedBroker, free_port
from streams.settings import Settings
from tests.support.sasl_front import SaslFront
from tests.support.tls import LOOPBACK, Certificates, Stunnel, TlsService

USER = "touchpoint-sentinel"
PASSWORD = "Wr0ng-Horse-Battery-7f3a"
"""Distinctive, so a test can look for it in logs, messages and metrics."""


@dataclass
class SecuredCluster:
    directory: Path
    certificates: Certificates | None = None
    sasl_ssl_port: int = 0
    sasl_plaintext_port: int = 0
    rfc_scram_port: int = 0
    """SASL front-end that ends a failed SCRAM exchange with `e=...` instead of an error code."""
    mutual_tls_port: int = 0
    wrong_host_port: int = 0

    def __post_init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._fronts: dict[str, SaslFront] = {}

    @property
    def front_behind_tls(self) -> SaslFront:
        """The SASL front-end of the SASL_SSL chain (its `authenticated` lists who logged in)."""
        return self._fronts["behind-tls"]

    @property
    def front_plaintext(self) -> SaslFront:
        """The SASL front-end of the SASL_PLAINTEXT chain."""
        return self._fronts["plaintext"]

    def start(self) -> Self:
        stack = self._stack
        try:
            certificates = self.certificates = Certificates.create(self.directory / "tls")
            users = {USER: PASSWORD}
            tls_sasl_broker, plaintext_broker, mutual_broker = free_port(), free_port(), free_port()
            behind_tls = self._fronts["behind-tls"] = stack.enter_context(SaslFront(tls_sasl_broker, users))
            plaintext = self._fronts["plaintext"] = stack.enter_context(SaslFront(plaintext_broker, users))
            self.rfc_scram_port = stack.enter_context(
                SaslFront(plaintext_broker, users, scram_errors_in_final=True)
            ).port
            self.sasl_plaintext_port = plaintext.port
            self.sasl_ssl_port, self.mutual_tls_port, self.wrong_host_port = (
                free_port(),
                free_port(),
                free_port(),
            )
            services = [
                TlsService("sasl-ssl", self.sasl_ssl_port, behind_tls.port, certificates.server),
                TlsService(
                    "mutual-tls", self.mutual_tls_port, mutual_broker, certificates.server, certificates.ca
                ),
                TlsService("wrong-host", self.wrong_host_port, mutual_broker, certificates.wrong_host),
            ]
            stack.enter_context(Stunnel(services, self.directory))
            for port, advertised in [
                (tls_sasl_broker, self.sasl_ssl_port),
                (plaintext_broker, self.sasl_plaintext_port),
                (mutual_broker, self.mutual_tls_port),
            ]:
                stack.enter_context(EmbeddedBroker(port, advertised_port=advertised))
        except BaseException:
            stack.close()
            raise
        return self

    def stop(self) -> None:
        self._stack.close()

    @property
    def tls(self) -> Certificates:
        assert self.certificates is not None
        return self.certificates

    def sasl_ssl(self, mechanism: str = "SCRAM-SHA-512", password: str = PASSWORD) -> Settings:
        return Settings(
            bootstrap_servers=f"{LOOPBACK}:{self.sasl_ssl_port}",
            security_protocol="SASL_SSL",
            sasl_mechanism=mechanism,
            sasl_username=USER,
            sasl_password=password,
            ssl_cafile=str(self.tls.ca),
        )

    def sasl_plain_text(self, mechanism: str, port: int | None = None) -> Settings:
        return Settings(
            bootstrap_servers=f"{LOOPBACK}:{port or self.sasl_plaintext_port}",
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism=mechanism,
            sasl_username=USER,
            sasl_password=PASSWORD,
        )

    def mutual_tls(self, *, with_client_certificate: bool = True) -> Settings:
        client = self.tls.client
        return Settings(
            bootstrap_servers=f"{LOOPBACK}:{self.mutual_tls_port}",
            security_protocol="SSL",
            ssl_cafile=str(self.tls.ca),
            ssl_certfile=str(client.cert) if with_client_certificate else "",
            ssl_keyfile=str(client.key) if with_client_certificate else "",
        )

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
