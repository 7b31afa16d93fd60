"""The network a client address counts as in rate limits: an IPv6 client's /64, an IPv4
address as itself (/32). A /64 is what one subscriber gets; keyed on the exact address, an
IPv6 client rotating inside its /64 got a fresh limit for every address."""

from ipaddress import IPv6Address, ip_address, ip_network

IPV6_PREFIX = 64


def limit_key(client_ip: str | None) -> str | None:
    """`2001:db8::/64` for `2001:db8::1`, `203.0.113.9/32` for `203.0.113.9`; None for none."""
    if client_ip is None:
        return None
    address = ip_address(client_ip)
    prefix = IPV6_PREFIX if isinstance(address, IPv6Address) else 32
    return str(ip_network(f"{address}/{prefix}", strict=False))
