"""Holdouts: a fixed share of customers whose alerts nobody acts on, to measure whether acting helps.

Membership is a pure function of the salt and the subject, so every worker, a
replay and the effectiveness report agree on it without sharing any state, and
changing the salt draws a new holdout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

from schemas.errors import ConfigError

MAX_SHARE = 0.5
"""More than half held out would make the held-out group the treated one."""

_SCALE = float(2**64)
"""A multiplication by a power of two is exact in floating point, so `share * _SCALE` compares exactly."""


@dataclass(frozen=True, slots=True)
class Holdout:
    """The `[holdout]` table of the thresholds file."""

    share: float = 0.0
    """Fraction of customers held out, from 0 (nobody, the default) to 0.5."""
    salt: str = ""
    """Mixed into the hash; a new salt draws a new holdout."""

    def __post_init__(self) -> None:
        share = self.share
        if type(share) not in (int, float) or not math.isfinite(share) or not 0 <= share <= MAX_SHARE:
            raise ConfigError(f"holdout.share must be a number from 0 to {MAX_SHARE}, got {share!r}")
        if type(self.salt) is not str:
            raise ConfigError(f"holdout.salt must be a string, got {self.salt!r}")

    def is_held_out(self, subject: str) -> bool:
        """Whether the first 8 bytes of blake2b-128(salt, 0x1f, subject), over 2^64, fall below `share`.

        The integer is compared with `share * 2^64` rather than divided: the same
        inequality, without a rounding step that could move a customer across it.
        """
        digest = blake2b(f"{self.salt}\x1f{subject}".encode(), digest_size=16).digest()
        return int.from_bytes(digest[:8], "big") < self.share * _SCALE


NO_HOLDOUT = Holdout()
"""Nobody held out: what a thresholds file without `[holdout]` means."""


def holdout_from_config(mapping: Mapping[str, Any], origin: str = "<config>") -> Holdout:
    """The holdout of a thresholds file read as TOML; a ConfigError names `origin` and the key."""
    table = mapping.get("holdout", {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"{origin}: holdout must be a table, got {table!r}")
    known = ("share", "salt")
    for key in table:
        if key not in known:
            raise ConfigError(f"{origin}: unknown key holdout.{key} (known: {', '.join(known)})")
    try:
        return Holdout(table.get("share", 0.0), table.get("salt", ""))
    except ConfigError as error:
        raise ConfigError(f"{origin}: {error}") from None
