"""The emails and SMS texts that announce an appointment event, in the person's language.

Rendering only: the delivery side (vaxbook.notifications.tasks) decides when a message goes
and sends it. Dates and times are those of the centre's zone, whatever the server's zone
is, because that is the time on the clock at the door.
"""

import datetime as dt
import email.policy
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage as StdlibEmailMessage
from email.message import MIMEPart
from email.policy import Policy
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from vaxbook.accounts.models import User
from vaxbook.bookings.models import LIVE_STATUSES, Appointment
from vaxbook.credentials.qr import qr_png
from vaxbook.credentials.tokens import issue_token
from vaxbook.notifications import calendar
from vaxbook.notifications.events import Event

TEMPLATE_DIR = "notifications/email"
# Events whose email carries the confirmation itself: the QR code and the calendar entry.
CONFIRMATION_EVENTS = frozenset({Event.BOOKED, Event.RESCHEDULED})


# --- email ---------------------------------------------------------------------------------


class AppointmentEmail(EmailMultiAlternatives):
    """An email whose HTML shows images carried in the message itself (`cid:` URLs).

    Such images belong with the HTML in a multipart/related part (RFC 2387), inside the
    multipart/alternative:

        mixed( alternative( text/plain, related( text/html, image/png ) ), text/calendar )

    Django attaches parts only to the outer multipart/mixed, where mail clients list the
    image as an attachment as well as (or instead of) showing it in the text, so the images
    are moved next to the HTML when the message is built.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inline_images: list[InlineImage] = []

    def attach_inline_image(self, image: "InlineImage") -> None:
        self.inline_images.append(image)

    def message(self, *, policy: Policy | None = email.policy.default) -> StdlibEmailMessage:
        msg = super().message(policy=policy or email.policy.default)
        if self.inline_images:
            html = next(part for part in msg.walk() if part.get_content_type() == "text/html")
            for image in self.inline_images:
                html.add_related(
                    image.content,
                    maintype="image",
                    subtype=image.subtype,
                    cid=f"<{image.cid}>",
                    disposition="inline",
                    filename=image.filename,
                )
            # RFC 2387 asks for the type of the root part: the HTML.
            html.set_param("type", "text/html")
        return msg


@dataclass(frozen=True)
class InlineImage:
    cid: str  # without the angle brackets: the HTML refers to it as "cid:<cid>"
    content: bytes
    filename: str
    subtype: str = "png"


def recipients(appointment: Appointment) -> list[str]:
    """Who is emailed about an appointment: the person (their account's address, or the one
    given for them) and every account that books for them (vaxbook.accounts.people)."""
    person = appointment.person
    bookers = User.objects.filter(people_booked_for__person=person).order_by("pk")
    addresses = [person.contact_email, *bookers.values_list("email", flat=True)]
    return list(dict.fromkeys(address for address in addresses if address))


def render_email(*, appointment: Appointment, event: Event, reason: str = "") -> AppointmentEmail:
    """The email announcing `event` to the appointment's person, ready to send.

    `reason` matters for CANCELLED only: given, the centre cancelled and this is its reason;
    empty, the person cancelled the appointment themselves.
    The booked and rescheduled emails carry a freshly issued confirmation token as a QR code
    and the calendar entry; the cancellation carries the calendar entry that removes it.
    """
    event = Event(event)
    with translation.override(appointment.person.language):
        context = _context(appointment, event, reason)
        qr: InlineImage | None = None
        if event in CONFIRMATION_EVENTS:
            qr = InlineImage(
                cid=f"qr.{appointment.reference}@vaxbook",
                content=qr_png(issue_token(appointment)),
                filename=f"vaccination-{appointment.reference}.png",
            )
            context["qr_cid"] = qr.cid
        subject = _subject(appointment, event, context)
        context["subject"] = subject
        text = _tidy(render_to_string(f"{TEMPLATE_DIR}/{event.value}.txt", context))
        html = render_to_string(f"{TEMPLATE_DIR}/{event.value}.html", context)
        language = translation.get_language()

    message = AppointmentEmail(
        subject=subject,
        body=text,
        to=recipients(appointment),
        headers={
            # RFC 3834: tells vacation responders and mailing list software not to answer.
            "Auto-Submitted": "auto-generated",
            "Content-Language": language,
        },
    )
    message.attach_alternative(html, "text/html")
    if qr is not None:
        message.attach_inline_image(qr)
    if event in CONFIRMATION_EVENTS or event == Event.CANCELLED:
        message.attach(
            _calendar_part(appointment, cancelled=event == Event.CANCELLED),
        )
    return message


def _calendar_part(appointment: Appointment, *, cancelled: bool) -> MIMEPart:
    part = MIMEPart()
    part.set_content(
        calendar.appointment_ics(appointment, cancelled=cancelled).decode(),
        subtype="calendar",
        charset="utf-8",
        disposition="attachment",
        filename=f"vaccination-{appointment.reference}.ics",
        # Mail clients offer "add to calendar" or "remove" from the iTIP method (RFC 6047).
        params={"method": "CANCEL" if cancelled else "REQUEST"},
    )
    return part


def _subject(appointment: Appointment, event: Event, context: dict[str, Any]) -> str:
    values = {"reference": context["reference"], "date": context["date"], "time": context["time"]}
    match event:
        case Event.BOOKED:
            return _("Your COVID-19 vaccination appointment: %(date)s at %(time)s") % values
        case Event.RESCHEDULED:
            return _("Your COVID-19 vaccination has moved to %(date)s at %(time)s") % values
        case Event.CANCELLED:
            return _("Your COVID-19 vaccination appointment %(reference)s is cancelled") % values
        case Event.REMINDER:
            if context["days_away"] == 1:
                return _("Reminder: your COVID-19 vaccination is tomorrow at %(time)s") % values
            if context["days_away"] == 0:
                return _("Reminder: your COVID-19 vaccination is today at %(time)s") % values
            return _("Reminder: your COVID-19 vaccination on %(date)s at %(time)s") % values
        case Event.VACCINATED:
            return _("Your COVID-19 vaccination record: dose %(n)d") % {
                "n": appointment.dose_number
            }
    raise ValueError(f"No email for event {event!r}.")


def _context(appointment: Appointment, event: Event, reason: str) -> dict[str, Any]:
    slot = appointment.slot
    centre = slot.centre
    zone = centre.zone
    starts_at = slot.starts_at.astimezone(zone)
    today = timezone.now().astimezone(zone).date()
    context: dict[str, Any] = {
        "event": event.value,
        "language": translation.get_language(),
        "first_name": _first_name(appointment.person.full_name),
        "reference": appointment.display_reference,
        "date": long_date(starts_at),
        "time": clock_time(starts_at),
        "end_time": clock_time(slot.ends_at.astimezone(zone)),
        "days_away": (starts_at.date() - today).days,
        "centre": centre.name,
        "address": f"{centre.address}, {centre.postcode} {centre.town}",
        "dose": appointment.dose_number,
        "doses": slot.vaccine.doses_in_primary_course,
        "vaccine": slot.vaccine.name,
        "what_to_bring": [str(item) for item in calendar.WHAT_TO_BRING],
        "appointment_url": calendar.appointment_url(appointment),
        "appointments_url": settings.SITE_URL + reverse("appointment_list"),
        "site_url": settings.SITE_URL + "/",
        # Where to book again: the search for centres in the same town with the vaccine.
        "rebook_url": settings.SITE_URL
        + reverse("centre_search")
        + "?"
        + urlencode({"q": centre.town, "vaccine": str(slot.vaccine_id)}),
        "reason": reason.strip(),
        "qr_cid": "",
    }
    if event == Event.VACCINATED:
        context.update(_record_context(appointment))
    return context


def _record_context(appointment: Appointment) -> dict[str, Any]:
    """The dose given and what comes next: the next dose's appointment, or the first day it
    can be booked (the same rule as vaxbook.bookings.eligibility: the interval counts from
    the appointment's local day)."""
    record = appointment.vaccination
    vaccine = record.vaccine
    zone = appointment.slot.centre.zone
    context: dict[str, Any] = {
        "given_vaccine": vaccine.name,
        "manufacturer": vaccine.manufacturer,
        "given_date": long_date(record.administered_at.astimezone(zone)),
        "given_time": clock_time(record.administered_at.astimezone(zone)),
        "lot_number": record.lot_number,
        # The certificate is made when the person opens the page, not here.
        "certificate_url": settings.SITE_URL + reverse("certificate"),
        "next_dose": None,
        "next_dose_from": "",
        "next_appointment": None,
    }
    if appointment.dose_number >= vaccine.doses_in_primary_course:
        return context
    next_dose = appointment.dose_number + 1
    context["next_dose"] = next_dose
    booked = (
        Appointment.objects.select_related("slot__centre")
        .filter(person_id=appointment.person_id, dose_number=next_dose, status__in=LIVE_STATUSES)
        .first()
    )
    if booked is not None:
        starts_at = booked.slot.starts_at.astimezone(booked.slot.centre.zone)
        context["next_appointment"] = {
            "date": long_date(starts_at),
            "time": clock_time(starts_at),
            "centre": booked.slot.centre.name,
            "reference": booked.display_reference,
        }
    else:
        earliest = appointment.slot.local_date + dt.timedelta(
            days=vaccine.minimum_days_between_doses
        )
        context["next_dose_from"] = long_date(earliest)
    return context


def _first_name(full_name: str) -> str:
    # A greeting by first name; the full name is for identity checks, not for "Hello".
    words = full_name.split(maxsplit=1)
    return words[0] if words else full_name


def long_date(value: dt.date) -> str:
    """A date in words in the active language: "Tuesday 13 January 2026"."""
    # Translators: a Django date format (https://docs.djangoproject.com/en/stable/ref/templates/builtins/#date)
    # for a date in full, with the day of the week. Escape letters with a backslash.
    return dateformat.format(value, pgettext("date format", "l j F Y"))


def clock_time(value: dt.datetime) -> str:
    # 24-hour clock in both languages: no a.m./p.m. to misread.
    return dateformat.format(value, "H:i")


def _tidy(text: str) -> str:
    """Plain text from a template: no trailing spaces, at most one blank line in a row (the
    template tags leave lines of their own). The signature separator keeps its space ("-- ",
    RFC 3676), which tells mail clients where the footer starts."""
    lines = [line if line == "-- " else line.rstrip() for line in text.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy) + "\n"


# --- SMS -----------------------------------------------------------------------------------

# GSM 03.38 basic character set: a text of these characters only is sent as GSM-7, 160 to a
# message. One character outside it (an "ó") turns the whole text into UCS-2, 70 to a message.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: still GSM-7, two septets each.
GSM7_EXTENSION = frozenset("^{}\\[~]|€")


def render_sms(*, appointment: Appointment, event: Event, reason: str = "") -> str:
    """A short text for `event`: what happened, when, the reference and a link. Nothing
    about the person (an SMS shows on a locked screen), so no name either.

    `reason` as for render_email: non-empty means the centre cancelled; the reason itself
    stays in the email, where there is room for it."""
    event = Event(event)
    slot = appointment.slot
    starts_at = slot.starts_at.astimezone(slot.centre.zone)
    with translation.override(appointment.person.language):
        values = {
            # Translators: a short Django date format for text messages: "Tue 13 Jan".
            "date": dateformat.format(starts_at, pgettext("SMS date format", "D j M")),
            "time": clock_time(starts_at),
            "reference": appointment.display_reference,
            "n": appointment.dose_number,
            "url": settings.SITE_URL + reverse("appointment_list"),
            "site": settings.SITE_URL + "/",
        }
        match event:
            case Event.BOOKED:
                text = _(
                    "vaxbook: vaccination booked for %(date)s, %(time)s. "
                    "Ref %(reference)s. Details: %(url)s"
                )
            case Event.RESCHEDULED:
                text = _(
                    "vaxbook: your vaccination has moved to %(date)s, %(time)s. "
                    "Ref %(reference)s. Details: %(url)s"
                )
            case Event.CANCELLED if reason.strip():
                text = _(
                    "vaxbook: the centre cancelled your vaccination on %(date)s, "
                    "%(time)s (ref %(reference)s); details by email. "
                    "Book again: %(site)s"
                )
            case Event.CANCELLED:
                text = _(
                    "vaxbook: your vaccination on %(date)s, %(time)s is cancelled "
                    "(ref %(reference)s). Book again: %(site)s"
                )
            case Event.REMINDER:
                text = _(
                    "vaxbook: reminder, vaccination on %(date)s, %(time)s. "
                    "Ref %(reference)s. Bring an ID document. Details: %(url)s"
                )
            case Event.VACCINATED:
                text = _(
                    "vaxbook: dose %(n)d of your vaccination is recorded "
                    "(ref %(reference)s). Your record: %(url)s"
                )
            case _:
                raise ValueError(f"No SMS for event {event!r}.")
        return to_gsm7(text % values)


def to_gsm7(text: str) -> str:
    """`text` in the GSM-7 alphabet, so that it goes as one 160-character message rather
    than in 70-character UCS-2 parts: accents the alphabet lacks are dropped ("vacunación"
    becomes "vacunacion", which Spanish readers are used to in SMS), "ñ" and "é" stay."""
    chars = []
    for char in text:
        if char in GSM7_BASIC or char in GSM7_EXTENSION:
            chars.append(char)
            continue
        base = "".join(
            part for part in unicodedata.normalize("NFKD", char) if not unicodedata.combining(part)
        )
        chars.append(base if base and all(part in GSM7_BASIC for part in base) else "?")
    return "".join(chars)


def gsm7_length(text: str) -> int:
    """Septets `text` takes in GSM-7 (extension characters take two)."""
    return sum(2 if char in GSM7_EXTENSION else 1 for char in text)
