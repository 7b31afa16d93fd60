"""Geo fixtures: a test mmdb written with mmdb-writer, a real pool, and a settable clock."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet


def country(code: str) -> dict[str, object]:
    return {"iso_code": code, "names": {"en": code}}


# Networks of the test database and what each holds; the addresses are public on purpose,
# mapped to countries they do not belong to, so a hit proves this file was read.
TEST_NETWORKS: list[tuple[list[str], dict[str, object]]] = [
    (["5.10.0.0/16"], {"country": country("FR"), "registered_country": country("FR")}),
    (["8.20.0.0/16", "2a01:4f8::/32"], {"country": country("DE")}),
    # Anycast-like: only the registered country is known.
    (["45.90.0.0/16"], {"registered_country": country("SE")}),
    (["31.13.0.0/16"], {"continent": {"code": "EU"}}),
    # A private range with a record: the reader must still say no country.
    (["10.0.0.0/8"], {"country": country("JP")}),
]


def write_mmdb(path: Path, *, ip_version: int = 6) -> Path:
    writer = MMDBWriter(
        ip_version=ip_version,
        ipv4_compatible=ip_version == 6,
        database_type="GeoIP2-Country",
        languages=["en"],
        description="Galaxy backend test database",
    )
    for networks, record in TEST_NETWORKS:
        wanted = [n for n in networks if ip_version == 6 or ":" not in n]
        if wanted:
            writer.insert_network(IPSet(wanted), record)
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def test_mmdb(tmp_path: Path) -> Path:
    return write_mmdb(tmp_path / "test-country.mmdb")


@dataclass
class PoolHolder:
    """Hands out whichever pool a test puts in it (a closed one, to make writes fail)."""

    pool: asyncpg.Pool


@dataclass
class Clock:
    """A settable UTC clock for the service."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 3, 14, 23, 59, 30, tzinfo=UTC))
