"""The link in an offer's message: the offer's id, signed (HMAC with SECRET_KEY, its own
salt), so a link cannot be made up or edited into another offer's. It is not a bearer
token: the page still needs the offer's own person signed in (another person gets a 404),
and it works once because accepting or declining closes the offer."""

import uuid

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "vaxbook.waiting_list.offer"


def offer_token(offer_id: uuid.UUID) -> str:
    return signing.dumps(str(offer_id), salt=SALT)


def offer_id_from(token: str) -> uuid.UUID | None:
    """The offer a link names, or None for a link that does not verify."""
    try:
        return uuid.UUID(str(signing.loads(token, salt=SALT)))
    except (signing.BadSignature, ValueError):
        return None


def offer_url(offer_id: uuid.UUID) -> str:
    return settings.SITE_URL + reverse("waiting_list_offer", args=[offer_token(offer_id)])
