"""Who may have which dose on which day. Pure functions over plain values, so every rule is
tested without a database; vaxbook.bookings.services calls them under the person's lock.

A day here is always the local day at the centre (an appointment at 00:30 in Madrid is on
the Madrid date, whatever UTC says).
"""

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _

from vaxbook.bookings.errors import AlreadyBooked, NotEligible
from vaxbook.centres import policy
from vaxbook.centres.models import Vaccine
from vaxbook.core.zones import place_time


@dataclass(frozen=True)
class HeldDose:
    """A dose the person holds: booked, checked in, or given."""

    appointment_id: uuid.UUID
    dose_number: int
    vaccine_id: int
    day: dt.date
    given: bool


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    """Completed years on `day`. Someone born on 29 February has a birthday on 1 March in
    years without one."""
    had_birthday = (day.month, day.day) >= (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - (0 if had_birthday else 1)


def date_reaching_age(date_of_birth: dt.date, years: int) -> dt.date:
    try:
        return date_of_birth.replace(year=date_of_birth.year + years)
    except ValueError:  # 29 February in a year without one
        return dt.date(date_of_birth.year + years, 3, 1)


def _day(day: dt.date) -> str:
    """A day in a message, in the active language's own format."""
    return date_format(day, "DATE_FORMAT")


def check_campaign_policy(
    *,
    date_of_birth: dt.date,
    priority_group: str,
    vaccine: Vaccine,
    dose_number: int,
    day: dt.date,
    now: dt.datetime,
) -> None:
    """Raise NotEligible unless the campaign policy (vaxbook.centres.policy) lets the person
    book `dose_number` of `vaccine` for `day` at the instant `now`. The message says when
    their cohort opens, when one will."""
    decision = policy.decide(
        policy.current_rules(),
        vaccine_id=vaccine.pk,
        dose_number=dose_number,
        age=age_on(date_of_birth, day),
        priority_group=priority_group,
        now=now,
    )
    if decision.allowed:
        return
    if decision.opens_at is not None:
        opens = timezone.localtime(decision.opens_at)  # the authority's clock (TIME_ZONE)
        raise NotEligible(
            _("Booking %(vaccine)s opens for your group on %(date)s at %(time)s (%(zone)s).")
            % {
                "vaccine": vaccine.name,
                "date": _day(opens.date()),
                "time": time_format(opens, "TIME_FORMAT"),
                "zone": place_time(settings.TIME_ZONE),
            },
            opens_at=decision.opens_at,
        )
    raise NotEligible(
        _(
            "Booking dose %(n)d of %(vaccine)s is not open to your age group yet. The dates "
            "each group opens are announced on this site and in the news."
        )
        % {"n": dose_number, "vaccine": vaccine.name}
    )


def check_dose(
    *,
    date_of_birth: dt.date,
    vaccine: Vaccine,
    dose_number: int,
    day: dt.date,
    held: Iterable[HeldDose],
) -> None:
    """Raise NotEligible or AlreadyBooked unless the person may have `dose_number` of
    `vaccine` on `day`, given the doses they already hold (the appointment being moved, if
    any, left out by the caller)."""
    doses = vaccine.doses_in_primary_course
    if not 1 <= dose_number <= doses:
        raise NotEligible(
            _("%(vaccine)s has %(doses)d dose(s) in its primary course; there is no dose %(n)d.")
            % {"vaccine": vaccine.name, "doses": doses, "n": dose_number}
        )

    if age_on(date_of_birth, day) < vaccine.minimum_age:
        raise NotEligible(
            _(
                "%(vaccine)s is for people aged %(age)d or over on the day of the appointment. "
                "You can have it from %(date)s."
            )
            % {
                "vaccine": vaccine.name,
                "age": vaccine.minimum_age,
                "date": _day(date_reaching_age(date_of_birth, vaccine.minimum_age)),
            }
        )

    by_dose = {dose.dose_number: dose for dose in held}
    same = by_dose.get(dose_number)
    if same is not None:
        if same.given:
            raise NotEligible(_("You have already had dose %(n)d.") % {"n": dose_number})
        raise AlreadyBooked(
            _("You already have an appointment for dose %(n)d.") % {"n": dose_number}
        )

    interval = dt.timedelta(days=vaccine.minimum_days_between_doses)
    previous = by_dose.get(dose_number - 1)
    if dose_number > 1:
        if previous is None:
            raise NotEligible(
                _("Book dose %(previous)d before dose %(n)d.")
                % {"previous": dose_number - 1, "n": dose_number}
            )
        if previous.vaccine_id != vaccine.pk:
            raise NotEligible(
                _("Dose %(n)d must be the same vaccine as dose %(previous)d.")
                % {"n": dose_number, "previous": dose_number - 1}
            )
        if day < previous.day + interval:
            raise NotEligible(
                _(
                    "Dose %(n)d of %(vaccine)s must be at least %(days)d days after dose "
                    "%(previous)d: from %(date)s."
                )
                % {
                    "n": dose_number,
                    "vaccine": vaccine.name,
                    "days": vaccine.minimum_days_between_doses,
                    "previous": dose_number - 1,
                    "date": _day(previous.day + interval),
                }
            )

    following = by_dose.get(dose_number + 1)
    if following is not None:
        if following.vaccine_id != vaccine.pk:
            raise NotEligible(
                _("Dose %(n)d must be the same vaccine as dose %(next)d.")
                % {"n": dose_number, "next": dose_number + 1}
            )
        if day > following.day - interval:
            raise NotEligible(
                _(
                    "Dose %(n)d must be at least %(days)d days before your dose %(next)d "
                    "on %(next_date)s: on or before %(date)s."
                )
                % {
                    "n": dose_number,
                    "days": vaccine.minimum_days_between_doses,
                    "next": dose_number + 1,
                    "next_date": _day(following.day),
                    "date": _day(following.day - interval),
                }
            )
