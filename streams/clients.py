"""The small clients people run by hand: `sentinel produce`, `sentinel tail`, `sentinel customer`."""

from __future__ import annotations

import asyncio
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas import codec
from schemas.errors import SentinelError
from streams.kafka import aiokafka_options
from streams.settings import Settings

SEVERITY_MARK = {"critical": "!!", "warning": " !"}


def message_key(line: bytes) -> bytes | None:
    """The customer id of a touchpoint line (or of a batch's first element), as the message key."""
    try:
        value = codec.loads(line)
    except codec.JSONDecodeError:
        return None
    if isinstance(value, list) and value:
        value = value[0]
    subject = value.get("subject") if isinstance(value, dict) else None
    return subject.encode() if isinstance(subject, str) else None


async def produce_lines(
    settings: Settings,
    lines: Iterable[bytes],
    *,
    topic: str | None = None,
    on_sent: Callable[[int], None] | None = None,
) -> int:
    """Publish each non-empty line as one message keyed by customer; the worker dead-letters bad ones.
    `on_sent` hears how many messages the broker has acknowledged so far (for progress)."""
    producer = AIOKafkaProducer(linger_ms=5, max_batch_size=1024 * 1024, **aiokafka_options(settings))
    await producer.start()
    sent = 0
    try:
        pending = []
        for line in lines:
            value = line.rstrip(b"\r\n")
            if not value.strip():
                continue
            pending.append(
                await producer.send(topic or settings.touchpoints_topic, value, key=message_key(value))
            )
            sent += 1
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending.clear()
                if on_sent is not None:
                    on_sent(sent)
        await asyncio.gather(*pending)
        if on_sent is not None:
            on_sent(sent)
    finally:
        await producer.stop()
    return sent


def fetch_customer(worker_url: str, subject: str) -> str:
    """A customer's view from any worker (it asks the owner), as indented JSON."""
    url = f"{worker_url.rstrip('/')}/customers/{urllib.parse.quote(subject, safe='')}"
    try:
        with urllib.request.urlopen(url, timeout=15) as answer:  # noqa: S310 (the operator's worker URL)
            body = answer.read()
    except urllib.error.HTTPError as error:
        reason = codec.loads(error.read() or b"{}").get("error", error.reason)
        raise SentinelError(f"{worker_url} answered {error.code}: {reason}") from None
    except OSError as error:
        raise SentinelError(f"no worker answers at {worker_url} ({error})") from None
    return codec.dumps_indented(codec.loads(body)).decode()


def describe_alert(value: bytes) -> str:
    """One readable line per alert event."""
    alert = codec.loads(value)
    data = alert.get("data", {})
    status = "FIRED   " if alert.get("type") == "alert.fired" else "RESOLVED"
    severity = data.get("severity", "?")
    suffix = f" ({data['resolution']})" if data.get("resolution") else ""
    return (
        f"{alert.get('time', '?')} {status} {SEVERITY_MARK.get(severity, '  ')} {severity:<8} "
        f"{data.get('pattern', '?'):<26} {alert.get('subject', '?'):<14} {data.get('phase', '?'):<12} "
        f"{data.get('summary', '')}{suffix}"
    )


async def tail_alerts(
    settings: Settings,
    *,
    from_beginning: bool,
    limit: int | None,
    idle_timeout: float | None,
    as_json: bool,
    out: TextIO = sys.stdout,
    on_alert: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Follow the alert topic; stop after `limit` alerts or `idle_timeout` seconds without one."""
    consumer = AIOKafkaConsumer(
        settings.alerts_topic,
        group_id=None,
        auto_offset_reset="earliest" if from_beginning else "latest",
        **aiokafka_options(settings),
    )
    await consumer.start()
    seen = 0
    loop = asyncio.get_running_loop()
    last = loop.time()
    try:
        while limit is None or seen < limit:
            polled = await consumer.getmany(timeout_ms=500)
            if not polled:
                if idle_timeout is not None and loop.time() - last > idle_timeout:
                    break
                continue
            last = loop.time()
            for records in polled.values():
                for record in records:
                    value = record.value or b""
                    out.write((value.decode() if as_json else describe_alert(value)) + "\n")
                    if on_alert is not None:
                        on_alert(codec.loads(value))
                    seen += 1
            out.flush()
    finally:
        await consumer.stop()
    return seen
