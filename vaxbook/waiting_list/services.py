"""The waiting list's rules: joining, changing and leaving it; offering freed places; and
accepting, declining, expiring and releasing offers. Views, the API, the tasks and the
booking engine's hooks all call these functions.

Fairness
--------
A freed place goes to the first live entry in joining order (`joined_at`, then id) that
matches it: the slot's vaccine, one of the entry's centres, a day in its range, on one of
its weekdays and times of day, and, when the slot is within WAITING_LIST_SHORT_NOTICE_HOURS
of its time, an entry that said it can come at short notice. The person must be eligible
for that dose on that day (the booking engine's own rules, vaxbook.bookings.eligibility,
including the campaign policy's cohorts). There is no other priority: the campaign policy
decides who may book at all, the line decides who is first among them. Changing an entry
keeps its place; declining an offer keeps it too (that slot is not offered to them again);
an offer left to expire takes the entry off the list (status `lapsed`).

Never overbooked, never offered twice, never lost
-------------------------------------------------
An offer takes its place by the booking's own conditional update
(vaxbook.bookings.sql.take_place: `booked = booked + 1 WHERE booked < capacity AND is_open
AND starts_at > now`), so a held place is a booked place to everyone else, and a slot's
counter is its live appointments plus its held offers. An offer leaves `held` once, by a
conditional update on its status: accepting turns it into the appointment in the same
transaction (vaxbook.bookings.services.book_held_place, the counter unchanged); declining,
expiry, a booking elsewhere or a closed slot give the place back (`booked - 1`) and enqueue,
in that transaction, the task that offers it to the next in line. Every offer has an expiry
task written with it, and `sweep_offers` releases any held offer past its time that a lost
task left behind.

Locks, in the booking engine's order: the person (their Citizen row) first, for every
change to their entries and offers, so an offer, its answer and a booking by the same
person run one at a time; then the entry and offer rows; then the slot, last.
"""

import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vaxbook.accounts.models import Citizen
from vaxbook.bookings import eligibility, sql
from vaxbook.bookings import services as bookings
from vaxbook.bookings.errors import AlreadyBooked, NotEligible, SlotUnavailable
from vaxbook.bookings.models import Appointment
from vaxbook.centres import availability
from vaxbook.centres.models import Centre, Slot, Vaccine, Weekday
from vaxbook.centres.queries import local_day_bounds
from vaxbook.waiting_list import hooks
from vaxbook.waiting_list.errors import (
    AlreadyWaiting,
    EntryNotFound,
    InvalidEntry,
    OfferClosed,
    OfferNotFound,
)
from vaxbook.waiting_list.models import (
    LIVE_ENTRY_STATUSES,
    EntryStatus,
    Offer,
    OfferStatus,
    TimeOfDay,
    WaitingEntry,
)
from vaxbook.waiting_list.tasks import expire_offer, send_offer

logger = logging.getLogger(__name__)

# How far ahead one may wait, and among how many centres.
MAX_DAYS_AHEAD = 180
MAX_CENTRES = 30
# Entries read at a time when looking for whom to offer a place.
CANDIDATE_BATCH = 50
# Held offers one sweep releases at most; the next sweep takes the rest.
SWEEP_BATCH = 1000


@dataclass(frozen=True, kw_only=True)
class Wish:
    """What a person waits for: where (centres), when (local days, weekdays as digits with
    Monday = 0, times of day as TimeOfDay letters), and whether they can come at short
    notice."""

    centre_ids: frozenset[int]
    first_day: dt.date
    last_day: dt.date
    weekdays: str
    times_of_day: str
    short_notice: bool = False


# --- the person's entries -----------------------------------------------------------------


