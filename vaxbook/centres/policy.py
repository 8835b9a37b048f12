"""Campaign policy as data: which cohorts may book which dose of which vaccine, from when.

The health authority opens the campaign cohort by cohort ("people aged 60 to 69 from Monday
08:00", "health workers of any age from today"). Each opening is a CohortOpening row, edited
in the admin: changing the policy needs no deploy.

The rule, applied by the booking engine (vaxbook.bookings.eligibility.check_campaign_policy)
to every booking and every move to a new slot:

- With no opening at all, the policy is off: everyone the vaccine's own minimum age admits
  may book (a campaign that has opened to everybody, and the embedded demo).
- Once one opening exists, a booking needs an opening that is open now and covers it: the
  vaccine (or every vaccine), the dose (or every dose), the person's age on the appointment
  day (their local day at the centre), and their priority group when the opening names one.
- When covering openings exist but none is open yet, the person is told when the earliest
  one opens; when none covers them, that their group is not open yet.

An opening is an instant (stored in UTC, entered in the admin in the authority's time zone,
settings.TIME_ZONE): at 08:00:00 the cohort may book, at 07:59:59 it may not, whichever
centre it books.

Every booking reads the policy, so the rules are kept in memory for RULES_TTL seconds per
process: an edit takes effect at once in the process that saved it and within RULES_TTL in
the others. The instants themselves are exact (the TTL only delays edits, not openings).
"""

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from django.db import models
from django.db.models import F, Q
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from vaxbook.accounts.models import PriorityGroup
from vaxbook.centres.models import Vaccine

RULES_TTL = 5.0


class CohortOpening(models.Model):
    """One cohort the campaign opens to booking, from `opens_at` (until `closes_at`)."""

    name = models.CharField(_("name"), max_length=120, help_text=_("e.g. “Phase 3: 60 to 69”"))
    vaccine = models.ForeignKey(
        Vaccine,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="cohort_openings",
        help_text=_("Empty: every vaccine."),
    )
    dose_number = models.PositiveSmallIntegerField(
        _("dose"), null=True, blank=True, help_text=_("Empty: every dose.")
    )
    minimum_age = models.PositiveSmallIntegerField(
        _("minimum age"), default=0, help_text=_("Age on the day of the appointment.")
    )
    maximum_age = models.PositiveSmallIntegerField(
        _("maximum age"), null=True, blank=True, help_text=_("Empty: no upper limit.")
    )
    priority_group = models.CharField(
        _("priority group"),
        max_length=32,
        choices=PriorityGroup.choices,
        blank=True,
        help_text=_("Empty: everyone in the age range."),
    )
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"), null=True, blank=True)

    class Meta:
        app_label = "centres"
        verbose_name = _("cohort opening")
        ordering: ClassVar = ["opens_at", "minimum_age"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(maximum_age__isnull=True) | Q(maximum_age__gte=F("minimum_age")),
                name="cohort_opening_age_range",
            ),
            models.CheckConstraint(
                condition=Q(closes_at__isnull=True) | Q(closes_at__gt=F("opens_at")),
                name="cohort_opening_closes_after_it_opens",
            ),
            models.CheckConstraint(
                condition=Q(dose_number__isnull=True) | Q(dose_number__gte=1),
                name="cohort_opening_dose_from_one",
            ),
        ]

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Rule:
    """A CohortOpening as plain values (what the booking path keeps in memory)."""

    vaccine_id: int | None
    dose_number: int | None
    minimum_age: int
    maximum_age: int | None
    priority_group: str
    opens_at: dt.datetime
    closes_at: dt.datetime | None

    def covers(self, *, vaccine_id: int, dose_number: int, age: int, priority_group: str) -> bool:
        return (
            self.vaccine_id in (None, vaccine_id)
            and self.dose_number in (None, dose_number)
            and self.minimum_age <= age
            and (self.maximum_age is None or age <= self.maximum_age)
            and self.priority_group in ("", priority_group)
        )

    def is_open(self, now: dt.datetime) -> bool:
        return self.opens_at <= now and (self.closes_at is None or now < self.closes_at)


@dataclass(frozen=True)
class Decision:
    """May book now (`allowed`); if not, `opens_at` is when the earliest covering opening
    opens (None: no opening covers the person, or they have all closed)."""

    allowed: bool
    opens_at: dt.datetime | None = None


def decide(
    rules: list[Rule],
    *,
    vaccine_id: int,
    dose_number: int,
    age: int,
    priority_group: str,
    now: dt.datetime,
) -> Decision:
    """What the policy `rules` say about this booking at `now` (see the module docstring)."""
    if not rules:
        return Decision(allowed=True)
    covering = [
        rule
        for rule in rules
        if rule.covers(
            vaccine_id=vaccine_id, dose_number=dose_number, age=age, priority_group=priority_group
        )
    ]
    if any(rule.is_open(now) for rule in covering):
        return Decision(allowed=True)
    upcoming = [rule.opens_at for rule in covering if rule.opens_at > now]
    return Decision(allowed=False, opens_at=min(upcoming) if upcoming else None)


# --- the rules in memory ----------------------------------------------------------------

_lock = threading.Lock()
_cached: tuple[float, list[Rule]] | None = None


def current_rules() -> list[Rule]:
    """The policy, at most RULES_TTL seconds old in this process."""
    global _cached
    cached = _cached
    if cached is not None and time.monotonic() - cached[0] < RULES_TTL:
        return cached[1]
    with _lock:
        rules = [
            Rule(
                vaccine_id=row.vaccine_id,
                dose_number=row.dose_number,
                minimum_age=row.minimum_age,
                maximum_age=row.maximum_age,
                priority_group=row.priority_group,
                opens_at=row.opens_at,
                closes_at=row.closes_at,
            )
            for row in CohortOpening.objects.all()
        ]
        _cached = (time.monotonic(), rules)
    return rules


def forget_rules(**_: Any) -> None:
    """Drop this process's copy: the next booking reads the policy again."""
    global _cached
    _cached = None


post_save.connect(forget_rules, sender=CohortOpening, dispatch_uid="policy-saved")
post_delete.connect(forget_rules, sender=CohortOpening, dispatch_uid="policy-deleted")
