"""A real worker's log: JSON lines with the fixed keys, no customer or event id at info, a bounded
number of lines while its broker is down, one line and exit code 9 when it crashes; and the
progress of `sentinel produce` on a terminal only."""

from __future__ import annotations

import asyncio
import collections
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from schemas import codec
from streams import logs
from streams.app import create_app
from streams.broker import EmbeddedBroker, free_port
from streams.clients import produce_lines
from streams.worker import WorkerProcess, worker_environment
from tests.support.terminal import on_a_terminal

from .conftest import UniqueName
from .pipeline import history_lines, read_topic, worker_settings

LEVELS = {"debug", "info", "warning", "error", "critical"}
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def distinctive(lines: list[bytes]) -> tuple[list[bytes], set[str]]:
    """The history with every customer id and event id replaced by one found nowhere else, plus
    bad input carrying such ids (dead-lettered); returns the lines and every id they hold."""
    subjects: dict[str, str] = {}
    ids: set[str] = set()
    out: list[bytes] = []
    for line in lines:
        event = codec.loads(line)
        subject = subjects.setdefault(event["subject"], f"kundin-{uuid.uuid4().hex[:12]}")
        event["subject"] = subject
        event["id"] = f"ereignis-{uuid.uuid4().hex[:12]}"
        ids.add(event["id"])
        out.append(codec.dumps(event))
    ids.update(subjects.values())
    bad_subject, bad_id = f"kundin-{uuid.uuid4().hex[:12]}", f"ereignis-{uuid.uuid4().hex[:12]}"
    ids.update((bad_subject, bad_id))
    bad = codec.loads(out[0])
    bad.update(subject=bad_subject, id=bad_id, type="contact.faxed")
    out += [codec.dumps(bad), f'{{"subject": "{bad_subject}", '.encode()]
    return out, ids


@pytest.fixture(scope="module")
def info_log(
    embedded_broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, set[str]]]:
    """One worker at info level, in JSON, over distinctive traffic: its log and the ids it read."""
    tmp_path = tmp_path_factory.mktemp("info-log")
    run = uuid.uuid4().hex[:8]
    settings = worker_settings(
        embedded_broker.bootstrap_servers, lambda prefix: f"{prefix}.info-log.{run}", tmp_path
    ).replace(log_level="info", log_format="json")
    lines, ids = distinctive(history_lines(60, seed=43)[0])
    with WorkerProcess(settings, tmp_path / "worker.log"):
        asyncio.run(produce_lines(settings, lines))
        asyncio.run(read_topic(settings, settings.alerts_topic, at_least=1, settle=1))
        asyncio.run(read_topic(settings, settings.dead_letter_topic, at_least=2, settle=1))
    yield (tmp_path / "worker.log").read_text(), ids


def test_every_line_of_a_json_log_is_one_object_with_the_fixed_keys(info_log: tuple[str, set[str]]) -> None:
    text, _ = info_log
    lines = [orjson.loads(line) for line in text.splitlines()]
    assert len(lines) > 20
    required, allowed = set(logs.JSON_KEYS), {*logs.JSON_KEYS, *logs.EXCEPTION_KEYS, *logs.CONTEXT_KEYS}
    for line in lines:
        assert isinstance(line, dict)
        assert required <= set(line) <= allowed, line
        assert ("error" in line) == ("traceback" in line), line
        assert line["level"] in LEVELS and TIME.fullmatch(line["time"]), line
    loggers = {line["logger"].split(".")[0] for line in lines}
    assert {"faust", "aiokafka", "streams"} <= loggers  # Faust's, aiokafka's and ours, all in JSON
    assert any(line["message"] == "[^BoundedStopWorker]: Ready" for line in lines)


def test_no_customer_or_event_id_is_logged_at_info(info_log: tuple[str, set[str]]) -> None:
    text, ids = info_log
    assert len(ids) > 500
    assert [found for found in ids if found in text] == []