def join_waiting_list(
    *, person: Citizen, vaccine_id: int, dose_number: int, wish: Wish, language: str = ""
) -> WaitingEntry:
    """Put the person in line for `dose_number` of vaccine `vaccine_id`. Refused: a wish
    that cannot match anything (InvalidEntry), a live entry for this dose already
    (AlreadyWaiting), an appointment for it already (AlreadyBooked), or a dose the person
    could not book on any day of the range (NotEligible, saying why)."""
    now = timezone.now()
    vaccine = Vaccine.objects.filter(pk=vaccine_id).first()
    if vaccine is None:
        raise InvalidEntry(
            _("Choose a vaccine from the list."), errors={"vaccine_id": [_("Choose a vaccine.")]}
        )
    centres = _check_wish(wish, vaccine, now)
    try:
        with transaction.atomic(durable=True):
            holder = _lock_person(person.pk)
            if WaitingEntry.objects.live().filter(person=person, dose_number=dose_number).exists():
                raise _already_waiting()
            _check_eligible(holder, vaccine, dose_number, wish, now)
            entry = WaitingEntry.objects.create(
                person=person,
                vaccine=vaccine,
                dose_number=dose_number,
                first_day=wish.first_day,
                last_day=wish.last_day,
                weekdays=wish.weekdays,
                times_of_day=wish.times_of_day,
                short_notice=wish.short_notice,
                language=language or translation.get_language() or "",
                joined_at=now,
                changed_at=now,
            )
            entry.centres.set(centres)
    except IntegrityError as error:  # the unique live entry, should the lock be bypassed
        raise _already_waiting() from error
    return entry


def change_entry(*, person: Citizen, entry_id: int, wish: Wish) -> WaitingEntry:
    """Change where and when the person waits, keeping their place in line. An offer they
    hold now stands; the change applies to the next ones."""
    now = timezone.now()
    entry = _own_live_entry(person, entry_id)
    centres = _check_wish(wish, entry.vaccine, now)
    with transaction.atomic(durable=True):
        holder = _lock_person(person.pk)
        _check_eligible(holder, entry.vaccine, entry.dose_number, wish, now)
        changed = WaitingEntry.objects.filter(pk=entry.pk, status__in=LIVE_ENTRY_STATUSES).update(
            first_day=wish.first_day,
            last_day=wish.last_day,
            weekdays=wish.weekdays,
            times_of_day=wish.times_of_day,
            short_notice=wish.short_notice,
            changed_at=now,
        )
        if not changed:
            raise EntryNotFound(_("You are no longer on this waiting list."))
        entry.centres.set(centres)
    entry.refresh_from_db()
    return entry


def leave_waiting_list(*, person: Citizen, entry_id: int) -> WaitingEntry:
    """Leave the line; a place offered and not yet answered goes to the next person."""
    now = timezone.now()
    entry = _own_live_entry(person, entry_id)
    with transaction.atomic(durable=True):
        _lock_person(person.pk)
        held = list(Offer.objects.filter(entry=entry, status=OfferStatus.HELD))
        left = WaitingEntry.objects.filter(pk=entry.pk, status__in=LIVE_ENTRY_STATUSES).update(
            status=EntryStatus.LEFT, changed_at=now, closed_at=now
        )
        if not left:
            raise EntryNotFound(_("You are no longer on this waiting list."))
        for offer in held:
            _release(offer, status=OfferStatus.RELEASED, entry_status=EntryStatus.LEFT, now=now)
    entry.refresh_from_db()
    return entry


def own_entries(person: Citizen) -> list[WaitingEntry]:
    """The person's entries, live ones first, each with its held offer (`held_offer`) if any."""
    entries = list(
        WaitingEntry.objects.filter(person=person)
        .select_related("vaccine")
        .prefetch_related("centres")
        .order_by("-joined_at")
    )
    held = {
        offer.entry_id: offer
        for offer in Offer.objects.filter(person=person, status=OfferStatus.HELD).select_related(
            "slot__centre", "slot__vaccine"
        )
    }
    for entry in entries:
        entry.held_offer = held.get(entry.pk)  # type: ignore[attr-defined]
    entries.sort(key=lambda entry: not entry.is_live)
    return entries


def own_entry(person: Citizen, entry_id: int) -> WaitingEntry:
    entry = (
        WaitingEntry.objects.select_related("vaccine").filter(pk=entry_id, person=person).first()
    )
    if entry is None:
        raise EntryNotFound(_("Waiting-list entry not found."))
    return entry


def own_offer(person: Citizen, offer_id: uuid.UUID) -> Offer:
    """The person's offer; OfferNotFound for anyone else's, as for one that does not exist."""
    offer = (
        Offer.objects.select_related("entry", "slot__centre", "slot__vaccine", "appointment")
        .filter(pk=offer_id, person=person)
        .first()
    )
    if offer is None:
        raise OfferNotFound(_("Offer not found."))
    return offer


# --- offering freed places ----------------------------------------------------------------


