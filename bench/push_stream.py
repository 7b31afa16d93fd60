"""Push stream: events/s and latency from `PushService.publish` to gRPC subscribers.

Measured in one run, on this host:

* burst, ours: N events (``--events``) published as fast as possible with
  ``backend.push.publish(kind, payload, user_ids=...)``, the publisher domain services use,
  yielding to the event loop every ``--yield-every`` publishes. Per subscriber,
  events/s = N / (its last receive - first publish). With 1 and with 4 subscribers.
* burst, raw: plain grpc.aio servers in this process stream the same events in PushBatch
  messages of BACKEND_PUSH_BATCH_MAX events, as fast as they can, to the same subscriber code;
  events/s = N / (last receive - stream start). "raw built" builds each message as it sends it
  (the ordinary way to write such a stream); "raw pre-enc" sends batches serialized in advance
  (the ceiling of the stream itself). Printed beside ours with the ratios; the target (ours at
  least 50% of raw) is judged against "raw built".
* quiet: one event every ``--quiet-interval-ms`` ms to 1 subscriber; publish -> receive latency
  p50/p99/max (the publish time is in each payload; same host, same clock).
* mean events per stream message that the subscriber saw in our bursts.

The backend is built the real way, ``build_backend(load_from_env())``, and runs in this
process on uvloop, against a throwaway database ``galaxy_bench_<random>`` that is dropped at
the end. Each subscriber is a separate process (this script with ``--subscriber``) running a
real grpc.aio client: ``PushStub(channel).SubscribePush(...)`` with the internal token.
Figures are printed, never asserted.

Run:  .venv/bin/python bench/push_stream.py [--events 200000] [--json]
PostgreSQL: a superuser DSN from ``--postgres-dsn``, else GALAXY_BENCH_POSTGRES_DSN, else
postgresql://postgres@127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import grpc
import orjson
import uvloop
from google.protobuf.timestamp_pb2 import Timestamp

from galaxy_backend.push.grpc_api import SERVICE_NAME
from galaxy_backend.push.service import RESET_KIND
from galaxy_proto.push_pb2 import PushBatch, PushEvent, SubscribePushRequest
from galaxy_proto.push_pb2_grpc import PushStub

if TYPE_CHECKING:
    from galaxy_backend.wiring import Backend

DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SUBSCRIBER_ENV = "GALAXY_BENCH_PUSH_SUBSCRIBER"
KIND = "game.updated"
USER_IDS = ("u-000001", "u-000002")
TARGET_RATIO = 0.5


def payload(n: int, published_ns: int) -> bytes:
    """A small JSON payload carrying the publish time, so subscribers can compute latency."""
    return b'{"n":%d,"published_ns":%d}' % (n, published_ns)


# --------------------------------------------------------------------------------------------
# Subscriber process
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class SubscriberSpec:
    target: str
    token: str
    gateway_id: str
    after_cursor: int
    stop_cursor: int  # stop once an event with this cursor (or a later one) arrived
    latencies: bool  # decode every payload and report publish -> receive latencies
    timeout: float


@dataclass(slots=True)
class SubscriberReport:
    gateway_id: str
    events: int = 0
    messages: int = 0
    resets: int = 0
    first_receive_ns: int = 0
    last_receive_ns: int = 0
    last_cursor: int = 0
    timed_out: bool = False
    error: str = ""
    latencies_ns: list[int] = field(default_factory=list)


async def subscribe(spec: SubscriberSpec) -> SubscriberReport:
    """Read the stream until `stop_cursor`, counting events, messages and receive times."""
    report = SubscriberReport(spec.gateway_id)
    latencies = report.latencies_ns
    async with grpc.aio.insecure_channel(spec.target) as channel:
        call = PushStub(channel).SubscribePush(
            SubscribePushRequest(gateway_id=spec.gateway_id, after_cursor=spec.after_cursor),
            metadata=[("authorization", f"Bearer {spec.token}")],
        )
        try:
            async with asyncio.timeout(spec.timeout):
                async for batch in call:
                    now = time.time_ns()
                    events = batch.events
                    count = len(events)
                    if count == 0:
                        continue
                    if report.first_receive_ns == 0:
                        report.first_receive_ns = now
                    report.last_receive_ns = now
                    report.messages += 1
                    # The service puts a reset only at the head of a batch.
                    if events[0].kind == RESET_KIND:
                        report.resets += 1
                        count -= 1
                    report.events += count
                    if spec.latencies:
                        latencies.extend(
                            now - orjson.loads(e.payload)["published_ns"]
                            for e in events
                            if e.kind != RESET_KIND
                        )
                    report.last_cursor = events[len(events) - 1].cursor
                    if report.last_cursor >= spec.stop_cursor:
                        break
        except TimeoutError:
            report.timed_out = True
        except grpc.aio.AioRpcError as exc:
            report.error = f"{exc.code().name}: {exc.details()}"
        finally:
            call.cancel()
    return report


def _exit_when_parent_goes(parent: int) -> None:
    """Do not outlive the bench process, even if it is killed before it can reap us."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(3)


