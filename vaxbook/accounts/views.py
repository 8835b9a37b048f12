"""Citizen accounts: create one, see and change its details. Signing in and out, the
password change and the password reset by email are Django's views (accounts/urls.py) with
our templates and forms."""

import contextlib

from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_http_methods

from vaxbook.accounts import services
from vaxbook.accounts.forms import DetailsForm, RegistrationForm
from vaxbook.accounts.models import Citizen, User
from vaxbook.credentials import health_card
from vaxbook.credentials.qr import certificate_qr_svg


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            # Messages go out in the language the person signed up in.
            citizen = services.register_citizen(**form.cleaned_data, language=get_language())
        except ValidationError as error:
            _add_errors(form, error)
        else:
            login(request, citizen.user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("centre_search")
    status = 400 if form.errors else 200
    return render(request, "accounts/register.html", {"form": form}, status=status)


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
            return redirect("account")
    status = 400 if form.errors else 200
    return render(request, "accounts/details.html", {"form": form}, status=status)


def _own_citizen(request: HttpRequest) -> Citizen | None:
    assert isinstance(request.user, User)  # noqa: S101 (login_required guarantees it)
    return Citizen.objects.filter(user=request.user).first()


def _add_errors(form: Form, error: ValidationError) -> None:
    for field, messages in error.message_dict.items():
        for message in messages:
            form.add_error(field, message)
