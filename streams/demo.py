"""`sentinel demo` (what `make run` runs): the whole job on the embedded broker.

Starts the embedded broker and a worker process, replays generated lifecycle
traffic for thousands of customers in accelerated event time, and shows the
alerts as they fire with a running count per pattern.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from schemas.events import encode_event
from schemas.timestamps import DAY
from streams.broker import EmbeddedBroker, free_port
from streams.clients import describe_alert, produce_lines, tail_alerts
from streams.settings import Settings
from streams.traffic import lifecycle_history
from streams.worker import WorkerProcess


async def publish_accelerated(
    settings: Settings, customers: int, days_per_second: float, out: TextIO
) -> None:
    """Publish the generated history in event-time order, `days_per_second` of event time per second."""
    now_ms = time.time_ns() // 1_000_000
    history = lifecycle_history(customers, start=now_ms - 420 * DAY, span_days=120)
    out.write(
        f"  traffic: {len(history):,} touchpoints for {customers:,} customers, "
        f"{days_per_second:g} days of event time per second\n"
    )
    started, first = time.monotonic(), history[0].time
    position = 0
    while position < len(history):
        horizon = first + (time.monotonic() - started) * days_per_second * DAY
        end = position
        while end < len(history) and history[end].time <= horizon:
            end += 1
        if end > position:
            await produce_lines(settings, (encode_event(event) for event in history[position:end]))
            position = end
        await asyncio.sleep(0.2)


async def show_alerts(settings: Settings, out: TextIO, every: float = 10.0) -> None:
    counts: Counter[str] = Counter()
    shown_at = time.monotonic()

    def count(alert: dict[str, Any]) -> None:
        nonlocal shown_at
        data = alert.get("data", {})
        counts[f"{data.get('pattern')} {data.get('status')}"] += 1
        if time.monotonic() - shown_at >= every:
            shown_at = time.monotonic()
            out.write("\n  running count per pattern (firing / resolved):\n")
            for pattern in sorted({key.split()[0] for key in counts}):
                fired, resolved = counts[pattern + " firing"], counts[pattern + " resolved"]
                out.write(f"    {pattern:<27} {fired:>7} / {resolved:<7}\n")
            out.write("\n")

    await tail_alerts(
        settings, from_beginning=True, limit=None, idle_timeout=None, as_json=False, out=out, on_alert=count
    )


def run_demo(
    customers: int,
    days_per_second: float,
    duration: float | None,
    port: int,
    metrics_port: int,
    out: TextIO = sys.stdout,
) -> int:
    """Run until Ctrl-C (or `duration` seconds); everything started here is stopped here."""
    data_dir = Path(".sentinel") / "demo"
    data_dir.mkdir(parents=True, exist_ok=True)
    with EmbeddedBroker(port or free_port()) as broker:
        settings = Settings(
            bootstrap_servers=broker.bootstrap_servers,
            app_id=f"sentinel-demo-{os.getpid()}",
            data_dir=str(data_dir),
            metrics_port=metrics_port,
            rebalance_timeout=3000,
            session_timeout=6000,
            idle_advance=False,
            embedded_broker=True,
        )
        worker = WorkerProcess(settings, data_dir / "worker.log").start()
        out.write(
            f"Touchpoint Sentinel demo\n  broker:  {broker.bootstrap_servers} (embedded Tansu)\n"
            f"  metrics: http://{settings.metrics_host}:{metrics_port}/metrics\n"
            f"  worker:  log {worker.log_path}\n  Ctrl-C stops everything.\n\n"
        )
        out.flush()
        try:
            asyncio.run(_demo(settings, customers, days_per_second, duration, out))
        except KeyboardInterrupt:
            out.write("\nstopping…\n")
        finally:
            worker.stop()
    return 0


async def _demo(
    settings: Settings, customers: int, days_per_second: float, duration: float | None, out: TextIO
) -> None:
    tasks = [
        asyncio.create_task(publish_accelerated(settings, customers, days_per_second, out)),
        asyncio.create_task(show_alerts(settings, out)),
    ]
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=duration)
    except TimeoutError:
        pass
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)


__all__ = ["describe_alert", "run_demo"]
