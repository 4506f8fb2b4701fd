"""Before any client starts: one connection made the way every client will, and one line on what is wrong.

aiokafka logs why a bootstrap connection failed and then raises only "Unable to
bootstrap", and a broker that ends a SCRAM exchange with an `e=` message makes it
raise a bare KeyError. So each command first opens a connection itself with the
same options (TCP, TLS, ApiVersions, SASL, then Metadata) and maps what went
wrong into the project's errors: unreachable, authentication failed, TLS failed,
or the port speaking another security protocol than configured.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from aiokafka import errors as kafka_errors
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaError
from aiokafka.protocol.metadata import MetadataRequest

from schemas.errors import (
    AuthenticationFailed,
    BrokerError,
    BrokerUnreachable,
    SecurityMismatch,
    SentinelError,
    TlsError,
)
from streams.broker import answers_kafka
from streams.kafka import Backoff, aiokafka_options, bootstrap_list, ssl_context
from streams.settings import Settings

_FAILURES: Final = (kafka_errors.KafkaError, OSError, EOFError, KeyError, ValueError)
"""What a first connection can raise: KeyError and ValueError come from aiokafka's SCRAM client."""
_HOSTNAME_MISMATCH: Final = (62, 64)
"""X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH."""
_TLS_PORTS: Final = ("SSL", "SASL_SSL")
_PROBE_SECONDS: Final = 3.0
"""How long a second look at a port (does it speak TLS, or plaintext Kafka?) may take."""


async def check_connection(settings: Settings, *, request_timeout_ms: int = 10_000) -> None:
    """Return once one bootstrap server accepts a connection as configured; else raise why not.

    With several servers failing, the most telling reason wins: a wrong
    password or certificate says more than an unreachable host.
    """
    problems: list[SentinelError] = []
    for server in bootstrap_list(settings):
        host, port = _split(server)
        try:
            await _connect(host, port, settings, request_timeout_ms)
        except _FAILURES as error:
            problems.append(await explain(error, settings, host, port))
        else:
            return
    if not problems:
        raise BrokerUnreachable("no bootstrap server to connect to")
    raise min(problems, key=lambda problem: isinstance(problem, BrokerUnreachable))


def _split(server: str) -> tuple[str, int]:
    host, _, port = server.rpartition(":")
    if not host or not port.isdigit():
        return server, 9092
    return host.strip("[]"), int(port)


async def _connect(host: str, port: int, settings: Settings, request_timeout_ms: int) -> None:
    options = aiokafka_options(settings)
    del options["bootstrap_servers"]
    connection = await create_conn(host, port, request_timeout_ms=request_timeout_ms, **options)
    try:
        await connection.send(MetadataRequest([]))
    finally:
        connection.close()


async def explain(error: BaseException, settings: Settings, host: str, port: int) -> SentinelError:
    """The project's error for a failed first connection to `host:port`, in words an operator can act on."""
    cause = error.__cause__ if isinstance(error, kafka_errors.KafkaConnectionError) else error
    return (
        _tls_problem(cause, settings, host, port)
        or _sasl_problem(error, settings, host, port)
        or await _transport_problem(cause or error, settings, host, port)
    )


def _tls_problem(cause: BaseException | None, settings: Settings, host: str, port: int) -> TlsError | None:
    where = f"{host}:{port}"
    if isinstance(cause, ssl.SSLCertVerificationError):
        if cause.verify_code in _HOSTNAME_MISMATCH:
            return TlsError(
                f"TLS verification failed: the certificate of {where} is not valid for {host} "
                f"({cause.verify_message})"
            )
        trust = f"the CA file {settings.ssl_cafile}" if settings.ssl_cafile else "the system's CAs"
        return TlsError(
            f"TLS verification failed: the certificate of {where} is not trusted by {trust} "
            f"({cause.verify_message})"
        )
    if isinstance(cause, ssl.SSLError) and "ALERT" in str(cause.reason):
        if "CERTIFICATE_REQUIRED" in str(cause.reason):
            return TlsError(f"TLS: {where} requires a client certificate (set ssl_certfile and ssl_keyfile)")
        return TlsError(
            f"TLS: {where} refused the client certificate {settings.ssl_certfile or '(none)'} "
            f"({str(cause.reason).lower().replace('_', ' ')})"
        )
    return None


def _sasl_problem(
    error: BaseException, settings: Settings, host: str, port: int
) -> AuthenticationFailed | None:
    user, mechanism = settings.sasl_username, settings.sasl_mechanism
    if isinstance(error, kafka_errors.UnsupportedSaslMechanismError):
        return AuthenticationFailed(f"authentication failed: {_hide(str(error), settings)}")
    if isinstance(error, kafka_errors.SaslAuthenticationFailed | kafka_errors.IllegalSaslStateError):
        said = error.args[0] if error.args and isinstance(error.args[0], str) else error.description
        return AuthenticationFailed(
            f"authentication failed: {host}:{port} refused user {user!r} with {mechanism} "
            f"({_hide(said, settings)})"
        )
    if isinstance(error, KeyError | ValueError) and settings.security_protocol.startswith("SASL"):
        return AuthenticationFailed(
            f"authentication failed: {host}:{port} did not accept user {user!r} with {mechanism} "
            "(the SCRAM exchange ended without the server's proof)"
        )
    return None