def lines_per_second(log: Path, start: float, end: float) -> list[int]:
    """Lines of a JSON log stamped in [start, end), per second."""
    counts: collections.Counter[int] = collections.Counter()
    for line in log.read_text().splitlines():
        stamp = datetime.fromisoformat(orjson.loads(line)["time"]).timestamp()
        if start <= stamp < end:
            counts[int(stamp - start)] += 1
    return [counts[second] for second in range(int(end - start))]


def test_a_broker_down_for_15_seconds_gets_a_bounded_number_of_lines(
    unique_name: UniqueName, tmp_path: Path
) -> None:
    port = free_port()
    broker = EmbeddedBroker(port).start()
    try:
        settings = worker_settings(broker.bootstrap_servers, unique_name, tmp_path).replace(log_format="json")
        lines, _ = history_lines(60, seed=47)
        with WorkerProcess(settings, tmp_path / "worker.log"):
            asyncio.run(produce_lines(settings, lines))
            asyncio.run(read_topic(settings, settings.alerts_topic, at_least=1, settle=1))
            down = time.time()
            broker.stop()
            time.sleep(15)
            up = time.time()
            broker = EmbeddedBroker(port).start()
            time.sleep(2)
    finally:
        broker.stop()
    per_second = lines_per_second(tmp_path / "worker.log", down, up)
    # Measured before repeats were held back: 183 lines a second (at most 198), mostly aiokafka's
    # "Unable connect to node" and "Unable to update metadata"; after: 20 in the 15 s, 13 at most.
    assert sum(per_second) <= 5 * len(per_second), per_second
    assert max(per_second) <= 20, per_second
    assert sum(per_second) > 0, "the outage went unlogged"


def test_a_crash_after_the_start_is_one_line_and_exit_code_9(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    settings = worker_settings(bootstrap_servers, unique_name, tmp_path).replace(store="rocksdb://")
    tables = create_app(settings).app.conf.tabledir
    tables.mkdir(parents=True, exist_ok=True)
    for partition in range(settings.partitions):  # where RocksDB would put its databases
        (tables / f"customers-{partition}.db").write_text("not a database")

    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "worker"],
        env=worker_environment(settings),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )

    assert done.returncode == 9, done.stderr
    *log, last = done.stderr.splitlines()
    assert re.fullmatch(
        r"sentinel worker: crashed: Exception \(message withheld: shown at log level debug\) "
        r"in faust\.stores\.rocksdb line \d+; the log holds its traceback",
        last,
    ), last
    assert sum("Crashed reason=" in line for line in log) == 1
    assert not any("Reraising" in line for line in log)


def produce_environment(bootstrap_servers: str, topic: str) -> dict[str, str]:
    return {"SENTINEL_BOOTSTRAP_SERVERS": bootstrap_servers, "SENTINEL_TOUCHPOINTS_TOPIC": topic}


PROGRESS = re.compile(r"[\d,]+ lines read, [\d,]+ sent, [\d,]+ lines/s, \d+%")


def test_produce_shows_progress_on_a_terminal_and_nothing_elsewhere(
    bootstrap_servers: str, unique_topic: str, tmp_path: Path
) -> None:
    lines, _ = history_lines(200, seed=53)
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"".join(line + b"\n" for line in lines))
    env = produce_environment(bootstrap_servers, unique_topic)

    code, shown = on_a_terminal("produce", str(history), stdout=tmp_path / "out", env=env)
    plain = subprocess.run(
        [sys.executable, "-m", "streams.cli", "produce", str(history)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert code == plain.returncode == 0
    done = f"{len(lines)} messages sent to {unique_topic}"
    *draws, last = [draw.strip() for draw in shown.split("\r\x1b[K") if draw]
    final, summary = last.splitlines()
    assert final.startswith(f"{len(lines):,} lines read, {len(lines):,} sent, ") and final.endswith(", 100%")
    assert summary == done
    assert all(PROGRESS.fullmatch(draw) for draw in [*draws, final]), shown
    assert plain.stderr == done + "\n"
