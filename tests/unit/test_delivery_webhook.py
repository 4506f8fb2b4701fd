"""Webhook signatures as the README documents them, and which answers are worth another try."""

from __future__ import annotations

import time

import pytest

from streams.delivery.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    retriable,
    signature,
    signed_headers,
)
from tests.readme import readme_verifier

# printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'k3y' -hex
OPENSSL_ANSWER = "sha256=fd5a70e965043f7df6309c2c3b5ff5a8ffa99b1f5175e9a311459e73c4634d4a"


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    assert signature("k3y", 1700000000, b'{"a":1}') == OPENSSL_ANSWER


def test_the_headers_carry_timestamp_signature_key_and_cloudevents_content_type() -> None:
    headers = signed_headers("k3y", 1700000000, b'{"a":1}', "evt-42")
    assert headers == {
        "Content-Type": "application/cloudevents+json; charset=utf-8",
        TIMESTAMP_HEADER: "1700000000",
        SIGNATURE_HEADER: OPENSSL_ANSWER,
        IDEMPOTENCY_HEADER: "evt-42",
    }
    assert (TIMESTAMP_HEADER, SIGNATURE_HEADER, IDEMPOTENCY_HEADER) == (
        "X-Sentinel-Timestamp",
        "X-Sentinel-Signature",
        "Idempotency-Key",
    )


def test_the_readme_receiver_accepts_a_fresh_delivery_and_nothing_else() -> None:
    verified = readme_verifier()
    body = b'{"specversion":"1.0","id":"evt-42"}'
    now = int(time.time())
    headers = signed_headers("s3cret", now, body, "evt-42")
    assert verified(b"s3cret", headers, body)
    assert not verified(b"other", headers, body)
    assert not verified(b"s3cret", headers, body + b" ")
    assert not verified(b"s3cret", {**headers, TIMESTAMP_HEADER: str(now + 1)}, body)
    stale = signed_headers("s3cret", now - 3600, body, "evt-42")
    assert not verified(b"s3cret", stale, body)
    assert not verified(b"s3cret", {}, body)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 425, 429])
def test_answers_that_say_later_are_tried_again(status: int) -> None:
    assert retriable(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422, 301, 302])
def test_answers_that_will_not_change_are_not(status: int) -> None:
    assert not retriable(status)
