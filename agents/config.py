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

from agents.calendar import WALL, BusinessCalendar, Clock
from agents.holdout import Holdout, holdout_from_config
from agents.patterns import PATTERN_NAMES, PATTERN_TYPES, Pattern
from schemas.errors import ConfigError
from schemas.events import SEGMENT_NAME
from schemas.timestamps import DAY, MINUTE, Duration, format_duration, parse_duration


@dataclass(frozen=True, slots=True)
class EngineSettings:
    lateness: Duration = 5 * MINUTE
    """The watermark trails the highest event time by this much."""
    new_customer_period: Duration = 90 * DAY
    """How long after the first order a customer counts as new."""


@dataclass(frozen=True)
class Config:
    """The engine's settings and the patterns, each built with its thresholds; per segment too."""

    engine: EngineSettings = field(default_factory=EngineSettings)
    patterns: tuple[Pattern[Any], ...] = field(default_factory=lambda: tuple(p() for p in PATTERN_TYPES))
    """The patterns switched on, with the pattern tables' thresholds."""
    disabled: tuple[Pattern[Any], ...] = ()
    """The patterns switched off in the pattern tables (a segment may switch them on)."""
    segments: Mapping[str, tuple[Pattern[Any], ...]] = field(default_factory=dict)
    """Per segment the config names: every pattern, with that segment's thresholds and switch."""
    calendar: BusinessCalendar | None = None
    holdout: Holdout | None = None

    @classmethod
    def default(cls) -> Config:
        return cls()

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], origin: str = "<config>") -> Config:
        """Build from TOML-shaped data; ConfigError names `origin` and the offending key."""
        _reject_unknown(mapping, ("engine", "patterns", "calendar", "segments", "holdout"), origin, "")
        engine = _build(EngineSettings, _table(mapping, "engine", origin), origin, "engine")
        calendar = None
        if "calendar" in mapping:
            calendar = BusinessCalendar.from_mapping(
                _table(mapping, "calendar", origin), f"{origin}: calendar"
            )
        holdout = holdout_from_config(mapping, origin)
        tables = _table(mapping, "patterns", origin)
        _reject_unknown(tables, PATTERN_NAMES, origin, "patterns.")
        catalog = tuple(
            _pattern(
                kind,
                _table(tables, kind.name, origin, f"patterns.{kind.name}"),
                origin,
                f"patterns.{kind.name}",
                calendar,
            )
            for kind in PATTERN_TYPES
        )
        segments = {
            name: _segment(name, overrides, catalog, origin, calendar)
            for name, overrides in _table(mapping, "segments", origin).items()
        }
        return cls(
            engine,
            tuple(p for p in catalog if p.enabled),
            tuple(p for p in catalog if not p.enabled),
            segments,
            calendar,
            holdout if holdout.share else None,
        )

    def as_toml_ready(self) -> dict[str, Any]:
        """The effective settings, as the config file would spell them."""
        spelled: dict[str, Any] = {
            "engine": _spell(self.engine),
            "patterns": {pattern.name: _spell(pattern.limits) for pattern in self.patterns},
        }
        if self.disabled:
            spelled["disabled"] = [pattern.name for pattern in self.disabled]
        if self.calendar is not None:
            spelled["calendar"] = self.calendar.describe()
        if self.segments:
            spelled["segments"] = {
                name: {
                    pattern.name: {**_spell(pattern.limits), "enabled": pattern.enabled}
                    for pattern in patterns
                    if pattern.enabled != _default_enabled(self, pattern.name)
                    or _spell(pattern.limits) != _default_spelled(self, pattern.name)
                }
                for name, patterns in self.segments.items()
            }
        if self.holdout is not None:
            spelled["holdout"] = {"share": self.holdout.share, "salt": self.holdout.salt}
        return spelled


def _default_enabled(config: Config, name: str) -> bool:
    return any(pattern.name == name for pattern in config.patterns)


def _default_spelled(config: Config, name: str) -> dict[str, Any]:
    pattern = next(p for p in (*config.patterns, *config.disabled) if p.name == name)
    return _spell(pattern.limits)


def _pattern(
    kind: type[Pattern[Any]],
    table: Mapping[str, Any],
    origin: str,
    where: str,
    calendar: BusinessCalendar | None,
    base: Pattern[Any] | None = None,
) -> Pattern[Any]:
    """One pattern from its table (`enabled`, thresholds, `clock`), over `base` for a segment."""
    settings = dict(table)
    enabled = settings.pop("enabled", base.enabled if base is not None else True)
    if type(enabled) is not bool:
        raise ConfigError(f"{origin}: {where}.enabled must be true or false, got {enabled!r}")
    limits = _build(kind.Thresholds, settings, origin, where, base.limits if base is not None else None)
    clock: Clock = WALL
    chosen = getattr(limits, "clock", "wall")
    if chosen == "business":
        if calendar is None:
            raise ConfigError(f'{origin}: {where}.clock = "business" needs a [calendar] table')
        clock = calendar
    elif chosen != "wall":
        raise ConfigError(f'{origin}: {where}.clock must be "wall" or "business", got {chosen!r}')
    return kind(limits, clock=clock, enabled=enabled)


def _segment(
    name: str,
    overrides: Any,
    catalog: tuple[Pattern[Any], ...],
    origin: str,
    calendar: BusinessCalendar | None,
) -> tuple[Pattern[Any], ...]:
    """Every pattern for customers of segment `name`: its table overrides the keys it names."""
    where = f"segments.{name}"
    if not SEGMENT_NAME.fullmatch(name):
        raise ConfigError(f"{origin}: {where}: a segment name is 1-64 letters, digits, '_' or '-'")
    if not isinstance(overrides, Mapping):
        raise ConfigError(f"{origin}: {where} must be a table")
    _reject_unknown(overrides, ("patterns",), origin, f"{where}.")
    tables = _table(overrides, "patterns", origin, f"{where}.patterns")
    _reject_unknown(tables, PATTERN_NAMES, origin, f"{where}.patterns.")
    return tuple(
        _pattern(
            type(base),
            _table(tables, base.name, origin, f"{where}.patterns.{base.name}"),
            origin,
            f"{where}.patterns.{base.name}",
            calendar,
            base,
        )
        for base in catalog
    )


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


def _build(kind: type[Any], settings: Mapping[str, Any], origin: str, where: str, base: Any = None) -> Any:
    fields = {f.name: f for f in dataclasses.fields(kind)}
    _reject_unknown(
        settings,
        (*fields, "enabled") if "patterns." in where else tuple(fields),
        origin,
        f"{where}.",
    )
    values = {name: getattr(base, name) for name in fields} if base is not None else {}
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
    if spec.type == "str":
        if type(value) is not str:
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
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
