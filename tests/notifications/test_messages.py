import datetime as dt
import email
import email.policy
import io
from email.message import EmailMessage
from pathlib import Path

import pytest
import time_machine
import zxingcpp
from django.conf import LazySettings
from icalendar import Calendar
from PIL import Image

from tests.factories import CentreFactory, CitizenFactory, SlotFactory, VaccineFactory, staff_at
from tests.helpers import MADRID
from vaxbook.accounts.models import StaffRole
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Centre, Slot
from vaxbook.credentials.tokens import verify_token
from vaxbook.notifications.events import Event
from vaxbook.notifications.messages import (
    GSM7_BASIC,
    gsm7_length,
    render_email,
    render_sms,
    to_gsm7,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
SITE = "https://vaccination.example.org"

# The story every test tells: booked on 1 June for Wednesday 10 June 2026 at 10:00 in
# Madrid (08:00 UTC), on a server whose zone is UTC.
BOOKED_AT = dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
STARTS_AT = dt.datetime(2026, 6, 10, 10, 0, tzinfo=MADRID)
CHANGED_AT = dt.datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
MOVED_TO = dt.datetime(2026, 6, 11, 11, 30, tzinfo=MADRID)
REMINDED_AT = dt.datetime(2026, 6, 9, 16, 0, tzinfo=UTC)
VACCINATED_AT = STARTS_AT + dt.timedelta(minutes=5)
LOT = "FK8891"
CENTRE_REASON = "The vaccine delivery did not arrive."


@pytest.fixture(autouse=True)
def environment(settings: LazySettings, tmp_path: Path) -> None:
    settings.SITE_URL = SITE
    settings.TIME_ZONE = "UTC"
    # Each test signs with its own key store.
    settings.SIGNING_KEYS_PATH = tmp_path / "keys" / "signing-keys.json"
    settings.SIGNING_KEYS_JSON = ""


def madrid_centre(**fields: object) -> Centre:
    return CentreFactory(
        name="Centro de Vacunación Wizink", address="Avenida Felipe II s/n", **fields
    )


def booked(*, language: str = "en", centre: Centre | None = None) -> Appointment:
    slot = SlotFactory(centre=centre or madrid_centre(), starts_at=STARTS_AT)
    person = CitizenFactory(full_name="Ana García López", language=language)
    with time_machine.travel(BOOKED_AT, tick=False):
        return services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)


def moved(appointment: Appointment) -> Appointment:
    later: Slot = SlotFactory(
        centre=appointment.slot.centre, vaccine=appointment.slot.vaccine, starts_at=MOVED_TO
    )
    with time_machine.travel(CHANGED_AT, tick=False):
        return services.reschedule_appointment(
            person=appointment.person, appointment_id=appointment.pk, new_slot_id=later.pk
        )


def cancelled(appointment: Appointment) -> Appointment:
    with time_machine.travel(CHANGED_AT, tick=False):
        return services.cancel_appointment(person=appointment.person, appointment_id=appointment.pk)


def vaccinated(appointment: Appointment) -> Appointment:
    centre = appointment.slot.centre
    with time_machine.travel(VACCINATED_AT, tick=False):
        services.check_in(
            appointment_id=appointment.pk, staff=staff_at(centre, StaffRole.RECEPTIONIST)
        )
        services.record_vaccination(
            appointment_id=appointment.pk, staff=staff_at(centre), lot_number=LOT
        )
    return Appointment.objects.select_related("slot__centre", "slot__vaccine", "person").get(
        pk=appointment.pk
    )


def appointment_for(event: Event, *, language: str = "en") -> tuple[Appointment, dt.datetime]:
    """An appointment in the state `event` announces, and when its message is rendered."""
    appointment = booked(language=language)
    match event:
        case Event.BOOKED:
            return appointment, BOOKED_AT
        case Event.RESCHEDULED:
            return moved(appointment), CHANGED_AT
        case Event.CANCELLED:
            return cancelled(appointment), CHANGED_AT
        case Event.REMINDER:
            return appointment, REMINDED_AT
        case Event.VACCINATED:
            return vaccinated(appointment), VACCINATED_AT
    raise AssertionError(event)


def email_for(event: Event, *, language: str = "en", reason: str = ""):
    appointment, moment = appointment_for(event, language=language)
    with time_machine.travel(moment, tick=False):
        return appointment, render_email(appointment=appointment, event=event, reason=reason)


def on_the_wire(message) -> EmailMessage:
    """The message as the SMTP backend sends it, parsed back."""
    sent = message.message(policy=email.policy.SMTP).as_bytes()
    parsed = email.message_from_bytes(sent, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: EmailMessage, content_type: str) -> list[EmailMessage]:
    return [part for part in message.walk() if part.get_content_type() == content_type]


