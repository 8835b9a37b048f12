"""Staff sign-in with a second factor (TOTP, django-otp) and the guard of staff pages.

Signing in takes two steps: the email address and password (`staff_sign_in`), which signs
the user in without verifying them, then the 6-digit code of their authenticator
(`staff_verify`), which marks the session as verified through django-otp. django-otp
throttles wrong codes per device.

Staff add their authenticator right after choosing their password through the link of
their invitation email (`staff_enrol`, within the grant of vaxbook.accounts.enrolment): the
page shows a new secret as a QR code and as text, and the first right code confirms it.
The password alone never adds one: a staff member without an authenticator who signs in is
told to use their invitation link.

`staff_required` guards every staff page: the visitor must be signed in, verified and a
member of the centre named in the URL (or an administrator). Anyone else gets a 404, the
same page as a missing one, so a staff page never reveals that it exists; only a visitor who
is not signed in at all is sent to the staff sign-in page.
"""

import base64
import functools
import math
from collections.abc import Callable
from typing import Any

import django_otp
from django import forms
from django.contrib.auth import login as auth_login
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods
from django_otp.models import VerifyNotAllowed
from django_otp.plugins.otp_totp.models import TOTPDevice

from vaxbook.accounts import enrolment
from vaxbook.accounts.models import User
from vaxbook.centres.models import Centre
from vaxbook.core.ratelimit import code_check_limits, limit_posts, sign_in_limits
from vaxbook.credentials.qr import qr_svg

SIGN_IN_URL_NAME = "staff_sign_in"
VERIFY_URL_NAME = "staff_verify"
ENROL_URL_NAME = "staff_enrol"
HOME_URL_NAME = "staff_home"

View = Callable[..., HttpResponse]


# --- who is staff ------------------------------------------------------------------------


def is_staff_member(user: Any) -> bool:
    """A user who belongs to at least one centre, a phone line agent of the health
    authority, or an administrator: all sign in with the second factor."""
    if not isinstance(user, User) or not user.is_active:
        return False
    return user.is_superuser or user.is_call_agent or bool(user.centre_roles)


def works_at(user: User, centre_id: int) -> bool:
    """User.works_at, and for administrators (who work everywhere) only at a centre that
    exists, so that a missing centre's page is a 404 for them too."""
    if user.is_superuser:
        return Centre.objects.filter(pk=centre_id).exists()
    return user.works_at(centre_id)


def is_verified(user: Any) -> bool:
    """Signed in and through the second step (OTPMiddleware sets `is_verified`)."""
    return bool(getattr(user, "is_authenticated", False)) and bool(
        getattr(user, "is_verified", lambda: False)()
    )


