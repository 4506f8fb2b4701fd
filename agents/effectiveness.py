"""Do the alerts help? Churn after a customer's first alert, alerted against held-out customers.

For each pattern, every customer counts once, from their first fired alert of
that pattern. A customer whose horizon (that alert's time plus `horizon`) runs
past the end of the history is left out: their outcome is not known yet. The
outcome is a `contract.cancelled` or `deal.lost` of the customer within
(first alert, first alert + horizon]. The held-out customers are the control
group: the same alerts fired for them, and nobody acted on them.

The difference of the two rates (alerted minus held out) gets a 95 % interval
by Newcombe's hybrid score method (Newcombe 1998, Statistics in Medicine 17,
873-890, method 10), built from the Wilson score interval of each rate; it
keeps near-nominal coverage for small groups and rates near 0 or 1, where the
textbook Wald interval does not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from agents.config import Config
from agents.holdout import NO_HOLDOUT, Holdout
from agents.replay import run_replay
from schemas import codec
from schemas.errors import SentinelError
from schemas.events import Rejected, Touchpoint, decode_message
from schemas.timestamps import Duration, format_duration, format_instant, parse_instant

Z_95 = 1.959964
"""The standard normal quantile for a two-sided 95 % interval."""

OUTCOMES = ("contract.cancelled", "deal.lost")
"""What counts as losing the customer: churn, or a negotiation that ended without an order."""

HELPS, HURTS, NO_EVIDENCE = "helps", "hurts", "no evidence"


@dataclass(frozen=True, slots=True)
class Interval:
    """A confidence interval."""

    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True, slots=True)
class Group:
    """The alerted or the held-out customers of one pattern."""

    customers: int
    """Customers counted (first alert early enough for the whole horizon)."""
    lost: int
    """Of them, those who churned or were lost within the horizon."""
    rate: float | None
    """lost / customers; None for an empty group."""
    interval: Interval | None
    """95 % Wilson score interval of the rate; None for an empty group."""


@dataclass(frozen=True, slots=True)
class PatternEffect:
    """One pattern's line of the report."""

    pattern: str
    alerted: Group
    held_out: Group
    left_out: int
    """Customers whose horizon runs past the end of the history, in either group."""
    difference: float | None
    """Alerted rate minus held-out rate; None when a group is empty."""
    interval: Interval | None
    """95 % Newcombe-Wilson interval of the difference; None when a group is empty."""
    verdict: str
    """`helps` (interval below 0), `hurts` (above 0), or `no evidence`."""


@dataclass(frozen=True, slots=True)
class Report:
    """The effectiveness of every enabled pattern over one history."""

    horizon: str
    end: str | None
    """Time of the last event of the history; None for a history without events."""
    holdout: Holdout
    erased: int
    """Customers erased in the history, left out of every count (erasure forgets them)."""
    patterns: tuple[PatternEffect, ...]

    def as_json_ready(self) -> dict[str, Any]:
        return asdict(self)


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> Interval:
    """Wilson's score interval for a proportion (no continuity correction); trials must be > 0.

    At 0 and at `trials` successes the limit is 0 or 1 exactly, as it is in the formula.
    """
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return Interval(low, high)


def newcombe_interval(x1: int, n1: int, x2: int, n2: int, z: float = Z_95) -> Interval:
    """Newcombe's hybrid score interval for p1 - p2 of two independent proportions (his method 10)."""
    p1, p2 = x1 / n1, x2 / n2
    one, two = wilson_interval(x1, n1, z), wilson_interval(x2, n2, z)
    difference = p1 - p2
    return Interval(
        difference - math.hypot(p1 - one.low, two.high - p2),
        difference + math.hypot(one.high - p1, p2 - two.low),
    )


def verdict(interval: Interval | None) -> str:
    """A verdict only where the interval excludes 0: below it outreach lowered churn, above it raised it."""
    if interval is None or not interval.excludes_zero():
        return NO_EVIDENCE
    return HELPS if interval.high < 0 else HURTS


def group(customers: int, lost: int) -> Group:
    if customers == 0:
        return Group(0, 0, None, None)
    return Group(customers, lost, lost / customers, wilson_interval(lost, customers))


def compare(pattern: str, alerted: Group, held_out: Group, left_out: int) -> PatternEffect:
    if alerted.customers == 0 or held_out.customers == 0:
        return PatternEffect(pattern, alerted, held_out, left_out, None, None, NO_EVIDENCE)
    interval = newcombe_interval(alerted.lost, alerted.customers, held_out.lost, held_out.customers)
    difference = alerted.lost / alerted.customers - held_out.lost / held_out.customers
    return PatternEffect(pattern, alerted, held_out, left_out, difference, interval, verdict(interval))