def offer_free_places(
    *,
    slot_ids: Iterable[int] = (),
    days: Iterable[tuple[int, dt.date]] = (),
    now: dt.datetime | None = None,
) -> list[Offer]:
    """Offer every free place of `slot_ids` and of the slots of `days` (centre id, local
    day) to the first matching people in line, one offer per place; the offers made."""
    now = now or timezone.now()
    ids = set(slot_ids)
    for centre_id, day in days:
        centre = Centre.objects.filter(pk=centre_id).first()
        if centre is not None:
            start, end = local_day_bounds(centre, day)
            ids.update(
                Slot.objects.filter(
                    centre=centre, starts_at__gte=start, starts_at__lt=end
                ).values_list("pk", flat=True)
            )
    offers: list[Offer] = []
    for slot_id in sorted(ids):
        offers += _offer_places_of(slot_id, now)
    return offers


def is_short_notice(slot: Slot, now: dt.datetime) -> bool:
    return slot.starts_at - now < dt.timedelta(hours=settings.WAITING_LIST_SHORT_NOTICE_HOURS)


def offer_expiry(slot: Slot, now: dt.datetime) -> dt.datetime:
    """When an offer of a place in `slot` made at `now` stops holding it: the configured
    minutes, fewer when the slot is soon, never after the slot starts."""
    minutes = (
        settings.WAITING_LIST_SHORT_NOTICE_OFFER_MINUTES
        if is_short_notice(slot, now)
        else settings.WAITING_LIST_OFFER_MINUTES
    )
    return min(now + dt.timedelta(minutes=minutes), slot.starts_at)


def matching_entries(slot: Slot, now: dt.datetime) -> "list[WaitingEntry]":
    """Entries waiting for a place in `slot`, first in line first (at most CANDIDATE_BATCH
    at a time: see _offer_places_of)."""
    return list(_matching(slot, now)[:CANDIDATE_BATCH])


def _matching(slot: Slot, now: dt.datetime):  # type: ignore[no-untyped-def]
    local_start = slot.starts_at.astimezone(slot.centre.zone)
    day = local_start.date()
    entries = WaitingEntry.objects.filter(
        status=EntryStatus.WAITING,
        vaccine_id=slot.vaccine_id,
        centres=slot.centre_id,
        first_day__lte=day,
        last_day__gte=day,
        weekdays__contains=str(day.weekday()),
        times_of_day__contains=TimeOfDay.of(local_start.time()).value,
    ).exclude(offers__slot_id=slot.pk)
    if is_short_notice(slot, now):
        entries = entries.filter(short_notice=True)
    return entries.order_by("joined_at", "pk")


def _offer_places_of(slot_id: int, now: dt.datetime) -> list[Offer]:
    offers: list[Offer] = []
    passed_over: set[int] = set()  # not eligible for this slot: the next in line is asked
    while True:
        slot = Slot.objects.select_related("centre", "vaccine").filter(pk=slot_id).first()
        if slot is None or not _has_offerable_place(slot, now):
            return offers
        candidates = list(_matching(slot, now).exclude(pk__in=passed_over)[:CANDIDATE_BATCH])
        if not candidates:
            return offers
        made = None
        for entry in candidates:
            outcome = _offer_to(entry, slot, now)
            if outcome is _SLOT_TAKEN:
                return offers
            if isinstance(outcome, Offer):
                made = outcome
                break
            passed_over.add(entry.pk)
        if made is not None:
            offers.append(made)


def _has_offerable_place(slot: Slot, now: dt.datetime) -> bool:
    lead = dt.timedelta(minutes=settings.WAITING_LIST_SHORT_NOTICE_OFFER_MINUTES)
    return (
        slot.is_open
        and slot.centre.is_active
        and slot.booked < slot.capacity
        and slot.starts_at - now >= lead
    )


class _SlotTaken(Exception):
    """The place went (booked, closed) between the read and the offer: undo the offer."""


_SLOT_TAKEN = object()


