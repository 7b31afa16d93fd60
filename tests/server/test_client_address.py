"""Client addresses: IPv4-mapped peers normalised, X-Forwarded-For believed only when sound."""

from ipaddress import ip_network

import pytest

from galaxy_backend.server.client_address import ClientAddresses, parse_address

LOOPBACK = ClientAddresses([ip_network("127.0.0.0/8"), ip_network("::1/128")])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("203.0.113.7:4711", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("unknown", None),
        ("", None),
        ("203.0.113.7\x00", None),
        ("999.1.1.1", None),
        ("[2001:db8::1", None),
    ],
)
def test_parse_address(text: str, expected: str | None) -> None:
    parsed = parse_address(text)
    assert (str(parsed) if parsed else None) == expected


def test_an_ipv4_mapped_peer_is_a_trusted_loopback_proxy() -> None:
    # What a dual-stack `:port` socket reports for a connection to 127.0.0.1.
    assert LOOPBACK.resolve("::ffff:127.0.0.1", b"198.51.100.4") == "198.51.100.4"
    assert LOOPBACK.resolve("::ffff:127.0.0.1", None) == "127.0.0.1"


def test_forwarded_for_is_ignored_from_an_untrusted_peer() -> None:
    assert LOOPBACK.resolve("::ffff:192.0.2.1", b"198.51.100.4") == "192.0.2.1"


def test_the_nearest_untrusted_hop_wins() -> None:
    chain = b"203.0.113.9, 198.51.100.4, 127.0.0.2"
    assert LOOPBACK.resolve("127.0.0.1", chain) == "198.51.100.4"


def test_a_chain_of_proxies_only_gives_its_first_hop() -> None:
    assert LOOPBACK.resolve("127.0.0.1", b"127.0.0.5, ::1") == "127.0.0.5"


@pytest.mark.parametrize(
    "junk",
    [b"unknown", b"198.51.100.4, unknown", b"<script>", b",", b"", b"198.51.100.4,,", b"\xff\xfe"],
)
def test_junk_in_the_chain_falls_back_to_the_peer(junk: bytes) -> None:
    assert LOOPBACK.resolve("::ffff:127.0.0.1", junk) == "127.0.0.1"


@pytest.mark.parametrize(
    ("chain", "client"),
    [
        (b"junk, 203.0.113.9", "203.0.113.9"),
        (b"unknown, 198.51.100.4, 127.0.0.2", "198.51.100.4"),
        (b"\xff\xfe, 203.0.113.9", "203.0.113.9"),
        (b"junk, 127.0.0.5", "127.0.0.5"),
        (b"203.0.113.9, junk, 127.0.0.5", "127.0.0.5"),
    ],
)
def test_the_chain_is_read_from_the_right_as_far_as_it_holds_addresses(
    chain: bytes, client: str
) -> None:
    assert LOOPBACK.resolve("127.0.0.1", chain) == client


def test_a_peer_that_is_no_address_gives_none() -> None:
    assert LOOPBACK.resolve("/run/backend.sock", b"198.51.100.4") is None
    assert LOOPBACK.resolve(None, b"198.51.100.4") is None
