"""What the booking engine and centre management tell the waiting list, inside their own
transactions: a place may have freed up, or a person holding an offer has just booked.

Each call is one step of the caller's transaction, so its effect exists exactly when the
change does: the task that offers a freed place is written with the cancellation that frees
it (and vanishes with a rollback). Kept apart from services.py so that the booking engine
imports nothing that imports it back.
"""

import datetime as dt
from collections.abc import Iterable

from django.db import transaction

from vaxbook.waiting_list.tasks import offer_places


def places_freed(*, slot_ids: Iterable[int] = (), days: Iterable[tuple[int, dt.date]] = ()) -> None:
    """Places may be free in `slot_ids` or in the slots of `days` (centre id, local day):
    a cancellation, a move, more capacity, new slots. The worker offers them to the people
    waiting (services.offer_free_places), after this transaction commits."""
    _ensure_in_transaction()
    slot_list = sorted(set(slot_ids))
    day_list = sorted({(centre_id, day.isoformat()) for centre_id, day in days})
    if slot_list or day_list:
        offer_places.enqueue(slot_ids=slot_list, days=[list(day) for day in day_list])


def person_booked(*, person_id: int, dose_numbers: list[int]) -> None:
    """The person, who holds a waiting-list offer, has booked `dose_numbers` themselves:
    their entries for those doses close and the offers' places go to the next in line.
    Called under the booking's person lock."""
    _ensure_in_transaction()
    from vaxbook.waiting_list import services  # services imports the booking engine

    services.close_for_booking(person_id=person_id, dose_numbers=dose_numbers)


def _ensure_in_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("The waiting list's hooks run inside the transaction of the change.")
