"""`sentinel deliver alertmanager`: alerts to Alertmanager's v2 API, open episodes kept firing.

Alertmanager works on its own wall clock: an alert is resolved once its `endsAt`
has passed, and one posted without `endsAt` is resolved `resolve_timeout`
(5 minutes by default) after its last post. Alert events carry event time, which
for a replayed history lies in the past. So:

- `startsAt` = the firing's event time (the wall clock, if that is earlier: an
  event time ahead of it, as in the demo, would make Alertmanager refuse the
  alert once `endsAt` came before it);
- a firing episode gets `endsAt` = now + `HORIZON_INTERVALS` times `resend_interval`,
  and is posted again every `resend_interval` while it stays open, so it stays
  firing whatever `resolve_timeout` says, and resolves by itself 4 intervals
  after the deliverer stopped posting it;
- a resolution gets `endsAt` = its event time (at most now): Alertmanager shows
  the episode resolved at once; it goes out with the labels of its firing;
- a notice is posted once, with `endsAt` = now + the same horizon.

Labels (what identifies an alert in Alertmanager): `alertname` (the pattern),
`severity`, `phase` (at firing), `danger_point` (absent for patterns that have
none), `customer` and `alert_id`, plus `segment` and `holdout` when the firing
has them. Annotations: `summary`, `recommendation`, `evidence` (JSON),
`fired_at`, and on a resolution `resolution` and `resolved_at`. `generatorURL`
is the customer's view.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
from aiokafka import AIOKafkaProducer, ConsumerRecord

from agents.records import Record
from schemas import codec
from schemas.alerts import ParsedAlert, parse_alert
from schemas.errors import InvalidAlert
from schemas.timestamps import format_instant
from streams.delivery.client import post_once, shown_url
from streams.delivery.episodes import Change, OpenEpisodes
from streams.delivery.loop import Polled, Retry, dead_letter
from streams.delivery.metrics import DeliveryMetrics
from streams.kafka import send_acknowledged
from streams.settings import Settings

log = logging.getLogger(__name__)

TARGET = "alertmanager"
HORIZON_INTERVALS = 4
"""A firing's `endsAt` lies this many resend intervals ahead (as Prometheus does with its own alerts)."""
POST_CHUNK = 1000
"""Alerts per POST."""
REFUSED = (400, 422)
"""Alertmanager's answers for alerts it will never take (it keeps the valid ones of such a post)."""
JSON_CONTENT = {"Content-Type": "application/json"}


def api_url(base: str) -> str:
    return base.rstrip("/") + "/api/v2/alerts"


def alert_labels(fired: ParsedAlert) -> dict[str, str]:
    """An episode's labels, from its firing: Alertmanager tells alerts apart by these."""
    found = {
        "alertname": fired.pattern,
        "severity": fired.severity,
        "phase": fired.phase,
        "customer": fired.customer,
        "alert_id": fired.alert_id,
    }
    if fired.danger_point is not None:
        found["danger_point"] = str(fired.danger_point)
    if fired.segment is not None:
        found["segment"] = fired.segment
    if fired.holdout:
        found["holdout"] = "true"
    return found


def alert_annotations(alert: ParsedAlert, fired_at_ms: int) -> dict[str, str]:
    found = {
        "summary": alert.summary,
        "recommendation": alert.recommendation,
        "evidence": codec.dumps(alert.evidence).decode(),
        "fired_at": format_instant(fired_at_ms),
    }
    if alert.resolution is not None:
        found["resolution"] = alert.resolution
        found["resolved_at"] = format_instant(alert.time_ms)
    return found


@dataclass(frozen=True, slots=True)
class Mapper:
    """How alerts become Alertmanager alerts: the horizon and the customer view's address."""

    horizon_ms: int
    customer_view_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Mapper:
        return cls(HORIZON_INTERVALS * settings.resend_interval, settings.customer_view_url)

    def firing(self, fired: ParsedAlert, now_ms: int) -> dict[str, Any]:
        """An open episode or a notice, ending a horizon from now."""
        return self._alert(fired, fired, now_ms + self.horizon_ms, now_ms)

    def resolved(self, fired: ParsedAlert, resolution: ParsedAlert, now_ms: int) -> dict[str, Any]:
        return self._alert(fired, resolution, min(resolution.time_ms, now_ms), now_ms)

    def _alert(self, fired: ParsedAlert, latest: ParsedAlert, ends_ms: int, now_ms: int) -> dict[str, Any]:
        starts_ms = min(fired.time_ms, now_ms)
        alert: dict[str, Any] = {
            "labels": alert_labels(fired),
            "annotations": alert_annotations(latest, fired.time_ms),
            "startsAt": format_instant(starts_ms),
            "endsAt": format_instant(max(ends_ms, starts_ms)),
        }
        if self.customer_view_url:
            alert["generatorURL"] = self.customer_view_url + quote(fired.customer, safe="")
        return alert


