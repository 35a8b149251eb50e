"""Who a request comes from, through proxies: the address of the connection, or the one a trusted
proxy says it forwards for. The api and the contributions service read it the same way."""

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(setting: str) -> list[Network]:
    """'127.0.0.1, 10.89.0.0/24' -> the networks whose X-Forwarded-For is believed."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in setting.split(",") if part.strip()]


def client_address(remote: str | None, forwarded_for: str, trusted: Iterable[Network]) -> str:
    """The client's address: walking back from the connection through X-Forwarded-For, the first
    address that is not a trusted proxy. A header from an untrusted peer is ignored whole."""
    networks = list(trusted)
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()] if forwarded_for else []
    chain = [*hops, remote or "unknown"]
    for address in reversed(chain):
        if not _is_trusted(address, networks):
            return address
    return chain[0]


def _is_trusted(address: str, networks: list[Network]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False  # not an address: whatever it is, it was not written by a proxy we know
    return any(parsed in network for network in networks)
