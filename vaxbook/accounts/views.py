from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from vaxbook.accounts import services
from vaxbook.accounts.forms import RegistrationForm


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            citizen = services.register_citizen(**form.cleaned_data)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                for message in messages:
                    form.add_error(field, message)
        else:
            login(request, citizen.user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("centre_search")
    status = 400 if form.errors else 200
    return render(request, "accounts/register.html", {"form": form}, status=status)
