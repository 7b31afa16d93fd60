"""The push service: domain services publish, gateways subscribe from a cursor."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry.metrics import CallbackOptions, Meter, Observation

from galaxy_backend.push.ring import PushEvent, PushRing
from galaxy_backend.telemetry import get_logger
from galaxy_proto.push_pb2 import PushEvent as PushEventMessage

_log = get_logger(__name__)

RESET_KIND = "push.reset"


class Publisher(Protocol):
    """What domain services are given: publish one event, get its cursor."""

    def publish(
        self, kind: str, payload: Mapping[str, Any] | bytes, *, user_ids: Sequence[str] = ()
    ) -> int: ...


@dataclass(frozen=True, slots=True)
class PushStatus:
    last_cursor: int
    oldest_cursor: int
    retained: int
    capacity: int
    subscribers: int


@dataclass(frozen=True, slots=True)
class SubscriberLag:
    gateway_id: str
    cursor: int
    lag: int


class _Subscription:
    __slots__ = ("cursor", "gateway_id")

    def __init__(self, gateway_id: str, cursor: int) -> None:
        self.gateway_id = gateway_id
        self.cursor = cursor


# PushBatch.events is field 1, length-delimited: each element is this key, a varint length
# and the serialized PushEvent. A batch is then just its elements joined.
_EVENTS_FIELD_KEY = b"\x0a"


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_event(
    cursor: int, kind: str, user_ids: tuple[str, ...], payload: bytes, created_at_ns: int
) -> PushEvent:
    """Build the event with its wire form, encoded once for every subscriber."""
    seconds, nanos = divmod(created_at_ns, 1_000_000_000)
    body = PushEventMessage(
        cursor=cursor,
        kind=kind,
        user_ids=user_ids,
        payload=payload,
        created_at=Timestamp(seconds=seconds, nanos=nanos),
    ).SerializeToString()
    wire = _EVENTS_FIELD_KEY + _varint(len(body)) + body
    return PushEvent(cursor, kind, user_ids, payload, created_at_ns, wire)


class PushService:
    """Ring buffer plus cursors; publishing never waits for any subscriber."""

    name = "push"
    stop_timeout: float | None = 5.0

    def __init__(
        self,
        *,
        ring_size: int,
        batch_max: int,
        meter: Meter,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        # Cursors start at the clock in microseconds, so a restarted process never reuses one
        # and a gateway's cursor from a previous process always reads as expired.
        self._ring = PushRing(ring_size, first_cursor=max(1, clock_ns() // 1_000))
        self._batch_max = batch_max
        self._clock_ns = clock_ns
        self._waiter: asyncio.Future[None] | None = None
        self._subscriptions: set[_Subscription] = set()
        self._closing = False
        self._drained = asyncio.Event()
        self._drained.set()
        # Counted here and read by the meter at collection time: a synchronous OTel counter
        # would cost more than the rest of publish.
        self._published: dict[str, int] = {}
        self._resets = 0
        meter.create_observable_counter(
            "push.events.published",
            callbacks=[self._observe_published],
            unit="{event}",
            description="Events published to the ring",
        )
        meter.create_observable_counter(
            "push.resets",
            callbacks=[self._observe_resets],
            unit="{event}",
            description="Reset events sent to subscribers",
        )
        meter.create_observable_gauge(
            "push.subscribers",
            callbacks=[self._observe_subscribers],
            unit="{subscriber}",
            description="Open gateway subscriptions",
        )
        meter.create_observable_gauge(
            "push.subscriber.lag",
            callbacks=[self._observe_lag],
            unit="{event}",
            description="Events the slowest subscriber has yet to receive",
        )

    @property
    def closing(self) -> bool:
        return self._closing

    def status(self) -> PushStatus:
        ring = self._ring
        return PushStatus(
            last_cursor=ring.last_cursor,
            oldest_cursor=ring.oldest_cursor,
            retained=len(ring),
            capacity=ring.capacity,
            subscribers=len(self._subscriptions),
        )

    def subscribers(self) -> list[SubscriberLag]:
        """Each open subscription: its gateway, its cursor and the events it has yet to get."""
        last, floor = self._ring.last_cursor, self._ring.oldest_cursor - 1
        return [
            SubscriberLag(s.gateway_id, s.cursor, max(last - max(s.cursor, floor), 0))
            for s in tuple(self._subscriptions)
        ]

    def publish(
        self, kind: str, payload: Mapping[str, Any] | bytes, *, user_ids: Sequence[str] = ()
    ) -> int:
        """Append an event (payload JSON-encoded unless bytes) and wake subscribers."""
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        event = encode_event(self._ring.next_cursor, kind, tuple(user_ids), body, self._clock_ns())
        self._ring.append(event)
        self._published[kind] = self._published.get(kind, 0) + 1
        self._wake()
        return event.cursor

    async def subscribe(self, after_cursor: int, gateway_id: str) -> AsyncIterator[list[PushEvent]]:
        """Batches of events after `after_cursor`, then live ones, until the service closes."""
        if self._closing:
            raise ConnectionAbortedError("push service is shutting down")
        subscription = _Subscription(gateway_id, after_cursor)
        self._subscriptions.add(subscription)
        self._drained.clear()
        _log.info("push subscriber joined", gateway_id=gateway_id, after_cursor=after_cursor)
        try:
            while True:
                result = self._ring.read_after(subscription.cursor, self._batch_max)
                events = result.events
                if result.gap:
                    events = [self._reset_event(subscription.cursor), *events]
                    self._resets += 1
                if events:
                    subscription.cursor = events[-1].cursor
                    yield events
                    continue
                if self._closing:
                    return
                await self._changed()
        finally:
            self._subscriptions.discard(subscription)
            if not self._subscriptions:
                self._drained.set()
            _log.info("push subscriber left", gateway_id=gateway_id, cursor=subscription.cursor)

    def _reset_event(self, requested_after: int) -> PushEvent:
        oldest = self._ring.oldest_cursor
        payload = orjson.dumps({"requested_after": requested_after, "oldest_cursor": oldest})
        return encode_event(oldest - 1, RESET_KIND, (), payload, self._clock_ns())

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set_result(None)

    async def _changed(self) -> None:
        if self._waiter is None:
            self._waiter = asyncio.get_running_loop().create_future()
        # Shared by every waiting subscriber: one leaving must not cancel it for the others.
        await asyncio.shield(self._waiter)

    async def close_subscriptions(self) -> None:
        """Send every event already published to each subscriber, then end their streams."""
        self._closing = True
        self._wake()
        await self._drained.wait()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        # The gRPC listener drained the streams within its budget (and ended any it could
        # not); nothing may be published any more.
        self._closing = True
        self._wake()

    # The meter calls these on its own thread while the loop mutates: iterate over copies
    # (list() and tuple() of a builtin collection copy it atomically under the GIL).

    def _observe_published(self, _: CallbackOptions) -> list[Observation]:
        published = list(self._published.items())
        return [Observation(count, {"kind": kind}) for kind, count in published]

    def _observe_resets(self, _: CallbackOptions) -> list[Observation]:
        return [Observation(self._resets)]

    def _observe_subscribers(self, _: CallbackOptions) -> list[Observation]:
        return [Observation(len(self._subscriptions))]

    def _observe_lag(self, _: CallbackOptions) -> list[Observation]:
        last, floor = self._ring.last_cursor, self._ring.oldest_cursor - 1
        lag = max((last - max(s.cursor, floor) for s in tuple(self._subscriptions)), default=0)
        return [Observation(max(lag, 0))]
