"""The gateway's metrics: connections, events, delivery lag, forwarded requests by status.

Counts are kept in plain counters where they happen and read by the meter at collection
time (a synchronous OTel instrument would cost more than the work it counts).
"""

from collections import Counter
from collections.abc import Callable, Sequence

from opentelemetry.metrics import CallbackOptions, Histogram, Meter, Observation

# Seconds from an event's creation in the backend to its frame queued for the sockets.
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def delivery_lag(meter: Meter) -> Histogram:
    return meter.create_histogram(
        "gateway.push.delivery.lag",
        unit="s",
        description="From an event's creation in the backend to its delivery to the sockets",
        explicit_bucket_boundaries_advisory=LAG_BUCKETS,
    )


def _by(
    name: str, counts: Counter[int] | Counter[str]
) -> Callable[[CallbackOptions], list[Observation]]:
    def observe(_: CallbackOptions) -> list[Observation]:
        # dict() copies atomically under the GIL while the loop keeps counting.
        return [Observation(n, {name: key}) for key, n in dict(counts).items()]

    return observe


def register(
    meter: Meter,
    *,
    connections: Callable[[], int],
    pending_and_open: Callable[[], int],
    events: Counter[str],
    forwarded: Counter[int],
    closes: Counter[int],
    live_subscriptions: Callable[[], Sequence[bool]],
) -> None:
    """Observable instruments over the gateway's own counts."""
    meter.create_observable_gauge(
        "gateway.ws.connections",
        callbacks=[
            lambda _: (
                [
                    Observation(connections(), {"state": "authenticated"}),
                    Observation(pending_and_open() - connections(), {"state": "signing_in"}),
                ]
            )
        ],
        unit="{connection}",
        description="Open WebSocket connections",
    )
    meter.create_observable_counter(
        "gateway.push.events",
        callbacks=[_by("kind", events)],
        unit="{event}",
        description="Push events received from the backend",
    )
    meter.create_observable_counter(
        "gateway.http.forwarded",
        callbacks=[_by("http.response.status_code", forwarded)],
        unit="{request}",
        description="Requests forwarded to the backend, by the status the client got",
    )
    meter.create_observable_counter(
        "gateway.ws.closed",
        callbacks=[_by("code", closes)],
        unit="{connection}",
        description="WebSockets the gateway closed, by close code",
    )
    meter.create_observable_gauge(
        "gateway.push.subscriptions.live",
        callbacks=[lambda _: [Observation(sum(live_subscriptions()))]],
        unit="{subscription}",
        description="Push subscriptions to backend replicas that are open",
    )
