"""One exception tree for the whole project.

Every error Touchpoint Sentinel raises on purpose derives from `SentinelError`;
the ones caused by bad input are also `ValueError`s so generic callers can
catch them without knowing this module. `retriable` tells a caller whether
trying again later can help (it never does for bad input).
"""

from __future__ import annotations


class SentinelError(Exception):
    """Root of every error raised on purpose by Touchpoint Sentinel."""

    retriable: bool = False


class InvalidEvent(SentinelError, ValueError):
    """A touchpoint that breaks the input contract; `reason` is a stable code for metrics."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class ConfigError(SentinelError, ValueError):
    """A settings or thresholds file that names an unknown key or holds a bad value."""
