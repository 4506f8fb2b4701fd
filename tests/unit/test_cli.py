"""`sentinel replay` and `sentinel patterns` as a user runs them: stdout, stderr, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from schemas import codec, errors
from streams.broker import free_port

LEAD = (
    b'{"specversion":"1.0","id":"e1","source":"crm","type":"lead.created","subject":"C-1",'
    b'"time":"2026-03-01T09:00:00Z","data":{"owner":"R-1"}}'
)
CONTACT = (
    b'{"specversion":"1.0","id":"e2","source":"crm","type":"contact.made","subject":"C-1",'
    b'"time":"2026-03-04T09:00:00Z","data":{"channel":"phone","direction":"outbound"}}'
)


def sentinel(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=60,
    )


def test_replay_prints_only_alerts_and_reports_rejected_lines_on_stderr(tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"\n".join([LEAD, b"{not json", b"", CONTACT, LEAD]) + b"\n")
    done = sentinel("replay", str(history))
    assert done.returncode == 0
    alerts = [codec.loads(line) for line in done.stdout.splitlines()]
    assert [(a["type"], a["data"]["pattern"], a["time"]) for a in alerts] == [
        ("alert.fired", "lead_not_followed_up", "2026-03-03T09:00:00Z"),
        ("alert.resolved", "lead_not_followed_up", "2026-03-04T09:00:00Z"),
    ]
    assert b"line 2: rejected (invalid_json)" in done.stderr
    assert b"1 duplicate events ignored" in done.stderr


def test_replay_rejects_a_batch_element_nested_300_deep_and_goes_on() -> None:
    deep = b"[" * 300 + b"]" * 300
    line = b"[" + deep + b"," + LEAD + b"]\n"
    done = sentinel("replay", "--until", "2026-03-05T00:00:00Z", "-", stdin=line)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(b"line 1, batch element 0: rejected (too_deep): ")
    assert codec.loads(done.stdout)["data"]["pattern"] == "lead_not_followed_up"


def test_replay_reads_stdin_and_until_runs_the_clock_on() -> None:
    without = sentinel("replay", "-", stdin=LEAD + b"\n")
    assert without.stdout == b""
    later = sentinel("replay", "--until", "2026-03-05T00:00:00Z", "-", stdin=LEAD + b"\n")
    assert codec.loads(later.stdout)["time"] == "2026-03-03T09:00:00Z"


def test_replay_output_is_identical_across_runs(tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    history.write_bytes(LEAD + b"\n" + CONTACT + b"\n")
    assert sentinel("replay", str(history)).stdout == sentinel("replay", str(history)).stdout


def test_unreadable_input_and_bad_arguments_exit_non_zero(tmp_path: Path) -> None:
    missing = sentinel("replay", str(tmp_path / "absent.jsonl"))
    assert missing.returncode == 2
    assert b"cannot read" in missing.stderr
    bad_until = sentinel("replay", "--until", "tomorrow", "-", stdin=b"")
    assert bad_until.returncode == 2
    assert b"--until" in bad_until.stderr
    config = tmp_path / "thresholds.toml"
    config.write_text("[patterns.nope]\n")
    bad_config = sentinel("replay", "--config", str(config), "-", stdin=b"")
    assert bad_config.returncode == 2
    assert b"unknown key patterns.nope" in bad_config.stderr


def test_config_switches_a_pattern_off_in_replay(tmp_path: Path) -> None:
    config = tmp_path / "thresholds.toml"
    config.write_text("[patterns.lead_not_followed_up]\nenabled = false\n")
    done = sentinel(
        "replay", "--config", str(config), "--until", "2026-04-01T00:00:00Z", "-", stdin=LEAD + b"\n"
    )
    assert done.returncode == 0
    assert done.stdout == b""


def test_patterns_lists_the_catalog() -> None:
    done = sentinel("patterns", "--json")
    rows = codec.loads(done.stdout)["patterns"]
    assert len(rows) == 18
    assert rows[0]["pattern"] == "lead_not_followed_up"
    assert rows[0]["thresholds"] == {"within": "2d", "clock": "wall"}
    assert all(row["summary"] and row["recommendation"] for row in rows)


def test_version_comes_from_the_package_metadata() -> None:
    done = sentinel("--version")
    assert done.returncode == 0
    assert done.stdout.decode().strip() == f"sentinel {metadata.version('touchpoint-sentinel')}"


def run_with(
    env: dict[str, str], *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        check=False,
        timeout=60,
    )


def test_a_misspelled_variable_stops_the_start_naming_the_closest_setting() -> None:
    done = run_with({"SENTINEL_BOOTSTRAP_SERVER": "kafka:9092"}, "worker")
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        "sentinel worker: SENTINEL_BOOTSTRAP_SERVER is not a setting; "
        "did you mean SENTINEL_BOOTSTRAP_SERVERS?"
    ]


@pytest.mark.parametrize("command", [["worker"], ["produce", "-"], ["tail"]])
def test_an_unreachable_broker_is_one_line_and_exit_code_3(command: list[str]) -> None:
    port = free_port()
    environment = {"SENTINEL_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}", "SENTINEL_BROKER_WAIT": "0s"}
    done = run_with(environment, *command, stdin=b"")
    assert done.returncode == 3
    assert done.stderr.decode().splitlines() == [
        f"sentinel {command[0]}: broker unreachable: 127.0.0.1:{port} refused the connection"
    ]


def test_produce_says_when_it_cannot_read_its_input(tmp_path: Path) -> None:
    done = sentinel("produce", str(tmp_path / "absent.jsonl"))
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        f"sentinel produce: cannot read {tmp_path / 'absent.jsonl'}: No such file or directory"
    ]


def test_every_exit_code_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in readme.splitlines() if line.startswith("| ")}
    classes = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.SentinelError)
    ]
    for kind in classes:
        if kind is not errors.InvalidEvent:  # bad input is dead-lettered, never an exit
            assert f"`{kind.__name__}`" in rows.get(str(kind.exit_code), ""), kind
    foreseen_failures = [kind.exit_code for kind in classes if kind.exit_code != 2]
    assert len(foreseen_failures) == len(set(foreseen_failures)), "one exit code per kind of failure"