def subscriber_main() -> None:
    spec = SubscriberSpec(**json.loads(os.environ[SUBSCRIBER_ENV]))
    watch = threading.Thread(target=_exit_when_parent_goes, args=(os.getppid(),), daemon=True)
    watch.start()
    report = uvloop.run(subscribe(spec))
    sys.stdout.write(json.dumps(asdict(report)) + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------------------------
# Parent side: child processes
# --------------------------------------------------------------------------------------------

SCRIPT = str(Path(__file__).resolve())


class Subscribers:
    """Child subscriber processes of one phase; `close` kills whatever still runs.

    Started with subprocess.Popen, which uses vfork here: gRPC's fork handlers stay out of it
    (a plain fork while gRPC threads run makes gRPC log about skipping them).
    """

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        self._outputs: list[asyncio.Future[tuple[bytes, bytes]]] = []
        self._readers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bench-sub")

    def spawn(self, specs: Sequence[SubscriberSpec]) -> None:
        loop = asyncio.get_running_loop()
        env = {k: v for k, v in os.environ.items() if not k.startswith("BACKEND_")}
        for spec in specs:
            env[SUBSCRIBER_ENV] = json.dumps(asdict(spec))
            proc = subprocess.Popen(
                [sys.executable, SCRIPT, "--subscriber"],
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            self._procs.append(proc)
            self._outputs.append(loop.run_in_executor(self._readers, proc.communicate))

    def check_alive(self) -> None:
        for proc, output in zip(self._procs, self._outputs, strict=True):
            code = proc.poll()
            if code:
                err = output.result()[1] if output.done() else b""
                raise RuntimeError(f"subscriber exited with {code}: {err.decode(errors='replace')}")

    async def reports(self, seconds: float) -> list[SubscriberReport]:
        try:
            async with asyncio.timeout(seconds):
                outputs = await asyncio.gather(*self._outputs)
        except TimeoutError:
            raise TimeoutError(f"subscribers did not report within {seconds:.0f}s") from None
        reports = []
        for proc, (out, err) in zip(self._procs, outputs, strict=True):
            if proc.wait() != 0 or not out.strip():
                raise RuntimeError(
                    f"subscriber exited with {proc.returncode}: {err.decode(errors='replace')}"
                )
            report = SubscriberReport(**json.loads(out))
            if report.error or report.timed_out:
                problem = report.error or f"timed out after {report.events} events"
                raise RuntimeError(f"subscriber {report.gateway_id}: {problem}")
            reports.append(report)
        return reports

    async def close(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
        # Killed children close their pipes, so every communicate() returns promptly.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await asyncio.gather(*self._outputs, return_exceptions=True)
        for proc in self._procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)
        self._readers.shutdown(wait=False, cancel_futures=True)
        self._procs.clear()
        self._outputs.clear()


async def wait_until(
    condition: Callable[[], bool],
    what: str,
    seconds: float,
    subscribers: Subscribers | None = None,
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if subscribers is not None:
            subscribers.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {seconds:.0f}s waiting for {what}")
        await asyncio.sleep(0.01)


# --------------------------------------------------------------------------------------------
# Raw grpc.aio baseline
# --------------------------------------------------------------------------------------------


class RawPush:
    """A plain grpc.aio unary-stream method streaming the burst's batches.

    `built=True` is the ordinary way: each PushBatch message is built from the events when
    it is sent and grpc serializes it. `built=False` streams batches serialized in advance,
    the ceiling of what a stream can carry here.
    """

    def __init__(self, *, built: bool) -> None:
        self.built = built
        self.batches: list[bytes] = []
        self.events: list[tuple[int, str, tuple[str, ...], bytes, int]] = []
        self.batch_max = 256
        self.connected = 0
        self.go = asyncio.Event()
        self.port = 0
        self._server: grpc.aio.Server | None = None

    async def subscribe_push(
        self, request: SubscribePushRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Any:
        self.connected += 1
        try:
            await self.go.wait()
            if not self.built:
                for batch in self.batches:
                    yield batch
                return
            events, step = self.events, self.batch_max
            for start in range(0, len(events), step):
                yield PushBatch(
                    events=[
                        PushEvent(
                            cursor=cursor,
                            kind=kind,
                            user_ids=user_ids,
                            payload=body,
                            created_at=Timestamp(
                                seconds=ns // 1_000_000_000, nanos=ns % 1_000_000_000
                            ),
                        )
                        for cursor, kind, user_ids, body, ns in events[start : start + step]
                    ]
                )
        finally:
            self.connected -= 1

    async def start(self) -> None:
        server = grpc.aio.server()
        server.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    SERVICE_NAME,
                    {
                        "SubscribePush": grpc.unary_stream_rpc_method_handler(
                            self.subscribe_push,
                            request_deserializer=SubscribePushRequest.FromString,
                            response_serializer=(
                                PushBatch.SerializeToString if self.built else None
                            ),
                        )
                    },
                )
            ]
        )
        self.port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        self._server = server

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=1)
            self._server = None