def _offer_to(entry: WaitingEntry, slot: Slot, now: dt.datetime) -> "Offer | object | None":
    """Hold a place of `slot` for `entry`: the Offer; None when the entry cannot have it
    (no longer waiting, not eligible that day, booked meanwhile); _SLOT_TAKEN when no place
    is left."""
    try:
        with transaction.atomic(durable=True):
            holder = _lock_person(entry.person_id)
            try:
                _check_day(holder, slot.vaccine, entry.dose_number, slot.local_date, now)
            except AlreadyBooked:  # booked by themselves: the entry has done its work
                WaitingEntry.objects.filter(pk=entry.pk, status=EntryStatus.WAITING).update(
                    status=EntryStatus.BOOKED, changed_at=now, closed_at=now
                )
                return None
            except NotEligible:
                return None
            if not WaitingEntry.objects.filter(pk=entry.pk, status=EntryStatus.WAITING).update(
                status=EntryStatus.OFFERED, changed_at=now
            ):
                return None
            if not sql.take_place(slot.pk, now):
                raise _SlotTaken
            offer = Offer.objects.create(
                entry=entry,
                person_id=entry.person_id,
                slot=slot,
                status=OfferStatus.HELD,
                made_at=now,
                expires_at=offer_expiry(slot, now),
            )
            availability.slots_changed([slot])
            # Both tasks are written with the offer: the message, and the expiry that
            # releases the place if nobody answers (and a lost task: sweep_offers).
            send_offer.enqueue(offer_id=str(offer.pk))
            expire_offer.using(run_after=offer.expires_at).enqueue(offer_id=str(offer.pk))
            return offer
    except _SlotTaken:
        return _SLOT_TAKEN


# --- answering offers ---------------------------------------------------------------------


def accept_offer(*, person: Citizen, offer_id: uuid.UUID) -> Appointment:
    """The held place becomes the person's appointment, with its confirmation. Refused with
    OfferClosed when the offer no longer holds a place (used, declined, expired, released);
    when the place cannot become theirs (the slot closed, no longer eligible, booked
    elsewhere), the offer is released to the next in line and the booking engine's error
    raised."""
    now = timezone.now()
    offer = own_offer(person, offer_id)
    _ensure_held(offer, now)

    def claim(appointment: Appointment) -> None:
        # Conditional on the offer still holding its place: of an accept and an expiry (or a
        # second click) racing, one wins; the loser's transaction rolls back whole.
        if not Offer.objects.filter(
            pk=offer.pk, status=OfferStatus.HELD, expires_at__gt=now
        ).update(status=OfferStatus.ACCEPTED, appointment=appointment, decided_at=now):
            raise _closed(Offer.objects.values_list("status", flat=True).get(pk=offer.pk))
        WaitingEntry.objects.filter(pk=offer.entry_id).update(
            status=EntryStatus.BOOKED, changed_at=now, closed_at=now
        )

    try:
        return bookings.book_held_place(
            person=person,
            slot_id=offer.slot_id,
            dose_number=offer.entry.dose_number,
            within=claim,
        )
    except (NotEligible, SlotUnavailable, AlreadyBooked) as refusal:
        entry_status = (
            EntryStatus.BOOKED if isinstance(refusal, AlreadyBooked) else EntryStatus.WAITING
        )
        _release_in_own_transaction(offer, status=OfferStatus.RELEASED, entry_status=entry_status)
        raise


def decline_offer(*, person: Citizen, offer_id: uuid.UUID) -> Offer:
    """Say no to this place: it goes to the next in line at once; the person keeps their
    place in line (this slot is not offered to them again)."""
    now = timezone.now()
    offer = own_offer(person, offer_id)
    _ensure_held(offer, now)
    with transaction.atomic(durable=True):
        _lock_person(person.pk)
        if not _release(
            offer, status=OfferStatus.DECLINED, entry_status=EntryStatus.WAITING, now=now
        ):
            raise _closed(Offer.objects.values_list("status", flat=True).get(pk=offer.pk))
    offer.refresh_from_db()
    return offer


def expire_offers(
    *, now: dt.datetime | None = None, offer_ids: Iterable[uuid.UUID] | None = None
) -> int:
    """Release held offers past their expiry (of `offer_ids`, or any: the sweep); how many.
    Each entry whose offer expired leaves the line (`lapsed`); each place goes to the next."""
    now = now or timezone.now()
    due = Offer.objects.filter(status=OfferStatus.HELD, expires_at__lte=now)
    if offer_ids is not None:
        due = due.filter(pk__in=list(offer_ids))
    released = 0
    for offer in due.select_related("slot__centre").order_by("expires_at")[:SWEEP_BATCH]:
        with transaction.atomic(durable=True):
            _lock_person(offer.person_id)
            if _release(
                offer,
                status=OfferStatus.EXPIRED,
                entry_status=EntryStatus.LAPSED,
                now=now,
                only_expired=True,
            ):
                released += 1
    if released:
        logger.info("Waiting list: %d expired offer(s) released.", released)
    return released


