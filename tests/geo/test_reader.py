"""GeoReader over a test mmdb written with mmdb-writer and over the bundled GeoLite2 data."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from galaxy_backend.geo import GeoDatabaseError, GeoReader, bundled_database_path
from tests.geo.conftest import write_mmdb

INVALID = [
    None,
    "",
    " ",
    "not-an-ip",
    "999.1.2.3",
    "5.10.1",
    "5.10.1.1/24",
    "5.10.1.1:443",
    "2a01:4f8::zz",
    "5.10.1.1\x00",
    "5" * 10_000,
]


@pytest.fixture
def reader(test_mmdb: Path) -> Iterator[GeoReader]:
    reader = GeoReader.open(test_mmdb)
    yield reader
    reader.close()


@pytest.fixture(scope="module")
def bundled() -> Iterator[GeoReader]:
    reader = GeoReader.open(None)
    yield reader
    reader.close()


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("5.10.0.1", "FR"),
        ("5.10.255.254", "FR"),
        (" 5.10.7.7 ", "FR"),
        ("::ffff:5.10.7.7", "FR"),
        ("8.20.1.2", "DE"),
        ("2a01:4f8:c17:1::2", "DE"),
        ("2A01:04F8::1", "DE"),
        ("45.90.3.4", "SE"),
    ],
)
def test_test_database_maps_networks_to_their_countries(
    reader: GeoReader, ip: str, expected: str
) -> None:
    assert reader.country(ip) == expected


@pytest.mark.parametrize(
    "ip",
    [
        "8.8.8.8",  # in no network of the file
        "5.11.0.1",
        "2001:4860:4860::8888",
        "31.13.1.1",  # a record without any country
        "10.1.2.3",  # private, although the file has a record for it
        "127.0.0.1",
        "::1",
    ],
)
def test_addresses_without_a_country_give_none(reader: GeoReader, ip: str) -> None:
    assert reader.country(ip) is None


@pytest.mark.parametrize("ip", INVALID)
def test_invalid_input_gives_none_without_raising(reader: GeoReader, ip: str | None) -> None:
    assert reader.country(ip) is None


def test_metadata_is_kept(reader: GeoReader, test_mmdb: Path) -> None:
    assert reader.database_type == "GeoIP2-Country"
    assert reader.path == test_mmdb


def test_an_ipv6_address_against_an_ipv4_only_database_gives_none(tmp_path: Path) -> None:
    reader = GeoReader.open(write_mmdb(tmp_path / "v4.mmdb", ip_version=4))
    try:
        assert reader.country("5.10.0.1") == "FR"
        assert reader.country("2a01:4f8::1") is None
    finally:
        reader.close()


def test_a_closed_reader_answers_none(test_mmdb: Path) -> None:
    reader = GeoReader.open(test_mmdb)
    reader.close()
    assert reader.country("5.10.0.1") is None
    reader.close()


def test_a_file_that_is_not_an_mmdb_is_refused_clearly(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.mmdb"
    bogus.write_bytes(b"this is not a MaxMind database" * 100)
    with pytest.raises(GeoDatabaseError, match=r"cannot open GeoIP database .*bogus\.mmdb"):
        GeoReader.open(bogus)


@pytest.mark.parametrize("name", ["missing.mmdb", "."])
def test_a_missing_file_or_a_directory_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(GeoDatabaseError, match="cannot open GeoIP database"):
        GeoReader.open(tmp_path / name)


def test_the_bundled_data_is_the_geolite2_city_file(bundled: GeoReader) -> None:
    assert bundled.path == bundled_database_path()
    assert bundled.path.name == "GeoLite2-City.mmdb"
    assert bundled.database_type == "GeoLite2-City"


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("8.8.8.8", "US"),  # Google Public DNS
        ("193.0.6.139", "NL"),  # RIPE NCC, Amsterdam
        ("81.2.69.160", "GB"),  # MaxMind's own documented test address
        ("::ffff:8.8.8.8", "US"),
        ("2001:4860:4860::8888", "US"),
        ("2001:67c:2e8:22::c100:68b", "NL"),  # RIPE NCC; no registered country in this file
    ],
)
def test_bundled_data_places_well_known_addresses(
    bundled: GeoReader, ip: str, expected: str
) -> None:
    assert bundled.country(ip) == expected


@pytest.mark.parametrize(
    "ip",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "127.0.0.1",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
    ],
)
def test_bundled_data_gives_none_for_private_and_loopback(bundled: GeoReader, ip: str) -> None:
    assert bundled.country(ip) is None


@pytest.mark.parametrize("ip", INVALID)
def test_bundled_data_gives_none_for_invalid_input(bundled: GeoReader, ip: str | None) -> None:
    assert bundled.country(ip) is None
