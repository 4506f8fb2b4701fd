"""Runtime settings: the only reader of the environment.

Precedence: defaults < settings file (TOML, `[sentinel]` table) < environment
(`SENTINEL_<NAME>`, plus the conventional `KAFKA_BOOTSTRAP_SERVERS`). Every
value is checked once here, and a bad one names its key and where it came from;
a `SENTINEL_` variable that names no setting is refused too, since a misspelled
one would otherwise be ignored without a word. The SASL password never appears
in the settings' repr nor in an error message, and neither does the webhook secret.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.errors import ConfigError
from schemas.events import FUTURE_TOLERANCE_MS
from schemas.timestamps import MINUTE, SECOND, Duration, parse_duration

ENV_PREFIX = "SENTINEL_"
SETTINGS_FILE_VARIABLE = ENV_PREFIX + "SETTINGS_FILE"
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
ROLES = ("all", "ingest", "detect")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the worker needs to know about its surroundings."""

    bootstrap_servers: str = "127.0.0.1:9092"
    """Comma-separated host:port list of the Kafka cluster."""
    app_id: str = "touchpoint-sentinel"
    role: str = "all"
    """What this process does: `ingest` (validate and repartition), `detect` (the engine over the
    internal topic), or `all` of both; ingest and detect processes scale apart."""
    """Consumer group and prefix of the internal and changelog topics."""
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    sasl_username: str = ""
    sasl_password: str = field(default="", repr=False)
    """A secret: set it from the environment (SENTINEL_SASL_PASSWORD); never shown."""
    ssl_cafile: str = ""
    ssl_certfile: str = ""
    ssl_keyfile: str = ""
    touchpoints_topic: str = "touchpoints"
    alerts_topic: str = "alerts"
    dead_letter_topic: str = "touchpoints-dead-letter"
    partitions: int = 4
    """Partitions of the internal topic and the state tables (the unit of parallelism)."""
    replication_factor: int = 1
    standby_replicas: int = 0
    """Standby copies of each table partition kept by other detecting processes (Faust's
    `table_standby_replicas`, whose own default is 1). A copy makes a failover fast (the new owner
    has the state) but its holder reads every changelog record of the partition as it is written:
    with two workers each spends about as much CPU per event on the other's changelog as on its own
    events (BENCHMARKS.md, scale-out). So none by default, as in Kafka Streams
    (`num.standby.replicas`): a failover reads the partition's changelog (README, "Sizing"), and a
    `rocksdb://` worker restarted on its own disk reads only what it missed."""
    store: str = "memory://"
    """Table store: memory:// or rocksdb:// (needs the rocksdb extra)."""
    data_dir: str = ".sentinel"
    thresholds_file: str = ""
    """The danger-pattern thresholds (TOML); empty means the catalog defaults."""
    idle_advance: bool = True
    """Advance an idle partition's watermark with the wall clock (live operation)."""
    idle_after: Duration = 10 * SECOND
    """How long a partition must be silent before the wall clock moves its watermark."""
    tick_interval: Duration = 1 * SECOND
    batch_max_events: int = 2000
    """At most this many touchpoints per internal batch message."""
    metrics_port: int = 9108
    """Prometheus /metrics; 0 turns the endpoint off."""
    metrics_host: str = "127.0.0.1"
    advertised_url: str = ""
    """How other workers reach this one's HTTP endpoint (customer requests are routed to the owner);
    empty means http://<metrics_host, or this host's name when that is a wildcard>:<metrics_port>."""
    broker_wait: Duration = 5 * MINUTE
    """How long a starting worker waits for an unreachable broker before it gives up (exit code 3)."""
    rebalance_timeout: Duration = 60 * SECOND
    """Kafka group rebalance timeout; a few seconds suit the embedded broker."""
    session_timeout: Duration = 30 * SECOND
    reject_future_events: bool = True
    """Refuse events more than `future_tolerance` ahead of the wall clock (live operation only)."""
    future_tolerance: Duration = FUTURE_TOLERANCE_MS
    """How far ahead of the wall clock an event's time may be (time_in_future beyond). One event
    far ahead moves its input partition's clock, hence the watermark, as far: keep it short."""
    embedded_broker: bool = False
    """The broker is the embedded Tansu: work around its end-offset answer in table recovery."""
    log_level: str = "warning"
    """debug, info, warning or error, for every command; `sentinel worker --loglevel` wins. Customer
    ids and exception messages that may quote input appear only at debug."""
    log_format: str = "text"
    """text (one line per record, for people) or json (one object per line, for log collectors)."""
    alerts_dead_letter_topic: str = "alerts-dead-letter"
    """Where `sentinel deliver` puts an alert it cannot deliver, with the last error in its headers."""
    deliver_metrics_port: int = 9109
    """Prometheus /metrics of `sentinel deliver` (on `metrics_host`); 0 turns the endpoint off."""
    resend_interval: Duration = 1 * MINUTE
    """How often `sentinel deliver alertmanager` posts every open episode again; each post says it
    ends 4 intervals later, so Alertmanager resolves an episode nobody re-posts after that."""
    delivery_timeout: Duration = 10 * SECOND
    """How long one HTTP request to Alertmanager or the webhook may take."""
    customer_view_url: str = "http://127.0.0.1:9108/customers/"
    """Where people open the worker's customer view; the customer id is appended (Alertmanager's
    generatorURL). Empty: no link."""
    webhook_secret: str = field(default="", repr=False)
    """A secret: the HMAC-SHA256 key of webhook signatures (SENTINEL_WEBHOOK_SECRET); never shown."""
    webhook_attempts: int = 8
    """Tries per alert (the first included) before it goes to `alerts_dead_letter_topic`."""
    webhook_backoff: Duration = 1 * SECOND
    """The wait after a webhook's first failed try; it doubles with each try (with jitter), up to 5 min."""

    @classmethod
    def load(cls, path: str | Path | None = None, env: Mapping[str, str] = os.environ) -> Settings:
        """Defaults, then the settings file (if any), then the environment."""
        _refuse_unknown_variables(env)
        values: dict[str, Any] = {}
        file = path or env.get(SETTINGS_FILE_VARIABLE)
        if file:
            values.update(_read_file(Path(file)))
        if "KAFKA_BOOTSTRAP_SERVERS" in env:
            values["bootstrap_servers"] = ("KAFKA_BOOTSTRAP_SERVERS", env["KAFKA_BOOTSTRAP_SERVERS"])
        for spec in dataclasses.fields(cls):
            name = ENV_PREFIX + spec.name.upper()
            if name in env:
                values[spec.name] = (name, env[name])
        return cls.from_values(values)

    @classmethod
    def from_values(cls, values: Mapping[str, tuple[str, Any]]) -> Settings:
        """Build from {field: (where it came from, raw value)}; text values are parsed."""
        fields = {spec.name: spec for spec in dataclasses.fields(cls)}
        parsed = {name: _parse(fields[name], where, raw) for name, (where, raw) in values.items()}
        for name in ("log_level", "log_format"):
            if isinstance(parsed.get(name), str):
                parsed[name] = parsed[name].strip().lower()
        settings = cls(**parsed)
        settings._check()
        return settings

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def internal_topic(self) -> str:
        return f"{self.app_id}-touchpoints-by-customer"

    def _check(self) -> None:
        if self.role not in ROLES:
            raise ConfigError(f"role must be one of {', '.join(ROLES)}, got {self.role!r}")
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise ConfigError(f"security_protocol must be one of {', '.join(SECURITY_PROTOCOLS)}")
        if self.security_protocol.startswith("SASL") and self.sasl_mechanism not in SASL_MECHANISMS:
            raise ConfigError(f"sasl_mechanism must be one of {', '.join(SASL_MECHANISMS)}")
        if not self.store.startswith(("memory://", "rocksdb://")):
            raise ConfigError(f"store must be memory:// or rocksdb://, got {self.store!r}")
        if not self.bootstrap_servers.strip():
            raise ConfigError("bootstrap_servers must name at least one host:port")
        if self.security_protocol.startswith("SASL") and not self.sasl_username:
            raise ConfigError(f"sasl_username must be set with security_protocol {self.security_protocol}")
        if self.ssl_keyfile and not self.ssl_certfile:
            raise ConfigError("ssl_keyfile is set but ssl_certfile is not (the client certificate)")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(f"log_format must be one of {', '.join(LOG_FORMATS)}, got {self.log_format!r}")
        for name in ("resend_interval", "delivery_timeout", "webhook_backoff", "webhook_attempts"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be more than 0")
        if self.customer_view_url and not self.customer_view_url.startswith(("http://", "https://")):
            shown = self.customer_view_url
            raise ConfigError(f"customer_view_url must be an http:// or https:// URL, got {shown!r}")


def known_variables() -> list[str]:
    """Every SENTINEL_* variable the settings read."""
    return [
        SETTINGS_FILE_VARIABLE,
        *(ENV_PREFIX + spec.name.upper() for spec in dataclasses.fields(Settings)),
    ]


def _refuse_unknown_variables(env: Mapping[str, str]) -> None:
    known = known_variables()
    for name in sorted(env):
        if name.startswith(ENV_PREFIX) and name not in known:
            closest = difflib.get_close_matches(name, known, n=1, cutoff=0.0)
            raise ConfigError(f"{name} is not a setting; did you mean {closest[0]}?")


def _read_file(path: Path) -> dict[str, tuple[str, Any]]:
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the settings file ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    unknown_tables = set(document) - {"sentinel"}
    if unknown_tables:
        raise ConfigError(f"{path}: unknown table [{sorted(unknown_tables)[0]}] (only [sentinel] is read)")
    table = document.get("sentinel", {})
    known = {spec.name for spec in dataclasses.fields(Settings)}
    for key in table:
        if key not in known:
            raise ConfigError(f"{path}: unknown key sentinel.{key}")
    return {key: (f"{path}: sentinel.{key}", value) for key, value in table.items()}


def _parse(spec: dataclasses.Field[Any], where: str, raw: Any) -> Any:
    kind = spec.type
    try:
        if kind == "Duration":
            return parse_duration(raw) if isinstance(raw, str) else _fail(raw)
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            lowered = str(raw).strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            return _fail(raw)
        if kind == "int":
            value = raw if isinstance(raw, int) and not isinstance(raw, bool) else int(str(raw).strip())
            if value < 0:
                return _fail(raw)
            return value
        return raw if isinstance(raw, str) else _fail(raw)
    except ValueError:
        expected = {
            "Duration": 'a duration like "10s"',
            "bool": "true or false",
            "int": "a whole number >= 0",
        }
        shown = f", got {raw!r}" if spec.repr else ""
        raise ConfigError(f"{where} must be {expected.get(str(kind), 'a string')}{shown}") from None


def _fail(raw: Any) -> Any:
    raise ValueError(raw)