def raw_events(count: int) -> list[tuple[int, str, tuple[str, ...], bytes, int]]:
    """The burst's events as plain values (cursors 1..count)."""
    events = []
    for n in range(count):
        now = time.time_ns()
        events.append((n + 1, KIND, tuple(USER_IDS), payload(n, now), now))
    return events


def raw_batches(count: int, batch_max: int) -> list[bytes]:
    """The same events as a burst of ours (cursors 1..count), in batches of `batch_max`."""
    batches = []
    for start in range(0, count, batch_max):
        events = []
        for n in range(start, min(count, start + batch_max)):
            now = time.time_ns()
            event = PushEvent(cursor=n + 1, kind=KIND, user_ids=USER_IDS, payload=payload(n, now))
            event.created_at.seconds, event.created_at.nanos = divmod(now, 1_000_000_000)
            events.append(event)
        batches.append(PushBatch(events=events).SerializeToString())
    return batches


# --------------------------------------------------------------------------------------------
# Phases
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Burst:
    subscribers: int
    events_per_s: list[float]
    events_per_message: float
    publish_events_per_s: float = 0.0  # ours only: the publish loop alone
    drain_ms: float = 0.0  # ours only: last publish -> last receive (slowest subscriber)

    @property
    def min(self) -> float:
        return min(self.events_per_s)

    @property
    def mean(self) -> float:
        return sum(self.events_per_s) / len(self.events_per_s)


