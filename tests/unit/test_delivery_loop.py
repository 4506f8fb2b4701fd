"""The pieces of the delivery loop that need no broker: retry waits and dead letters."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import ConsumerRecord

from streams.delivery.loop import ERROR_HEADER_MAX_BYTES, Abandoned, Retry, dead_letter


def test_waits_double_up_to_the_longest_with_jitter_below_each_step() -> None:
    retry = Retry("posting", asyncio.Event(), first=1.0, longest=30.0)
    for attempt, step in enumerate((1, 2, 4, 8, 16, 30, 30), start=1):
        retry.attempts = attempt
        delays = [retry.delay() for _ in range(200)]
        assert all(step / 2 <= delay <= step for delay in delays), (attempt, min(delays), max(delays))
        assert max(delays) - min(delays) > step / 10, "jitter, so that deliverers do not retry in step"


async def test_a_stop_ends_the_wait_at_once_and_abandons_the_round() -> None:
    stopping = asyncio.Event()
    counted: list[int] = []
    retry = Retry("posting", stopping, first=60.0, longest=60.0, on_retry=lambda: counted.append(1))
    asyncio.get_running_loop().call_later(0.1, stopping.set)
    started = time.monotonic()
    with pytest.raises(Abandoned, match="posting: stopping \\(HTTP 503\\)"):
        await retry.wait("HTTP 503")
    assert time.monotonic() - started < 5
    assert counted == [1]
    with pytest.raises(Abandoned):
        await retry.wait("HTTP 503")
    assert counted == [1], "no new try once stopping"


def test_a_dead_letter_keeps_the_alert_and_says_why_and_where_from() -> None:
    record = ConsumerRecord("alerts", 3, 41, 0, 0, b"C-7", b'{"id":"e"}', None, 3, 10, ())
    letter = dead_letter("alerts-dead-letter", record, "undeliverable", "x" * 5000, "webhook", 8)
    assert (letter.topic, letter.key, letter.value, letter.partition) == (
        "alerts-dead-letter",
        b"C-7",
        b'{"id":"e"}',
        3,
    )
    headers = dict(letter.headers)
    assert headers["sentinel-reason"] == b"undeliverable"
    assert headers["sentinel-error"] == b"x" * ERROR_HEADER_MAX_BYTES
    assert headers["sentinel-attempts"] == b"8"
    assert headers["sentinel-target"] == b"webhook"
    assert (headers["sentinel-source-topic"], headers["sentinel-source-partition"]) == (b"alerts", b"3")
    assert headers["sentinel-source-offset"] == b"41"