def close_for_booking(*, person_id: int, dose_numbers: list[int]) -> None:
    """The person booked `dose_numbers` themselves: their live entries for those doses close
    and the places their offers held go to the next in line. A step of the booking's
    transaction, under its person lock (vaxbook.waiting_list.hooks)."""
    now = timezone.now()
    entries = WaitingEntry.objects.live().filter(person_id=person_id, dose_number__in=dose_numbers)
    for offer in Offer.objects.filter(entry__in=entries, status=OfferStatus.HELD).select_related(
        "slot__centre"
    ):
        _release(offer, status=OfferStatus.RELEASED, entry_status=EntryStatus.BOOKED, now=now)
    entries.update(status=EntryStatus.BOOKED, changed_at=now, closed_at=now)


def release_if_booked_elsewhere(offer_id: uuid.UUID) -> bool:
    """Before an offer's message goes: release it when its person has meanwhile booked that
    dose (a booking that missed the offer: vaxbook.bookings.sql._HOLDS_OFFER). True if so."""
    offer = Offer.objects.select_related("entry", "slot__centre").filter(pk=offer_id).first()
    if offer is None or offer.status != OfferStatus.HELD:
        return False
    now = timezone.now()
    with transaction.atomic(durable=True):
        holder = _lock_person(offer.person_id)
        if not any(dose.dose_number == offer.entry.dose_number for dose in holder.held):
            return False
        return _release(
            offer, status=OfferStatus.RELEASED, entry_status=EntryStatus.BOOKED, now=now
        )


# --- the pieces ---------------------------------------------------------------------------


def _release(
    offer: Offer,
    *,
    status: OfferStatus,
    entry_status: EntryStatus,
    now: dt.datetime,
    only_expired: bool = False,
) -> bool:
    """Close a held offer with `status` and give its place back, in the caller's
    transaction (which holds the person lock); the entry moves to `entry_status` and the
    place is offered to the next in line after the commit. False if the offer was no
    longer held (someone else closed it first)."""
    closing = Offer.objects.filter(pk=offer.pk, status=OfferStatus.HELD)
    if only_expired:
        closing = closing.filter(expires_at__lte=now)
    if not closing.update(status=status, decided_at=now):
        return False
    entry_changes: dict[str, object] = {"status": entry_status, "changed_at": now}
    if entry_status not in LIVE_ENTRY_STATUSES:
        entry_changes["closed_at"] = now
    WaitingEntry.objects.filter(pk=offer.entry_id, status=EntryStatus.OFFERED).update(
        **entry_changes
    )
    # Cannot fail while every write goes through the services: the place was taken for this
    # offer and nothing else gives it back.
    if not sql.give_back_place(offer.slot_id):
        raise RuntimeError(f"Slot {offer.slot_id} has no place to give back for offer {offer.pk}.")
    slot = Slot.objects.select_related("centre").get(pk=offer.slot_id)
    availability.slots_changed([slot])
    hooks.places_freed(slot_ids=[offer.slot_id])
    offer.status, offer.decided_at = status, now
    return True


def _release_in_own_transaction(
    offer: Offer, *, status: OfferStatus, entry_status: EntryStatus
) -> None:
    with transaction.atomic(durable=True):
        _lock_person(offer.person_id)
        _release(offer, status=status, entry_status=entry_status, now=timezone.now())


def _ensure_held(offer: Offer, now: dt.datetime) -> None:
    """OfferClosed unless `offer` holds its place; one past its time is released first."""
    if offer.status == OfferStatus.HELD and offer.expires_at <= now:
        expire_offers(now=now, offer_ids=[offer.pk])
        offer.refresh_from_db()
    if offer.status != OfferStatus.HELD:
        raise _closed(offer.status)


