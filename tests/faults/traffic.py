"""What a fault is measured with: players and an operator calling the API throughout, a
readiness watcher, and a gateway counting push events. Every answer is recorded with when
it started and how long it took."""

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
import httpx

from galaxy_proto.push_pb2 import SubscribePushRequest
from galaxy_proto.push_pb2_grpc import PushStub

Call = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]

# Calls are paced, not fired back to back: the backend shares this process and its cores.
_PACE_SECONDS = 0.05
_READINESS_PACE_SECONDS = 0.2


@dataclass(frozen=True)
class Answer:
    call: str
    started: float
    seconds: float
    status: int | None  # None: no answer at all (the client gave up)
    code: str | None = None
    retry_after: str | None = None


def _code(response: httpx.Response) -> str | None:
    if response.status_code < 400:
        return None
    with contextlib.suppress(ValueError, KeyError, TypeError):
        return str(response.json()["error"]["code"])
    return None


@dataclass
class Traffic:
    """`workers` loops, each calling the next of `calls` over and over until stopped."""

    client: httpx.AsyncClient
    calls: dict[str, Call]
    workers: int = 4
    answers: list[Answer] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _running: bool = False

    def start(self) -> None:
        self._running = True
        names = list(self.calls)
        self._tasks = [
            asyncio.create_task(self._work(itertools.cycle(names[n:] + names[:n])))
            for n in range(self.workers)
        ]

    async def stop(self) -> None:
        self._running = False
        await asyncio.gather(*self._tasks)

    async def _work(self, names: "itertools.cycle[str]") -> None:
        for name in names:
            if not self._running:
                return
            started = time.monotonic()
            try:
                response = await self.calls[name](self.client)
            except httpx.HTTPError:
                self.answers.append(Answer(name, started, time.monotonic() - started, None))
            else:
                self.answers.append(
                    Answer(
                        name,
                        started,
                        time.monotonic() - started,
                        response.status_code,
                        _code(response),
                        response.headers.get("retry-after"),
                    )
                )
            await asyncio.sleep(_PACE_SECONDS)

    def between(self, start: float, end: float) -> list[Answer]:
        return [a for a in self.answers if start <= a.started <= end]


@dataclass(frozen=True)
class Probe:
    started: float
    ended: float
    status: int | None
    reasons: tuple[str, ...]


@dataclass
class ReadinessWatch:
    """`GET /readyz` every moment, each answer kept."""

    client: httpx.AsyncClient
    probes: list[Probe] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _watch(self) -> None:
        while True:
            started = time.monotonic()
            try:
                response = await self.client.get("/readyz")
                probe = Probe(
                    started,
                    time.monotonic(),
                    response.status_code,
                    tuple(response.json().get("reasons", ())),
                )
            except httpx.HTTPError:
                probe = Probe(started, time.monotonic(), None, ())
            self.probes.append(probe)
            await asyncio.sleep(_READINESS_PACE_SECONDS)

    def since(self, moment: float) -> list[Probe]:
        return [p for p in self.probes if p.started >= moment]


@dataclass
class PushTally:
    """A gateway on the real gRPC stream, counting turn notices per (user, game, turn)."""

    address: str
    token: str
    after_cursor: int
    turn_notices: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    _channel: grpc.aio.Channel | None = None
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._channel = grpc.aio.insecure_channel(self.address)
        call = PushStub(self._channel).SubscribePush(
            SubscribePushRequest(gateway_id="fault-test", after_cursor=self.after_cursor),
            metadata=[("authorization", f"Bearer {self.token}")],
        )
        self._task = asyncio.create_task(self._read(call))

    async def _read(self, call: object) -> None:
        async for batch in call:  # type: ignore[attr-defined]
            for event in batch.events:
                if event.kind != "notification":
                    continue
                payload = json.loads(event.payload)
                if payload.get("kind") != "runtime.turn.ready":
                    continue
                inner = payload["payload"]
                for user in event.user_ids:
                    self.turn_notices[(user, inner["game_id"], int(inner["turn"]))] += 1

    @property
    def streaming(self) -> bool:
        """The stream is still open (it never broke, whatever the database went through)."""
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
                await self._task
        if self._channel is not None:
            await self._channel.close()
