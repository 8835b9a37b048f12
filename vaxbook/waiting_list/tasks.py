"""The waiting list's background work: offering freed places, sending each offer, and
releasing it when it expires unanswered.

Each task is written in the transaction of the change that calls for it (a cancellation
writes `offer_places`, an offer writes `send_offer` and `expire_offer`), so it exists exactly
when the change does. The worker does not retry: `send_offer` re-enqueues itself on a
transient failure while the offer still holds its place, and a held offer whose expiry task
was lost is released by `manage.py sweep_offers`. Services are imported inside the tasks:
the booking engine imports this module (through hooks.py), and the services import it.
"""

import datetime as dt
import logging
import uuid

from django.tasks import task
from django.utils import timezone

logger = logging.getLogger(__name__)

SEND_RETRY_DELAY = dt.timedelta(seconds=30)
# Before the outbox's deliveries (priority 0): a held place is wasted for every minute its
# offer waits in the queue, a confirmation only arrives later. An offer made is sent before
# more are made: in a burst, the places freed wait in the queue, not the offers made.
PRIORITY = 10
SEND_PRIORITY = 20


@task(priority=PRIORITY)
def offer_places(slot_ids: list[int], days: list[list[object]]) -> None:
    """Offer the free places of `slot_ids` and of `days` ([centre id, "YYYY-MM-DD"])."""
    from vaxbook.waiting_list import services

    services.offer_free_places(
        slot_ids=slot_ids,
        days=[(int(str(centre_id)), dt.date.fromisoformat(str(day))) for centre_id, day in days],
    )


@task(priority=PRIORITY)
def expire_offer(offer_id: str) -> None:
    """Release the offer if it still holds its place at its expiry (run at that time)."""
    from vaxbook.waiting_list import services

    services.expire_offers(offer_ids=[uuid.UUID(offer_id)])


@task(priority=SEND_PRIORITY)
def send_offer(offer_id: str) -> None:
    """Email the offer to its person, unless it no longer holds a place (answered, expired,
    or its person has booked that dose meanwhile, which releases it)."""
    from vaxbook.waiting_list import messages, services
    from vaxbook.waiting_list.models import Offer, OfferStatus

    if services.release_if_booked_elsewhere(uuid.UUID(offer_id)):
        return
    offer = (
        Offer.objects.select_related("entry", "person__user", "slot__centre", "slot__vaccine")
        .filter(pk=offer_id, status=OfferStatus.HELD)
        .first()
    )
    if offer is None:
        return
    try:
        messages.render_offer_email(offer).send()
    except Exception:  # any failure to send; retried while the offer can still be answered
        retry_at = timezone.now() + SEND_RETRY_DELAY
        if retry_at < offer.expires_at:
            logger.warning("Offer %s not sent, retrying at %s.", offer_id, retry_at.isoformat())
            send_offer.using(run_after=retry_at).enqueue(offer_id=offer_id)
            return
        raise
