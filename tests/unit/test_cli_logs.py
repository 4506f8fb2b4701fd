"""The command line's logging and progress as a user sees them: level and format from the settings,
`--loglevel` winning, JSON to the last line, and progress on a terminal only."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import orjson

from schemas.events import encode_event
from schemas.timestamps import parse_instant
from streams import logs, progress
from streams.broker import free_port
from streams.traffic import lifecycle_history
from tests.support.terminal import on_a_terminal


def sentinel(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def unreachable(**more: str) -> dict[str, str]:
    """A broker that refuses connections, waited for about a second: two retries, each logged."""
    return {"SENTINEL_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}", "SENTINEL_BROKER_WAIT": "1s", **more}


def test_the_log_level_comes_from_the_settings() -> None:
    quiet = sentinel(unreachable(SENTINEL_LOG_LEVEL="error"), "worker")
    chatty = sentinel(unreachable(SENTINEL_LOG_LEVEL="warning"), "worker")
    assert quiet.returncode == chatty.returncode == 3
    assert len(quiet.stderr.splitlines()) == 1
    assert quiet.stderr.startswith("sentinel worker: broker unreachable: ")
    retries = chatty.stderr.splitlines()[:-1]
    assert retries and all(" WARNING streams.kafka: reaching the broker at " in line for line in retries)


def test_loglevel_on_the_command_line_wins_over_the_settings() -> None:
    shown = sentinel(unreachable(SENTINEL_LOG_LEVEL="error"), "worker", "--loglevel", "WARNING")
    hidden = sentinel(unreachable(SENTINEL_LOG_LEVEL="warning"), "worker", "--loglevel", "error")
    assert "reaching the broker" in shown.stderr
    assert len(hidden.stderr.splitlines()) == 1


def test_in_json_every_line_to_the_last_is_one_object_with_the_fixed_keys() -> None:
    done = sentinel(unreachable(SENTINEL_LOG_FORMAT="json"), "worker")
    assert done.returncode == 3
    lines = [orjson.loads(line) for line in done.stderr.splitlines()]
    assert len(lines) >= 2
    assert all(set(line) == set(logs.JSON_KEYS) for line in lines)
    assert [line["level"] for line in lines] == ["warning"] * (len(lines) - 1) + ["critical"]
    assert str(lines[-1]["message"]).startswith("sentinel worker: broker unreachable: ")


def test_a_bad_log_setting_stops_any_command_in_one_line() -> None:
    done = sentinel({"SENTINEL_LOG_FORMAT": "logfmt"}, "patterns")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "sentinel patterns: log_format must be one of text, json, got 'logfmt'"
    ]


def write_history(path: Path, customers: int) -> int:
    events = lifecycle_history(customers, seed=3, start=parse_instant("2025-01-01T00:00:00Z"), span_days=60)
    path.write_bytes(b"".join(encode_event(event) + b"\n" for event in events))
    return len(events)


DRAW = re.compile(r"([\d,]+) lines read, ([\d,]+) alerts, [\d,]+ lines/s, (\d+)%")


def test_replay_of_a_file_shows_progress_on_a_terminal_a_few_times_a_second(tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    events = write_history(history, 1000)
    started = time.monotonic()
    code, shown = on_a_terminal("replay", str(history), stdout=tmp_path / "alerts.jsonl")
    took = time.monotonic() - started
    assert code == 0
    alerts = len((tmp_path / "alerts.jsonl").read_bytes().splitlines())
    draws = [DRAW.fullmatch(draw.strip()) for draw in shown.split("\r\x1b[K") if draw]
    assert all(draws), shown
    last = draws[-1]
    assert last is not None
    assert (last[1], last[2], last[3]) == (f"{events:,}", f"{alerts:,}", "100")
    assert shown.endswith("100%\r\n")  # the final counts stay on their line
    assert len(draws) <= took / progress.EVERY + 2


def test_replay_writes_no_progress_when_stderr_is_no_terminal(tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    write_history(history, 300)
    done = sentinel({}, "replay", str(history))
    assert done.returncode == 0
    assert done.stderr == ""
