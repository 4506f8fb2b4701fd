"""The command line's logging as a user sees it: level and format from the settings, `--loglevel`
winning, JSON to the last line."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson

from streams import logs
from streams.broker import free_port


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