@dataclass(slots=True)
class Bench:
    backend: Backend
    raw: RawPush
    raw_built: RawPush
    events: int
    batch_max: int
    yield_every: int
    timeout: float

    def spec(
        self, port: int, index: int, after: int, stop: int, *, latencies: bool = False
    ) -> SubscriberSpec:
        return SubscriberSpec(
            target=f"127.0.0.1:{port}",
            token=self.backend.internal_token,
            gateway_id=f"bench-gw-{index}",
            after_cursor=after,
            stop_cursor=stop,
            latencies=latencies,
            timeout=self.timeout,
        )

    async def ours_burst(self, subscribers: int, events: int | None = None) -> Burst:
        push = self.backend.push
        count = events or self.events
        await wait_until(lambda: push.status().subscribers == 0, "old subscribers to leave", 15)
        after = push.status().last_cursor
        port = self.backend.grpc.port
        children = Subscribers()
        try:
            children.spawn([self.spec(port, i, after, after + count) for i in range(subscribers)])
            await wait_until(
                lambda: push.status().subscribers == subscribers,
                f"{subscribers} subscribers on the backend",
                60,
                children,
            )
            publish, yield_every = push.publish, self.yield_every
            began = time.time_ns()
            for n in range(count):
                publish(KIND, payload(n, time.time_ns()), user_ids=USER_IDS)
                if n % yield_every == yield_every - 1:
                    await asyncio.sleep(0)
            published = time.time_ns()
            reports = await children.reports(self.timeout)
        finally:
            await children.close()
        return Burst(
            subscribers=subscribers,
            events_per_s=[rate(r, count, began) for r in reports],
            events_per_message=sum(r.events for r in reports) / sum(r.messages for r in reports),
            publish_events_per_s=count / ((published - began) / 1e9),
            drain_ms=(max(r.last_receive_ns for r in reports) - published) / 1e6,
        )

    async def raw_burst(
        self, subscribers: int, events: int | None = None, *, built: bool = False
    ) -> Burst:
        raw = self.raw_built if built else self.raw
        count = events or self.events
        await wait_until(lambda: raw.connected == 0, "old raw subscribers to leave", 15)
        if built:
            raw.events, raw.batch_max = raw_events(count), self.batch_max
        else:
            raw.batches = raw_batches(count, self.batch_max)
        raw.go = asyncio.Event()
        children = Subscribers()
        try:
            children.spawn([self.spec(raw.port, i, 0, count) for i in range(subscribers)])
            await wait_until(
                lambda: raw.connected == subscribers,
                f"{subscribers} subscribers on the raw server",
                60,
                children,
            )
            began = time.time_ns()
            raw.go.set()
            reports = await children.reports(self.timeout)
        finally:
            await children.close()
        return Burst(
            subscribers=subscribers,
            events_per_s=[rate(r, count, began) for r in reports],
            events_per_message=sum(r.events for r in reports) / sum(r.messages for r in reports),
        )

    async def quiet(self, count: int, interval: float) -> list[int]:
        push = self.backend.push
        await wait_until(lambda: push.status().subscribers == 0, "old subscribers to leave", 15)
        after = push.status().last_cursor
        children = Subscribers()
        try:
            children.spawn(
                [self.spec(self.backend.grpc.port, 0, after, after + count, latencies=True)]
            )
            await wait_until(
                lambda: push.status().subscribers == 1, "the quiet subscriber", 60, children
            )
            for n in range(count):
                push.publish(KIND, payload(n, time.time_ns()), user_ids=USER_IDS)
                await asyncio.sleep(interval)
            (report,) = await children.reports(self.timeout)
        finally:
            await children.close()
        return report.latencies_ns


def rate(report: SubscriberReport, count: int, began_ns: int) -> float:
    if report.events != count or report.resets:
        raise RuntimeError(
            f"{report.gateway_id} received {report.events}/{count} events, "
            f"{report.resets} resets (ring too small?)"
        )
    return count / ((report.last_receive_ns - began_ns) / 1e9)


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# --------------------------------------------------------------------------------------------
# Set-up and tear-down: throwaway database, backend, raw server
# --------------------------------------------------------------------------------------------


def _with_database(dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


async def _admin(dsn: str, sql: str) -> None:
    import asyncpg  # noqa: PLC0415 - subscribers never need it

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(sql, timeout=30)
    finally:
        await conn.close(timeout=5)


@contextlib.contextmanager
def backend_environment(overrides: dict[str, str]) -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith("BACKEND_")}
    for name in saved:
        del os.environ[name]
    os.environ.update(overrides)
    try:
        yield
    finally:
        for name in [k for k in os.environ if k.startswith("BACKEND_")]:
            del os.environ[name]
        os.environ.update(saved)


def progress(message: str) -> None:
    print(f"[push_stream] {message}", file=sys.stderr, flush=True)