@dataclass(frozen=True, slots=True)
class Post:
    """One alert to post, the record it comes from, and the open episodes' change once it is accepted."""

    alert: dict[str, Any]
    kind: str
    record: ConsumerRecord
    change: Change | None = None


@dataclass(slots=True)
class Round:
    """What a round of alert records asks of Alertmanager and of the state topic."""

    posts: list[Post] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    invalid: list[tuple[ConsumerRecord, InvalidAlert]] = field(default_factory=list)

    def changes(self, refused: Collection[int] = ()) -> list[Change]:
        """The episode changes of the posts; a firing Alertmanager refused opens nothing (it would
        refuse every re-post too), while a refused resolution still closes its episode."""
        return [
            post.change
            for index, post in enumerate(self.posts)
            if post.change is not None and not (index in refused and post.kind == "fired")
        ]


def plan(
    records: Iterable[ConsumerRecord],
    held: Callable[[int, str], ParsedAlert | None],
    mapping: Mapper,
    now_ms: int,
    *,
    include_holdouts: bool = False,
) -> Round:
    """The posts and state changes for records in the order read (pure: nothing is sent here).

    A resolution takes its labels from the firing it ends: `held(partition, alert_id)`,
    or earlier in the same round; one whose firing is not held is skipped (it was
    delivered before a restart, or the firing never was).
    """
    planned = Round()
    opened: dict[tuple[int, str], ParsedAlert | None] = {}
    for record in records:
        try:
            alert = parse_alert(record.value or b"")
        except InvalidAlert as error:
            planned.invalid.append((record, error))
            continue
        if skip_holdout(alert, include_holdouts):
            planned.skipped.append("holdout")
            continue
        key = (record.partition, alert.alert_id)
        if alert.fired and alert.notice:
            planned.posts.append(Post(mapping.firing(alert, now_ms), "notice", record))
        elif alert.fired:
            change = Change(record.partition, alert.alert_id, alert, record.value)
            planned.posts.append(Post(mapping.firing(alert, now_ms), "fired", record, change))
            opened[key] = alert
        else:
            fired = opened[key] if key in opened else held(*key)
            if fired is None:
                planned.skipped.append("unknown_episode")
                continue
            change = Change(record.partition, alert.alert_id, None, None)
            planned.posts.append(Post(mapping.resolved(fired, alert, now_ms), "resolved", record, change))
            opened[key] = None
    return planned


def skip_holdout(alert: ParsedAlert, include_holdouts: bool) -> bool:
    """Alerts of held-out customers are not delivered unless asked (shared/spec/actions.md, section 5)."""
    return alert.holdout and not include_holdouts


