"""The client's address: the peer, or what a trusted proxy says in X-Forwarded-For.

Addresses are normalised here, once, for every reader: an IPv4 peer of a dual-stack
`:port` socket arrives as `::ffff:a.b.c.d` and is read as `a.b.c.d`, so it matches
`BACKEND_TRUSTED_PROXIES` and is stored, rate-limited and geolocated as what it is.
"""

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address

# Peers repeat (the gateway's few addresses); remembering them keeps parsing off the hot path.
_PEER_MEMO_LIMIT = 1024


def parse_address(text: str) -> Address | None:
    """An IP address, IPv4-mapped IPv6 read as IPv4; None if `text` is not an address.

    Accepts what proxies write: `a.b.c.d`, `a.b.c.d:port`, `v6`, `[v6]` and `[v6]:port`.
    """
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


class ClientAddresses:
    """Resolves the client address of a request from its peer and X-Forwarded-For."""

    def __init__(self, trusted_proxies: Sequence[Network]) -> None:
        self._trusted = tuple(trusted_proxies)
        self._peers: dict[str, tuple[str | None, bool]] = {}

    def _trusts(self, address: Address) -> bool:
        return any(address in network for network in self._trusted)

    def _peer(self, peer: str) -> tuple[str | None, bool]:
        known = self._peers.get(peer)
        if known is None:
            address = parse_address(peer)
            known = (str(address), self._trusts(address)) if address else (None, False)
            if len(self._peers) < _PEER_MEMO_LIMIT:
                self._peers[peer] = known
        return known

    def trusts_peer(self, peer: str | None) -> bool:
        """Whether the peer is one of BACKEND_TRUSTED_PROXIES (whose headers are believed)."""
        return peer is not None and self._peer(peer)[1]

    def resolve(self, peer: str | None, forwarded_for: bytes | None) -> str | None:
        """The address to believe: the nearest untrusted hop of a trusted peer's chain.

        The chain is read from the right, as each proxy appends the address it saw, and
        only as far as it holds addresses: what lies left of an entry that is not one was
        written by whoever sent the request, so `junk, 203.0.113.9` from the gateway names
        203.0.113.9, and junk never reaches SQL or the rate limits.
        """
        if peer is None:
            return None
        address, trusted = self._peer(peer)
        if not trusted or not forwarded_for:
            return address
        believed = address
        for entry in reversed(forwarded_for.decode("latin-1").split(",")):
            hop = parse_address(entry)
            if hop is None:
                break
            if not self._trusts(hop):
                return str(hop)
            # Another proxy of ours: the next hop to the left is what it saw.
            believed = str(hop)
        return believed
