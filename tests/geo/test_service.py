"""GeoService against real PostgreSQL: background counters, drain on stop, stats, failures."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import asyncpg
import pytest
from asyncpg.transaction import Transaction
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from structlog.testing import capture_logs

from galaxy_backend.geo import CountryDay, GeoReader, GeoService
from galaxy_backend.geo.service import MAX_STATS_DAYS
from galaxy_backend.kernel.errors import InvalidInput
from galaxy_backend.postgres import Database
from tests.geo.conftest import Clock, PoolHolder
from tests.support import eventually

DAY = date(2025, 3, 14)
NEXT_DAY = date(2025, 3, 15)


@pytest.fixture
async def service(database: Database, test_mmdb: Path, clock: Clock) -> AsyncIterator[GeoService]:
    service = GeoService(database=database, reader=GeoReader.open(test_mmdb), clock=clock)
    await service.start()
    yield service
    await service.stop()


async def sign_ins(database: Database) -> dict[tuple[date, str], int]:
    rows = await database.pool.fetch("SELECT day, country, sign_ins FROM geo_daily_sign_ins")
    return {(row["day"], row["country"]): row["sign_ins"] for row in rows}


async def active_users(database: Database) -> dict[tuple[date, UUID], str]:
    rows = await database.pool.fetch("SELECT day, user_id, country FROM geo_daily_active_users")
    return {(row["day"], row["user_id"]): row["country"] for row in rows}


async def lock_waiters(database: Database) -> int:
    waiting: int = await database.pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return waiting


@asynccontextmanager
async def holding_the_fr_row(db_dsn: str) -> AsyncIterator[Transaction]:
    """Another connection's open insert of today's FR counter: our write must wait on it."""
    blocker = await asyncpg.connect(db_dsn)
    try:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute(
            "INSERT INTO backend.geo_daily_sign_ins (day, country, sign_ins) VALUES ($1, 'FR', 5)",
            DAY,
        )
        yield transaction
        if blocker.is_in_transaction():
            await transaction.rollback()
    finally:
        await blocker.close()


def test_country_for_uses_the_reader(service: GeoService) -> None:
    assert service.country_for("5.10.0.1") == "FR"
    assert service.country_for("192.168.0.1") is None
    assert service.country_for(None) is None


async def test_sign_ins_are_written_in_the_background_and_drained_by_stop(
    database: Database, service: GeoService
) -> None:
    service.record_sign_in(service.country_for("5.10.0.1"))
    service.record_sign_in("FR")
    service.record_sign_in(service.country_for("10.0.0.1"))
    service.record_sign_in(None)
    service.record_sign_in("de")
    service.record_sign_in("Narnia")
    # Nothing was written on the caller's path: the counts wait, summed per day and country.
    assert service.pending_writes == 3
    await service.stop()
    assert service.pending_writes == 0
    assert await sign_ins(database) == {(DAY, "FR"): 2, (DAY, "ZZ"): 3, (DAY, "DE"): 1}


async def test_sign_ins_land_without_waiting_for_stop(
    database: Database, service: GeoService
) -> None:
    service.record_sign_in("FR")

    async def written() -> bool:
        return await sign_ins(database) == {(DAY, "FR"): 1}

    await eventually(written, message="the sign-in counter")
    await eventually(lambda: service.pending_writes == 0, message="the task to be forgotten")


async def test_activity_is_written_once_per_user_per_day(
    database: Database, service: GeoService
) -> None:
    alice, bob = uuid4(), uuid4()
    service.record_activity(alice, "FR")
    service.record_activity(alice, "DE")
    service.record_activity(alice, None)
    service.record_activity(bob, None)
    assert service.pending_writes == 2
    await eventually(lambda: service.pending_writes == 0)
    service.record_activity(alice, "FR")
    assert service.pending_writes == 0
    await service.stop()
    assert await active_users(database) == {(DAY, alice): "FR", (DAY, bob): "ZZ"}


async def test_another_process_counting_the_same_user_keeps_the_first_country(
    database: Database, service: GeoService, test_mmdb: Path, clock: Clock
) -> None:
    user = uuid4()
    other = GeoService(database=database, reader=GeoReader.open(test_mmdb), clock=clock)
    service.record_activity(user, "FR")
    await service.stop()
    other.record_activity(user, "DE")
    assert other.pending_writes == 1
    await other.stop()
    assert await active_users(database) == {(DAY, user): "FR"}


async def test_a_new_utc_day_counts_everyone_again(
    database: Database, service: GeoService, clock: Clock
) -> None:
    user = uuid4()
    service.record_activity(user, "FR")
    service.record_sign_in("FR")
    clock.advance(seconds=29)
    service.record_activity(user, "FR")
    assert service.pending_writes == 2
    clock.advance(seconds=1)  # midnight UTC
    service.record_activity(user, "DE")
    service.record_sign_in("DE")
    assert service.pending_writes == 4
    await service.stop()
    assert await active_users(database) == {(DAY, user): "FR", (NEXT_DAY, user): "DE"}
    assert await sign_ins(database) == {(DAY, "FR"): 1, (NEXT_DAY, "DE"): 1}


async def test_the_day_is_taken_when_recorded_not_when_written(
    database: Database, service: GeoService, clock: Clock
) -> None:
    service.record_sign_in("FR")
    service.record_activity(uuid4(), "FR")
    clock.advance(hours=2)
    await service.stop()
    assert await sign_ins(database) == {(DAY, "FR"): 1}
    assert [day for day, _ in await active_users(database)] == [DAY]


async def test_stats_aggregate_sign_ins_and_distinct_active_users(
    service: GeoService, clock: Clock
) -> None:
    alice, bob, carol = uuid4(), uuid4(), uuid4()
    for user in (alice, bob):
        service.record_sign_in("FR")
        service.record_activity(user, "FR")
    service.record_activity(alice, "FR")
    service.record_activity(carol, "DE")  # active without signing in
    service.record_sign_in(None)  # signed in from nowhere known, never active
    clock.advance(days=1)
    service.record_sign_in("FR")
    service.record_activity(alice, "FR")
    service.record_activity(bob, "SE")
    clock.advance(days=1)
    service.record_sign_in("DE")
    await eventually(lambda: service.pending_writes == 0)

    later, middle = date(2025, 3, 16), NEXT_DAY
    assert await service.stats(days=3) == [
        CountryDay(later, "DE", sign_ins=1, active_users=0),
        CountryDay(middle, "FR", sign_ins=1, active_users=1),
        CountryDay(middle, "SE", sign_ins=0, active_users=1),
        CountryDay(DAY, "DE", sign_ins=0, active_users=1),
        CountryDay(DAY, "FR", sign_ins=2, active_users=2),
        CountryDay(DAY, "ZZ", sign_ins=1, active_users=0),
    ]
    assert await service.stats(days=2) == (await service.stats(days=3))[:3]
    assert await service.stats(days=1) == [CountryDay(later, "DE", sign_ins=1, active_users=0)]
    clock.advance(days=10)
    assert await service.stats(days=7) == []


@pytest.mark.parametrize("days", [0, -1, 91])
async def test_stats_refuse_a_window_out_of_range(service: GeoService, days: int) -> None:
    with pytest.raises(InvalidInput) as raised:
        await service.stats(days=days)
    assert raised.value.details == {"field": "days"}


async def test_a_write_scheduled_while_stop_drains_is_awaited_too(
    database: Database, service: GeoService, db_dsn: str
) -> None:
    async with holding_the_fr_row(db_dsn) as transaction:
        service.record_sign_in("FR")
        await eventually(lambda: lock_waiters(database), message="the write to wait on the lock")
        service.record_sign_in("DE")  # buffered while the first batch is written
        writing = service._flusher
        assert writing is not None
        stopping = asyncio.create_task(service.stop())
        await transaction.commit()
        await stopping
    # Stop waited for the write under way: cancelling it after its COMMIT was sent could
    # count the batch twice.
    assert writing.done() and not writing.cancelled()
    assert service.pending_writes == 0
    assert await sign_ins(database) == {(DAY, "FR"): 6, (DAY, "DE"): 1}


async def test_a_stop_cut_short_drops_the_counts_left_and_closes_the_reader(
    database: Database, service: GeoService, db_dsn: str
) -> None:
    async with holding_the_fr_row(db_dsn):  # rolled back on the way out
        service.record_sign_in("FR")
        await eventually(lambda: lock_waiters(database), message="the write to wait on the lock")
        with capture_logs() as logs, pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await service.stop()
    assert {"event": "geo counts dropped at shutdown", "pending": 1} in [
        {k: e[k] for k in ("event", "pending") if k in e} for e in logs
    ]
    assert service.country_for("5.10.0.1") is None  # the reader is closed
    assert await sign_ins(database) == {}


async def test_a_failing_write_is_logged_and_does_not_break_stop(
    database: Database, test_mmdb: Path, clock: Clock, db_dsn: str
) -> None:
    closed = await asyncpg.create_pool(db_dsn, min_size=1, max_size=1)
    await closed.close()
    holder = PoolHolder(pool=closed)
    service = GeoService(database=holder, reader=GeoReader.open(test_mmdb), clock=clock)
    user = uuid4()
    with capture_logs() as logs:
        service.record_sign_in("FR")
        service.record_activity(user, "FR")
        await eventually(lambda: any(e["event"] == "geo counter write failed" for e in logs))
    failures = [e for e in logs if e["event"] == "geo counter write failed"]
    assert all(e["log_level"] == "warning" for e in failures)
    # Nothing is lost: the counts wait for the database to come back.
    assert service.pending_writes == 2
    holder.pool = database.pool
    await service.stop()
    assert await active_users(database) == {(DAY, user): "FR"}
    assert await sign_ins(database) == {(DAY, "FR"): 1}


async def test_records_after_stop_are_dropped_quietly(
    database: Database, service: GeoService
) -> None:
    await service.stop()
    with capture_logs() as logs:
        service.record_sign_in("FR")
        service.record_activity(uuid4(), "FR")
    assert service.pending_writes == 0
    assert [e["reason"] for e in logs if e["event"] == "geo counter dropped"] == [
        "stopped",
        "stopped",
    ]
    assert await sign_ins(database) == {}


async def test_active_user_rows_older_than_the_stats_window_are_pruned_once_a_day(
    database: Database, service: GeoService, clock: Clock
) -> None:
    old, kept, today = uuid4(), uuid4(), uuid4()
    oldest_shown = DAY - timedelta(days=MAX_STATS_DAYS - 1)
    await database.pool.executemany(
        "INSERT INTO geo_daily_active_users (day, user_id, country) VALUES ($1, $2, 'FR')",
        [(oldest_shown - timedelta(days=1), old), (oldest_shown, kept)],
    )
    service.record_activity(today, "FR")
    await service.stop()
    assert set(await active_users(database)) == {(oldest_shown, kept), (DAY, today)}
    # The sign-in counters hold no user id and stay whatever their age.
    await database.pool.execute(
        "INSERT INTO geo_daily_sign_ins (day, country, sign_ins) VALUES ($1, 'FR', 3)",
        oldest_shown - timedelta(days=400),
    )
    assert (oldest_shown - timedelta(days=400), "FR") in await sign_ins(database)


async def test_a_failed_active_user_write_does_not_count_the_sign_ins_twice(
    database: Database, service: GeoService
) -> None:
    # A country the table's check refuses makes the second statement of the flush fail.
    await database.pool.execute(
        "ALTER TABLE geo_daily_active_users ADD CONSTRAINT no_de CHECK (country <> 'DE')"
    )
    service.record_sign_in("FR")
    service.record_activity(uuid4(), "DE")
    await service.flush()
    assert await sign_ins(database) == {}
    assert service.pending_writes == 2
    await database.pool.execute("ALTER TABLE geo_daily_active_users DROP CONSTRAINT no_de")
    await service.stop()
    assert await sign_ins(database) == {(DAY, "FR"): 1}


async def test_the_background_write_is_not_part_of_the_request_that_scheduled_it(
    database: Database, service: GeoService
) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    instrumentor = AsyncPGInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    instrumentor.instrument(tracer_provider=provider)
    try:
        with provider.get_tracer("test").start_as_current_span("POST /confirm") as request:
            service.record_sign_in("FR")
        await eventually(lambda: service.pending_writes == 0, message="the write")
        writes = [s for s in spans.get_finished_spans() if s.name != "POST /confirm"]
        assert writes
        request_trace = request.get_span_context().trace_id
        assert all(s.context is not None and s.context.trace_id != request_trace for s in writes)
    finally:
        instrumentor.uninstrument()
