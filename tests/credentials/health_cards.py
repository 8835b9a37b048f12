"""People with doses recorded, for the certificate's tests in several folders."""

import datetime as dt

from django.utils import timezone

from tests.factories import CitizenFactory, staff_at
from vaxbook.accounts.models import Citizen
from vaxbook.bookings import references
from vaxbook.bookings.models import Appointment, AppointmentStatus, VaccinationRecord
from vaxbook.centres.models import Slot


def vaccinated(
    slot: Slot,
    *,
    person: Citizen | None = None,
    lot: str = "EW0182",
    full_name: str = "María José Núñez Ortiz",
) -> Appointment:
    """An appointment in `slot` whose dose was given (as the staff pages leave it: status
    vaccinated and its VaccinationRecord), for `person` or a new citizen; each further dose
    of one person is the next dose number, given a day later."""
    if person is None:
        person = CitizenFactory(full_name=full_name, date_of_birth=dt.date(1961, 2, 28))
    dose_number = Appointment.objects.filter(person=person).count() + 1
    given_at = timezone.now() - dt.timedelta(days=30 - dose_number)
    appointment = Appointment.objects.create(
        person=person,
        slot=slot,
        dose_number=dose_number,
        status=AppointmentStatus.VACCINATED,
        reference=references.new_reference(),
        created_at=given_at - dt.timedelta(days=7),
        checked_in_at=given_at,
        vaccinated_at=given_at,
    )
    VaccinationRecord.objects.create(
        appointment=appointment,
        vaccine=slot.vaccine,
        lot_number=lot,
        administered_at=given_at,
        administered_by=staff_at(slot.centre),
    )
    return appointment
