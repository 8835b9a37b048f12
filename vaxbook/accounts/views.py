"""Citizen accounts: create one (through a link emailed to the address), see and change its
details, download a copy of one's data, delete the account. Signing in and out, the password
change and the password reset by email are Django's views (accounts/urls.py) with our
templates and forms.

The language a person chooses (the footer's switch, their details) is kept on their account
and set again, as the language cookie, whenever they sign in: on a new device the pages
speak their language from the first page after signing in."""

import contextlib
import datetime as dt

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.views import i18n
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vaxbook.accounts import data_rights, registration, services
from vaxbook.accounts.current import signed_in_user
from vaxbook.accounts.forms import DeleteAccountForm, DetailsForm, RegistrationForm
from vaxbook.accounts.models import Citizen
from vaxbook.credentials import health_card
from vaxbook.credentials.qr import certificate_qr_svg


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    # Where the person was going (the slot they chose) when sign-in sent them here; the
    # emailed link takes them there once the account exists.
    next_url = _safe_next(request)
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            # Messages go out in the language the person signed up in.
            registration.request_registration(
                **form.cleaned_data, language=get_language(), next_url=next_url
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            # The same answer whether or not the address has an account (docs/security.md).
            return redirect("registration_sent")
    status = 400 if form.errors else 200
    context = {"form": form, "next": next_url}
    return render(request, "accounts/register.html", context, status=status)


@require_GET
def registration_sent(request: HttpRequest) -> HttpResponse:
    context = {"hours": int(registration.LINK_VALIDITY / dt.timedelta(hours=1))}
    return render(request, "accounts/registration_sent.html", context)


@require_http_methods(["GET", "POST"])
def confirm_registration(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: a page with one button, so that a mail scanner that opens links
    creates no account and signs nobody in; the button does."""
    try:
        if request.method == "GET":
            details = registration.check_link(token=token)
            return render(request, "accounts/confirm_registration.html", {"details": details})
        citizen, next_url = registration.confirm_registration(token=token)
    except registration.RegistrationLinkInvalid:
        return render(request, "accounts/registration_link_invalid.html", status=404)
    except registration.AlreadyRegistered:
        return render(request, "accounts/registration_link_invalid.html", {"registered": True})
    login(request, citizen.user, backend="django.contrib.auth.backends.ModelBackend")
    allowed = url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()})
    # The link may be opened on another device than the one the person registered on.
    return _in_language(
        redirect(next_url if next_url and allowed else "centre_search"), citizen.language
    )


def _safe_next(request: HttpRequest) -> str:
    """The `next` address of the request, only when it stays on this site."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return next_url if allowed else ""


class SignInView(auth_views.LoginView):
    """Django's sign-in; the pages then speak the language kept on the account."""

    template_name = "accounts/sign_in.html"

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        language = services.language_of(signed_in_user(self.request))
        return _in_language(response, language) if language else response


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch (the cookie, then back to the page), and for a signed-in
    person the language kept on their account."""
    response = i18n.set_language(request)
    if request.user.is_authenticated:
        services.remember_language(
            user=signed_in_user(request), language=request.POST.get("language", "")
        )
    return response


def _in_language(response: HttpResponse, language: str) -> HttpResponse:
    """`response` setting the language cookie, as Django's language switch sets it."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


@require_GET
@login_required
def account(request: HttpRequest) -> HttpResponse:
    citizen = _own_citizen(request)
    context: dict[str, object] = {"citizen": citizen, "certificate_qr": ""}
    if citizen is not None:
        # The certificate of every dose given, made now; none before the first dose.
        with contextlib.suppress(
            health_card.CertificateNotFound, health_card.CertificateUnavailable
        ):
            card = health_card.own_card(user=citizen.user)
            context["certificate_qr"] = certificate_qr_svg(card.qr_text)
    return render(request, "accounts/account.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def change_details(request: HttpRequest) -> HttpResponse:
    citizen = _own_citizen(request)
    if citizen is None:  # staff accounts have no citizen details to change
        raise Http404
    form = DetailsForm(request.POST) if request.method == "POST" else DetailsForm.of(citizen)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_citizen_details(citizen=citizen, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return _in_language(redirect("account"), citizen.language)
    status = 400 if form.errors else 200
    return render(request, "accounts/details.html", {"form": form}, status=status)


@require_GET
@login_required
def data_export(request: HttpRequest) -> HttpResponse:
    """Everything kept about the signed-in person, as a JSON file to download."""
    data = data_rights.export_personal_data(user=signed_in_user(request))
    response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = 'attachment; filename="vaxbook-my-data.json"'
    response["Cache-Control"] = "no-store, private"
    return response


@require_http_methods(["GET", "POST"])
@login_required
def delete_account(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form = DeleteAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            erasure = data_rights.erase_account(user=user, password=form.cleaned_data["password"])
        except data_rights.ErasureRefused as error:
            form.add_error("password", str(error))
        else:
            logout(request)
            return render(request, "accounts/account_deleted.html", {"erasure": erasure})
    status = 400 if form.errors else 200
    return render(request, "accounts/delete_account.html", {"form": form}, status=status)


def _own_citizen(request: HttpRequest) -> Citizen | None:
    return Citizen.objects.filter(user=signed_in_user(request)).first()


def _add_errors(form: Form, error: ValidationError) -> None:
    for field, messages in error.message_dict.items():
        for message in messages:
            form.add_error(field, message)