def html_of(message) -> str:
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return html


def calendar_part(message: EmailMessage) -> EmailMessage:
    (part,) = parts(message, "text/calendar")
    return part


# --- language --------------------------------------------------------------------------------

SUBJECTS = {
    (Event.BOOKED, "en"): "Your COVID-19 vaccination appointment: Wednesday 10 June 2026 at 10:00",
    (Event.BOOKED, "es"): (
        "Su cita de vacunación COVID-19: miércoles 10 de junio de 2026 a las 10:00"
    ),
    (Event.RESCHEDULED, "en"): (
        "Your COVID-19 vaccination has moved to Thursday 11 June 2026 at 11:30"
    ),
    (Event.RESCHEDULED, "es"): (
        "Su vacunación COVID-19 ha cambiado al jueves 11 de junio de 2026 a las 11:30"
    ),
    (Event.CANCELLED, "en"): "Your COVID-19 vaccination appointment {reference} is cancelled",
    (Event.CANCELLED, "es"): "Su cita de vacunación COVID-19 {reference} está cancelada",
    (Event.REMINDER, "en"): "Reminder: your COVID-19 vaccination is tomorrow at 10:00",
    (Event.REMINDER, "es"): "Recordatorio: su vacunación COVID-19 es mañana a las 10:00",
    (Event.VACCINATED, "en"): "Your COVID-19 vaccination record: dose 1",
    (Event.VACCINATED, "es"): "Registro de su vacunación COVID-19: dosis 1",
}

# Words the body has in that language only.
BODY_WORDS = {
    (Event.BOOKED, "en"): ["Hello Ana,", "Please bring:", "identity document", "Dose"],
    (Event.BOOKED, "es"): ["Hola, Ana:", "Traiga:", "documento de identidad", "Dosis"],
    (Event.RESCHEDULED, "en"): ["has moved", "no longer valid", "Please bring:"],
    (Event.RESCHEDULED, "es"): ["ha cambiado", "ya no es válida", "Traiga:"],
    (Event.CANCELLED, "en"): ["As you asked", "is cancelled", "new appointment"],
    (Event.CANCELLED, "es"): ["Como ha solicitado", "está cancelada", "nueva cita"],
    (Event.REMINDER, "en"): ["Your vaccination is tomorrow", "Wednesday 10 June 2026"],
    (Event.REMINDER, "es"): ["Su vacunación es mañana", "miércoles 10 de junio de 2026"],
    (Event.VACCINATED, "en"): ["Lot number", "Date given", "1 of 2"],
    (Event.VACCINATED, "es"): ["Número de lote", "Fecha de administración", "1 de 2"],
}


@pytest.mark.parametrize(("event", "language"), list(SUBJECTS))
def test_email_subject_and_body_are_in_the_persons_language(event: Event, language: str) -> None:
    appointment, message = email_for(event, language=language)

    assert message.subject == SUBJECTS[event, language].format(
        reference=appointment.display_reference
    )
    for words in BODY_WORDS[event, language]:
        assert words in message.body
        assert words in html_of(message)
    assert f'<html lang="{language}">' in html_of(message)
    assert message.extra_headers["Content-Language"] == language


@pytest.mark.parametrize("event", list(Event))
def test_every_email_goes_to_the_person_with_the_reference_in_text_and_html(event: Event) -> None:
    appointment, message = email_for(event)

    assert message.to == [appointment.person.user.email]
    assert appointment.display_reference in message.body
    assert appointment.display_reference in html_of(message)
    wire = on_the_wire(message)
    assert len(parts(wire, "text/plain")) == 1
    assert len(parts(wire, "text/html")) == 1
    assert wire["Auto-Submitted"] == "auto-generated"


@pytest.mark.parametrize("event", list(Event))
def test_html_email_loads_nothing_from_elsewhere(event: Event) -> None:
    _appointment, message = email_for(event)

    html = html_of(message)
    assert "<link" not in html
    assert "<script" not in html
    assert "<style" not in html  # clients drop style blocks: every style is inline
    assert 'src="http' not in html


def test_email_shows_the_time_at_the_centre_not_the_servers() -> None:
    _appointment, message = email_for(Event.BOOKED)

    assert "10:00" in message.body
    assert "08:00" not in message.body  # the same moment in UTC, the server's zone


def test_text_is_not_html_escaped_but_html_is() -> None:
    appointment = booked(centre=madrid_centre(town="Alcalá & Henares"))
    with time_machine.travel(BOOKED_AT, tick=False):
        message = render_email(appointment=appointment, event=Event.BOOKED)

    assert "Alcalá & Henares" in message.body
    assert "Alcalá &amp; Henares" in html_of(message)


