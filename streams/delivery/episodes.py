"""The open episodes `sentinel deliver alertmanager` keeps posting, durable in a compacted topic.

The state topic has the alert topic's partition count, and the open episodes of
alert partition p live in its partition p: key = alert id, value = the fired
alert as it was on the alert topic, a tombstone once the episode resolved. So the
deliverer that owns alert partition p in the consumer group owns that state too,
and a restarted or second deliverer rebuilds it by reading the partition from the
beginning when it is assigned (compaction keeps that short).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from agents.records import Record
from schemas.alerts import ParsedAlert, parse_alert
from schemas.errors import InvalidAlert
from streams.broker import end_offsets
from streams.kafka import Backoff, aiokafka_options
from streams.settings import Settings

log = logging.getLogger(__name__)

STATE_TOPIC_CONFIG = {"cleanup.policy": "compact"}


def state_topic(settings: Settings) -> str:
    return f"{settings.app_id}-deliver-alertmanager-open"


@dataclass(frozen=True, slots=True)
class Change:
    """An episode opened (`fired` is its alert) or closed (`fired` is None) in alert partition `partition`."""

    partition: int
    alert_id: str
    fired: ParsedAlert | None
    value: bytes | None
    """The fired alert's bytes as read from the alert topic, or None (a tombstone)."""


class OpenEpisodes:
    """alert id → fired alert, per owned partition of the alert topic."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.settings = settings
        self.topic = topic
        self._partitions: dict[int, dict[str, ParsedAlert]] = {}

    def owns(self, partition: int) -> bool:
        return partition in self._partitions

    def get(self, partition: int, alert_id: str) -> ParsedAlert | None:
        return self._partitions.get(partition, {}).get(alert_id)

    def __iter__(self) -> Iterator[ParsedAlert]:
        for episodes in self._partitions.values():
            yield from episodes.values()

    def __len__(self) -> int:
        return sum(len(episodes) for episodes in self._partitions.values())

    def record(self, change: Change) -> Record:
        return Record(self.topic, change.alert_id.encode(), change.value, [], change.partition)

    def apply(self, changes: Iterable[Change]) -> None:
        """After the broker acknowledged the changes' records."""
        for change in changes:
            episodes = self._partitions.get(change.partition)
            if episodes is None:
                continue
            if change.fired is None:
                episodes.pop(change.alert_id, None)
            else:
                episodes[change.alert_id] = change.fired

    def forget(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self._partitions.pop(partition, None)

    async def load(self, partitions: Iterable[int]) -> int:
        """Read the partitions' state from the beginning to the end; a broker away holds it, with backoff."""
        wanted = sorted(set(partitions) - set(self._partitions))
        if not wanted:
            return 0
        backoff = Backoff(f"reading the open episodes of partitions {wanted} from {self.topic}")
        while True:
            try:
                loaded = await self._read(wanted)
            except (KafkaError, TimeoutError) as error:
                await backoff.wait(error)
            else:
                backoff.succeeded()
                break
        self._partitions.update(loaded)
        count = sum(len(episodes) for episodes in loaded.values())
        log.info("%d open episodes of partitions %s read from %s", count, wanted, self.topic)
        return count

    async def _read(self, partitions: list[int]) -> dict[int, dict[str, ParsedAlert]]:
        tps = [TopicPartition(self.topic, partition) for partition in partitions]
        ends = await end_offsets(self.settings, tps)
        loaded: dict[int, dict[str, ParsedAlert]] = {partition: {} for partition in partitions}
        pending = {tp for tp in tps if ends[tp] > 0}
        if not pending:
            return loaded
        consumer = AIOKafkaConsumer(
            enable_auto_commit=False, group_id=None, fetch_max_wait_ms=50, **aiokafka_options(self.settings)
        )
        await consumer.start()
        try:
            consumer.assign(list(pending))
            await consumer.seek_to_beginning(*pending)
            while pending:
                polled = await consumer.getmany(*pending, timeout_ms=500)
                for tp, records in polled.items():
                    episodes = loaded[tp.partition]
                    for record in records:
                        key = (record.key or b"").decode(errors="replace")
                        if record.value is None:
                            episodes.pop(key, None)
                        else:
                            self._keep(episodes, key, record.value)
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
        finally:
            await consumer.stop()
        return loaded

    def _keep(self, episodes: dict[str, ParsedAlert], key: str, value: bytes) -> None:
        try:
            episodes[key] = parse_alert(value)
        except InvalidAlert as error:
            problem = str(error)
        else:
            return
        log.error("%s: the open episode %s is no alert (%s); leaving it out", self.topic, key, problem)
