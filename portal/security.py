"""Who is asking, as far as the server can tell: the client's address behind the reverse proxies,
and the username a sign-in's failures are counted for (django-axes).

With TRUSTED_PROXY_COUNT proxies in front of the portal, each appending the address it received
the request from to X-Forwarded-For, the client is the entry that the farthest trusted proxy
appended: the TRUSTED_PROXY_COUNT-th from the right. Entries to its left came with the request and
could be anything. Without a proxy, the header is ignored and the client is the connection's peer.
"""

from ipaddress import ip_address

from django.conf import settings


def client_ip(request):
    """The client's IP address (a string), or None when not even the peer's is valid."""
    peer = request.META.get("REMOTE_ADDR", "")
    candidates = [peer]
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        forwarded = [part.strip() for part in forwarded if part.strip()]
        # Fewer entries than proxies: the request did not come through all of them, and the
        # peer is the only address known for sure.
        if len(forwarded) >= proxies:
            candidates.insert(0, forwarded[-proxies])
    for candidate in candidates:
        try:
            return str(ip_address(candidate))
        except ValueError:
            continue
    return None


def lockout_username(request, credentials=None):
    """The username typed at a sign-in, as django-axes records it: cut to the 255 characters its
    table holds (a longer one was a server error on PostgreSQL)."""
    field = str(settings.AXES_USERNAME_FORM_FIELD)
    typed = (credentials or {}).get(field)
    if typed is None and request is not None:
        typed = request.POST.get(field, "")
    return str(typed or "")[:255]
