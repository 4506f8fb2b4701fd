"""A SASL front-end for the embedded broker: it checks a client's SASL exchange, then passes bytes through.

Tansu cannot create SCRAM users once its authentication is on, so the tests put
this in front of it. It speaks just enough Kafka for that: ApiVersions goes to
the broker; SaslHandshake (v0, v1) and SaslAuthenticate (v0-v2) are answered
here for PLAIN and SCRAM-SHA-256/512 (the SCRAM server side is `scramp`); any
other request before authentication closes the connection, as Kafka does. A
wrong password gets SASL_AUTHENTICATION_FAILED (58) and the connection closes.
After a successful exchange every byte goes both ways unchanged.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from scramp import ScramException, ScramMechanism

LOOPBACK = "127.0.0.1"
API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE = 18, 17, 36
NO_ERROR, UNSUPPORTED_SASL_MECHANISM, SASL_AUTHENTICATION_FAILED = 0, 33, 58
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class Rejected(Exception):
    """The client's credentials are wrong; `message` goes back to it in the SaslAuthenticate error."""


@dataclass(frozen=True)
class Request:
    api_key: int
    api_version: int
    correlation_id: int
    body: bytes


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    (size,) = struct.unpack(">i", await reader.readexactly(4))
    return await reader.readexactly(size)


def uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_uvarint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, offset
        shift += 7


def skip_tagged_fields(data: bytes, offset: int) -> int:
    count, offset = read_uvarint(data, offset)
    for _ in range(count):
        _tag, offset = read_uvarint(data, offset)
        size, offset = read_uvarint(data, offset)
        offset += size
    return offset


def parse_request(data: bytes) -> Request:
    """Header v1, or v2 (with tagged fields) for the flexible SaslAuthenticate v2."""
    api_key, api_version, correlation_id, client_id_length = struct.unpack_from(">hhih", data)
    offset = 10 + max(client_id_length, 0)
    if api_key == SASL_AUTHENTICATE and api_version >= 2:
        offset = skip_tagged_fields(data, offset)
    return Request(api_key, api_version, correlation_id, data[offset:])


def handshake_response(request: Request, error: int) -> bytes:
    names = b"".join(struct.pack(">h", len(name)) + name.encode() for name in MECHANISMS)
    return frame(struct.pack(">ihi", request.correlation_id, error, len(MECHANISMS)) + names)


def authenticate_payload(request: Request) -> bytes:
    if request.api_version >= 2:
        size, offset = read_uvarint(request.body, 0)
        return request.body[offset : offset + size - 1]
    (size,) = struct.unpack_from(">i", request.body)
    return request.body[4 : 4 + size]


def authenticate_response(request: Request, error: int, message: str | None, payload: bytes) -> bytes:
    if request.api_version >= 2:
        text = b"\x00" if message is None else uvarint(len(message.encode()) + 1) + message.encode()
        body = struct.pack(">h", error) + text + uvarint(len(payload) + 1) + payload
        return frame(
            struct.pack(">i", request.correlation_id) + b"\x00" + body + struct.pack(">q", 0) + b"\x00"
        )
    text = struct.pack(">h", -1) if message is None else struct.pack(">h", len(message)) + message.encode()
    body = struct.pack(">h", error) + text + struct.pack(">i", len(payload)) + payload
    if request.api_version == 1:
        body += struct.pack(">q", 0)
    return frame(struct.pack(">i", request.correlation_id) + body)


