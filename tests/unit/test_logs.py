"""Logging: repeats held back at a bounded rate, JSON lines with fixed keys, no input above debug."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from aiokafka.errors import KafkaConnectionError

from schemas.errors import BrokerUnreachable, ConfigError, InvalidEvent
from streams import logs
from streams.settings import Settings

CUSTOMER = "CUST-7Q4Z-KUNDIN"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(
    message: str = "Unable connect to node with id %s: %s",
    args: tuple[object, ...] = (111, "refused"),
    *,
    name: str = "aiokafka",
    level: int = logging.ERROR,
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, args, None)


def test_the_first_records_of_a_kind_go_out_then_one_per_interval_telling_how_many_it_stands_for() -> None:
    clock = FakeClock()
    repeats = logs.RepeatFilter(burst=2, interval=10.0, clock=clock)
    passed: list[logging.LogRecord] = []
    for step in range(2000):  # 200 a second for 10 s
        clock.now = 1000.0 + step / 200
        rec = record()
        if repeats.filter(rec):
            passed.append(rec)
    assert len(passed) == 2
    clock.now = 1010.0
    summary = record()
    assert repeats.filter(summary)
    assert summary.getMessage() == (
        "Unable connect to node with id 111: refused (1998 more like this in the last 10 s)"
    )
    assert summary.__dict__["repeated"] == 1998


def test_a_storm_of_a_minute_gives_a_line_per_interval_after_the_first_ones() -> None:
    clock = FakeClock()
    repeats = logs.RepeatFilter(burst=2, interval=10.0, clock=clock)
    lines = 0
    for step in range(60 * 200):
        clock.now = 1000.0 + step / 200
        lines += repeats.filter(record(args=(step, "refused")))
    assert lines == 2 + 5  # the burst, then one at 10, 20, 30, 40 and 50 s


def test_kinds_are_logger_level_and_template_with_numbers_masked() -> None:
    clock = FakeClock()
    repeats = logs.RepeatFilter(burst=1, interval=10.0, clock=clock)
    assert repeats.filter(record())
    assert not repeats.filter(record(args=(112, "other")))  # same template, other arguments
    assert repeats.filter(record(name="faust"))
    assert repeats.filter(record(level=logging.WARNING))
    assert repeats.filter(record("Unable to update metadata from [111]", ()))
    assert not repeats.filter(record("Unable to update metadata from [112]", ()))  # numbers masked


def test_a_kind_quiet_for_an_interval_gets_its_first_lines_again() -> None:
    clock = FakeClock()
    repeats = logs.RepeatFilter(burst=2, interval=10.0, clock=clock)
    assert [repeats.filter(record()) for _ in range(3)] == [True, True, False]
    clock.now += 10
    assert repeats.filter(record())  # tells of the one held back
    clock.now += 25
    assert [repeats.filter(record()) for _ in range(3)] == [True, True, False]


def test_debug_records_are_never_held_back() -> None:
    repeats = logs.RepeatFilter(burst=1, interval=10.0, clock=FakeClock())
    assert all(repeats.filter(record(level=logging.DEBUG)) for _ in range(100))


def test_repeats_of_a_kind_that_fell_silent_are_told_with_the_next_line_or_at_close() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    handler = logs.LogHandler(stream, logs.RepeatFilter(burst=1, interval=10.0, clock=clock))
    handler.setFormatter(logs.TextFormatter(withhold=True))
    for _ in range(5):
        handler.handle(record())
    clock.now += 11
    handler.handle(record("Heartbeat failed", (), name="aiokafka.consumer.group_coordinator"))
    for _ in range(3):
        handler.handle(record("Unable to update metadata from [111]", ()))
    handler.close()
    messages = [line.split(" ", 2)[2] for line in stream.getvalue().splitlines()]
    assert messages == [
        "aiokafka: Unable connect to node with id 111: refused",
        "aiokafka: Unable connect to node with id 111: refused (3 more like this in the last 11 s)",
        "aiokafka.consumer.group_coordinator: Heartbeat failed",
        "aiokafka: Unable to update metadata from [111]",
        "aiokafka: Unable to update metadata from [111] (1 more like this in the last 1 s)",
    ]


@pytest.fixture
def root_logging() -> Iterator[io.StringIO]:
    """Logging configured as a command does, into a buffer; the test run's own set-up restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield io.StringIO()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(False)


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


def unreachable() -> None:
    raise BrokerUnreachable("kafka-1:9092 refused the connection")


def test_json_lines_have_the_fixed_keys_and_faust_and_aiokafka_go_through_them(
    root_logging: io.StringIO,
) -> None:
    logs.configure_logging("info", "json", root_logging)
    logging.getLogger("faust.tables.recovery").info("[^---Recovery]: Worker ready")
    logging.getLogger("aiokafka.consumer.group_coordinator").warning("Heartbeat failed")
    logging.getLogger("streams.worker").warning("partition %d", 3, extra={"subject": CUSTOMER})
    logging.getLogger("streams.worker").debug("not at info")
    try:
        unreachable()
    except BrokerUnreachable:
        logging.getLogger("agents.ingest").exception("the ingest failed")
    lines = json_lines(root_logging)
    assert [set(line) for line in lines[:3]] == [set(logs.JSON_KEYS)] * 3
    assert set(lines[3]) == {*logs.JSON_KEYS, *logs.EXCEPTION_KEYS}
    assert [(line["level"], line["logger"], line["message"]) for line in lines] == [
        ("info", "faust.tables.recovery", "[^---Recovery]: Worker ready"),
        ("warning", "aiokafka.consumer.group_coordinator", "Heartbeat failed"),
        ("warning", "streams.worker", "partition 3"),
        ("error", "agents.ingest", "the ingest failed"),
    ]
    assert lines[3]["error"] == "BrokerUnreachable: kafka-1:9092 refused the connection"
    assert str(lines[3]["traceback"]).startswith("Traceback (most recent call last):\n")
    time = str(lines[0]["time"])
    assert len(time) == len("2026-03-01T09:00:00.123Z") and time.endswith("Z") and time[19] == "."


