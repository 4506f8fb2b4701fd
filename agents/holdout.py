"""Holdouts: the customers whose alerts nobody acts on, so that acting can be measured.

A customer is held out iff the first 8 bytes of blake2b(salt + "\\x1f" +
subject, digest size 16), read as an unsigned big-endian integer and divided
by 2^64, are below `share` (shared/spec/actions.md, section 5). Their alerts
are computed and published as usual, marked `holdout: true`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

from schemas.errors import ConfigError

MAX_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class Holdout:
    share: float
    salt: str

    def __post_init__(self) -> None:
        if not 0 <= self.share <= MAX_SHARE:
            raise ConfigError(f"holdout.share must be a number from 0 to {MAX_SHARE}, got {self.share!r}")

    def is_held_out(self, subject: str) -> bool:
        if not self.share:
            return False
        digest = blake2b(f"{self.salt}\x1f{subject}".encode(), digest_size=16).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.share


def holdout_from_config(table: Mapping[str, Any], where: str = "holdout") -> Holdout:
    """From the `[holdout]` table; a ConfigError names the key that is wrong."""
    for key in table:
        if key not in ("share", "salt"):
            raise ConfigError(f"{where}: unknown key {where}.{key} (known: share, salt)")
    share, salt = table.get("share", 0.0), table.get("salt", "")
    if type(share) not in (int, float):
        raise ConfigError(f"{where}.share must be a number from 0 to {MAX_SHARE}, got {share!r}")
    if type(salt) is not str:
        raise ConfigError(f"{where}.salt must be a string, got {salt!r}")
    return Holdout(float(share), salt)
