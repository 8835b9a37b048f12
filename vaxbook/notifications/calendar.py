"""The calendar entry (.ics, RFC 5545) of an appointment, for the email and the web page.

One appointment is one calendar event for its whole life: the UID comes from the reference,
which a reschedule keeps, so a calendar replaces the entry instead of adding a second one,
and the cancellation (METHOD:CANCEL, same UID) removes it.

Two kinds of file (RFC 5546): the emails carry an invitation (METHOD:REQUEST or CANCEL, with
the person as attendee), which mail clients offer to add, update or remove; the file a
person downloads from the appointment page or the API is published (METHOD:PUBLISH, no
attendee), which a calendar imports as it is, with nobody to answer.
"""

import datetime as dt
from email.utils import parseaddr

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from icalendar import STATUS, TRANSP, Alarm, Calendar, Event, vCalAddress, vText

from vaxbook.bookings.models import Appointment, AppointmentStatus

PRODID = "-//vaxbook//COVID-19 vaccination appointments//EN"
ALARM_BEFORE = dt.timedelta(hours=2)

# What a person brings to the centre; the emails show the same list.
WHAT_TO_BRING: tuple[Promise, ...] = (
    gettext_lazy("this confirmation: the QR code or the reference"),
    gettext_lazy("an identity document"),
    gettext_lazy("a face covering, if the centre asks for one"),
    gettext_lazy("a list of the medicines you take"),
)


def appointment_url(appointment: Appointment) -> str:
    """The appointment's own page (the person signs in to see it)."""
    return settings.SITE_URL + reverse("appointment", kwargs={"appointment_id": appointment.pk})


def location(appointment: Appointment) -> str:
    centre = appointment.slot.centre
    return f"{centre.name}, {centre.address}, {centre.postcode} {centre.town}"


def appointment_ics(appointment: Appointment, *, cancelled: bool = False) -> bytes:
    """The invitation an email carries, in its person's language: METHOD:REQUEST to add or
    update the entry, METHOD:CANCEL (also for any cancelled appointment) to remove it."""
    return _ics(appointment, cancelled=cancelled, invitation=True)


def published_ics(appointment: Appointment) -> bytes:
    """The file to download, in its person's language: METHOD:PUBLISH, the event's STATUS
    saying whether it is confirmed or cancelled."""
    return _ics(appointment, cancelled=False, invitation=False)


def _ics(appointment: Appointment, *, cancelled: bool, invitation: bool) -> bytes:
    cancelled = cancelled or appointment.status == AppointmentStatus.CANCELLED
    now = timezone.now()
    slot = appointment.slot
    zone = slot.centre.zone
    with translation.override(appointment.person.language):
        event = Event.new(
            uid=event_uid(appointment),
            sequence=sequence(appointment, cancelled=cancelled, now=now),
            stamp=now,
            # In the centre's zone with its VTIMEZONE (added below), so the entry shows the
            # local time of the centre, wherever the server or the person's phone is.
            start=slot.starts_at.astimezone(zone),
            end=slot.ends_at.astimezone(zone),
            summary=_("COVID-19 vaccination, dose %(n)d") % {"n": appointment.dose_number},
            location=location(appointment),
            description=_description(appointment),
            status=STATUS.CANCELLED if cancelled else STATUS.CONFIRMED,
            url=appointment_url(appointment),
            # A vaccination is time the person is busy.
            transparency=TRANSP.OPAQUE,
        )
        event.add("geo", (float(slot.centre.latitude), float(slot.centre.longitude)))
        # iTIP (RFC 5546) REQUEST and CANCEL need an organizer and the attendee, or mail
        # clients do not offer to add, update or remove the entry; PUBLISH has an organizer
        # and no attendee.
        event.add("organizer", _organizer())
        if invitation and appointment.person.contact_email:  # a relative may have none
            event.add("attendee", _attendee(appointment))
        if not cancelled:
            event.add_component(
                Alarm.new_display(
                    description=_("COVID-19 vaccination at %(centre)s")
                    % {"centre": slot.centre.name},
                    trigger=-ALARM_BEFORE,
                )
            )
        calendar = Calendar.new(
            prodid=PRODID,
            method=_method(cancelled=cancelled, invitation=invitation),
            subcomponents=[event],
        )
    # icalendar gives the calendar itself a random UID (RFC 7986) when none is given: it
    # names nothing here (the event's UID is what calendars match on), so it goes.
    calendar.pop("UID", None)
    # Only the zone's rules around the appointment: the full 1970-2038 history of a zone
    # would make every attachment kilobytes longer for nothing.
    day = slot.local_date
    calendar.add_missing_timezones(
        first_date=day - dt.timedelta(days=366), last_date=day + dt.timedelta(days=366)
    )
    return calendar.to_ical()


def _method(*, cancelled: bool, invitation: bool) -> str:
    if not invitation:
        return "PUBLISH"
    return "CANCEL" if cancelled else "REQUEST"


def event_uid(appointment: Appointment) -> str:
    return f"{appointment.reference}@vaxbook"


def sequence(appointment: Appointment, *, cancelled: bool, now: dt.datetime) -> int:
    """SEQUENCE: every later version of the entry (a reschedule, then the cancellation) must
    carry a higher number, and the database keeps no revision counter. Seconds since the
    booking grow with each version and stay within iCalendar's 32-bit INTEGER for 68 years;
    the cancellation counts from when it happened, plus one so that it outranks a request
    made in the same second."""
    if cancelled:
        moment = appointment.cancelled_at or now
        return max(0, int((moment - appointment.created_at).total_seconds())) + 1
    return max(0, int((now - appointment.created_at).total_seconds()))


def _description(appointment: Appointment) -> str:
    lines = [
        _("Reference: %(reference)s") % {"reference": appointment.display_reference},
        "",
        _("Please bring:"),
        *(f"- {item}" for item in WHAT_TO_BRING),
        "",
        _("Your appointment: %(url)s") % {"url": appointment_url(appointment)},
    ]
    return "\n".join(lines)


def _organizer() -> vCalAddress:
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    organizer = vCalAddress(f"mailto:{address}")
    organizer.params["CN"] = vText(name or "vaxbook")
    return organizer


def _attendee(appointment: Appointment) -> vCalAddress:
    attendee = vCalAddress(f"mailto:{appointment.person.contact_email}")
    attendee.params["CN"] = vText(appointment.person.full_name)
    attendee.params["ROLE"] = vText("REQ-PARTICIPANT")
    # Booked already, by the person or for them: nothing to answer.
    attendee.params["PARTSTAT"] = vText("ACCEPTED")
    attendee.params["RSVP"] = vText("FALSE")
    return attendee