async def _transport_problem(cause: BaseException, settings: Settings, host: str, port: int) -> SentinelError:
    where, protocol = f"{host}:{port}", settings.security_protocol
    closed = isinstance(cause, ConnectionError | EOFError | kafka_errors.KafkaConnectionError)
    if isinstance(cause, socket.gaierror):
        return BrokerUnreachable(f"broker unreachable: cannot resolve {host} ({cause.strerror})")
    if isinstance(cause, ConnectionRefusedError):
        return BrokerUnreachable(f"broker unreachable: {where} refused the connection")
    if protocol in _TLS_PORTS and closed and (alert := await _tls_alert(settings, host, port)):
        return alert
    if (
        protocol in _TLS_PORTS
        and (closed or isinstance(cause, TimeoutError | ssl.SSLError))
        and await asyncio.to_thread(answers_kafka, host, port, _PROBE_SECONDS)
    ):
        return SecurityMismatch(
            f"{where} speaks plaintext Kafka, not TLS: set security_protocol to "
            f"{protocol.replace('SSL', 'PLAINTEXT')} (now {protocol})"
        )
    if protocol not in _TLS_PORTS and closed:
        if await _speaks_tls(host, port):
            return SecurityMismatch(
                f"{where} speaks TLS and closed the connection during the handshake: set "
                f"security_protocol to {protocol.replace('PLAINTEXT', 'SSL')} (now {protocol})"
            )
        if protocol == "PLAINTEXT":
            return SecurityMismatch(
                f"{where} closed the connection after the first request: it may require SASL "
                "(security_protocol SASL_PLAINTEXT or SASL_SSL)"
            )
    if isinstance(cause, TimeoutError):
        return BrokerUnreachable(f"broker unreachable: no answer from {where} in time")
    reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(cause)
    return BrokerUnreachable(
        f"broker unreachable: {where} ({_hide(reason or type(cause).__name__, settings)})"
    )


async def _tls_alert(settings: Settings, host: str, port: int) -> TlsError | None:
    """A connection a TLS port closed may hide a TLS alert sent after the handshake (TLS 1.3 judges
    the client certificate then, and the close can overtake the alert): connect again as
    configured and read what the server says."""
    writer = None
    try:
        async with asyncio.timeout(_PROBE_SECONDS):
            reader, writer = await asyncio.open_connection(host, port, ssl=ssl_context(settings))
            await reader.read(1)
    except ssl.SSLError as error:
        return _tls_problem(error, settings, host, port)
    except (OSError, TimeoutError):
        return None
    finally:
        if writer is not None:
            writer.close()
    return None


async def _speaks_tls(host: str, port: int) -> bool:
    """Whether `host:port` completes a TLS handshake (certificate unchecked: only the protocol matters)."""
    probe = ssl.create_default_context()
    probe.check_hostname = False
    probe.verify_mode = ssl.CERT_NONE
    try:
        async with asyncio.timeout(_PROBE_SECONDS):
            _reader, writer = await asyncio.open_connection(host, port, ssl=probe)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


def kafka_failure(error: kafka_errors.KafkaError | OSError, settings: Settings) -> SentinelError:
    """An error from a client that had started: the broker went away or refused a request."""
    reason = _hide(str(error) or type(error).__name__, settings)
    if isinstance(error, OSError) or getattr(error, "retriable", False):
        return BrokerUnreachable(f"lost the broker at {settings.bootstrap_servers}: {reason}")
    return BrokerError(f"the broker refused a request: {reason}")


def _hide(text: str, settings: Settings) -> str:
    """Whatever a broker or library says goes into our messages without the password in it."""
    return text.replace(settings.sasl_password, "***") if settings.sasl_password else text


Declared = TypeVar("Declared")


async def reach_broker(settings: Settings, declare: Callable[[], Awaitable[Declared]]) -> Declared:
    """Connect, then `declare` what the process needs (its topics), and return what that gave.

    A broker that is only unreachable (down, restarting, a topic not there yet) gets
    `broker_wait` to come back, with backoff and one log line per attempt; one that refuses
    us (authentication, TLS, authorization) ends the start at once with its error.
    """
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + settings.broker_wait / 1000
    backoff = Backoff(f"reaching the broker at {settings.bootstrap_servers}")
    while True:
        try:
            await check_connection(settings)
            try:
                declared = await declare()
            except KafkaError as error:
                raise kafka_failure(error, settings) from None
        except SentinelError as error:
            if not error.retriable or loop.time() >= give_up_at:
                raise
            await backoff.wait(error)
        else:
            backoff.succeeded()
            return declared
