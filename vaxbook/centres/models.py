import datetime as dt
import zoneinfo
from functools import cached_property
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from vaxbook.core.zones import place_time


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not an IANA time zone."), params={"value": value})


class Centre(models.Model):
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300)
    postcode = models.CharField(_("postcode"), max_length=16)
    town = models.CharField(_("town"), max_length=100)
    phone = models.CharField(_("telephone"), max_length=32, blank=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=8,
        decimal_places=5,
        validators=[
            MinValueValidator(-90, _("The latitude is between -90 and 90.")),
            MaxValueValidator(90, _("The latitude is between -90 and 90.")),
        ],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=8,
        decimal_places=5,
        validators=[
            MinValueValidator(-180, _("The longitude is between -180 and 180.")),
            MaxValueValidator(180, _("The longitude is between -180 and 180.")),
        ],
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, validators=[validate_time_zone], default="Europe/Madrid"
    )
    is_active = models.BooleanField(_("active"), default=True)
    # What the centre offers: its opening templates and slots are for these vaccines only.
    vaccines: "models.ManyToManyField[Vaccine, Any]" = models.ManyToManyField(
        "Vaccine", related_name="centres", blank=True, verbose_name=_("vaccines offered")
    )

    class Meta:
        verbose_name = _("centre")
        ordering: ClassVar = ["town", "name"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(latitude__gte=-90, latitude__lte=90)
                & Q(longitude__gte=-180, longitude__lte=180),
                name="centre_position_on_earth",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.town}"

    @cached_property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def place_time(self) -> str:
        """Whose clock the centre's times are, for people: "Canary Islands time"."""
        return place_time(self.time_zone)

    def local_date(self, moment: dt.datetime) -> dt.date:
        """The day `moment` falls on at this centre: "the day" of an appointment."""
        return moment.astimezone(self.zone).date()


