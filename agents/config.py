"""Thresholds from one TOML file: every pattern configurable and switchable off.

The file mirrors the catalog: an `[engine]` table and one `[patterns.<name>]`
table per pattern. Anything the code does not know is an error that names the
key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.patterns import PATTERN_TYPES, Pattern
from schemas.errors import ConfigError
from schemas.timestamps import DAY, MINUTE, Duration, format_duration, parse_duration


@dataclass(frozen=True, slots=True)
class EngineSettings:
    lateness: Duration = 5 * MINUTE
    """The watermark trails the highest event time by this much."""
    new_customer_period: Duration = 90 * DAY
    """How long after the first order a customer counts as new."""


@dataclass(frozen=True)
class Config:
    """The engine's settings and the enabled patterns, each built with its thresholds."""

    engine: EngineSettings = field(default_factory=EngineSettings)
    patterns: tuple[Pattern, ...] = field(default_factory=lambda: tuple(p() for p in PATTERN_TYPES))

    @classmethod
    def default(cls) -> Config:
        return cls()

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], origin: str = "<config>") -> Config:
        """Build from TOML-shaped data; ConfigError names `origin` and the offending key."""
        _reject_unknown(mapping, ("engine", "patterns"), origin, "")
        engine = _build(EngineSettings, _table(mapping, "engine", origin), origin, "engine")
        tables = _table(mapping, "patterns", origin)
        known = {pattern.name: pattern for pattern in PATTERN_TYPES}
        _reject_unknown(tables, tuple(known), origin, "patterns.")
        patterns = []
        for pattern_type in PATTERN_TYPES:
            where = f"patterns.{pattern_type.name}"
            settings = dict(_table(tables, pattern_type.name, origin, where))
            enabled = settings.pop("enabled", True)
            if type(enabled) is not bool:
                raise ConfigError(f"{origin}: {where}.enabled must be true or false, got {enabled!r}")
            limits = _build(pattern_type.Thresholds, settings, origin, where)
            if enabled:
                patterns.append(pattern_type(limits))
        return cls(engine, tuple(patterns))

    def as_toml_ready(self) -> dict[str, Any]:
        """The effective settings, as the config file would spell them."""
        return {
            "engine": _spell(self.engine),
            "patterns": {pattern.name: _spell(pattern.limits) for pattern in self.patterns},
        }


def load_config(path: str | Path) -> Config:
    """Read a thresholds file; a missing file, bad TOML or bad value is a ConfigError."""
    try:
        with open(path, "rb") as handle:
            mapping = tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    return Config.from_mapping(mapping, origin=str(path))


def _table(mapping: Mapping[str, Any], key: str, origin: str, where: str | None = None) -> Mapping[str, Any]:
    value = mapping.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{origin}: {where or key} must be a table, got {value!r}")
    return value


def _reject_unknown(mapping: Mapping[str, Any], known: tuple[str, ...], origin: str, prefix: str) -> None:
    for key in mapping:
        if key not in known:
            raise ConfigError(f"{origin}: unknown key {prefix}{key} (known: {', '.join(known)})")


def _build(kind: type[Any], settings: Mapping[str, Any], origin: str, where: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(kind)}
    _reject_unknown(
        settings,
        (*fields, "enabled") if where.startswith("patterns.") else tuple(fields),
        origin,
        f"{where}.",
    )
    values = {}
    for name, value in settings.items():
        if name == "enabled":
            continue
        values[name] = _coerce(fields[name], value, f"{origin}: {where}.{name}")
    return kind(**values)


def _coerce(spec: dataclasses.Field[Any], value: Any, where: str) -> Any:
    if spec.type == "Duration":
        if type(value) is not str:
            raise ConfigError(f'{where} must be a duration like "48h" or "7d", got {value!r}')
        try:
            millis = parse_duration(value)
        except ValueError as error:
            raise ConfigError(f"{where}: {error}") from None
        if millis <= 0:
            raise ConfigError(f"{where} must be longer than zero")
        return millis
    if spec.type == "int":
        if type(value) is not int or value < 1:
            raise ConfigError(f"{where} must be a whole number >= 1, got {value!r}")
        return value
    if type(value) not in (int, float) or value < 0:
        raise ConfigError(f"{where} must be a number >= 0, got {value!r}")
    return value


def _spell(settings: Any) -> dict[str, Any]:
    spelled = {}
    for spec in dataclasses.fields(settings):
        value = getattr(settings, spec.name)
        spelled[spec.name] = format_duration(value) if spec.type == "Duration" else value
    return spelled
