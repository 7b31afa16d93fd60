"""Heartbeats of the background loops, read by `/readyz` and by a metric.

Each loop (the turn scheduler, the reconciler, the workers, the sweeper, each chore, the
cache bus, each LISTEN) reports every round it completes, saying when it expects to
complete the next. A loop that has completed none by then plus `deadline` is overdue:
`/readyz` answers 503 naming it and `loop.overdue` reads 1, so a process with a stuck loop
is taken out of rotation and restarted by its orchestrator rather than serving half alive.
A round that fails (the database away) does not count: the loop is overdue until the
database is back and it completes one again.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from opentelemetry.metrics import CallbackOptions, Meter, Observation

Clock = Callable[[], float]

DEFAULT_DEADLINE = 60.0
DEFAULT_LISTEN_PROBE = 5.0


@dataclass(frozen=True, slots=True)
class LoopState:
    name: str
    rounds: int
    # Seconds since its last completed round (or its start).
    age: float
    overdue: bool


class Heartbeat:
    """One loop's: `start` when it starts, `beat` after each round it completes."""

    __slots__ = ("_armed", "_clock", "_deadline", "_due", "_last", "name", "rounds")

    def __init__(self, name: str, *, deadline: float, clock: Clock) -> None:
        self.name = name
        self._deadline = deadline
        self._clock = clock
        self._armed = False
        self._last = self._due = clock()
        self.rounds = 0

    def start(self, *, next_in: float = 0.0) -> None:
        """The loop runs; its first round is expected to complete `next_in` from now."""
        self._armed = True
        self._last = self._clock()
        self._due = self._last + next_in + self._deadline

    def beat(self, *, next_in: float = 0.0) -> None:
        """A round completed; the next is expected to complete `next_in` from now."""
        self.rounds += 1
        self._last = self._clock()
        self._due = self._last + next_in + self._deadline

    def extend(self, seconds: float) -> None:
        """This round has more to wait on (one health check per engine, a slow send)."""
        self._due += seconds

    def stop(self) -> None:
        self._armed = False

    def overdue(self, now: float) -> bool:
        return self._armed and now > self._due

    def age(self, now: float) -> float:
        """Seconds since the last completed round (or the start)."""
        return max(now - self._last, 0.0)


class Liveness:
    """Every loop's heartbeat in one place; `deadline` is the same for all of them, and
    `listen_probe` is how often an idle LISTEN connection proves it still answers."""

    def __init__(
        self,
        *,
        deadline: float = DEFAULT_DEADLINE,
        listen_probe: float = DEFAULT_LISTEN_PROBE,
        clock: Clock = time.monotonic,
    ) -> None:
        self.deadline = deadline
        self.listen_probe = listen_probe
        self._clock = clock
        self._beats: dict[str, Heartbeat] = {}

    def heartbeat(self, name: str) -> Heartbeat:
        if name in self._beats:
            raise ValueError(f"a loop named {name!r} reports already")
        beat = Heartbeat(name, deadline=self.deadline, clock=self._clock)
        self._beats[name] = beat
        return beat

    def __iter__(self) -> Iterator[Heartbeat]:
        return iter(list(self._beats.values()))

    def get(self, name: str) -> Heartbeat:
        return self._beats[name]

    def names(self) -> list[str]:
        return sorted(self._beats)

    def snapshot(self) -> list[LoopState]:
        """Every loop as it stands now, by name."""
        now = self._clock()
        return [
            LoopState(beat.name, beat.rounds, beat.age(now), beat.overdue(now))
            for beat in sorted(self._beats.values(), key=lambda b: b.name)
        ]

    def reasons(self) -> list[str]:
        """Why the process is not ready as far as its loops go: each overdue one, named."""
        now = self._clock()
        return [
            f"loop {beat.name} has completed no round for {beat.age(now):.0f}s"
            for beat in self._beats.values()
            if beat.overdue(now)
        ]

    def observe(self, meter: Meter) -> None:
        """`loop.overdue` (1 when overdue) and `loop.round.age` for every loop."""
        meter.create_observable_gauge(
            "loop.overdue",
            callbacks=[self._observe_overdue],
            unit="1",
            description="1 while a background loop has completed no round within its deadline",
        )
        meter.create_observable_gauge(
            "loop.round.age",
            callbacks=[self._observe_age],
            unit="s",
            description="Seconds since each background loop last completed a round",
        )

    def _observe_overdue(self, _: CallbackOptions) -> list[Observation]:
        now = self._clock()
        return [
            Observation(int(beat.overdue(now)), {"loop.name": beat.name})
            for beat in list(self._beats.values())
        ]

    def _observe_age(self, _: CallbackOptions) -> list[Observation]:
        now = self._clock()
        return [
            Observation(beat.age(now), {"loop.name": beat.name})
            for beat in list(self._beats.values())
        ]
