"""Kafka connection options from the settings, for Faust and for plain aiokafka clients."""

from __future__ import annotations

import ssl
from typing import Any

import faust
from aiokafka import AIOKafkaProducer
from aiokafka.helpers import create_ssl_context

from streams.settings import Settings


def bootstrap_list(settings: Settings) -> list[str]:
    return [server.strip() for server in settings.bootstrap_servers.split(",") if server.strip()]


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    return create_ssl_context(
        cafile=settings.ssl_cafile or None,
        certfile=settings.ssl_certfile or None,
        keyfile=settings.ssl_keyfile or None,
    )


def aiokafka_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments shared by every AIOKafkaConsumer/Producer/AdminClient we create."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap_list(settings),
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = _ssl_context(settings)
    if settings.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.sasl_password
    return options


def faust_credentials(settings: Settings) -> faust.types.auth.CredentialsT | None:
    """Faust's broker_credentials for the configured security protocol (None for PLAINTEXT)."""
    protocol = settings.security_protocol
    if protocol == "SSL":
        return faust.SSLCredentials(_ssl_context(settings))
    if protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password,
            mechanism=settings.sasl_mechanism,
            ssl_context=_ssl_context(settings) if protocol == "SASL_SSL" else None,
        )
    return None


class LazyProducer:
    """One aiokafka producer for a worker's agent, started on first use inside the running loop."""

    def __init__(self, settings: Settings) -> None:
        self._options = aiokafka_options(settings)
        self._producer: AIOKafkaProducer | None = None

    async def get(self) -> AIOKafkaProducer:
        if self._producer is None:
            # No linger: every batch waits for its writes, so lingering would add to each batch.
            producer = AIOKafkaProducer(linger_ms=0, max_batch_size=1024 * 1024, **self._options)
            await producer.start()
            self._producer = producer
        return self._producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
