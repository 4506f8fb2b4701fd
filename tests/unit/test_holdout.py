"""actions.md §5, the holdout rule: blake2b-128(salt, 0x1f, subject), first 8 bytes / 2^64 < share."""

from __future__ import annotations

import hashlib
import math
from fractions import Fraction

import pytest

from agents.holdout import NO_HOLDOUT, Holdout, holdout_from_config
from schemas.errors import ConfigError

SUBJECTS = [f"C-{number:07d}" for number in range(2_000)] + [f"Kundé-Ä{number}" for number in range(50)]


def by_hand(salt: str, subject: str) -> Fraction:
    """The spec's number, exactly: no floating point between the hash and the comparison."""
    digest = hashlib.blake2b((salt + "\x1f" + subject).encode("utf-8"), digest_size=16).digest()
    return Fraction(int.from_bytes(digest[:8], byteorder="big", signed=False), 2**64)


def test_membership_is_the_hash_fraction_below_the_share() -> None:
    holdout = Holdout(0.1, "2026-q4")
    expected = [subject for subject in SUBJECTS if by_hand("2026-q4", subject) < Fraction(0.1)]
    assert [subject for subject in SUBJECTS if holdout.is_held_out(subject)] == expected
    assert 150 < len(expected) < 260


# subject: first 8 bytes of blake2b-128("2026-q4" 0x1f subject), and that over 2^64 (worked out with hashlib)
BY_HAND = {
    "C-0000007": ("14f3b47fd15308a8", 0.08184364433811821),
    "C-1001": ("1bacabad9d9a73d3", 0.10810349453604734),
    "C-0000042": ("26f8027366ddb72e", 0.15222182576586973),
    "C-0000123": ("b9eef6e6016b7d86", 0.7263025580918292),
}


@pytest.mark.parametrize("subject", BY_HAND)
def test_worked_examples(subject: str) -> None:
    prefix, fraction = BY_HAND[subject]
    digest = hashlib.blake2b(f"2026-q4\x1f{subject}".encode(), digest_size=16).digest()
    assert digest[:8].hex() == prefix
    assert int(prefix, 16) / 2**64 == fraction
    for share in (0, 0.05, 0.1, 0.11, 0.15, 0.16, 0.5):
        assert Holdout(share, "2026-q4").is_held_out(subject) is (fraction < share), share


def test_worked_examples_at_share_one_tenth() -> None:
    held = [subject for subject in BY_HAND if Holdout(0.1, "2026-q4").is_held_out(subject)]
    assert held == ["C-0000007"]


BELOW_ONE_HALF = [
    subject
    for subject in [*SUBJECTS[:30], *SUBJECTS[-6:], "x" * 128, "y" * 128]
    if by_hand("s", subject) < Fraction(1, 2)
]


@pytest.mark.parametrize("subject", BELOW_ONE_HALF)
def test_the_comparison_is_strict_and_exact_at_the_boundary(subject: str) -> None:
    """A share equal to (or just below) the subject's number leaves it in; the next float up holds it out."""
    exact = by_hand("s", subject)
    at_or_below = float(exact)
    if Fraction(at_or_below) > exact:
        at_or_below = math.nextafter(at_or_below, 0)
    just_above = math.nextafter(at_or_below, 1)
    assert Fraction(just_above) > exact >= Fraction(at_or_below)
    assert not Holdout(at_or_below, "s").is_held_out(subject)
    assert Holdout(just_above, "s").is_held_out(subject)


def test_share_zero_holds_nobody_out_and_is_the_default() -> None:
    assert NO_HOLDOUT == Holdout() == Holdout(0.0, "")
    assert not any(Holdout(0, "2026-q4").is_held_out(subject) for subject in SUBJECTS)
    assert holdout_from_config({}) == NO_HOLDOUT


def test_share_one_half_holds_out_exactly_the_digests_whose_top_bit_is_clear() -> None:
    holdout = Holdout(0.5, "2026-q4")
    for subject in SUBJECTS:
        first_byte = hashlib.blake2b(f"2026-q4\x1f{subject}".encode(), digest_size=16).digest()[0]
        assert holdout.is_held_out(subject) is (first_byte < 0x80)


def test_the_salt_draws_a_different_holdout() -> None:
    one, other = Holdout(0.5, "2026-q4"), Holdout(0.5, "2027-q1")
    assert [one.is_held_out(s) for s in SUBJECTS] != [other.is_held_out(s) for s in SUBJECTS]


@pytest.mark.parametrize("share", [0.05, 0.1, 0.25, 0.5])
def test_the_share_of_a_large_population_held_out_is_close_to_share(share: float) -> None:
    holdout = Holdout(share, "2026-q4")
    population = 100_000
    held = sum(holdout.is_held_out(f"C-{number:07d}") for number in range(population))
    standard_error = math.sqrt(share * (1 - share) / population)
    assert abs(held / population - share) < 5 * standard_error


@pytest.mark.parametrize("share", [-0.01, 0.5000001, 1, math.nan, math.inf, "0.1", True, None])
def test_a_share_outside_0_to_one_half_is_a_config_error_naming_holdout_share(share: object) -> None:
    with pytest.raises(ConfigError, match=r"holdout\.share must be a number from 0 to 0\.5"):
        Holdout(share, "x")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^thresholds\.toml: holdout\.share must be"):
        holdout_from_config({"holdout": {"share": share, "salt": "x"}}, "thresholds.toml")


def test_the_config_table_is_read_and_checked() -> None:
    assert holdout_from_config({"holdout": {"share": 0.1, "salt": "2026-q4"}}) == Holdout(0.1, "2026-q4")
    assert holdout_from_config({"holdout": {"share": 0}, "patterns": {}}) == Holdout(0.0, "")
    with pytest.raises(ConfigError, match=r"unknown key holdout\.shares"):
        holdout_from_config({"holdout": {"shares": 0.1}})
    with pytest.raises(ConfigError, match=r"holdout\.salt must be a string"):
        holdout_from_config({"holdout": {"share": 0.1, "salt": 2026}})
    with pytest.raises(ConfigError, match="holdout must be a table"):
        holdout_from_config({"holdout": 0.1})


def test_a_holdout_is_frozen() -> None:
    holdout = Holdout(0.1, "2026-q4")
    with pytest.raises(AttributeError):
        holdout.share = 0.2  # type: ignore[misc]
