"""SASL and TLS for real: the worker and the command line through stunnel and a SASL front-end.

The brokers here advertise only their front-ends' ports (tests/support/secured.py),
so a client that skipped TLS or SASL on any of its connections would not get
through: a worker whose alerts arrive authenticated every client it made.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas.errors import SentinelError
from schemas.timestamps import MINUTE
from streams.broker import free_port
from streams.clients import produce_lines
from streams.connection import check_connection
from streams.settings import Settings
from streams.verify import checked_worker_settings, closing_events, comparable, expected_alerts
from streams.worker import WorkerProcess, worker_environment
from tests.support.secured import PASSWORD, USER, SecuredCluster

from .conftest import UniqueName
from .pipeline import history_lines, produce_closing, read_topic

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredCluster]:
    with SecuredCluster(tmp_path_factory.mktemp("secured")) as cluster:
        yield cluster


def sentinel(
    settings: Settings, *args: str, stdin: bytes | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """`sentinel` in a child process, configured through the SENTINEL_* variables."""
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env=worker_environment(settings),
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )


def one_line(done: subprocess.CompletedProcess[bytes], settings: Settings) -> str:
    """The single stderr line of a failed command, after checking it is one line, no traceback and
    no password (neither the right one nor the one configured)."""
    output = (done.stdout + done.stderr).decode()
    assert "Traceback" not in output, output
    assert PASSWORD not in output
    assert not settings.sasl_password or settings.sasl_password not in output
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


SECURITY_KEYS = (
    "security_protocol",
    "sasl_mechanism",
    "sasl_username",
    "sasl_password",
    "ssl_cafile",
    "ssl_certfile",
    "ssl_keyfile",
)


def worker_through(security: Settings, name: UniqueName, data_dir: Path) -> Settings:
    """A checked worker of its own (topics, group, metrics port) connecting as `security` says."""
    checked = checked_worker_settings(security.bootstrap_servers, name, str(data_dir))
    return checked.replace(**{key: getattr(security, key) for key in SECURITY_KEYS})


def test_a_worker_over_sasl_ssl_equals_replay(
    secured: SecuredCluster, unique_name: UniqueName, tmp_path: Path
) -> None:
    """SCRAM-SHA-512 over TLS with a CA file: the worker, its producer and its reader all go through."""
    settings = worker_through(secured.sasl_ssl("SCRAM-SHA-512"), unique_name, tmp_path)
    lines, last_time = history_lines(60, seed=31)
    closing = closing_events(last_time + 5 * MINUTE, settings.partitions)
    expected = expected_alerts([*lines, *(value for _, value in closing)], last_time)
    assert len(expected) > 30
    before = len(secured.front_behind_tls.authenticated)

    with WorkerProcess(settings, tmp_path / "worker.log") as worker:
        asyncio.run(produce_lines(settings, lines))
        asyncio.run(produce_closing(settings, closing))
        alerts = asyncio.run(read_topic(settings, settings.alerts_topic, at_least=len(expected)))
        metrics = worker.scrape()

    assert comparable((record.value for record in alerts), lines, last_time) == expected
    logins = secured.front_behind_tls.authenticated[before:]
    assert len(logins) >= 5, logins  # admin, ingest, Faust's consumer and producer, detection, test clients
    assert set(logins) == {(USER, "SCRAM-SHA-512")}
    assert PASSWORD not in metrics
    assert PASSWORD not in (tmp_path / "worker.log").read_text()


@pytest.mark.parametrize(
    ("protocol", "mechanism"),
    [("SASL_PLAINTEXT", "PLAIN"), ("SASL_PLAINTEXT", "SCRAM-SHA-256"), ("SASL_SSL", "PLAIN")],
)
def test_sentinel_produce_authenticates(
    secured: SecuredCluster, unique_name: UniqueName, protocol: str, mechanism: str
) -> None:
    settings = (
        secured.sasl_ssl(mechanism) if protocol == "SASL_SSL" else secured.sasl_plain_text(mechanism)
    ).replace(touchpoints_topic=unique_name("touchpoints"))
    lines, _ = history_lines(3, seed=2)

    done = sentinel(settings, "produce", "-", stdin=b"\n".join(lines) + b"\n")

    assert done.returncode == 0, done.stderr
    assert PASSWORD not in (done.stdout + done.stderr).decode()
    records = asyncio.run(read_topic(settings, settings.touchpoints_topic, at_least=len(lines), settle=0.5))
    assert sorted(record.value for record in records) == sorted(lines)
    front = secured.front_behind_tls if protocol == "SASL_SSL" else secured.front_plaintext
    assert (USER, mechanism) in front.authenticated


def test_a_client_certificate_from_the_ca_is_required_and_accepted(
    secured: SecuredCluster, unique_name: UniqueName
) -> None:
    """stunnel asks for a client certificate signed by the CA: produce and tail with one get through,
    without one or with one from another CA they stop with one line."""
    topic = unique_name("round-trip")
    settings = secured.mutual_tls().replace(touchpoints_topic=topic, alerts_topic=topic)
    lines, _ = history_lines(2, seed=3)

    produced = sentinel(settings, "produce", "-", stdin=b"\n".join(lines) + b"\n")
    tailed = sentinel(settings, "tail", "--from-beginning", "--json", "--max", str(len(lines)))

    assert produced.returncode == 0, produced.stderr
    assert tailed.returncode == 0, tailed.stderr
    assert sorted(tailed.stdout.splitlines()) == sorted(lines)

    anonymous = secured.mutual_tls(with_client_certificate=False)
    without = sentinel(anonymous, "tail", "--max", "1")
    assert without.returncode == 5
    assert "requires a client certificate" in one_line(without, anonymous)

    stranger = secured.tls.stranger
    foreign = secured.mutual_tls().replace(ssl_certfile=str(stranger.cert), ssl_keyfile=str(stranger.key))
    refused = sentinel(foreign, "tail", "--max", "1")
    assert refused.returncode == 5
    assert f"refused the client certificate {stranger.cert}" in one_line(refused, foreign)


def _wrong_password(secured: SecuredCluster) -> Settings:
    return secured.sasl_ssl("SCRAM-SHA-512", password="not-" + PASSWORD[::-1])


@pytest.mark.parametrize(
    ("case", "exit_code", "words"),
    [
        ("wrong password", 4, "authentication failed: 127.0.0.1:{port} refused user 'touchpoint-sentinel'"),
        ("server-final error", 4, "authentication failed: 127.0.0.1:{port} did not accept user "
         "'touchpoint-sentinel' with SCRAM-SHA-256"),
        ("untrusted certificate", 5, "TLS verification failed: the certificate of 127.0.0.1:{port} is not "
         "trusted by the CA file {other_ca}"),
        ("certificate for another host", 5, "is not valid for 127.0.0.1"),
        ("plaintext client on the TLS port", 6, "127.0.0.1:{port} speaks TLS"),
        ("nobody listening", 3, "broker unreachable: 127.0.0.1:{port} refused the connection"),
    ],
)  # fmt: skip
def test_a_failed_connection_is_one_line_and_a_distinct_exit_code(
    secured: SecuredCluster, case: str, exit_code: int, words: str
) -> None:
    tls = secured.tls
    settings = {
        "wrong password": _wrong_password(secured),
        "server-final error": secured.sasl_plain_text("SCRAM-SHA-256", port=secured.rfc_scram_port).replace(
            sasl_password="wrong"
        ),
        "untrusted certificate": secured.sasl_ssl().replace(ssl_cafile=str(tls.other_ca)),
        "certificate for another host": secured.mutual_tls().replace(
            bootstrap_servers=f"127.0.0.1:{secured.wrong_host_port}"
        ),
        "plaintext client on the TLS port": secured.sasl_ssl().replace(security_protocol="SASL_PLAINTEXT"),
        "nobody listening": Settings(bootstrap_servers=f"127.0.0.1:{free_port()}"),
    }[case]
    port = settings.bootstrap_servers.rsplit(":", 1)[1]

    done = sentinel(settings, "produce", "-", stdin=b"{}\n")

    line = one_line(done, settings)
    assert done.returncode == exit_code, line
    assert line.startswith("sentinel produce: ")
    assert words.format(port=port, other_ca=tls.other_ca) in line


def test_a_worker_that_cannot_authenticate_stops_with_one_line(
    secured: SecuredCluster, unique_name: UniqueName, tmp_path: Path
) -> None:
    wrong = _wrong_password(secured)
    settings = worker_through(wrong, unique_name, tmp_path)
    log = tmp_path / "worker.log"

    with pytest.raises(SentinelError, match="worker exited with 4"):
        WorkerProcess(settings, log).start()

    assert log.read_text().splitlines() == [
        f"sentinel worker: authentication failed: {wrong.bootstrap_servers} refused user {USER!r} "
        "with SCRAM-SHA-512 (Authentication failed during authentication due to invalid credentials "
        "with SASL mechanism SCRAM-SHA-512)"
    ]
    assert wrong.sasl_password not in log.read_text()


def test_the_sasl_exchange_stays_out_of_debug_logs(
    secured: SecuredCluster, caplog: pytest.LogCaptureFixture
) -> None:
    """aiokafka logs each request at debug level; with PLAIN, SaslAuthenticate's bytes hold the password."""
    caplog.set_level(logging.DEBUG, logger="aiokafka")

    asyncio.run(check_connection(secured.sasl_plain_text("PLAIN")))

    assert "SaslHandShakeRequest" in caplog.text  # the exchange ran with debug logging on
    assert PASSWORD not in caplog.text