# --- the confirmation: QR code and calendar entry --------------------------------------------


@pytest.mark.parametrize("event", [Event.BOOKED, Event.RESCHEDULED])
def test_confirmation_qr_is_an_inline_image_next_to_the_html_that_shows_it(event: Event) -> None:
    _appointment, message = email_for(event)

    wire = on_the_wire(message)
    (related,) = parts(wire, "multipart/related")
    html, image = related.iter_parts()
    assert html.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    assert image.get_content_disposition() == "inline"
    content_id = image["Content-ID"]
    assert f'src="cid:{content_id.strip("<>")}"' in html.get_content()
    # The image sits with the HTML inside the alternative, not as a loose attachment.
    (alternative,) = parts(wire, "multipart/alternative")
    assert related in list(alternative.iter_parts())


@pytest.mark.parametrize("event", [Event.BOOKED, Event.RESCHEDULED])
def test_confirmation_qr_decodes_to_a_token_for_this_appointment(event: Event) -> None:
    appointment, message = email_for(event)

    (image,) = parts(on_the_wire(message), "image/png")
    (barcode,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_content())))
    claims = verify_token(barcode.text, now=STARTS_AT)
    assert claims.reference == appointment.reference
    assert claims.starts_at == appointment.slot.starts_at


@pytest.mark.parametrize("event", [Event.BOOKED, Event.RESCHEDULED])
def test_confirmation_carries_the_calendar_entry_as_a_request(event: Event) -> None:
    appointment, message = email_for(event)

    part = calendar_part(on_the_wire(message))
    assert part.get_content_disposition() == "attachment"
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == f"vaccination-{appointment.reference}.ics"
    calendar = Calendar.from_ical(part.get_content())
    assert calendar["METHOD"] == "REQUEST"
    (entry,) = calendar.events
    assert entry.uid == f"{appointment.reference}@vaxbook"
    assert entry.start == appointment.slot.starts_at


@pytest.mark.parametrize("event", [Event.CANCELLED, Event.REMINDER, Event.VACCINATED])
def test_only_the_confirmations_carry_a_qr_code(event: Event) -> None:
    _appointment, message = email_for(event)

    assert not parts(on_the_wire(message), "image/png")
    assert "cid:" not in html_of(message)


# --- cancelled -------------------------------------------------------------------------------


def test_cancellation_carries_the_calendar_cancellation_with_the_same_uid() -> None:
    appointment, message = email_for(Event.CANCELLED)

    part = calendar_part(on_the_wire(message))
    assert part.get_param("method") == "CANCEL"
    calendar = Calendar.from_ical(part.get_content())
    assert calendar["METHOD"] == "CANCEL"
    (entry,) = calendar.events
    assert entry["STATUS"] == "CANCELLED"
    assert entry.uid == f"{appointment.reference}@vaxbook"


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "the vaccination centre has had to cancel"),
        ("es", "el centro de vacunación ha tenido que cancelar"),
    ],
)
def test_cancellation_by_the_centre_gives_its_reason(language: str, words: str) -> None:
    _appointment, message = email_for(Event.CANCELLED, language=language, reason=CENTRE_REASON)

    for body in (message.body, html_of(message)):
        assert words in body
        assert CENTRE_REASON in body
    assert "As you asked" not in message.body


def test_cancellation_by_the_person_gives_no_reason() -> None:
    _appointment, message = email_for(Event.CANCELLED)

    assert "As you asked" in message.body
    assert "centre's reason" not in message.body


# --- reminder and vaccinated -----------------------------------------------------------------


def test_reminder_has_tomorrows_details_and_what_to_bring() -> None:
    _appointment, message = email_for(Event.REMINDER)

    for words in ["Wednesday 10 June 2026", "10:00", "Centro de Vacunación Wizink", "medicines"]:
        assert words in message.body
    assert not parts(on_the_wire(message), "text/calendar")


def test_reminder_rendered_on_the_day_says_today() -> None:
    appointment = booked()
    with time_machine.travel(STARTS_AT - dt.timedelta(hours=3), tick=False):
        message = render_email(appointment=appointment, event=Event.REMINDER)

    assert message.subject == "Reminder: your COVID-19 vaccination is today at 10:00"


