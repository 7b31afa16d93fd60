"""The client's address: the peer, or what a trusted proxy says in X-Forwarded-For.

An IPv4 peer of a dual-stack `:port` socket arrives as `::ffff:a.b.c.d` and is read as
`a.b.c.d`, so it matches `GATEWAY_TRUSTED_PROXIES` and counts against its own limits.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

Network = IPv4Network | IPv6Network
IPAddress = IPv4Address | IPv6Address

# Peers repeat (a load balancer's few addresses); remembering them keeps parsing cheap.
_PEER_MEMO_LIMIT = 1024


def parse_ip(text: str) -> IPAddress | None:
    """An IP address, IPv4-mapped IPv6 read as IPv4; None if `text` is not an address."""
    value = text.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        address = ip_address(value)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def network_of(address: str | None) -> str | None:
    """What per-address limits count: an IPv6 client's /64 (what one subscriber gets, so
    rotating inside it buys nothing), an IPv4 address as itself."""
    if address is None:
        return None
    parsed = ip_address(address)
    prefix = 64 if isinstance(parsed, IPv6Address) else 32
    return str(ip_network(f"{parsed}/{prefix}", strict=False))


@dataclass(frozen=True, slots=True)
class Client:
    """Who is calling (`address`), the X-Forwarded-For chain to hand to the backend, and
    whether the peer is a trusted proxy (whose trace context may be continued)."""

    address: str | None
    forwarded_for: bytes | None
    via_trusted_proxy: bool = False


class ClientAddresses:
    """Resolves the client of a connection from its peer and X-Forwarded-For."""

    def __init__(self, trusted_proxies: Sequence[Network]) -> None:
        self._trusted = tuple(trusted_proxies)
        self._peers: dict[str, tuple[str | None, bool]] = {}

    def _trusts(self, address: IPAddress) -> bool:
        return any(address in network for network in self._trusted)

    def _peer(self, peer: str) -> tuple[str | None, bool]:
        known = self._peers.get(peer)
        if known is None:
            address = parse_ip(peer)
            known = (str(address), self._trusts(address)) if address else (None, False)
            if len(self._peers) < _PEER_MEMO_LIMIT:
                self._peers[peer] = known
        return known

    def resolve(self, peer: str | None, forwarded_for: bytes | None) -> Client:
        """A trusted peer's chain is believed (its nearest untrusted hop is the client) and
        extended with the peer; anyone else's is dropped, so a client cannot name itself."""
        if peer is None:
            return Client(None, None)
        address, trusted = self._peer(peer)
        if address is None:
            return Client(None, None)
        own = address.encode()
        if not trusted or not forwarded_for:
            return Client(address, own, trusted)
        try:
            entries = forwarded_for.decode("ascii").split(",")
        except UnicodeDecodeError:
            return Client(address, own, trusted)
        # Read from the right, each proxy having appended what it saw, and only as far as
        # the chain holds addresses: left of an entry that is not one, the caller wrote it
        # (`junk, 203.0.113.9` from a trusted balancer names 203.0.113.9, not the balancer).
        hops: list[IPAddress] = []
        for entry in reversed(entries):
            hop = parse_ip(entry)
            if hop is None:
                break
            hops.append(hop)
        if not hops:
            return Client(address, own, trusted)
        hops.reverse()
        chain = b", ".join(str(hop).encode() for hop in hops) + b", " + own
        for hop in reversed(hops):
            if not self._trusts(hop):
                return Client(str(hop), chain, trusted)
        return Client(str(hops[0]), chain, trusted)
