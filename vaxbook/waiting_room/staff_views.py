"""The health authority's live view of the opening (/staff/waiting-room/): the figures, a
chart, and the controls (admission rate, pause, resume). Administrators only."""

from typing import cast

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vaxbook.accounts.models import User
from vaxbook.accounts.staff import staff_required
from vaxbook.centres.permissions import is_administrator
from vaxbook.core.clients import client_address
from vaxbook.waiting_room import live as live_figures
from vaxbook.waiting_room import services
from vaxbook.waiting_room.errors import Unavailable
from vaxbook.waiting_room.models import WaitingRoom


class ControlForm(forms.Form):
    rate_per_minute = forms.IntegerField(
        label=gettext_lazy("Admissions per minute"), min_value=1, max_value=100_000
    )
    action = forms.ChoiceField(
        choices=[("rate", "rate"), ("pause", "pause"), ("resume", "resume")],
        widget=forms.HiddenInput,
    )


@staff_required
def live(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    if not is_administrator(user):
        raise Http404
    row = WaitingRoom.objects.filter(active=True).first() or WaitingRoom.objects.first()
    if request.method == "POST" and row is not None:
        form = ControlForm(request.POST)
        if form.is_valid():
            action = form.cleaned_data["action"]
            try:
                services.change_room(
                    actor=user,
                    room_id=row.pk,
                    rate_per_minute=form.cleaned_data["rate_per_minute"],
                    paused={"pause": True, "resume": False}.get(action),
                    client_address=client_address(request),
                )
            except Unavailable as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("Saved. The line moves at the new setting now."))
            return redirect("waiting_room_live")
    context: dict[str, object] = {"room": row}
    if row is not None:
        context |= {
            "live": live_figures.snapshot(row),
            "chart": live_figures.chart(row),
            "form": ControlForm(initial={"rate_per_minute": row.rate_per_minute}),
        }
    return render(request, "waiting_room/live.html", context)