def test_vaccinated_email_summarises_the_dose_and_when_the_next_can_be_booked() -> None:
    _appointment, message = email_for(Event.VACCINATED)

    assert "Comirnaty (Pfizer-BioNTech)" in message.body
    assert LOT in message.body
    assert "Wednesday 10 June 2026, 10:05" in message.body  # when it was given, Madrid time
    # Comirnaty's 21 days after 10 June.
    assert "You can book dose 2 for Wednesday 1 July 2026 or later." in message.body


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "Your vaccination certificate"), ("es", "Su certificado de vacunación")],
)
def test_vaccinated_email_links_to_the_certificate(settings, language: str, words: str) -> None:
    settings.SITE_URL = "https://vaccination.example.org"

    _appointment, message = email_for(Event.VACCINATED, language=language)

    [(html, _type)] = message.alternatives
    for body in (message.body, str(html)):
        assert "https://vaccination.example.org/certificate/" in body
        assert words in body


def test_vaccinated_email_in_spanish_says_when_the_next_dose_can_be_booked() -> None:
    _appointment, message = email_for(Event.VACCINATED, language="es")

    assert "Puede pedir cita para la dosis 2 a partir del miércoles 1 de julio de 2026." in (
        message.body
    )


def test_vaccinated_email_points_to_the_next_dose_already_booked() -> None:
    centre = madrid_centre()
    first = SlotFactory(centre=centre, starts_at=STARTS_AT)
    second = SlotFactory(
        centre=centre, vaccine=first.vaccine, starts_at=STARTS_AT + dt.timedelta(days=28)
    )
    person = CitizenFactory(full_name="Ana García López")
    with time_machine.travel(BOOKED_AT, tick=False):
        dose_1, _dose_2 = services.book_both_doses(
            person=person, first_slot_id=first.pk, second_slot_id=second.pk
        )
    appointment = vaccinated(dose_1)

    with time_machine.travel(VACCINATED_AT, tick=False):
        message = render_email(appointment=appointment, event=Event.VACCINATED)

    assert (
        "Your appointment for dose 2 is on Wednesday 8 July 2026 at 10:00 "
        "at Centro de Vacunación Wizink." in message.body
    )


def test_vaccinated_email_for_the_last_dose_says_the_course_is_complete() -> None:
    one_dose = VaccineFactory(
        name="Jcovden", manufacturer="Janssen", doses_in_primary_course=1, cvx_code="212"
    )
    slot = SlotFactory(centre=madrid_centre(), vaccine=one_dose, starts_at=STARTS_AT)
    with time_machine.travel(BOOKED_AT, tick=False):
        appointment = services.book_appointment(
            person=CitizenFactory(), slot_id=slot.pk, dose_number=1
        )
    appointment = vaccinated(appointment)

    with time_machine.travel(VACCINATED_AT, tick=False):
        message = render_email(appointment=appointment, event=Event.VACCINATED)

    assert "This completes your primary course." in message.body
    assert "book dose" not in message.body


# --- SMS -------------------------------------------------------------------------------------


def sms_for(event: Event, *, language: str = "en", reason: str = "") -> tuple[Appointment, str]:
    appointment, moment = appointment_for(event, language=language)
    with time_machine.travel(moment, tick=False):
        return appointment, render_sms(appointment=appointment, event=event, reason=reason)


SMS_CASES = [
    (event, language, reason)
    for event in Event
    for language in ("en", "es")
    for reason in (["", CENTRE_REASON] if event == Event.CANCELLED else [""])
]


@pytest.mark.parametrize(("event", "language", "reason"), SMS_CASES)
def test_sms_has_the_reference_and_a_link_and_fits_one_gsm_message(
    event: Event, language: str, reason: str
) -> None:
    appointment, text = sms_for(event, language=language, reason=reason)

    assert appointment.display_reference in text
    assert f"{SITE}/" in text
    assert all(char in GSM7_BASIC for char in text)
    assert gsm7_length(text) <= 160


@pytest.mark.parametrize("event", list(Event))
def test_sms_names_nobody(event: Event) -> None:
    appointment, text = sms_for(event)

    assert "Ana" not in text
    assert "García" not in text
    assert appointment.person.user.email not in text


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "Wed 10 Jun, 10:00"), ("es", "mié 10/06, 10:00")],
)
def test_sms_gives_the_local_day_and_time_in_the_persons_language(
    language: str, words: str
) -> None:
    _appointment, text = sms_for(Event.BOOKED, language=language)

    assert words in text


def test_spanish_sms_drops_accents_outside_the_gsm_alphabet() -> None:
    _appointment, text = sms_for(Event.BOOKED, language="es")

    assert "vacunacion reservada" in text


def test_gsm_alphabet_keeps_what_it_has_and_simplifies_the_rest() -> None:
    assert to_gsm7("vacunación, año, café, ü, €") == "vacunacion, año, café, ü, €"
    assert to_gsm7("“quoted” ✓") == "?quoted? ?"
    assert gsm7_length("€1") == 3