class Exchange:
    """One client's SASL exchange: feed it the client's tokens, get the server's; raises Rejected."""

    def __init__(
        self, mechanism: str, users: dict[str, str], *, legacy: bool, scram_errors_in_final: bool
    ) -> None:
        self.mechanism = mechanism
        self.users = users
        self.legacy = legacy
        """SaslHandshake v0: the tokens follow as bare frames, without SaslAuthenticate around them."""
        self.user: str | None = None
        self.done = False
        self._scram_errors_in_final = scram_errors_in_final
        self._scram = None
        if mechanism.startswith("SCRAM-"):
            scram = ScramMechanism(mechanism)
            credentials = {user: scram.make_auth_info(password) for user, password in users.items()}
            self._scram = scram.make_server(credentials.get)

    def step(self, token: bytes) -> bytes:
        failed = (
            "Authentication failed during authentication due to invalid credentials "
            f"with SASL mechanism {self.mechanism}"
        )
        if self._scram is None:
            _authorization, user, password = token.decode().split("\0")
            if self.users.get(user) != password:
                raise Rejected(failed)
            self.user, self.done = user, True
            return b""
        try:
            if self._scram.stage is None:
                self._scram.set_client_first(token.decode())
                self.user = scram_user(token.decode())
                return self._scram.get_server_first().encode()
            self._scram.set_client_final(token.decode())
        except ScramException as error:
            if self._scram_errors_in_final and self.user is not None:
                self.user, self.done = None, True  # RFC 5802: the outcome is the server-final e=...
                return self._scram.get_server_final().encode()
            raise Rejected(failed) from error
        self.done = True
        return self._scram.get_server_final().encode()


def scram_user(client_first: str) -> str:
    """The user of a SCRAM client-first message: `n,,n=<user>,r=<nonce>`."""
    return client_first.split(",")[2].removeprefix("n=").replace("=2C", ",").replace("=3D", "=")


class SaslFront:
    """Listens on a free loopback port; forwards authenticated connections to `upstream_port`.

    Runs its own event loop in a thread, so the tests' own loops and processes
    come and go independently. `scram_errors_in_final` answers a failed SCRAM
    proof the RFC 5802 way (server-final `e=invalid-proof`, no Kafka error code),
    as some brokers do.
    """

    def __init__(
        self, upstream_port: int, users: dict[str, str], *, scram_errors_in_final: bool = False
    ) -> None:
        self.upstream_port = upstream_port
        self.users = users
        self.scram_errors_in_final = scram_errors_in_final
        self.port = 0
        self.authenticated: list[tuple[str, str]] = []
        """(user, mechanism) of every connection that authenticated."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sasl-front", daemon=True)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    def start(self) -> Self:
        self._thread.start()
        listening = asyncio.start_server(self._accept, LOOPBACK, 0)
        self._server = asyncio.run_coroutine_threadsafe(listening, self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, Rejected, ValueError, struct.error):
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(LOOPBACK, self.upstream_port)
        try:
            exchange = await self._authenticate(reader, writer, up_reader, up_writer)
            if exchange is None or exchange.user is None:
                return
            self.authenticated.append((exchange.user, exchange.mechanism))
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()

    async def _authenticate(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> Exchange | None:
        """Until the client is authenticated; None when the connection is to be closed."""
        exchange: Exchange | None = None
        while exchange is None or not exchange.done:
            data = await read_frame(reader)
            if exchange is not None and exchange.legacy:
                token = exchange.step(data)  # after SaslHandshake v0: bare tokens, no Kafka header
                writer.write(frame(token))
                await writer.drain()
                continue
            request = parse_request(data)
            if request.api_key == API_VERSIONS and exchange is None:
                up_writer.write(frame(data))
                await up_writer.drain()
                writer.write(frame(await read_frame(up_reader)))
            elif request.api_key == SASL_HANDSHAKE and exchange is None:
                (length,) = struct.unpack_from(">h", request.body)
                mechanism = request.body[2 : 2 + length].decode()
                if mechanism not in MECHANISMS:
                    writer.write(handshake_response(request, UNSUPPORTED_SASL_MECHANISM))
                    await writer.drain()
                    return None
                exchange = Exchange(
                    mechanism,
                    self.users,
                    legacy=request.api_version == 0,
                    scram_errors_in_final=self.scram_errors_in_final,
                )
                writer.write(handshake_response(request, NO_ERROR))
            elif request.api_key == SASL_AUTHENTICATE and exchange is not None:
                try:
                    token = exchange.step(authenticate_payload(request))
                except Rejected as rejected:
                    writer.write(
                        authenticate_response(request, SASL_AUTHENTICATION_FAILED, str(rejected), b"")
                    )
                    await writer.drain()
                    return None
                writer.write(authenticate_response(request, NO_ERROR, None, token))
            else:
                return None
            await writer.drain()
        return exchange

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    finally:
        writer.close()