async def timed(label: str, step: Awaitable[Burst]) -> Burst:
    result = await step
    rates = ", ".join(f"{r:,.0f}" for r in result.events_per_s)
    progress(f"{label}: {rates} events/s, {result.events_per_message:.1f} events/message")
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from galaxy_backend.config import load_from_env  # noqa: PLC0415 - subscribers skip these
    from galaxy_backend.telemetry import configure_logging  # noqa: PLC0415
    from galaxy_backend.wiring import build_backend  # noqa: PLC0415

    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    admin_dsn = args.postgres_dsn
    database = f"galaxy_bench_{uuid.uuid4().hex[:12]}"
    ring_size = max(262_144, 1 << math.ceil(math.log2(args.events + args.quiet_events + 1)))
    await _admin(admin_dsn, f'CREATE DATABASE "{database}"')
    backend: Backend | None = None
    raw = RawPush(built=False)
    raw_built = RawPush(built=True)
    try:
        with tempfile.TemporaryDirectory(prefix="galaxy-bench-") as data_dir:
            env = {
                "BACKEND_POSTGRES_DSN": _with_database(admin_dsn, database),
                "BACKEND_HTTP_ADDR": "127.0.0.1:0",
                "BACKEND_GRPC_PUSH_ADDR": "127.0.0.1:0",
                "BACKEND_DATA_DIR": data_dir,
                "BACKEND_OTEL_TRACES_EXPORTER": "none",
                "BACKEND_OTEL_METRICS_EXPORTER": "none",
                "BACKEND_LOG_LEVEL": "warning",
                "BACKEND_PUSH_RING_SIZE": str(ring_size),
            }
            with backend_environment(env):
                config = load_from_env()
            configure_logging(config.log_level, config.log_format)
            built = build_backend(config)
            await built.app.start()
            backend = built
            await raw.start()
            await raw_built.start()
            bench = Bench(
                backend=backend,
                raw=raw,
                raw_built=raw_built,
                events=args.events,
                batch_max=config.push_batch_max,
                yield_every=args.yield_every,
                timeout=args.phase_timeout,
            )
            try:
                progress(
                    f"backend gRPC on :{backend.grpc.port}, raw on :{raw.port}; "
                    f"{args.events:,} events per burst"
                )
                warm = min(args.events, args.warmup_events)
                if warm:
                    await timed("warm-up ours", bench.ours_burst(1, warm))
                    await timed("warm-up raw", bench.raw_burst(1, warm))
                    await timed("warm-up raw built", bench.raw_burst(1, warm, built=True))
                ours_1 = await timed("ours, 1 subscriber", bench.ours_burst(1))
                built_1 = await timed("raw built, 1 subscriber", bench.raw_burst(1, built=True))
                raw_1 = await timed("raw, 1 subscriber", bench.raw_burst(1))
                ours_4 = await timed("ours, 4 subscribers", bench.ours_burst(4))
                built_4 = await timed("raw built, 4 subscribers", bench.raw_burst(4, built=True))
                raw_4 = await timed("raw, 4 subscribers", bench.raw_burst(4))
                latencies = await bench.quiet(args.quiet_events, args.quiet_interval_ms / 1000)
                progress("quiet phase done")
            finally:
                await raw.stop()
                await raw_built.stop()
                await backend.app.stop()
    finally:
        await _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    ordered = sorted(ns / 1e6 for ns in latencies)
    return {
        "events_per_burst": args.events,
        "batch_max": config.push_batch_max,
        "yield_every": args.yield_every,
        "ring_size": ring_size,
        "target_ratio": TARGET_RATIO,
        "burst_1": {
            "ours_events_per_s": ours_1.mean,
            "built_events_per_s": built_1.mean,
            "built_ratio": ours_1.mean / built_1.mean,
            "raw_events_per_s": raw_1.mean,
            "ratio": ours_1.mean / raw_1.mean,
            "ours_events_per_message": ours_1.events_per_message,
            "publish_events_per_s": ours_1.publish_events_per_s,
            "drain_ms": ours_1.drain_ms,
        },
        "burst_4": {
            "ours_events_per_s": ours_4.events_per_s,
            "ours_min": ours_4.min,
            "ours_mean": ours_4.mean,
            "built_mean": built_4.mean,
            "built_ratio_mean": ours_4.mean / built_4.mean,
            "raw_events_per_s": raw_4.events_per_s,
            "raw_min": raw_4.min,
            "raw_mean": raw_4.mean,
            "ratio_mean": ours_4.mean / raw_4.mean,
            "ratio_min": ours_4.min / raw_4.min,
            "ours_events_per_message": ours_4.events_per_message,
            "publish_events_per_s": ours_4.publish_events_per_s,
            "drain_ms": ours_4.drain_ms,
        },
        "quiet": {
            "events": len(ordered),
            "interval_ms": args.quiet_interval_ms,
            "p50_ms": percentile(ordered, 0.50),
            "p99_ms": percentile(ordered, 0.99),
            "max_ms": ordered[-1],
        },
    }


