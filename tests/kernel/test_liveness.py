"""The loops' heartbeats: when a loop counts as late, and how readiness and the metric say so."""

from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from galaxy_backend.kernel.liveness import Liveness
from galaxy_backend.server.probes import Readiness


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_loop_is_late_once_its_round_plus_the_deadline_has_passed() -> None:
    clock = Clock()
    liveness = Liveness(deadline=10.0, clock=clock)
    beat = liveness.heartbeat("scheduler")
    assert not beat.overdue(clock.now), "not started: never late"
    beat.start(next_in=5.0)
    clock.now += 15.0
    assert not beat.overdue(clock.now)
    clock.now += 0.1
    assert beat.overdue(clock.now)
    assert liveness.reasons() == ["loop scheduler has completed no round for 15s"]
    beat.beat(next_in=60.0)
    assert beat.rounds == 1
    clock.now += 69.0
    assert liveness.reasons() == []
    beat.extend(30.0)  # a round with more to wait on
    clock.now += 30.0
    assert liveness.reasons() == []
    clock.now += 1.5
    assert beat.overdue(clock.now)
    beat.stop()
    assert liveness.reasons() == [], "a stopped loop is not late"


def test_each_late_loop_is_named_and_names_are_unique() -> None:
    clock = Clock()
    liveness = Liveness(deadline=1.0, clock=clock)
    for name in ("cache-bus", "mail-worker", "lobby-sweeper"):
        liveness.heartbeat(name).start()
    liveness.get("mail-worker").beat(next_in=100.0)
    clock.now += 2.0
    assert liveness.reasons() == [
        "loop cache-bus has completed no round for 2s",
        "loop lobby-sweeper has completed no round for 2s",
    ]
    with pytest.raises(ValueError, match="reports already"):
        liveness.heartbeat("cache-bus")


async def test_readiness_names_late_loops() -> None:
    clock = Clock()
    liveness = Liveness(deadline=1.0, clock=clock)
    liveness.heartbeat("runtime-scheduler").start()
    readiness = Readiness()
    readiness.add_loops(liveness)
    assert await readiness.reasons() == []
    clock.now += 5.0
    assert await readiness.reasons() == ["loop runtime-scheduler has completed no round for 5s"]


def _points(reader: InMemoryMetricReader, name: str) -> dict[str, Any]:
    data = reader.get_metrics_data()
    assert data is not None
    for metric in data.resource_metrics[0].scope_metrics[0].metrics:
        if metric.name == name:
            return {p.attributes["loop.name"]: p.value for p in metric.data.data_points}
    raise AssertionError(f"no {name}")


def test_the_metric_shows_each_loop_late_or_not_and_its_round_age() -> None:
    clock = Clock()
    reader = InMemoryMetricReader()
    liveness = Liveness(deadline=3.0, clock=clock)
    liveness.observe(MeterProvider(metric_readers=[reader]).get_meter("t"))
    liveness.heartbeat("reconciler").start()
    liveness.heartbeat("sweeper").start(next_in=60.0)
    clock.now += 4.0
    assert _points(reader, "loop.overdue") == {"reconciler": 1, "sweeper": 0}
    assert _points(reader, "loop.round.age") == {"reconciler": 4.0, "sweeper": 4.0}
    liveness.get("reconciler").beat(next_in=1.0)
    assert _points(reader, "loop.overdue") == {"reconciler": 0, "sweeper": 0}
