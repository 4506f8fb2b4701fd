"""A wrong settings or thresholds file names the key and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.config import Config, load_config
from schemas.errors import ConfigError
from schemas.timestamps import HOUR, MINUTE, SECOND
from streams.kafka import ssl_context
from streams.settings import Settings
from streams.worker import worker_environment


def test_environment_overrides_file_and_defaults(tmp_path: Path) -> None:
    file = tmp_path / "sentinel.toml"
    file.write_text('[sentinel]\npartitions = 8\nalerts_topic = "from-file"\nidle_after = "30s"\n')
    env = {"SENTINEL_ALERTS_TOPIC": "from-env", "KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9093,kafka-2:9093"}
    settings = Settings.load(file, env=env)
    assert settings.partitions == 8
    assert settings.alerts_topic == "from-env"
    assert settings.idle_after == 30 * SECOND
    assert settings.bootstrap_servers == "kafka-1:9093,kafka-2:9093"
    assert settings.touchpoints_topic == "touchpoints"


def test_worker_environment_round_trips_every_setting() -> None:
    settings = Settings(partitions=6, idle_advance=False, rebalance_timeout=3 * SECOND, sasl_username="svc")
    env = {key: value for key, value in worker_environment(settings, base={}).items()}
    assert Settings.load(env=env) == settings


def test_future_tolerance_is_a_duration_of_one_hour_by_default() -> None:
    """Four events at now + 20 h once moved a watermark 20 h on and fired 632 deadlines early."""
    assert Settings().future_tolerance == HOUR
    assert Settings.load(env={"SENTINEL_FUTURE_TOLERANCE": "20m"}).future_tolerance == 20 * MINUTE


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[sentinel]\npartitons = 4\n", "unknown key sentinel.partitons"),
        ("[kafka]\nbrokers = 1\n", "unknown table [kafka]"),
        ('[sentinel]\npartitions = "four"\n', "sentinel.partitions must be a whole number"),
        ('[sentinel]\nidle_after = "soon"\n', "sentinel.idle_after must be a duration"),
        ('[sentinel]\nstore = "redis://"\n', "store must be memory:// or rocksdb://"),
        ("[sentinel\n", "not valid TOML"),
    ],
)
def test_bad_settings_file_names_key_and_problem(tmp_path: Path, content: str, message: str) -> None:
    file = tmp_path / "bad.toml"
    file.write_text(content)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Settings.load(file, env={})


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="SENTINEL_IDLE_ADVANCE must be true or false"):
        Settings.load(env={"SENTINEL_IDLE_ADVANCE": "maybe"})


def test_thresholds_file_configures_and_disables_patterns(tmp_path: Path) -> None:
    file = tmp_path / "thresholds.toml"
    file.write_text(
        '[engine]\nlateness = "1m"\n'
        '[patterns.lead_not_followed_up]\nwithin = "24h"\n'
        "[patterns.wrong_channel]\nenabled = false\n"
    )
    config = load_config(file)
    names = [pattern.name for pattern in config.patterns]
    assert "wrong_channel" not in names
    assert len(names) == 17
    lead = next(p for p in config.patterns if p.name == "lead_not_followed_up")
    assert lead.limits.within == 24 * HOUR
    assert config.as_toml_ready()["patterns"]["lead_not_followed_up"]["within"] == "1d"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[patterns.lead_not_followd_up]\nwithin = "1d"\n', "unknown key patterns.lead_not_followd_up"),
        (
            "[patterns.lead_not_followed_up]\nwithin = 48\n",
            "patterns.lead_not_followed_up.within must be a duration",
        ),
        (
            "[patterns.over_communication]\nmax_communications = 0\n",
            "max_communications must be a whole number",
        ),
        ("[patterns.hidden_costs]\ntolerance = -1\n", "tolerance must be a number >= 0"),
        ('[patterns.hidden_costs]\nenabled = "no"\n', "hidden_costs.enabled must be true or false"),
        ("[patterns.hidden_costs]\nmargin = 1\n", "unknown key patterns.hidden_costs.margin"),
        ('[engine]\nlatenes = "5m"\n', "unknown key engine.latenes"),
        ("[engines]\n", "unknown key engines"),
    ],
)
def test_bad_thresholds_name_key_and_problem(tmp_path: Path, content: str, message: str) -> None:
    file = tmp_path / "thresholds.toml"
    file.write_text(content)
    with pytest.raises(ConfigError, match=message) as raised:
        load_config(file)
    assert str(file) in str(raised.value)


def test_missing_thresholds_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path / "absent.toml")


def test_defaults_match_the_catalog() -> None:
    spelled = Config.default().as_toml_ready()
    assert spelled["engine"] == {"lateness": "5m", "new_customer_period": "90d"}
    assert spelled["patterns"]["post_purchase_dissonance"] == {
        "min_amount": 10_000,
        "within": "3d",
        "clock": "wall",
    }
    assert len(spelled["patterns"]) == 18


def test_the_sasl_password_is_never_shown() -> None:
    secret = "Tr0ub4dor-and-3"
    settings = Settings(security_protocol="SASL_SSL", sasl_username="svc", sasl_password=secret)
    assert secret not in repr(settings)
    assert secret not in str(settings)
    assert "sasl_username='svc'" in repr(settings)


def test_a_bad_password_value_is_refused_without_echoing_it(tmp_path: Path) -> None:
    file = tmp_path / "sentinel.toml"
    file.write_text("[sentinel]\nsasl_password = 8675309\n")
    with pytest.raises(ConfigError) as raised:
        Settings.load(file, env={})
    assert str(raised.value) == f"{file}: sentinel.sasl_password must be a string"


@pytest.mark.parametrize(
    ("variable", "closest"),
    [
        ("SENTINEL_SASL_PASWORD", "SENTINEL_SASL_PASSWORD"),
        ("SENTINEL_PARTITION", "SENTINEL_PARTITIONS"),
        ("SENTINEL_SETTINGS", "SENTINEL_SETTINGS_FILE"),
    ],
)
def test_an_unknown_sentinel_variable_names_the_closest_setting(variable: str, closest: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.load(env={variable: "its-value"})
    assert str(raised.value) == f"{variable} is not a setting; did you mean {closest}?"


def test_the_settings_file_variable_and_other_prefixes_are_fine(tmp_path: Path) -> None:
    file = tmp_path / "sentinel.toml"
    file.write_text("[sentinel]\npartitions = 3\n")
    env = {"SENTINEL_SETTINGS_FILE": str(file), "SENTINEL_APP_ID": "a", "SENTINELS": "x", "PATH": "/bin"}
    assert Settings.load(env=env).partitions == 3


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"security_protocol": "SASL_SSL"}, "sasl_username must be set with security_protocol SASL_SSL"),
        ({"ssl_keyfile": "/etc/key.pem"}, "ssl_keyfile is set but ssl_certfile is not"),
    ],
)
def test_security_settings_that_cannot_work_are_refused(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_values({key: ("test", value) for key, value in values.items()})


def test_tls_files_that_cannot_be_loaded_name_their_setting(tmp_path: Path) -> None:
    missing = tmp_path / "absent.pem"
    with pytest.raises(ConfigError, match=f"ssl_cafile: cannot load {missing} \\(No such file"):
        ssl_context(Settings(security_protocol="SSL", ssl_cafile=str(missing)))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match=f"ssl_certfile/ssl_keyfile: cannot load {garbage}"):
        ssl_context(Settings(security_protocol="SSL", ssl_certfile=str(garbage)))


def test_standby_replicas_reach_faust_and_default_to_none(tmp_path: Path) -> None:
    """Standby copies cost a detecting process CPU per event (it reads the copied partitions'
    changelog), so they are off unless an operator asks for the faster failover."""
    from prometheus_client import CollectorRegistry

    from streams.app import create_app

    assert Settings().standby_replicas == 0
    assert Settings.load(env={"SENTINEL_STANDBY_REPLICAS": "1"}).standby_replicas == 1
    for replicas in (0, 1):
        settings = Settings(standby_replicas=replicas, data_dir=str(tmp_path))
        built = create_app(settings, registry=CollectorRegistry())
        assert built.app.conf.table_standby_replicas == replicas
