import hashlib
import json
import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_safe

from vaxbook.accounts.current import signed_in_user
from vaxbook.accounts.models import User
from vaxbook.centres.models import Vaccine
from vaxbook.credentials import health_card, keys
from vaxbook.credentials.health_card import CertificateNotFound, CertificateUnavailable
from vaxbook.credentials.qr import certificate_qr_svg

# Verifiers may keep the key set five minutes. A rotation therefore reaches a caching
# verifier within five minutes; until then it does not know the new kid, and
# docs/credentials.md asks verifiers to fetch the set again when they meet an unknown kid.
JWKS_MAX_AGE = 300


@require_safe
def jwks(request: HttpRequest) -> HttpResponse:
    """The public keys that verify confirmations, as a JWK Set (RFC 7517)."""
    body = json.dumps(keys.published_jwks(), separators=(",", ":")).encode()
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


# --- the person's vaccination certificate ---------------------------------------------------


def _user(request: HttpRequest) -> User:
    return signed_in_user(request)


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
@login_required
def certificate(request: HttpRequest) -> HttpResponse:
    """The certificate of every dose given: QR code, doses, download and print links."""
    return _certificate_page(request, "credentials/certificate.html")


@require_safe
@login_required
def certificate_print(request: HttpRequest) -> HttpResponse:
    """The same, laid out for paper."""
    return _certificate_page(request, "credentials/certificate_print.html")


def _certificate_page(request: HttpRequest, template: str) -> HttpResponse:
    doses = health_card.own_doses(user=_user(request))
    context: dict[str, object] = {"doses": doses}
    if doses:
        try:
            card = health_card.issue(person=doses[0].appointment.person, records=doses)
        except CertificateUnavailable as error:
            context["too_large"] = error.message
        else:
            context["qr"] = certificate_qr_svg(card.qr_text)
    return _private(render(request, template, context))


@require_safe
@login_required
def certificate_file(request: HttpRequest) -> HttpResponse:
    """The `.smart-health-card` file of every dose given; 404 before the first dose."""
    return _download(request, appointment_id=None)


@require_safe
@login_required
def dose_certificate_file(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    """The `.smart-health-card` file of one dose; someone else's is a 404."""
    return _download(request, appointment_id=appointment_id)


def _download(request: HttpRequest, *, appointment_id: uuid.UUID | None) -> HttpResponse:
    try:
        card = health_card.own_card(user=_user(request), appointment_id=appointment_id)
    except CertificateNotFound:
        raise Http404 from None
    except CertificateUnavailable:
        return redirect("certificate")
    response = HttpResponse(card.file_content, content_type=health_card.FILE_CONTENT_TYPE)
    response["Content-Disposition"] = 'attachment; filename="vaccination.smart-health-card"'
    return _private(response)


@require_safe
def verify_certificate(request: HttpRequest) -> HttpResponse:
    """The public verify page: anyone checks a certificate in their browser (verify.js),
    with the published keys and the vaccines' names carried by the page itself."""
    context = {
        "jwks": keys.published_jwks(),
        "vaccines": dict(Vaccine.objects.values_list("cvx_code", "name")),
    }
    return render(request, "credentials/verify.html", context)
