"""The HTTP endpoint of `sentinel deliver`, on `metrics_host`:`deliver_metrics_port`.

- `GET /metrics`: Prometheus text exposition of the deliverer's registry, where
  `sentinel_deliver_ready` and `sentinel_deliver_target_failing_seconds` repeat what /readyz says.
- `GET /healthz`: 200 while the event loop answers (liveness: restart the deliverer if not).
- `GET /readyz`: 200 once the consumer group has assigned this deliverer its partitions (perhaps
  none) and it has read their open episodes, while the target answers; 503 with the reasons
  otherwise: before the first assignment, during a rebalance, while requests to the target fail
  (down, slow, 5xx: they are being retried), and once stopping.

It runs in the deliverer's event loop (aiohttp), so any answer also says that the loop is not stuck.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from streams.delivery.loop import DeliveryLoop, TargetContact
from streams.http import ProbedEndpoint


@dataclass
class DeliveryEndpoint(ProbedEndpoint):
    registry: CollectorRegistry
    delivery: DeliveryLoop
    contact: TargetContact
    """What the target's requests report (shared by every `Retry` of the process)."""
    target: str
    """The target as the reasons name it: its kind and address (without credentials)."""

    def __post_init__(self) -> None:
        self.delivery.metrics.watch(lambda: not self.not_ready(), self.contact.failing_for)

    def not_ready(self) -> list[str]:
        reasons = []
        if self.delivery.stopping.is_set():
            reasons.append("stopping")
        if not self.delivery.settled:
            reasons.append(
                "the consumer group has not assigned this deliverer its partitions yet"
                " (joining, rebalancing, or reading their open episodes)"
            )
        failing_for = self.contact.failing_for()
        if failing_for is not None:
            reasons.append(
                f"requests to {self.target} have failed for {failing_for:.0f} s ({self.contact.problem})"
            )
        return reasons