class AlertmanagerTarget:
    """Posts each round, keeps the open episodes in the state topic, and re-posts them periodically."""

    name = TARGET
    max_records = POST_CHUNK

    def __init__(
        self,
        settings: Settings,
        url: str,
        session: aiohttp.ClientSession,
        producer: AIOKafkaProducer,
        episodes: OpenEpisodes,
        metrics: DeliveryMetrics,
        retry: Callable[[str], Retry],
        clock_ms: Callable[[], int],
        monotonic: Callable[[], float],
        *,
        include_holdouts: bool = False,
    ) -> None:
        self.settings = settings
        self.alertmanager = AlertmanagerClient(url, session, settings.delivery_timeout, retry)
        self.producer = producer
        self.episodes = episodes
        self.metrics = metrics
        self.clock_ms = clock_ms
        self.monotonic = monotonic
        self.include_holdouts = include_holdouts
        self.mapping = Mapper.from_settings(settings)
        self.next_repost = 0.0

    def owns(self, partition: int) -> bool:
        return self.episodes.owns(partition)

    async def assigned(self, partitions: set[int]) -> None:
        await self.episodes.load(partitions)
        self.metrics.set_open_episodes(len(self.episodes))
        self.next_repost = 0.0  # at once: Alertmanager may have let them expire while nobody posted

    async def revoked(self, partitions: set[int]) -> None:
        self.episodes.forget(partitions)
        self.metrics.set_open_episodes(len(self.episodes))

    def poll_timeout_ms(self) -> int:
        until_repost = (self.next_repost - self.monotonic()) * 1000
        return int(min(500, max(10, until_repost)))

    async def deliver(self, polled: Polled) -> None:
        now_ms = self.clock_ms()
        records = [record for batch in polled.values() for record in batch]
        planned = plan(
            records, self.episodes.get, self.mapping, now_ms, include_holdouts=self.include_holdouts
        )
        refused = await self.alertmanager.post([post.alert for post in planned.posts])
        accepted_at = self.clock_ms()
        dead_letters = [
            dead_letter(
                self.settings.alerts_dead_letter_topic, record, "invalid_alert", str(error), TARGET, 0
            )
            for record, error in planned.invalid
        ]
        for index, post in enumerate(planned.posts):
            if index in refused:
                dead_letters.append(
                    dead_letter(
                        self.settings.alerts_dead_letter_topic,
                        post.record,
                        "refused",
                        refused[index],
                        TARGET,
                        1,
                    )
                )
        changes = planned.changes(refused)
        writes: list[Record] = [self.episodes.record(change) for change in changes]
        await send_acknowledged(self._producer, writes + dead_letters, on_retry=self.metrics.count_retry)
        self.episodes.apply(changes)
        for index, post in enumerate(planned.posts):
            if index not in refused:
                self.metrics.count_delivered(post.kind, post.record.timestamp, accepted_at)
        for reason in planned.skipped:
            self.metrics.count_skipped(reason)
        for _ in planned.invalid:
            self.metrics.count_failed("invalid_alert")
        for _ in refused:
            self.metrics.count_failed("refused")
        self.metrics.set_open_episodes(len(self.episodes))

    async def between_rounds(self) -> None:
        if self.monotonic() < self.next_repost:
            return
        self.next_repost = self.monotonic() + self.settings.resend_interval / 1000
        now_ms = self.clock_ms()
        alerts = [self.mapping.firing(fired, now_ms) for fired in self.episodes]
        if alerts:
            refused = await self.alertmanager.post(alerts)
            for index, problem in refused.items():
                log.error("Alertmanager refused the open episode %s: %s", alerts[index]["labels"], problem)
            self.metrics.count_reposted(len(alerts) - len(refused))

    async def _producer(self) -> AIOKafkaProducer:
        return self.producer


class AlertmanagerClient:
    """Posts to one Alertmanager's v2 API until it takes the alerts, or refuses some for good."""

    def __init__(
        self, url: str, session: aiohttp.ClientSession, timeout_ms: int, retry: Callable[[str], Retry]
    ) -> None:
        self.url = api_url(url)
        self.session = session
        self.timeout = aiohttp.ClientTimeout(total=timeout_ms / 1000)
        self.retry = retry

    async def post(self, alerts: Sequence[dict[str, Any]]) -> dict[int, str]:
        """Post in chunks until Alertmanager takes them; the alerts it refuses, by index, with its answer."""
        refused: dict[int, str] = {}
        for start in range(0, len(alerts), POST_CHUNK):
            chunk = alerts[start : start + POST_CHUNK]
            problem = await self._accepted(chunk)
            if problem is None:
                continue
            for offset, alert in enumerate(chunk):  # find the refused ones: it kept the others
                alone = await self._accepted([alert])
                if alone is not None:
                    refused[start + offset] = alone
        return refused

    async def _accepted(self, alerts: Sequence[dict[str, Any]]) -> str | None:
        """None once Alertmanager accepted the alerts, or its answer when it refuses them for good;
        anything else (down, slow, 5xx, a wrong address) is tried again with backoff."""
        retry = self.retry(f"posting {len(alerts)} alerts to {shown_url(self.url)}")
        body = codec.dumps(list(alerts))
        while True:
            answer = await post_once(self.session, self.url, body, JSON_CONTENT, self.timeout)
            if answer.accepted:
                retry.succeeded()
                return None
            if answer.status in REFUSED:
                retry.refused()
                return answer.described(500)
            await retry.wait(answer.described(200))
