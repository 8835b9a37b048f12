"""Pages of the people an account books for: the list, and adding one. Booking for one of
them is the ordinary booking journey, where the page asks whom the appointment is for."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from vaxbook.accounts import people
from vaxbook.accounts.current import signed_in_user
from vaxbook.accounts.forms import PersonForm
from vaxbook.core.ratelimit import booking_limits, limit_posts


@require_http_methods(["GET", "POST"])
@login_required
@limit_posts(booking_limits)
def people_page(request: HttpRequest) -> HttpResponse:
    """The people this account books for, and the form that adds one."""
    user = signed_in_user(request)
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = people.add_person(booker=user, **form.cleaned_data)
        except ValidationError as error:
            for field, field_messages in error.message_dict.items():
                for message in field_messages:
                    form.add_error(field, message)
        except people.PersonAlreadyAdded as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("%(name)s added. You can now book for them.") % {"name": person}
            )
            return redirect("people")
    status = 400 if form.errors else 200
    context = {"form": form, "people": people.people_of(user)}
    return render(request, "accounts/people.html", context, status=status)
