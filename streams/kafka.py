"""Kafka connection options from the settings: where every client's security comes from.

Every aiokafka client the project creates (ingest, the detection producer,
`sentinel produce` and `tail`, topic creation, end-offset reads) takes its
options from `aiokafka_options`, and Faust's own consumer, producer and topic
creation take `faust_credentials`; both build TLS with `ssl_context`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from schemas.errors import ConfigError
from streams.settings import Settings

log = logging.getLogger(__name__)

Connection = Settings | str
"""Settings, or a bare "host:port,..." list, which means the embedded broker: plaintext, no SASL."""


def bootstrap_list(connection: Connection) -> list[str]:
    servers = connection if isinstance(connection, str) else connection.bootstrap_servers
    return [server.strip() for server in servers.split(",") if server.strip()]


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """Trusts `ssl_cafile` (the system's CAs when empty) and always verifies the broker's host name;
    a file that cannot be loaded stops the start naming its key."""
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=settings.ssl_cafile or None)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"ssl_cafile: cannot load {settings.ssl_cafile} ({_reason(error)})") from None
    if settings.ssl_certfile:
        try:
            context.load_cert_chain(settings.ssl_certfile, settings.ssl_keyfile or None)
        except (OSError, ssl.SSLError) as error:
            files = " with ".join(filter(None, (settings.ssl_certfile, settings.ssl_keyfile)))
            raise ConfigError(f"ssl_certfile/ssl_keyfile: cannot load {files} ({_reason(error)})") from None
    return context


def _reason(error: OSError | ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLError):
        return str(error.reason or error).lower().replace("_", " ")
    return error.strerror or str(error)


class _HideSaslExchange(logging.Filter):
    """aiokafka logs every request and response at debug level, SaslAuthenticate's bytes included,
    and with PLAIN those bytes hold the password: such records are dropped, the rest stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(type(arg).__name__.startswith("SaslAuthenticate") for arg in args)


_SASL_LOG_FILTER = _HideSaslExchange()


def hide_sasl_exchange_from_logs() -> None:
    """Idempotent; done wherever credentials are handed to a client."""
    logger = logging.getLogger("aiokafka.conn")
    if _SASL_LOG_FILTER not in logger.filters:
        logger.addFilter(_SASL_LOG_FILTER)


def aiokafka_options(connection: Connection) -> dict[str, Any]:
    """Keyword arguments for every AIOKafkaConsumer/Producer/AdminClient we create."""
    options: dict[str, Any] = {"bootstrap_servers": bootstrap_list(connection)}
    if isinstance(connection, str):
        return options
    settings = connection
    hide_sasl_exchange_from_logs()
    options["security_protocol"] = settings.security_protocol
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl_context(settings)
    if settings.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.sasl_password
    return options


def faust_credentials(settings: Settings) -> faust.types.auth.CredentialsT | None:
    """Faust's broker_credentials for the configured security protocol (None for PLAINTEXT).

    Faust 0.15 hands them to every aiokafka client it makes (its consumer, its
    producers, and the consumer's client that creates its internal topics).
    """
    protocol = settings.security_protocol
    hide_sasl_exchange_from_logs()
    if protocol == "SSL":
        return faust.SSLCredentials(ssl_context(settings))
    if protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password,
            mechanism=settings.sasl_mechanism,
            ssl_context=ssl_context(settings) if protocol == "SASL_SSL" else None,
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
        """Flush and close; a broker that does not answer gets `STOP_TIMEOUT` seconds, not forever
        (what was not acknowledged is sent again after a restart: its offsets were not committed)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), STOP_TIMEOUT)
            except TimeoutError:
                log.warning("the producer did not stop within %.0f s (broker unreachable?)", STOP_TIMEOUT)


STOP_TIMEOUT = 10.0


@dataclass
class Backoff:
    """Waits between attempts at something only the broker can make succeed, and says so.

    Waits grow from `first` to `longest` seconds (with jitter, so that workers do
    not retry in step), which also bounds the log to one line per attempt.
    """

    what: str
    first: float = 0.5
    longest: float = 30.0
    attempts: int = 0

    async def wait(self, error: BaseException) -> None:
        self.attempts += 1
        delay = min(self.longest, self.first * 2 ** (self.attempts - 1)) * random.uniform(0.75, 1.0)
        log.warning(
            "%s failed (%s); attempt %d, trying again in %.1f s",
            self.what,
            describe_kafka_error(error),
            self.attempts,
            delay,
        )
        await asyncio.sleep(delay)

    def succeeded(self) -> None:
        if self.attempts:
            log.warning("%s succeeded after %d failed attempts", self.what, self.attempts)
        self.attempts = 0


class Outgoing(Protocol):
    """A record to send: what `send_acknowledged` needs of it."""

    @property
    def topic(self) -> str: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> list[tuple[str, bytes]]: ...
    @property
    def partition(self) -> int | None: ...


async def send_acknowledged(
    producer: Callable[[], Awaitable[AIOKafkaProducer]],
    records: Sequence[Outgoing],
    *,
    on_retry: Callable[[], None] = lambda: None,
) -> None:
    """Send records and return once the broker acknowledged every one; after a failure (a broker
    away or stalled), send them all again, with backoff, until it does. Every record sent here is
    safe to repeat: alerts carry their id, state records are the latest value of their key, and
    touchpoints forwarded twice are applied once."""
    if not records:
        return
    backoff = Backoff(f"writing {len(records)} records to {records[0].topic}")
    while True:
        try:
            sender = await producer()
            sent = [
                await sender.send(r.topic, r.value, key=r.key, headers=r.headers, partition=r.partition)
                for r in records
            ]
            await asyncio.gather(*sent)
        except KafkaError as error:
            on_retry()
            await backoff.wait(error)
        else:
            backoff.succeeded()
            return


async def commit_with_backoff(
    consumer: AIOKafkaConsumer, what: str, offsets: dict[TopicPartition, int] | None = None
) -> None:
    """Commit `offsets` (all consumed, by default), trying again while the broker fails. A rebalance
    under way fails the commit for good: the partitions' next owner reads the records since the
    last commit again, which every caller can take (each repeats safely)."""
    backoff = Backoff(f"committing the offsets of {what}")
    while True:
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as error:
            log.warning(
                "offsets of %s not committed, the group is rebalancing (%s)",
                what,
                describe_kafka_error(error),
            )
            return
        except KafkaError as error:
            await backoff.wait(error)
        else:
            backoff.succeeded()
            return


def describe_kafka_error(error: BaseException) -> str:
    """An aiokafka error in a few words: its class, and its message when it has one."""
    text = str(error).strip()
    name = type(error).__name__
    return f"{name}: {text}" if text and text != name else name
