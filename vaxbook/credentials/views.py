import hashlib
import json

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_safe

from vaxbook.credentials import keys

# Verifiers may keep the key set five minutes. A rotation therefore reaches a caching
# verifier within five minutes; until then it does not know the new kid, and
# docs/credentials.md asks verifiers to fetch the set again when they meet an unknown kid.
JWKS_MAX_AGE = 300


@require_safe
def jwks(request: HttpRequest) -> HttpResponse:
    """The public keys that verify confirmations, as a JWK Set (RFC 7517)."""
    body = json.dumps(keys.published_jwks(now=timezone.now()), separators=(",", ":")).encode()
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    # A strong validator of the exact bytes: the set changes only on rotation or when a
    # retired key leaves it.
    response["ETag"] = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    # Django parses If-None-Match and friends leniently: junk in them simply never matches.
    response = (
        get_conditional_response(request, etag=response["ETag"], response=response) or response
    )
    # Verifiers run on other origins (a staff tablet's offline page, an integrator's app).
    response["Access-Control-Allow-Origin"] = "*"
    return response