@dataclass(slots=True)
class Tally:
    """What the report needs from a history and its alerts, gathered in one pass."""

    patterns: tuple[str, ...]
    holdout: Holdout
    horizon: Duration
    end: int | None = None
    first_alerts: dict[str, dict[str, int]] = field(default_factory=dict)
    """pattern -> subject -> time of the first fired alert."""
    losses: dict[str, list[int]] = field(default_factory=dict)
    """subject -> times of its cancellations and lost deals."""
    erased: set[str] = field(default_factory=set)
    membership: dict[str, bool] = field(default_factory=dict)

    def event(self, event: Touchpoint) -> None:
        if self.end is None or event.time > self.end:
            self.end = event.time
        if event.type in OUTCOMES:
            self.losses.setdefault(event.subject, []).append(event.time)
        elif event.type == "customer.erased":
            self.erased.add(event.subject)

    def alert(self, alert: Mapping[str, Any]) -> None:
        """Count a fired alert; one carrying `data.holdout` must agree with the configured holdout."""
        if alert["type"] != "alert.fired":
            return
        subject, data = alert["subject"], alert["data"]
        held_out = self.held_out(subject)
        flag = data.get("holdout")
        if flag is not None and flag is not held_out:
            expected = "held out" if held_out else "not held out"
            raise SentinelError(
                f"alert {alert['id']} for {subject} says holdout={str(flag).lower()}, but the holdout "
                f"configured (share {self.holdout.share}, salt {self.holdout.salt!r}) has them {expected}"
            )
        firsts = self.first_alerts.setdefault(data["pattern"], {})
        if subject not in firsts:
            firsts[subject] = parse_instant(alert["time"])

    def held_out(self, subject: str) -> bool:
        known = self.membership.get(subject)
        if known is None:
            known = self.membership[subject] = self.holdout.is_held_out(subject)
        return known

    def report(self) -> Report:
        return Report(
            format_duration(self.horizon),
            format_instant(self.end) if self.end is not None else None,
            self.holdout,
            len(self.erased),
            tuple(self._effect(pattern) for pattern in self.patterns),
        )

    def _effect(self, pattern: str) -> PatternEffect:
        counts = {True: [0, 0], False: [0, 0]}
        left_out = 0
        end = self.end if self.end is not None else 0
        for subject, first in self.first_alerts.get(pattern, {}).items():
            if subject in self.erased:
                continue
            until = first + self.horizon
            if until > end:
                left_out += 1
                continue
            tally = counts[self.held_out(subject)]
            tally[0] += 1
            tally[1] += any(first < at <= until for at in self.losses.get(subject, ()))
        return compare(pattern, group(*counts[False]), group(*counts[True]), left_out)


def measure(
    lines: Iterable[bytes | str],
    *,
    config: Config,
    horizon: Duration,
    reject: Callable[[int, Rejected], object] = lambda number, bad: None,
) -> Report:
    """Replay the history (JSON lines) and report every enabled pattern's effect on churn; the
    holdout is the config's (`[holdout]`)."""
    holdout = config.holdout or NO_HOLDOUT
    tally = Tally(tuple(pattern.name for pattern in config.patterns), holdout, horizon)

    def tap(raw_lines: Iterable[bytes | str]) -> Iterator[bytes | str]:
        for line in raw_lines:
            raw = line.encode() if isinstance(line, str) else line
            if raw.strip():
                for event in decode_message(raw.rstrip(b"\r\n"))[0]:
                    tally.event(event)
            yield line

    run_replay(
        tap(lines),
        config=config,
        until=None,
        emit=lambda alert: tally.alert(codec.loads(alert)),
        reject=reject,
    )
    return tally.report()


def render_table(report: Report) -> str:
    """The report for a terminal: one aligned row per pattern, rates in percent."""
    share = report.holdout.share
    lines = [
        f"Churned or lost within {report.horizon} of each customer's first alert of a pattern; "
        + (f"history up to {report.end}." if report.end else "the history has no events."),
        f"Holdout: share {share:g}, salt {report.holdout.salt!r}."
        + (" Nobody is held out, so there is nothing to compare." if share == 0 else ""),
    ]
    if report.erased:
        lines.append(f"{report.erased} erased customers left out.")
    header = ("pattern", "alerted", "lost", "rate", "held out", "lost", "rate", "difference", "95% interval")
    rows = [(*header, "verdict", "left out")]
    for effect in report.patterns:
        rows.append(
            (
                effect.pattern,
                *_group_cells(effect.alerted),
                *_group_cells(effect.held_out),
                _points(effect.difference),
                "-" if effect.interval is None else _bounds(effect.interval),
                effect.verdict,
                str(effect.left_out),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header) + 2)]
    left = {0, 9}
    lines.append("")
    for row in rows:
        cells = [
            cell.ljust(width) if column in left else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    lines.append("difference: alerted minus held-out rate, in percentage points (pp), with its 95% interval;")
    lines.append("a verdict only when the interval excludes 0: below it helps, above it hurts.")
    return "\n".join(lines) + "\n"


def _group_cells(members: Group) -> tuple[str, str, str]:
    rate = "-" if members.rate is None else f"{100 * members.rate:.1f}%"
    return str(members.customers), str(members.lost), rate


def _bounds(interval: Interval) -> str:
    return f"[{100 * interval.low:+.1f}, {100 * interval.high:+.1f}]"


def _points(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.1f} pp"