def print_table(figures: dict[str, Any]) -> None:
    one, four, quiet = figures["burst_1"], figures["burst_4"], figures["quiet"]
    print(
        f"\npush stream: {figures['events_per_burst']:,} events per burst, batches of at most "
        f"{figures['batch_max']}, publisher yields every {figures['yield_every']} events"
    )
    header = (
        f"{'burst':20} {'ours ev/s':>10} {'raw built':>10} {'ours/built':>10} "
        f"{'raw pre-enc':>11} {'ours/pre':>8} {'ev/msg':>7} {'publish ev/s':>12}"
    )
    print(header)
    print("-" * len(header))
    print(
        f"{'1 subscriber':20} {one['ours_events_per_s']:>10,.0f} "
        f"{one['built_events_per_s']:>10,.0f} {one['built_ratio']:>10.0%} "
        f"{one['raw_events_per_s']:>11,.0f} {one['ratio']:>8.0%} "
        f"{one['ours_events_per_message']:>7.1f} {one['publish_events_per_s']:>12,.0f}"
    )
    print(
        f"{'4 subscribers, mean':20} {four['ours_mean']:>10,.0f} {four['built_mean']:>10,.0f} "
        f"{four['built_ratio_mean']:>10.0%} {four['raw_mean']:>11,.0f} "
        f"{four['ratio_mean']:>8.0%} {four['ours_events_per_message']:>7.1f} "
        f"{four['publish_events_per_s']:>12,.0f}"
    )
    print(
        f"\nquiet: {quiet['events']} events, one every {quiet['interval_ms']:g} ms, 1 subscriber: "
        f"publish->receive p50 {quiet['p50_ms']:.3f} ms, p99 {quiet['p99_ms']:.3f} ms, "
        f"max {quiet['max_ms']:.3f} ms"
    )
    print(
        "ours = publish() to subscriber; raw built = grpc.aio building each PushBatch as it\n"
        "sends; raw pre-enc = grpc.aio sending batches encoded in advance (the stream's ceiling)"
    )
    worst = min(one["built_ratio"], four["built_ratio_mean"])
    verdict = "met" if worst >= figures["target_ratio"] else "NOT met"
    print(
        f"target ours >= {figures['target_ratio']:.0%} of raw built: {verdict} (lowest {worst:.0%})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="events per burst")
    parser.add_argument("--yield-every", type=int, default=500, help="publishes per loop yield")
    parser.add_argument("--warmup-events", type=int, default=20_000)
    parser.add_argument("--quiet-events", type=int, default=400)
    parser.add_argument("--quiet-interval-ms", type=float, default=5.0)
    parser.add_argument("--phase-timeout", type=float, default=60.0, help="seconds per phase")
    parser.add_argument(
        "--postgres-dsn",
        default=os.environ.get("GALAXY_BENCH_POSTGRES_DSN", DEFAULT_ADMIN_DSN),
        help="superuser DSN; a throwaway database is created and dropped there",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--subscriber", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.subscriber:
        subscriber_main()
        return
    if args.events < 1 or args.yield_every < 1 or args.quiet_events < 1:
        parser.error("--events, --yield-every and --quiet-events must be positive")
    try:
        figures = uvloop.run(run(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("push_stream: interrupted; subscribers and the bench database were cleaned up")
    if args.json:
        print(json.dumps(figures))
    else:
        print_table(figures)


if __name__ == "__main__":
    main()
