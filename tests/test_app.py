"""App lifecycle: start order, reverse stop, refusing traffic first, deadlines, failures."""

import asyncio
import os
import signal

import pytest

from galaxy_backend.app import EXIT_FAILURE, EXIT_OK, App, StartError


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []


class FakeComponent:
    """A hand-written fake: records calls, can fail or hang on request."""

    def __init__(
        self,
        name: str,
        recorder: Recorder,
        *,
        fail_start: bool = False,
        stop_delay: float = 0.0,
        stop_timeout: float | None = None,
        fail_stop: bool = False,
    ) -> None:
        self.name = name
        self.stop_timeout = stop_timeout
        self._recorder = recorder
        self._fail_start = fail_start
        self._stop_delay = stop_delay
        self._fail_stop = fail_stop
        self.stop_cancelled = False

    async def start(self) -> None:
        self._recorder.events.append(f"start {self.name}")
        if self._fail_start:
            raise RuntimeError("boom")

    async def stop(self) -> None:
        self._recorder.events.append(f"stop {self.name}")
        try:
            await asyncio.sleep(self._stop_delay)
        except asyncio.CancelledError:
            self.stop_cancelled = True
            raise
        if self._fail_stop:
            raise RuntimeError("stop failed")


class FakeListener(FakeComponent):
    def refuse_new(self) -> None:
        self._recorder.events.append(f"refuse {self.name}")


async def test_starts_in_order_and_stops_in_reverse_refusing_traffic_first() -> None:
    rec = Recorder()
    components = [
        FakeComponent("telemetry", rec),
        FakeComponent("postgres", rec),
        FakeListener("http", rec),
        FakeListener("grpc", rec),
        FakeComponent("mail-worker", rec),
    ]
    app = App(components, shutdown_timeout=5)
    await app.start()
    assert app.started == ["telemetry", "postgres", "http", "grpc", "mail-worker"]
    assert await app.stop() is True
    assert rec.events == [
        "start telemetry",
        "start postgres",
        "start http",
        "start grpc",
        "start mail-worker",
        "refuse grpc",
        "refuse http",
        "stop mail-worker",
        "stop grpc",
        "stop http",
        "stop postgres",
        "stop telemetry",
    ]


async def test_a_failing_start_stops_what_already_started() -> None:
    rec = Recorder()
    components = [
        FakeComponent("a", rec),
        FakeListener("b", rec),
        FakeComponent("c", rec, fail_start=True),
        FakeComponent("d", rec),
    ]
    app = App(components, shutdown_timeout=5)
    with pytest.raises(StartError, match="c: boom"):
        await app.start()
    assert rec.events == ["start a", "start b", "start c", "refuse b", "stop b", "stop a"]


async def test_the_component_deadline_wins_when_smaller() -> None:
    rec = Recorder()
    slow = FakeComponent("slow", rec, stop_delay=30, stop_timeout=0.05)
    after = FakeComponent("after", rec)
    app = App([after, slow], shutdown_timeout=20)
    await app.start()
    assert await app.stop() is False
    assert slow.stop_cancelled
    assert rec.events[-2:] == ["stop slow", "stop after"]


async def test_the_overall_deadline_wins_when_smaller() -> None:
    rec = Recorder()
    slow = FakeComponent("slow", rec, stop_delay=30, stop_timeout=60)
    app = App([FakeComponent("first", rec), slow], shutdown_timeout=0.05)
    await app.start()
    assert await app.stop() is False
    assert slow.stop_cancelled
    # Later steps still run; with the budget spent they get no time, and say so.
    assert "stop first" in rec.events


async def test_a_failing_stop_does_not_prevent_the_others() -> None:
    rec = Recorder()
    app = App(
        [FakeComponent("a", rec), FakeComponent("b", rec, fail_stop=True)], shutdown_timeout=5
    )
    await app.start()
    assert await app.stop() is False
    assert rec.events[-2:] == ["stop b", "stop a"]


async def test_run_exits_0_after_sigterm() -> None:
    rec = Recorder()
    app = App([FakeComponent("a", rec), FakeListener("http", rec)], shutdown_timeout=5)
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
    assert await app.run() == EXIT_OK
    assert rec.events == ["start a", "start http", "refuse http", "stop http", "stop a"]


async def test_run_exits_non_zero_when_a_component_reports_failure() -> None:
    rec = Recorder()
    app = App([FakeComponent("a", rec)], shutdown_timeout=5)
    asyncio.get_running_loop().call_later(
        0.05, lambda: app.request_stop("listener died", failed=True)
    )
    assert await app.run() == EXIT_FAILURE
    assert rec.events == ["start a", "stop a"]


async def test_run_exits_non_zero_when_start_fails() -> None:
    rec = Recorder()
    app = App(
        [FakeComponent("a", rec), FakeComponent("b", rec, fail_start=True)], shutdown_timeout=5
    )
    assert await app.run() == EXIT_FAILURE
    assert rec.events == ["start a", "start b", "stop a"]


async def test_run_exits_non_zero_when_a_stop_overruns() -> None:
    rec = Recorder()
    app = App([FakeComponent("a", rec, stop_delay=10, stop_timeout=0.05)], shutdown_timeout=5)
    asyncio.get_running_loop().call_later(0.05, app.request_stop, "test")
    assert await app.run() == EXIT_FAILURE


async def test_a_stop_requested_during_start_stops_what_started() -> None:
    rec = Recorder()
    gate = asyncio.Event()

    class Blocking(FakeComponent):
        async def start(self) -> None:
            await super().start()
            await gate.wait()

    app = App(
        [FakeComponent("a", rec), Blocking("b", rec), FakeComponent("c", rec)], shutdown_timeout=5
    )
    asyncio.get_running_loop().call_later(0.05, app.request_stop, "signal SIGTERM")
    assert await app.run() == EXIT_OK
    assert rec.events == ["start a", "start b", "stop a"]


def test_component_names_must_be_unique() -> None:
    rec = Recorder()
    with pytest.raises(ValueError, match="unique"):
        App([FakeComponent("a", rec), FakeComponent("a", rec)], shutdown_timeout=1)