def _closed(status: str) -> OfferClosed:
    messages = {
        OfferStatus.ACCEPTED: _("You have already accepted this offer: it is your appointment."),
        OfferStatus.DECLINED: _("You declined this offer; the place went to the next person."),
        OfferStatus.EXPIRED: _(
            "This offer has expired and the place went to the next person. You can join the "
            "waiting list again."
        ),
        OfferStatus.RELEASED: _("This offer has been withdrawn: the place is no longer held."),
    }
    return OfferClosed(
        messages.get(OfferStatus(status), _("This offer is no longer open.")), status=status
    )


def _already_waiting() -> AlreadyWaiting:
    return AlreadyWaiting(
        _("You are already on the waiting list for this dose. You can change or leave it.")
    )


def _own_live_entry(person: Citizen, entry_id: int) -> WaitingEntry:
    entry = own_entry(person, entry_id)
    if not entry.is_live:
        raise EntryNotFound(_("You are no longer on this waiting list."))
    return entry


def _lock_person(person_id: int) -> sql.LockedPerson:
    holder = sql.lock_person(person_id)
    if holder is None:
        raise Citizen.DoesNotExist(f"No citizen {person_id}.")
    return holder


def _check_day(
    holder: sql.LockedPerson, vaccine: Vaccine, dose_number: int, day: dt.date, now: dt.datetime
) -> None:
    eligibility.check_dose(
        date_of_birth=holder.date_of_birth,
        vaccine=vaccine,
        dose_number=dose_number,
        day=day,
        held=holder.held,
    )
    eligibility.check_campaign_policy(
        date_of_birth=holder.date_of_birth,
        priority_group=holder.priority_group,
        vaccine=vaccine,
        dose_number=dose_number,
        day=day,
        now=now,
    )


def _check_eligible(
    holder: sql.LockedPerson, vaccine: Vaccine, dose_number: int, wish: Wish, now: dt.datetime
) -> None:
    """NotEligible (or AlreadyBooked) unless the person could book the dose on the first or
    the last day of the range: the rules that depend on the day (age, the interval after
    an earlier dose, before a later one) are each met at one end if anywhere."""
    refusal: NotEligible | None = None
    for day in sorted({wish.last_day, wish.first_day}, reverse=True):
        try:
            _check_day(holder, vaccine, dose_number, day, now)
        except NotEligible as error:
            refusal = refusal or error
        else:
            return
    if refusal is not None:  # always, as the loop ran at least once
        raise refusal


def _check_wish(wish: Wish, vaccine: Vaccine, now: dt.datetime) -> list[Centre]:
    errors: dict[str, list[str]] = {}
    centres = list(Centre.objects.filter(pk__in=wish.centre_ids, is_active=True, vaccines=vaccine))
    if not wish.centre_ids:
        errors["centre_ids"] = [_("Choose at least one centre.")]
    elif len(wish.centre_ids) > MAX_CENTRES:
        errors["centre_ids"] = [_("Choose at most %(max)d centres.") % {"max": MAX_CENTRES}]
    elif len(centres) != len(wish.centre_ids):
        errors["centre_ids"] = [
            _("Choose centres from the list: each must be open and offer %(vaccine)s.")
            % {"vaccine": vaccine.name}
        ]
    today = timezone.localdate(now)
    if wish.last_day < wish.first_day:
        errors["last_day"] = [_("The last day must not be before the first day.")]
    elif wish.last_day < today:
        errors["last_day"] = [_("The last day must not be in the past.")]
    elif wish.last_day > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        errors["last_day"] = [
            _("You can wait for a place up to %(days)d days ahead.") % {"days": MAX_DAYS_AHEAD}
        ]
    if not wish.weekdays or set(wish.weekdays) - {str(day) for day in Weekday.values}:
        errors["weekdays"] = [_("Choose at least one day of the week.")]
    if not wish.times_of_day or set(wish.times_of_day) - set(TimeOfDay.values):
        errors["times_of_day"] = [_("Choose at least one time of day.")]
    if errors:
        first = next(message for messages in errors.values() for message in messages)
        raise InvalidEntry(first, errors=errors)
    return centres


def normalised_weekdays(days: Iterable[int | str]) -> str:
    """Weekday numbers as the entry stores them: distinct digits, in order."""
    return "".join(sorted({str(day) for day in days}))


def normalised_times_of_day(parts: Iterable[str]) -> str:
    order = list(TimeOfDay.values)
    return "".join(sorted(set(parts), key=lambda part: order.index(part) if part in order else 9))
