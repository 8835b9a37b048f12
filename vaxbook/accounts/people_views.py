"""Pages of the people an account books for: the list, and adding one. Booking for one of
them is the ordinary booking journey, where the page asks whom the appointment is for."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from vaxbook.accounts import people, takeover
from vaxbook.accounts.current import signed_in_user
from vaxbook.accounts.forms import PersonForm, TakeoverForm
from vaxbook.core.ratelimit import booking_limits, code_check_limits, limit_posts


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


@require_POST
@login_required
@limit_posts(booking_limits)
def send_takeover_code(request: HttpRequest, person_id: int) -> HttpResponse:
    """Send one of the account's people the code with which they take over their record."""
    try:
        takeover.send_code(booker=signed_in_user(request), person_id=person_id)
    except people.PersonNotFound:
        raise Http404 from None
    except takeover.TakeoverRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("We have sent them a code, valid for 7 days."))
    return redirect("people")


@require_http_methods(["GET", "POST"])
@login_required
@limit_posts(code_check_limits)
def take_over(request: HttpRequest) -> HttpResponse:
    """Someone booked for you: take over your record with the code you were sent."""
    form = TakeoverForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            takeover.redeem(user=signed_in_user(request), code=form.cleaned_data["code"])
        except takeover.TakeoverRefused as refused:
            form.add_error("code", refused.message)
        else:
            messages.success(request, _("Your record and its appointments are now yours."))
            return redirect("appointment_list")
    status = 400 if form.errors else 200
    return render(request, "accounts/take_over.html", {"form": form}, status=status)