class Vaccine(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=100)
    doses_in_primary_course = models.PositiveSmallIntegerField(_("doses in the primary course"))
    minimum_days_between_doses = models.PositiveSmallIntegerField(
        _("minimum days between doses"), default=0
    )
    minimum_age = models.PositiveSmallIntegerField(_("minimum age in years"))
    cvx_code = models.CharField(_("CVX code"), max_length=8, unique=True)

    class Meta:
        verbose_name = _("vaccine")
        ordering: ClassVar = ["name"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(doses_in_primary_course__gte=1), name="vaccine_at_least_one_dose"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SlotQuerySet(models.QuerySet["Slot"]):
    def bookable(self, now: dt.datetime) -> "SlotQuerySet":
        """Open slots of active centres that start after `now` and have a place left."""
        return self.filter(
            is_open=True, centre__is_active=True, starts_at__gt=now, booked__lt=F("capacity")
        )


class Slot(models.Model):
    """A time at a centre with a number of places for one vaccine.

    `booked` is the number of places taken. It changes only through the conditional
    updates in vaxbook.bookings.services, and the database refuses any value outside
    0..capacity (constraint `slot_booked_within_capacity`), whatever code runs.
    """

    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="slots")
    vaccine = models.ForeignKey(Vaccine, on_delete=models.PROTECT, related_name="slots")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveIntegerField(_("places"))
    booked = models.PositiveIntegerField(_("places booked"), default=0)
    is_open = models.BooleanField(_("open for booking"), default=True)

    objects = SlotQuerySet.as_manager()

    class Meta:
        verbose_name = _("slot")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(booked__gte=0) & Q(booked__lte=F("capacity")),
                name="slot_booked_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="slot_ends_after_it_starts"
            ),
            models.UniqueConstraint(
                fields=["centre", "vaccine", "starts_at"], name="one_slot_per_centre_vaccine_time"
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["centre", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.centre.name} {self.starts_at:%Y-%m-%d %H:%M} UTC ({self.vaccine})"

    @property
    def remaining(self) -> int:
        return self.capacity - self.booked

    @property
    def local_date(self) -> dt.date:
        return self.centre.local_date(self.starts_at)


class Weekday(models.IntegerChoices):
    # Python's numbering (date.weekday()), which slot generation compares against.
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


MIN_SLOT_MINUTES, MAX_SLOT_MINUTES = 5, 240
MAX_PLACES_PER_SLOT = 500


class OpeningTemplateQuerySet(models.QuerySet["OpeningTemplate"]):
    def overlapping(self, template: "OpeningTemplate") -> "OpeningTemplateQuerySet":
        """Other templates of the same centre, vaccine and weekday whose hours and validity
        overlap `template`'s: two such templates would offer the same times twice."""
        overlapping = self.filter(
            centre_id=template.centre_id,
            vaccine_id=template.vaccine_id,
            weekday=template.weekday,
            opens_at__lt=template.closes_at,
            closes_at__gt=template.opens_at,
        )
        if template.valid_until is not None:
            overlapping = overlapping.filter(
                Q(valid_from__isnull=True) | Q(valid_from__lte=template.valid_until)
            )
        if template.valid_from is not None:
            overlapping = overlapping.filter(
                Q(valid_until__isnull=True) | Q(valid_until__gte=template.valid_from)
            )
        if template.pk is not None:
            overlapping = overlapping.exclude(pk=template.pk)
        return overlapping


class OpeningTemplate(models.Model):
    """Weekly opening hours for one vaccine at a centre: from `opens_at` to `closes_at`
    (wall-clock times at the centre) every `weekday`, in slots of `slot_minutes` with
    `places_per_slot` places each. vaxbook.centres.slot_generation turns templates into
    slots for a range of days; a template changes no slot by itself."""

    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, related_name="opening_templates")
    vaccine = models.ForeignKey(Vaccine, on_delete=models.PROTECT, related_name="+")
    weekday = models.PositiveSmallIntegerField(_("day of the week"), choices=Weekday.choices)
    opens_at = models.TimeField(_("opens at"))
    closes_at = models.TimeField(_("closes at"))
    slot_minutes = models.PositiveSmallIntegerField(_("slot length in minutes"))
    places_per_slot = models.PositiveSmallIntegerField(_("places per slot"))
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    objects = OpeningTemplateQuerySet.as_manager()

    class Meta:
        verbose_name = _("opening template")
        ordering: ClassVar = ["weekday", "opens_at", "vaccine__name"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="template_weekday_known"
            ),
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")), name="template_closes_after_it_opens"
            ),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=MIN_SLOT_MINUTES, slot_minutes__lte=MAX_SLOT_MINUTES),
                name="template_slot_length_in_range",
            ),
            models.CheckConstraint(
                condition=Q(places_per_slot__gte=1, places_per_slot__lte=MAX_PLACES_PER_SLOT),
                name="template_places_in_range",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gte=F("valid_from")),
                name="template_valid_until_after_valid_from",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["centre", "weekday"], name="template_centre_weekday")
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M} "
            f"{self.vaccine} ({self.slot_minutes} min, {self.places_per_slot} places)"
        )

    def clean(self) -> None:
        """The rules a form can show next to the fields; the same as the database's
        constraints, in words, plus the overlap rule, which needs a query."""
        errors: dict[str, list[Any]] = {}
        if (
            self.opens_at is not None
            and self.closes_at is not None
            and self.closes_at <= self.opens_at
        ):
            errors.setdefault("closes_at", []).append(
                _("The closing time must be after the opening time.")
            )
        if self.slot_minutes is not None and not (
            MIN_SLOT_MINUTES <= self.slot_minutes <= MAX_SLOT_MINUTES
        ):
            errors.setdefault("slot_minutes", []).append(
                _("A slot lasts between %(min)d and %(max)d minutes.")
                % {"min": MIN_SLOT_MINUTES, "max": MAX_SLOT_MINUTES}
            )
        if self.places_per_slot is not None and not (
            1 <= self.places_per_slot <= MAX_PLACES_PER_SLOT
        ):
            errors.setdefault("places_per_slot", []).append(
                _("A slot has between 1 and %(max)d places.") % {"max": MAX_PLACES_PER_SLOT}
            )
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            errors.setdefault("valid_until", []).append(
                _("The last day must not be before the first day.")
            )
        if errors:
            raise ValidationError(errors)
        if self.centre_id is not None and self.vaccine_id is not None and self.weekday is not None:
            clash = OpeningTemplate.objects.overlapping(self).order_by("opens_at").first()
            if clash is not None:
                raise ValidationError(
                    _(
                        "These hours overlap the %(vaccine)s opening hours on %(weekday)s "
                        "from %(opens)s to %(closes)s. Change the times, or change that "
                        "template instead."
                    )
                    % {
                        "vaccine": clash.vaccine.name,
                        "weekday": clash.get_weekday_display(),
                        "opens": f"{clash.opens_at:%H:%M}",
                        "closes": f"{clash.closes_at:%H:%M}",
                    }
                )

    @property
    def slot_length(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.slot_minutes)


# The campaign policy's model lives with its rules; imported here so that Django registers it.
from vaxbook.centres.policy import CohortOpening  # noqa: E402, F401