def staff_device(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator, if an administrator has set one up."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("pk").first()


def staff_required(view: View) -> View:
    """Guard a staff page whose URL names its centre as `centre_id`.

    Not signed in: redirected to the staff sign-in page. Signed in but not verified, not
    staff, or not a member of that centre: 404."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), resolve_url(SIGN_IN_URL_NAME))
        if not is_verified(user) or not isinstance(user, User):
            raise Http404
        # Each page asks about the user's roles many times (the guard, the view, the
        # services, the template's links): one query answers them all.
        user.keep_roles()
        if not is_staff_member(user):
            raise Http404
        centre_id = kwargs.get("centre_id")
        if centre_id is not None and not works_at(user, centre_id):
            raise Http404
        return view(request, *args, **kwargs)

    return guarded


# --- forms -------------------------------------------------------------------------------


class StaffSignInForm(AuthenticationForm):
    """Email address and password; refuses anyone who is not staff with the same message
    as a wrong password, so the page does not tell who has a citizen account."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not is_staff_member(user):
            raise self.get_invalid_login_error()


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (len(code) == 6 and code.isascii() and code.isdigit()):
            raise forms.ValidationError(_("Enter the 6-digit code shown by your authenticator."))
        return code


# --- views -------------------------------------------------------------------------------


NO_AUTHENTICATOR = _(
    "Your account has no authenticator app yet. Add one with the link of your invitation "
    "email, or ask your centre manager to invite you again."
)


def _signed_in_staff(request: HttpRequest) -> User | None:
    """The user past the password step, if they are staff (or an administrator)."""
    user = request.user
    if isinstance(user, User) and user.is_authenticated and is_staff_member(user):
        return user
    return None


def _refusal(allowed: bool, why: dict[str, Any] | None) -> str:
    """Why a code was refused. After each wrong code django-otp makes the next try wait,
    twice as long each time (1 s, 2 s, 4 s...): a code sent within that wait is refused
    even when right, so the message says how long to wait, not "too many"."""
    if allowed or not why or why.get("reason") != VerifyNotAllowed.N_FAILED_ATTEMPTS:
        return str(_("That code is not right. Enter the code shown now."))
    locked_until = why.get("locked_until")
    seconds = 1
    if locked_until is not None:
        seconds = max(1, math.ceil((locked_until - timezone.now()).total_seconds()))
    return ngettext(
        "After a wrong code, wait %(seconds)d second before the next one, then enter the "
        "code shown now.",
        "After a wrong code, wait %(seconds)d seconds before the next one, then enter the "
        "code shown now.",
        seconds,
    ) % {"seconds": seconds}


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(HOME_URL_NAME)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
@limit_posts(sign_in_limits)
def staff_sign_in(request: HttpRequest) -> HttpResponse:
    """Step 1: email address and password."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    form = StaffSignInForm(request, data=request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"form": form, "next": next_url}
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        if staff_device(user) is not None:
            step = VERIFY_URL_NAME
        elif enrolment.may_enrol(request, user):
            step = ENROL_URL_NAME
        else:
            step = None
            form.add_error(None, NO_AUTHENTICATOR)
            context["no_authenticator"] = NO_AUTHENTICATOR
        if step is not None:
            auth_login(request, user)
            query = urlencode({"next": _safe_next(request, next_url)})
            return redirect(f"{reverse(step)}?{query}")
    status = 400 if form.errors else 200
    return render(request, "accounts/staff_sign_in.html", context, status=status)


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
@limit_posts(code_check_limits)
def staff_verify(request: HttpRequest) -> HttpResponse:
    """Step 2: the 6-digit code of the staff member's authenticator."""
    user = _signed_in_staff(request)
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if user is None:
        return redirect_to_login(next_url, resolve_url(SIGN_IN_URL_NAME))
    if is_verified(user):
        return redirect(next_url)
    device = staff_device(user)
    if device is None:
        return redirect(f"{reverse(ENROL_URL_NAME)}?{urlencode({'next': next_url})}")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        allowed, why = device.verify_is_allowed()
        verified = django_otp.verify_token(user, device.persistent_id, form.cleaned_data["code"])
        if verified is not None:
            request.session.cycle_key()
            django_otp.login(request, verified)
            return redirect(next_url)
        form.add_error("code", _refusal(allowed, why))
    status = 400 if form.errors else 200
    return render(
        request, "accounts/staff_verify.html", {"form": form, "next": next_url}, status=status
    )


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
@limit_posts(code_check_limits)
def staff_enrol(request: HttpRequest) -> HttpResponse:
    """Add the first authenticator: only after the password was chosen through the
    invitation's link (vaxbook.accounts.enrolment), and only while the account has no
    confirmed authenticator (one cannot be swapped here)."""
    user = _signed_in_staff(request)
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if user is None:
        return redirect_to_login(next_url, resolve_url(SIGN_IN_URL_NAME))
    if staff_device(user) is not None:
        return redirect(f"{reverse(VERIFY_URL_NAME)}?{urlencode({'next': next_url})}")
    if not enrolment.may_enrol(request, user):
        return render(request, "accounts/staff_enrol_closed.html", status=403)
    # The same unconfirmed secret between showing it and checking the first code.
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).order_by(
        "pk"
    ).first() or TOTPDevice.objects.create(user=user, name=str(_("Authenticator")), confirmed=False)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        allowed, why = device.verify_is_allowed()
        if device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            enrolment.end_enrolment(request)
            request.session.cycle_key()
            django_otp.login(request, device)
            return redirect(next_url)
        form.add_error("code", _refusal(allowed, why))
    secret = base64.b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "next": next_url,
        "qr": qr_svg(device.config_url, title=str(_("QR code to add vaxbook to your app"))),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }
    status = 400 if form.errors else 200
    return render(request, "accounts/staff_enrol.html", context, status=status)


@require_GET
@staff_required
def staff_home(request: HttpRequest) -> HttpResponse:
    """The centres the signed-in staff member works at."""
    user = _signed_in_staff(request)
    if user is None:  # staff_required lets no one else through
        raise Http404
    centres = (
        Centre.objects.order_by("name")
        if user.is_superuser
        else Centre.objects.filter(pk__in=user.centre_roles.keys()).order_by("name")
    )
    return render(request, "accounts/staff_home.html", {"centres": centres})
