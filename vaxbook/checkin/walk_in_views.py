"""The walk-in page: a vaccinator records a dose given to a person without an appointment
(vaxbook.bookings.services.record_walk_in holds the rules)."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from vaxbook.accounts import people
from vaxbook.accounts.current import signed_in_user
from vaxbook.accounts.models import StaffStep
from vaxbook.accounts.staff import staff_required
from vaxbook.bookings import services
from vaxbook.bookings.errors import NoSpareCapacity, NotPermitted
from vaxbook.centres.models import Centre, Slot
from vaxbook.centres.queries import local_day_bounds
from vaxbook.checkin.forms import WalkInForm
from vaxbook.core.clients import client_address
from vaxbook.core.errors import DomainError


def _vaccines_today(centre: Centre) -> list[tuple[int, str]]:
    start, end = local_day_bounds(centre, centre.local_date(timezone.now()))
    return list(
        Slot.objects.filter(centre=centre, is_open=True, starts_at__gte=start, starts_at__lt=end)
        .values_list("vaccine_id", "vaccine__name")
        .distinct()
        .order_by("vaccine__name")
    )


@require_http_methods(["GET", "POST"])
@staff_required
def walk_in_page(request: HttpRequest, centre_id: int) -> HttpResponse:
    """For vaccinators (anyone else: 404, as for a page that does not exist)."""
    user = signed_in_user(request)
    if not user.may_at(centre_id, StaffStep.VACCINATE):
        raise Http404
    centre = get_object_or_404(Centre, pk=centre_id)
    form = WalkInForm(request.POST or None, vaccines=_vaccines_today(centre))
    context: dict[str, Any] = {"centre": centre, "form": form}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person = people.person_at_centre(
                full_name=data["full_name"],
                date_of_birth=data["date_of_birth"],
                phone=data["phone"],
            )
            services.record_walk_in(
                staff=user,
                person=person,
                centre_id=centre.pk,
                vaccine_id=data["vaccine"],
                dose_number=data["dose_number"],
                lot_number=data["lot_number"],
                injection_site=data["injection_site"],
                over_capacity_reason=data["over_capacity_reason"],
                client_address=client_address(request),
            )
        except NotPermitted:  # the role was taken away meanwhile
            raise Http404 from None
        except ValidationError as error:
            for field, field_messages in error.message_dict.items():
                for message in field_messages:
                    form.add_error(field if field in form.fields else None, message)
        except NoSpareCapacity as refused:
            form.add_error("over_capacity_reason", refused.message)
        except DomainError as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(
                request, _("Walk-in dose recorded for %(name)s.") % {"name": person.full_name}
            )
            return redirect("staff_day", centre_id=centre.pk)
    status = 400 if form.errors else 200
    return render(request, "checkin/walk_in.html", context, status=status)
