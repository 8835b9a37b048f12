"""Check before you start: which vaccines, and which of their doses, a person could book,
from their date of birth and the dose they ask about, before they sign in.

Their appointments are unknown here, so the check assumes the earlier doses of a course
were had in time; what can refuse is what depends on the person and the dose themselves,
by the very rules the booking engine applies (vaxbook.bookings.eligibility.check_dose).
Each vaccine gets its own answer with the day its refusal lifts, so a further rule (the
campaign's cohort openings) adds its refusal and its day to that vaccine's answer.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from django.utils import timezone

from vaxbook.bookings import eligibility
from vaxbook.bookings.errors import NotEligible
from vaxbook.centres.models import Vaccine


@dataclass(frozen=True)
class VaccineAnswer:
    """Whether the dose of `vaccine` can be booked; if not, why and from when (None: not
    with this vaccine, whatever the day)."""

    vaccine: Vaccine
    refusal: str = ""
    bookable_from: dt.date | None = None

    @property
    def bookable(self) -> bool:
        return not self.refusal


@dataclass(frozen=True)
class EligibilityAnswer:
    dose_number: int
    today: dt.date
    answers: list[VaccineAnswer]

    @property
    def bookable(self) -> list[VaccineAnswer]:
        return [answer for answer in self.answers if answer.bookable]

    @property
    def refused(self) -> list[VaccineAnswer]:
        return [answer for answer in self.answers if not answer.bookable]

    @property
    def bookable_from(self) -> dt.date | None:
        """The first day one of the refused vaccines becomes possible, if any ever does."""
        days = [answer.bookable_from for answer in self.refused if answer.bookable_from]
        return min(days, default=None)


def doses_to_ask_about() -> list[int]:
    """Dose 1 up to the longest primary course of any vaccine."""
    longest = max(Vaccine.objects.values_list("doses_in_primary_course", flat=True), default=1)
    return list(range(1, longest + 1))


def check_eligibility(
    *, date_of_birth: dt.date, dose_number: int, today: dt.date | None = None
) -> EligibilityAnswer:
    """What a person born on `date_of_birth` may book as dose `dose_number` from `today`,
    vaccine by vaccine."""
    today = today or timezone.localdate()
    answers = [
        _answer(vaccine, date_of_birth=date_of_birth, dose_number=dose_number, today=today)
        for vaccine in Vaccine.objects.order_by("name")
    ]
    return EligibilityAnswer(dose_number=dose_number, today=today, answers=answers)


def _answer(
    vaccine: Vaccine, *, date_of_birth: dt.date, dose_number: int, today: dt.date
) -> VaccineAnswer:
    try:
        eligibility.check_dose(
            date_of_birth=date_of_birth,
            vaccine=vaccine,
            dose_number=dose_number,
            day=today,
            held=_earlier_doses_in_time(vaccine, dose_number, today),
        )
        eligibility.check_campaign_policy(
            date_of_birth=date_of_birth,
            priority_group="",  # unknown here: a priority group is on the person's record
            vaccine=vaccine,
            dose_number=dose_number,
            day=today,
            now=timezone.now(),
        )
    except NotEligible as refusal:
        lifts_on = (
            timezone.localdate(refusal.opens_at)
            if refusal.opens_at is not None
            else _refusal_lifts_on(vaccine, date_of_birth, dose_number, today)
        )
        return VaccineAnswer(vaccine=vaccine, refusal=refusal.message, bookable_from=lifts_on)
    return VaccineAnswer(vaccine=vaccine)


def _earlier_doses_in_time(
    vaccine: Vaccine, dose_number: int, today: dt.date
) -> list[eligibility.HeldDose]:
    """Doses 1 .. dose_number-1 of `vaccine`, given exactly the minimum interval apart and
    the last one that interval before `today`."""
    interval = dt.timedelta(days=vaccine.minimum_days_between_doses)
    return [
        eligibility.HeldDose(
            appointment_id=uuid.uuid4(),
            dose_number=earlier,
            vaccine_id=vaccine.pk,
            day=today - interval * (dose_number - earlier),
            given=True,
        )
        for earlier in range(1, dose_number)
    ]


def _refusal_lifts_on(
    vaccine: Vaccine, date_of_birth: dt.date, dose_number: int, today: dt.date
) -> dt.date | None:
    """With earlier doses in time, what lifts is the minimum age, on the birthday it is
    reached. A dose the course does not have never lifts."""
    if not 1 <= dose_number <= vaccine.doses_in_primary_course:
        return None
    reaching = eligibility.date_reaching_age(date_of_birth, vaccine.minimum_age)
    return reaching if reaching > today else None
