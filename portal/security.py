"""Who is asking, as far as the server can tell: the client's address behind the reverse proxies,
and the username a sign-in's failures are counted for (django-axes).

With TRUSTED_PROXY_COUNT proxies in front of the portal, each appending the address it received
the request from to X-Forwarded-For, the client is the entry that the farthest trusted proxy
appended: the TRUSTED_PROXY_COUNT-th from the right. Entries to its left came with the request and
could be anything. The header is read only when the connection's peer is within TRUSTED_PROXIES
(private networks by default): someone reaching gunicorn directly from elsewhere cannot choose
their address. Without a proxy, the header is ignored and the client is the connection's peer.

An IPv6 client is counted by its /64, the prefix one subscriber holds: walking through the
addresses of their own network does not give them new sign-in attempts.
"""

from contextlib import suppress
from functools import cache
from ipaddress import IPv6Address, ip_address, ip_network

from django.conf import settings

IPV6_PREFIX = 64


@cache
def _trusted(networks):
    return tuple(ip_network(network, strict=False) for network in networks)


def _address(text):
    """An address, IPv4 when it is one mapped into IPv6 (a dual-stack socket's ::ffff:10.0.0.1)."""
    address = ip_address(text.strip())
    return getattr(address, "ipv4_mapped", None) or address


def client_ip(request):
    """The client's IP address (a string), or None when not even the peer's is valid."""
    try:
        peer = _address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return None
    client = peer
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0 and any(peer in net for net in _trusted(tuple(settings.TRUSTED_PROXIES))):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        forwarded = [part for part in forwarded if part.strip()]
        # Fewer entries than proxies: the request did not come through all of them, and the
        # peer is the only address known for sure.
        if len(forwarded) >= proxies:
            with suppress(ValueError):
                client = _address(forwarded[-proxies])
    if isinstance(client, IPv6Address) and not client.is_loopback:
        client = ip_network(f"{client}/{IPV6_PREFIX}", strict=False).network_address
    return str(client)


def lockout_username(request, credentials=None):
    """The username typed at a sign-in, as django-axes records it: cut to the 255 characters its
    table holds (a longer one was a server error on PostgreSQL)."""
    field = str(settings.AXES_USERNAME_FORM_FIELD)
    typed = (credentials or {}).get(field)
    if typed is None and request is not None:
        typed = request.POST.get(field, "")
    return str(typed or "")[:255]
