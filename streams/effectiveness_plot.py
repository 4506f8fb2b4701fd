"""`sentinel effectiveness --plot`: the two rates of each pattern with their 95 % intervals, as a PNG.

The rates rather than only their difference: a reader sees how common the loss
is in each group and how many customers stand behind each interval (wide bars
mean few). The difference, its interval and the verdict are written beside
each pattern's name. matplotlib is the optional `plot` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from agents.effectiveness import Group, PatternEffect, Report
from schemas.errors import SentinelError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ALERTED_COLOUR, HELD_OUT_COLOUR = "#1f77b4", "#ff7f0e"
ROW_HEIGHT_INCHES = 0.55


def plot_report(report: Report, path: str | Path) -> int:
    """Draw every pattern with customers in either group; returns how many were drawn."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise SentinelError("--plot needs matplotlib: pip install 'touchpoint-sentinel[plot]'") from None
    shown = [effect for effect in report.patterns if effect.alerted.customers or effect.held_out.customers]
    figure = Figure(figsize=(10, 1.6 + ROW_HEIGHT_INCHES * max(1, len(shown))), layout="constrained")
    axes = figure.add_subplot()
    for row, effect in enumerate(reversed(shown)):
        _draw_group(axes, row + 0.15, effect.alerted, ALERTED_COLOUR, "o")
        _draw_group(axes, row - 0.15, effect.held_out, HELD_OUT_COLOUR, "s")
    axes.set_yticks(range(len(shown)), [_label(effect) for effect in reversed(shown)], fontsize=8)
    axes.set_ylim(-0.7, max(1, len(shown)) - 0.3)
    axes.set_xlim(-2, 100)
    axes.set_xlabel(f"churned or lost within {report.horizon} of the first alert (%, 95 % Wilson interval)")
    axes.set_title(
        f"Do the alerts help? Holdout share {report.holdout.share:g}, history up to {report.end or '-'}",
        fontsize=10,
    )
    axes.grid(axis="x", alpha=0.3)
    axes.plot([], [], "o", color=ALERTED_COLOUR, label="alerted")
    axes.plot([], [], "s", color=HELD_OUT_COLOUR, label="held out")
    axes.legend(loc="lower right", fontsize=8)
    if not shown:
        axes.text(50, 0, "no pattern fired for a customer with a complete horizon", ha="center")
    try:
        figure.savefig(path, format="png", dpi=100)
    except OSError as error:
        raise SentinelError(f"cannot write {path}: {error.strerror}") from None
    return len(shown)


def _draw_group(axes: Axes, y: float, members: Group, colour: str, marker: str) -> None:
    if members.rate is None or members.interval is None:
        return
    rate = 100 * members.rate
    axes.errorbar(
        [rate],
        [y],
        xerr=[[rate - 100 * members.interval.low], [100 * members.interval.high - rate]],
        fmt=marker,
        color=colour,
        capsize=3,
    )
    axes.annotate(
        f"n={members.customers}",
        (100 * members.interval.high, y),
        xytext=(4, -3),
        textcoords="offset points",
        fontsize=7,
        color=colour,
    )


def _label(effect: PatternEffect) -> str:
    if effect.interval is None or effect.difference is None:
        return f"{effect.pattern}\n{effect.verdict}: a group is empty"
    return (
        f"{effect.pattern}\n{effect.verdict}: {100 * effect.difference:+.1f} pp "
        f"[{100 * effect.interval.low:+.1f}, {100 * effect.interval.high:+.1f}]"
    )
