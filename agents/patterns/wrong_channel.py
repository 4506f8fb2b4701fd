"""Danger point 2: reaching the customer on a channel they refused or did not choose."""

from __future__ import annotations

from dataclasses import dataclass

from agents.lifecycle import is_communication
from agents.patterns.base import Duration, Pattern
from agents.step import Step
from schemas.events import Touchpoint
from schemas.timestamps import DAY

MAX_REMEMBERED_CHANNELS = 16


@dataclass(frozen=True, slots=True)
class Thresholds:
    quiet_period: Duration = 7 * DAY
    """At most one notice per channel within this period."""


class WrongChannel(Pattern[Thresholds]):
    name = "wrong_channel"
    danger_point = 2
    phases = "all"
    summary = "The customer was contacted on a channel they opted out of or did not choose."
    recommendation = (
        "Switch to the customer's preferred channel and fix the campaign or contact "
        "rule that ignored their choice."
    )
    reacts_to = ("contact.made", "marketing.sent")
    Thresholds = Thresholds

    def on_event(self, step: Step, event: Touchpoint) -> None:
        if not step.may_trigger or not is_communication(event):
            return
        state = step.state
        channel = event.data["channel"]
        if state.opted_out and channel in state.opted_out:
            severity, rule = "critical", "opted_out"
        elif state.preferred and channel not in state.preferred:
            severity, rule = "warning", "not_preferred"
        else:
            return
        last_notices: dict[str, int] = self.recall(state) or self.remember(state, {})
        last = last_notices.get(channel)
        if last is not None and event.time - last < self.limits.quiet_period:
            return
        last_notices[channel] = event.time
        for stale in [ch for ch, at in last_notices.items() if event.time - at >= self.limits.quiet_period]:
            del last_notices[stale]
        while len(last_notices) > MAX_REMEMBERED_CHANNELS:
            del last_notices[min(last_notices, key=last_notices.__getitem__)]
        evidence = {
            "channel": channel,
            "rule": rule,
            "event_type": event.type,
            "preferred_channels": state.preferred or [],
            "opted_out_channels": state.opted_out or [],
        }
        step.notice(self, event.time, severity, evidence, sub_key=channel)