def test_a_summary_line_carries_repeated_as_its_one_context_key(root_logging: io.StringIO) -> None:
    clock = FakeClock()
    handler = logs.configure_logging("warning", "json", root_logging)
    handler.repeats.clock = clock
    for _ in range(logs.BURST + 7):
        logging.getLogger("aiokafka").error("Unable to update metadata from [%s]", 111)
    clock.now += logs.INTERVAL
    logging.getLogger("aiokafka").error("Unable to update metadata from [%s]", 111)
    last = json_lines(root_logging)[-1]
    assert set(last) == {*logs.JSON_KEYS, "repeated"}
    assert last["repeated"] == 7
    assert last["message"] == "Unable to update metadata from [111] (7 more like this in the last 10 s)"


def raise_lookup() -> None:
    states: dict[str, bytes] = {}
    try:
        states[CUSTOMER]
    except KeyError as error:
        raise RuntimeError(f"cannot load {CUSTOMER}") from error


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_above_debug_an_exception_that_may_quote_input_shows_its_class_and_traceback_only(
    root_logging: io.StringIO, log_format: str
) -> None:
    logs.configure_logging("info", log_format, root_logging)
    log = logging.getLogger("faust.app.base")
    try:
        raise_lookup()
    except RuntimeError as error:
        log.exception("Crashed reason=%r", error)  # noqa: TRY401 (mode's own call, as it is)
    written = root_logging.getvalue()
    assert CUSTOMER not in written
    assert "Crashed reason=RuntimeError (message withheld: shown at log level debug)" in written
    assert "KeyError (message withheld" in written and "in raise_lookup" in written
    assert "The above exception was the direct cause of the following exception" in written


def test_at_debug_exception_messages_are_written_whole(root_logging: io.StringIO) -> None:
    logs.configure_logging("debug", "text", root_logging)
    try:
        raise_lookup()
    except RuntimeError:
        logging.getLogger("agents.ingest").exception("routing failed")
    assert f"RuntimeError: cannot load {CUSTOMER}" in root_logging.getvalue()
    assert f"KeyError: '{CUSTOMER}'" in root_logging.getvalue()


def test_messages_meant_for_operators_are_kept_above_debug() -> None:
    assert logs.speaks_to_operators(KafkaConnectionError("Connection at kafka-1:9092 closed"))
    assert logs.speaks_to_operators(ConnectionRefusedError(111, "Connect call failed"))
    assert logs.speaks_to_operators(ConfigError("log_level must be one of ..."))
    assert not logs.speaks_to_operators(InvalidEvent("unknown_type", f"type {CUSTOMER!r}"))
    assert not logs.speaks_to_operators(ValueError(CUSTOMER))
    assert logs.describe_exception(ValueError(CUSTOMER), withhold=False) == f"ValueError: {CUSTOMER}"


def test_python_warnings_become_log_lines(root_logging: io.StringIO) -> None:
    logs.configure_logging("warning", "json", root_logging)
    logging.getLogger("py.warnings").warning("DeprecationWarning: old")
    assert json_lines(root_logging)[0]["logger"] == "py.warnings"


def test_a_failure_line_is_json_when_the_log_is(root_logging: io.StringIO) -> None:
    assert logs.failure_line("worker", "broker unreachable") == "sentinel worker: broker unreachable"
    logs.configure_logging("warning", "json", root_logging)
    line = orjson.loads(logs.failure_line("worker", "broker unreachable"))
    assert set(line) == set(logs.JSON_KEYS)
    assert (line["level"], line["message"]) == ("critical", "sentinel worker: broker unreachable")


def test_log_settings_come_from_the_environment_and_the_file(tmp_path: Path) -> None:
    assert (Settings.load(env={}).log_level, Settings.load(env={}).log_format) == ("warning", "text")
    loaded = Settings.load(env={"SENTINEL_LOG_LEVEL": "INFO", "SENTINEL_LOG_FORMAT": "json"})
    assert (loaded.log_level, loaded.log_format) == ("info", "json")
    file = tmp_path / "sentinel.toml"
    file.write_text('[sentinel]\nlog_level = "debug"\n')
    assert Settings.load(file, env={}).log_level == "debug"
    with pytest.raises(ConfigError, match="log_level must be one of debug, info, warning, error"):
        Settings.load(env={"SENTINEL_LOG_LEVEL": "verbose"})
    with pytest.raises(ConfigError, match="log_format must be one of text, json"):
        Settings.load(env={"SENTINEL_LOG_FORMAT": "logfmt"})


def test_the_readme_lists_exactly_the_json_keys() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    table = readme[readme.index("| key | when | what |") :].split("\n\n")[0].splitlines()[2:]
    assert [row.split("|")[1].strip(" `") for row in table] == [
        *logs.JSON_KEYS,
        *logs.EXCEPTION_KEYS,
        *logs.CONTEXT_KEYS,
    ]
