"""Who is asking: the client's network address, as rate limits and the audit log see it."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The address of the client that sent `request`.

    Behind TRUSTED_PROXY_COUNT proxies, each appending the address it received the request
    from to X-Forwarded-For, the client is the entry that many places from the right; any
    entry further left was written by the client itself and is not trusted. Without
    proxies the header is ignored. Something that is not an IP address falls back to
    REMOTE_ADDR, so a forged header can never produce an arbitrary string."""
    remote = request.META.get("REMOTE_ADDR", "") or "0.0.0.0"  # noqa: S104  # nosec B104 (a placeholder, not a bind address)
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < hops:
        return remote
    candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
