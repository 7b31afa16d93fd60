"""Push service: backlog then live, batching, resets for expired or slow subscribers, drain."""

import asyncio
from collections.abc import AsyncIterator

import orjson
from opentelemetry.sdk.metrics import MeterProvider

from galaxy_backend.push import PushEvent, PushService
from galaxy_backend.push.service import RESET_KIND
from galaxy_proto.push_pb2 import PushBatch
from tests.support import eventually


def make_service(ring_size: int = 64, batch_max: int = 16) -> PushService:
    clock = iter(range(1_000_000_000, 10**18, 1_000_000))
    return PushService(
        ring_size=ring_size,
        batch_max=batch_max,
        meter=MeterProvider().get_meter("test"),
        clock_ns=lambda: next(clock),
    )


class Collector:
    """Reads a subscription in the background and keeps every batch it got."""

    def __init__(self, stream: AsyncIterator[list[PushEvent]]) -> None:
        self.batches: list[list[PushEvent]] = []
        self.task = asyncio.create_task(self._run(stream))

    async def _run(self, stream: AsyncIterator[list[PushEvent]]) -> None:
        async for batch in stream:
            self.batches.append(batch)

    @property
    def events(self) -> list[PushEvent]:
        return [e for batch in self.batches for e in batch]


async def test_backlog_then_live_events() -> None:
    service = make_service()
    first = service.publish("game.created", {"n": 1}, user_ids=["u1"])
    service.publish("game.created", {"n": 2})
    collector = Collector(service.subscribe(first - 1, "gw"))
    await eventually(lambda: len(collector.events) == 2)
    service.publish("turn.ready", b'{"turn":3}', user_ids=["u1", "u2"])
    await eventually(lambda: len(collector.events) == 3)
    live = collector.events[2]
    assert live.kind == "turn.ready"
    assert live.user_ids == ("u1", "u2")
    assert orjson.loads(live.payload) == {"turn": 3}
    assert [e.cursor for e in collector.events] == [first, first + 1, first + 2]
    await service.close_subscriptions()
    await collector.task


async def test_a_burst_arrives_in_bounded_batches() -> None:
    service = make_service(ring_size=1024, batch_max=16)
    start = service.status().last_cursor
    collector = Collector(service.subscribe(start, "gw"))
    await eventually(lambda: service.status().subscribers == 1)
    for n in range(100):
        service.publish("k", {"n": n})
    await eventually(lambda: len(collector.events) == 100)
    assert all(len(batch) <= 16 for batch in collector.batches)
    assert len(collector.batches) < 100  # batched, not one message per event
    assert [orjson.loads(e.payload)["n"] for e in collector.events] == list(range(100))
    await service.close_subscriptions()


async def test_an_expired_cursor_gets_one_reset_then_the_oldest_events() -> None:
    service = make_service(ring_size=16)
    first = service.publish("k", {"n": 0})
    for n in range(1, 40):
        service.publish("k", {"n": n})
    collector = Collector(service.subscribe(first, "gw"))
    await eventually(lambda: len(collector.events) == 17)
    reset, *rest = collector.events
    assert reset.kind == RESET_KIND
    assert reset.user_ids == ()
    oldest = service.status().oldest_cursor
    assert orjson.loads(reset.payload) == {"requested_after": first, "oldest_cursor": oldest}
    assert reset.cursor == oldest - 1
    assert [e.cursor for e in rest] == list(range(oldest, oldest + 16))
    await service.close_subscriptions()


async def test_a_slow_subscriber_never_blocks_publishers_and_is_reset() -> None:
    service = make_service(ring_size=16, batch_max=4)
    stream = service.subscribe(service.status().last_cursor, "slow")
    first_batch_task = asyncio.ensure_future(anext(stream))
    service.publish("k", {"n": 0})
    first_batch = await first_batch_task
    assert [orjson.loads(e.payload)["n"] for e in first_batch] == [0]
    # The subscriber reads nothing more while publishers run far past the ring's capacity.
    for n in range(1, 200):
        service.publish("k", {"n": n})
    assert service.status().last_cursor - service.status().oldest_cursor == 15
    batch = await anext(stream)
    assert batch[0].kind == RESET_KIND
    assert [orjson.loads(e.payload)["n"] for e in batch[1:]] == [184, 185, 186, 187]
    closing = asyncio.create_task(service.close_subscriptions())
    remaining = [e async for b in stream for e in b]
    await closing
    assert [orjson.loads(e.payload)["n"] for e in remaining] == list(range(188, 200))


async def test_close_flushes_published_events_and_ends_every_stream() -> None:
    service = make_service()
    collectors = [
        Collector(service.subscribe(service.status().last_cursor, f"gw{i}")) for i in range(3)
    ]
    await eventually(lambda: service.status().subscribers == 3)
    for n in range(10):
        service.publish("k", {"n": n})
    await service.close_subscriptions()
    for collector in collectors:
        await asyncio.wait_for(collector.task, 5)
        assert len(collector.events) == 10
    assert service.status().subscribers == 0


async def test_wire_bytes_of_a_batch_decode_as_one_push_batch() -> None:
    service = make_service()
    for n in range(3):
        service.publish("k", {"n": n}, user_ids=[f"u{n}"])
    # Sizes that need one, two and three varint bytes in the length prefix.
    for size in (100, 300, 20_000):
        service.publish("big", b"x" * size)
    batch = await anext(service.subscribe(0, "gw"))
    decoded = PushBatch.FromString(b"".join(e.wire for e in batch))
    assert [e.cursor for e in decoded.events] == [e.cursor for e in batch]
    assert [list(e.user_ids) for e in decoded.events][:3] == [["u0"], ["u1"], ["u2"]]
    assert [len(e.payload) for e in decoded.events][3:] == [100, 300, 20_000]
    assert decoded.events[0].created_at.seconds == 1
    await service.close_subscriptions()


async def test_cursors_of_a_restarted_service_are_all_newer() -> None:
    before = PushService(ring_size=16, batch_max=4, meter=MeterProvider().get_meter("t"))
    last = before.publish("k", {})
    after = PushService(ring_size=16, batch_max=4, meter=MeterProvider().get_meter("t"))
    assert after.status().oldest_cursor > last
